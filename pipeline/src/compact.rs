//! Compacted tables: a run's rows as plain Parquet datasets that DataFusion
//! (and DuckDB, polars, pandas) scan directly.
//!
//! The per-unit files stay the unit of truth; compaction copies their rows
//! into content-addressed *parts* and lays the parts of a run out as one
//! directory per table:
//!
//! ```text
//! parts/<table>.v<k>/<hash>.parquet        rows of a run of consecutive units, sorted; <hash> = blake3 of their keys
//! tables/<snapshot>/<table>/part-<hash>.parquet   hard links: one dataset per table (old schema versions: <table>_v<k>/)
//! tables/<snapshot>/_SUCCESS.json          written last: every table's parts, rows and blake3
//! tables/runs/<run_id>.<globals>           which snapshot holds a run's tables (with the imports visible to it)
//! tables/latest -> <snapshot>              the latest complete run's tables (a symlink)
//! ```
//!
//! Units are cut into parts by content: after each unit a boundary falls with
//! probability (unit's bytes / [`PART_BYTES`]), decided by the unit's key. So
//! parts hold about `PART_BYTES` whatever a unit's size, a rerun that changes
//! one architecture's units rewrites only the part(s) holding them, and a
//! no-op rerun writes nothing (same units, same parts, same snapshot).
//! Rows inside a part are sorted by the columns typical filters use
//! ([`SORT_COLUMNS`]) and written with row-group statistics and page indexes,
//! so a filter on dataset, architecture, attack, ε or seed skips what it can.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use arrow::array::{Array, ArrayRef, RecordBatch};
use arrow::compute::concat_batches;
use arrow::datatypes::SchemaRef;
use bytes::Bytes;
use datafusion::common::ScalarValue;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::arrow_reader::statistics::StatisticsConverter;
use parquet::arrow::arrow_writer::{ArrowRowGroupWriterFactory, compute_leaves};
use parquet::arrow::{ArrowSchemaConverter, add_encoded_arrow_schema_to_metadata, parquet_to_arrow_schema};
use parquet::basic::Compression;
use parquet::column::writer::ColumnCloseResult;
use parquet::file::metadata::{PageIndexPolicy, ParquetMetaData, ParquetMetaDataReader, SortingColumn};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::file::writer::SerializedFileWriter;
use serde::{Deserialize, Serialize};

#[cfg(doc)]
use robbench_schemas::SORT_COLUMNS;

use crate::runs::RunUnit;
use crate::store::{Store, UnitState, set_read_only, write_atomic};
use crate::tables::{sort_rows, sorting_columns};

/// Default target size of a part (bytes of the per-unit files it holds).
pub const PART_BYTES: u64 = 32 << 20;

/// Rows per row group of merged units: small enough for a filter to skip
/// most of a part.
const ROW_GROUP_ROWS: usize = 64 * 1024;

/// Row groups of at least this many rows are copied into parts as they are
/// (one evaluation of the 10,000 test images of CIFAR-10 is one such row
/// group); smaller ones are merged, as thousands of tiny row groups would
/// make every footer and scan slower.
const SPLICE_MIN_ROWS: usize = 8 * 1024;

/// Changes whenever the bytes a part would hold for the same units change.
const PART_FORMAT: u32 = 4;

/// One table of a snapshot, as SQL serves it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TableDataset {
    /// Table name; files of an older schema version are served as `<table>_v<k>`.
    pub table: String,
    pub version: u32,
    pub rows: u64,
    pub parts: Vec<Part>,
}

/// One part file of a table's dataset.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(from = "PartRecord")]
pub struct Part {
    /// File name inside the table's directory.
    pub name: String,
    pub blake3: String,
    /// Smallest and largest value of each sort column the part holds, so a
    /// filter skips whole parts before reading their footers. Absent for
    /// snapshots written before parts recorded them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ranges: Option<ColumnRanges>,
}

/// Sort column → (min, max), each as text (DataFusion's rendering of the
/// value, parsed back with the column's type).
pub type ColumnRanges = BTreeMap<String, (String, String)>;

#[derive(Deserialize)]
#[serde(untagged)]
enum PartRecord {
    Described {
        name: String,
        blake3: String,
        #[serde(default)]
        ranges: Option<ColumnRanges>,
    },
    /// `[name, blake3]`, as snapshots recorded parts before their ranges.
    Named(String, String),
}

impl From<PartRecord> for Part {
    fn from(record: PartRecord) -> Part {
        match record {
            PartRecord::Described { name, blake3, ranges } => Part { name, blake3, ranges },
            PartRecord::Named(name, blake3) => Part { name, blake3, ranges: None },
        }
    }
}

impl TableDataset {
    /// The name SQL serves it under, given the current schema version.
    pub fn served_name(&self, current_version: Option<u32>) -> String {
        if current_version.is_none_or(|v| v == self.version) {
            self.table.clone()
        } else {
            format!("{}_v{}", self.table, self.version)
        }
    }
}

/// A compacted set of units: every table as one directory of parts.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Snapshot {
    pub id: String,
    pub tables: Vec<TableDataset>,
    #[serde(skip)]
    pub dir: PathBuf,
}

impl Snapshot {
    /// Directory of one table's dataset.
    pub fn table_dir(&self, dataset: &TableDataset, current_version: Option<u32>) -> PathBuf {
        self.dir.join(dataset.served_name(current_version))
    }
}

/// A unit whose rows are wanted but which the store does not hold intact.
#[derive(Debug, Clone)]
pub struct MissingUnit {
    pub stage: String,
    pub key: String,
    pub label: String,
    pub why: String,
}

/// What [`compact`] was asked to do about missing units.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Completeness {
    /// Refuse with the list of missing units.
    Whole,
    /// Compact what is there (the caller reports what is missing).
    AllowPartial,
}

/// The compacted tables of `units`, built on first use. `label` names the
/// snapshot's owner in messages (a run id). Returns the snapshot and the
/// units that were left out (only with [`Completeness::AllowPartial`]).
pub fn compact(
    store: &Store,
    units: &[RunUnit],
    completeness: Completeness,
    part_bytes: u64,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<(Snapshot, Vec<MissingUnit>)> {
    let mut missing = Vec::new();
    // A run's log lists units in completion order; parts need an order that
    // does not depend on timing, and neighbours that share an architecture.
    let mut ordered: Vec<&RunUnit> = units.iter().collect();
    ordered.sort_by_cached_key(|u| (u.stage.clone(), natural_key(&u.label), u.key.clone()));
    // (table, version) → files of the units, in that order.
    let mut files: BTreeMap<(String, u32), Vec<UnitFile>> = BTreeMap::new();
    for unit in ordered {
        if !unit.status.succeeded() {
            missing.push(MissingUnit {
                stage: unit.stage.clone(),
                key: unit.key.clone(),
                label: unit.label.clone(),
                why: format!("{} in its run", unit.status.as_str()),
            });
            continue;
        }
        let dir = store.root().join("objects").join(&unit.stage).join(&unit.key);
        let tables = dir.join("tables");
        let gap = match store.unit_state_of(&unit.stage, &unit.key) {
            UnitState::Complete => None,
            UnitState::Absent => Some("not in the store (removed, or quarantined by `robbench verify`)".to_string()),
            UnitState::Incomplete(why) => Some(format!("incomplete in the store: {why}")),
        };
        if let Some(why) = gap {
            missing.push(MissingUnit {
                stage: unit.stage.clone(),
                key: unit.key.clone(),
                label: unit.label.clone(),
                why,
            });
            continue;
        }
        let Ok(entries) = fs::read_dir(&tables) else { continue };
        let mut found: Vec<(String, PathBuf)> =
            entries.filter_map(|e| e.ok()).map(|e| (e.file_name().to_string_lossy().into_owned(), e.path())).collect();
        found.sort();
        for (name, path) in found {
            if let Some((table, version)) = robbench_schemas::parse_file_name(&name) {
                let bytes = fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
                files.entry((table.to_string(), version)).or_default().push(UnitFile {
                    unit: unit.clone(),
                    unit_dir: dir.clone(),
                    relative: format!("tables/{name}"),
                    path,
                    bytes,
                });
            }
        }
    }
    if !missing.is_empty() && completeness == Completeness::Whole {
        bail!(MissingUnits(missing));
    }

    // Every part not yet in the store is written; parts are independent, so
    // one writer per CPU, each holding a unit (or an interleaved part) at a time.
    let mut tables = Vec::new();
    let mut jobs = Vec::new();
    for ((table, version), files) in files {
        let dir = store.derived().join("parts").join(format!("{table}.v{version}"));
        fs::create_dir_all(&dir)?;
        for part in cut_into_parts(files, part_bytes) {
            jobs.push((tables.len(), dir.join(part_hash(&part)), part));
        }
        tables.push(TableDataset { table, version, rows: 0, parts: Vec::new() });
    }
    let metas = write_parts(&jobs, progress)?;
    for ((table, base, _), meta) in jobs.iter().zip(metas) {
        let hash = base.file_name().expect("a part has a name").to_string_lossy();
        tables[*table].rows += meta.rows;
        tables[*table].parts.push(Part {
            name: format!("part-{hash}.parquet"),
            blake3: meta.blake3,
            ranges: meta.ranges,
        });
    }
    let snapshot = materialise(store, tables)?;
    Ok((snapshot, missing))
}

/// The metadata of each part, `(table, path without extension, unit files)`,
/// writing those not yet in the store on one thread per CPU.
fn write_parts(
    jobs: &[(usize, PathBuf, Vec<UnitFile>)],
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Vec<PartMeta>> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get()).min(jobs.len()).max(1);
    let (sender, receiver) = std::sync::mpsc::channel::<(usize, Result<PartMeta>)>();
    let mut metas: Vec<Option<PartMeta>> = (0..jobs.len()).map(|_| None).collect();
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let sender = sender.clone();
            let next = &next;
            scope.spawn(move || {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some((_, base, part)) = jobs.get(i) else { break };
                    let result = stored_or_written(base, part);
                    let failed = result.is_err();
                    if sender.send((i, result)).is_err() || failed {
                        // Stop the others early: the caller reports the first error.
                        next.store(jobs.len(), std::sync::atomic::Ordering::Relaxed);
                        break;
                    }
                }
            });
        }
        drop(sender);
        let mut done = 0;
        for (i, result) in receiver {
            metas[i] = Some(result?);
            done += 1;
            progress(done, jobs.len());
        }
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(metas.into_iter().map(|m| m.expect("every part written")).collect())
}

/// A part's metadata, writing the part first unless the store has it.
fn stored_or_written(base: &Path, part: &[UnitFile]) -> Result<PartMeta> {
    let path = base.with_extension("parquet");
    let meta_path = base.with_extension("json");
    if let Some(mut meta) = fs::read(&meta_path).ok().and_then(|b| serde_json::from_slice::<PartMeta>(&b).ok())
        && path.exists()
    {
        if meta.ranges.is_none() {
            // A part stored before parts recorded their ranges: read its footer.
            let file = fs::File::open(&path)?;
            let metadata = ParquetMetaDataReader::new()
                .parse_and_finish(&file)
                .with_context(|| format!("{} is not a readable Parquet file", path.display()))?;
            meta.ranges = Some(column_ranges(&metadata)?);
            write_atomic(&meta_path, &serde_json::to_vec(&meta)?)?;
        }
        return Ok(meta);
    }
    let meta = write_part(part, &path)?;
    write_atomic(&meta_path, &serde_json::to_vec(&meta)?)?;
    Ok(meta)
}

/// A label as text and numbers, so that `arch 2` sorts before `arch 10`.
fn natural_key(label: &str) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    let mut rest = label;
    while !rest.is_empty() {
        let text_len = rest.find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len());
        let (text, tail) = rest.split_at(text_len);
        let digits_len = tail.find(|c: char| !c.is_ascii_digit()).unwrap_or(tail.len());
        let (digits, tail) = tail.split_at(digits_len);
        out.push((text.to_string(), digits.parse().unwrap_or(u64::MAX)));
        rest = tail;
    }
    out
}

/// The error of a compaction that would leave units out.
#[derive(Debug)]
pub struct MissingUnits(pub Vec<MissingUnit>);

impl std::fmt::Display for MissingUnits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "{} unit(s) of this run are missing, so its tables would be incomplete:", self.0.len())?;
        for m in self.0.iter().take(20) {
            writeln!(f, "  [{}] {} ({}): {}", m.stage, m.label, &m.key[..m.key.len().min(12)], m.why)?;
        }
        if self.0.len() > 20 {
            writeln!(f, "  … and {} more", self.0.len() - 20)?;
        }
        write!(
            f,
            "rerun the run's config (`robbench run` with the same --config/--set) to recompute them, \
             or pass --allow-partial for an answer without them"
        )
    }
}

impl std::error::Error for MissingUnits {}

#[derive(Clone)]
struct UnitFile {
    unit: RunUnit,
    unit_dir: PathBuf,
    relative: String,
    path: PathBuf,
    bytes: u64,
}

/// Splits consecutive unit files into parts at content-defined boundaries.
fn cut_into_parts(files: Vec<UnitFile>, part_bytes: u64) -> Vec<Vec<UnitFile>> {
    let mut parts = Vec::new();
    let mut current = Vec::new();
    for file in files {
        let key = blake3::hash(file.unit.key.as_bytes());
        let draw = u64::from_le_bytes(key.as_bytes()[..8].try_into().expect("8 bytes"));
        // P(boundary) = bytes / part_bytes, as a threshold on a uniform u64.
        let threshold = (u64::MAX / part_bytes.max(1)).saturating_mul(file.bytes.max(1));
        current.push(file);
        if draw <= threshold {
            parts.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        parts.push(current);
    }
    parts
}

fn part_hash(part: &[UnitFile]) -> String {
    let mut hasher = blake3::Hasher::new();
    hasher.update(format!("part format {PART_FORMAT}\n").as_bytes());
    for file in part {
        hasher.update(file.unit.key.as_bytes());
        hasher.update(b"/");
        hasher.update(file.relative.as_bytes());
        hasher.update(b"\n");
    }
    hasher.finalize().to_hex()[..32].to_string()
}

#[derive(Serialize, Deserialize)]
struct PartMeta {
    rows: u64,
    blake3: String,
    /// Absent in metadata written before parts recorded their ranges.
    #[serde(default)]
    ranges: Option<ColumnRanges>,
}

/// Writes the units' rows to `path` atomically, each unit file checked
/// against its manifest first and read once.
///
/// A unit file written sorted (its row groups say so, as [`write_parquet`]
/// writes them) whose row groups hold at least [`SPLICE_MIN_ROWS`] rows is
/// copied as it is encoded: its row groups become the part's, with their
/// statistics and page indexes, and no value is decoded. The rows of other
/// units (small ones, or files written before units were sorted) are decoded,
/// gathered up to [`ROW_GROUP_ROWS`], sorted and encoded. Either way every
/// row group of a part is sorted by [`SORT_COLUMNS`] and holds consecutive
/// units, so filters on them skip what they can.
///
/// [`write_parquet`]: crate::tables::write_parquet
fn write_part(part: &[UnitFile], path: &Path) -> Result<PartMeta> {
    let tmp = path.with_extension(format!("tmp.{}.{:?}", std::process::id(), std::thread::current().id()));
    let mut writer: Option<PartWriter> = None;
    for file in part {
        let unit = EncodedUnit::read(file)?;
        let writer = match &mut writer {
            Some(w) => w,
            None => writer.insert(PartWriter::create(&tmp, unit.schema.clone())?),
        };
        if unit.schema.fields() != writer.schema.fields() {
            bail!(
                "{} does not have the columns of the other files of its table ({:?})",
                file.path.display(),
                writer.schema.fields().iter().map(|f| f.name()).collect::<Vec<_>>()
            );
        }
        if unit.spliceable(&writer.sorting) {
            writer.splice(&unit)?;
        } else {
            writer.push(unit.decode()?)?;
        }
    }
    let (rows, metadata) = writer.context("a part holds at least one file")?.finish()?;
    let ranges = Some(column_ranges(&metadata)?);
    let (blake3, _) = crate::store::hash_file(&tmp)?;
    // Read-only, as the units' files: its snapshots' hard links share it.
    set_read_only(&tmp)?;
    fs::rename(&tmp, path)?;
    Ok(PartMeta { rows, blake3, ranges })
}

/// The range of each sort column over a part's row groups; a column whose
/// statistics are missing for some row group (or not comparable, like NaN)
/// has none.
fn column_ranges(metadata: &ParquetMetaData) -> Result<ColumnRanges> {
    let file = metadata.file_metadata();
    let schema = parquet_to_arrow_schema(file.schema_descr(), file.key_value_metadata())?;
    let mut ranges = ColumnRanges::new();
    for &name in robbench_schemas::SORT_COLUMNS {
        if schema.field_with_name(name).is_err() {
            continue;
        }
        let converter = StatisticsConverter::try_new(name, &schema, file.schema_descr())?;
        let extreme = |values: ArrayRef, keep: std::cmp::Ordering| -> Result<Option<ScalarValue>> {
            let mut best: Option<ScalarValue> = None;
            for i in 0..values.len() {
                if values.is_null(i) {
                    return Ok(None);
                }
                let value = ScalarValue::try_from_array(&values, i)?;
                best = match best {
                    None => Some(value),
                    Some(b) => match value.partial_cmp(&b) {
                        Some(order) if order == keep => Some(value),
                        Some(_) => Some(b),
                        None => return Ok(None),
                    },
                };
            }
            Ok(best)
        };
        let row_groups = metadata.row_groups();
        let min = extreme(converter.row_group_mins(row_groups)?, std::cmp::Ordering::Less)?;
        let max = extreme(converter.row_group_maxes(row_groups)?, std::cmp::Ordering::Greater)?;
        if let (Some(min), Some(max)) = (min, max) {
            ranges.insert(name.to_string(), (min.to_string(), max.to_string()));
        }
    }
    Ok(ranges)
}

/// A unit file's bytes and Parquet metadata (page indexes included).
struct EncodedUnit {
    bytes: Bytes,
    metadata: ParquetMetaData,
    schema: SchemaRef,
    path: PathBuf,
}

impl EncodedUnit {
    fn read(file: &UnitFile) -> Result<EncodedUnit> {
        let bytes = crate::store::read_verified(&file.unit_dir, &file.relative)?;
        let not_parquet = || format!("{} is not a readable Parquet file", file.path.display());
        let metadata = ParquetMetaDataReader::new()
            .with_page_index_policy(PageIndexPolicy::Optional)
            .parse_and_finish(&bytes)
            .with_context(not_parquet)?;
        let schema = Arc::new(
            parquet_to_arrow_schema(
                metadata.file_metadata().schema_descr(),
                metadata.file_metadata().key_value_metadata(),
            )
            .with_context(not_parquet)?,
        );
        Ok(EncodedUnit { bytes, metadata, schema, path: file.path.clone() })
    }

    /// Whether the row groups can be copied as they are: each sorted in the
    /// part's order, big enough, with page indexes to carry over.
    fn spliceable(&self, sorting: &[SortingColumn]) -> bool {
        let row_groups = self.metadata.row_groups();
        !sorting.is_empty()
            && self.metadata.column_index().is_some()
            && self.metadata.offset_index().is_some()
            && row_groups.iter().all(|rg| {
                rg.num_rows() >= SPLICE_MIN_ROWS as i64 && rg.sorting_columns().is_some_and(|s| s.as_slice() == sorting)
            })
    }

    /// The rows (sorted with the rest of their row group when encoded).
    fn decode(self) -> Result<RecordBatch> {
        let corrupt = || format!("{} is corrupt", self.path.display());
        let batches = ParquetRecordBatchReaderBuilder::try_new(self.bytes)
            .with_context(corrupt)?
            .build()?
            .collect::<Result<Vec<_>, _>>()
            .with_context(corrupt)?;
        Ok(concat_batches(&self.schema, &batches)?)
    }
}

/// A part being written: spliced row groups and encoded ones, in unit order.
struct PartWriter {
    file: SerializedFileWriter<fs::File>,
    encoders: ArrowRowGroupWriterFactory,
    schema: SchemaRef,
    sorting: Vec<SortingColumn>,
    /// Decoded rows waiting to fill a row group.
    pending: Vec<RecordBatch>,
    rows: u64,
}

impl PartWriter {
    fn create(path: &Path, schema: SchemaRef) -> Result<PartWriter> {
        let sorting = sorting_columns(&schema);
        let mut props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_statistics_enabled(EnabledStatistics::Page)
            .set_sorting_columns(Some(sorting.clone()))
            // No `created_by` version string: the same rows give the same bytes.
            .set_created_by("robbench".to_string())
            .build();
        add_encoded_arrow_schema_to_metadata(&schema, &mut props);
        let parquet_schema = ArrowSchemaConverter::new().convert(&schema)?;
        let out = fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
        let file = SerializedFileWriter::new(out, parquet_schema.root_schema_ptr(), Arc::new(props))?;
        let encoders = ArrowRowGroupWriterFactory::new(&file, schema.clone());
        Ok(PartWriter { file, encoders, schema, sorting, pending: Vec::new(), rows: 0 })
    }

    /// Copies the unit's row groups, column chunk by column chunk.
    fn splice(&mut self, unit: &EncodedUnit) -> Result<()> {
        self.encode_pending()?;
        let column_index = unit.metadata.column_index().context("spliced files have a column index")?;
        let offset_index = unit.metadata.offset_index().context("spliced files have an offset index")?;
        for (g, row_group) in unit.metadata.row_groups().iter().enumerate() {
            let mut out = self.file.next_row_group()?;
            for (c, column) in row_group.columns().iter().enumerate() {
                let chunk = ColumnCloseResult {
                    bytes_written: column.compressed_size() as u64,
                    rows_written: row_group.num_rows() as u64,
                    metadata: column.clone(),
                    bloom_filter: None,
                    column_index: Some(column_index[g][c].clone()),
                    offset_index: Some(offset_index[g][c].clone()),
                };
                out.append_column(&unit.bytes, chunk)
                    .with_context(|| format!("cannot copy column {c} of {}", unit.path.display()))?;
            }
            out.close()?;
            self.rows += row_group.num_rows() as u64;
        }
        Ok(())
    }

    fn push(&mut self, rows: RecordBatch) -> Result<()> {
        self.pending.push(rows);
        if self.pending.iter().map(RecordBatch::num_rows).sum::<usize>() >= ROW_GROUP_ROWS {
            self.encode_pending()?;
        }
        Ok(())
    }

    /// Sorts the pending rows and encodes them as row groups of at most
    /// [`ROW_GROUP_ROWS`].
    fn encode_pending(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let rows = sort_rows(&concat_batches(&self.schema, &std::mem::take(&mut self.pending))?)?;
        for offset in (0..rows.num_rows()).step_by(ROW_GROUP_ROWS) {
            let slice = rows.slice(offset, ROW_GROUP_ROWS.min(rows.num_rows() - offset));
            let mut encoders = self.encoders.create_column_writers(self.file.flushed_row_groups().len())?.into_iter();
            let mut chunks = Vec::new();
            for (field, column) in self.schema.fields().iter().zip(slice.columns()) {
                for leaf in compute_leaves(field, column)? {
                    let mut encoder = encoders.next().context("one encoder per leaf column")?;
                    encoder.write(&leaf)?;
                    chunks.push(encoder.close()?);
                }
            }
            let mut out = self.file.next_row_group()?;
            for chunk in chunks {
                chunk.append_to_row_group(&mut out)?;
            }
            out.close()?;
            self.rows += slice.num_rows() as u64;
        }
        Ok(())
    }

    /// Writes what is pending and the footer; returns the rows written and
    /// the part's metadata.
    fn finish(mut self) -> Result<(u64, ParquetMetaData)> {
        self.encode_pending()?;
        let metadata = self.file.close()?;
        Ok((self.rows, metadata))
    }
}

/// Lays the parts out as one directory per table (hard links), once per
/// distinct set of parts.
fn materialise(store: &Store, tables: Vec<TableDataset>) -> Result<Snapshot> {
    let mut hasher = blake3::Hasher::new();
    for t in &tables {
        hasher.update(format!("{} v{}:", t.table, t.version).as_bytes());
        for part in &t.parts {
            hasher.update(part.name.as_bytes());
        }
        hasher.update(b"\n");
    }
    let id = hasher.finalize().to_hex()[..24].to_string();
    let root = store.derived().join("tables");
    let dir = root.join(&id);
    let mut snapshot = Snapshot { id: id.clone(), tables, dir: dir.clone() };
    if dir.join("_SUCCESS.json").exists() {
        return Ok(snapshot);
    }
    let tmp = root.join(format!(".{id}.tmp.{}", std::process::id()));
    fs::remove_dir_all(&tmp).ok();
    fs::create_dir_all(&tmp)?;
    let current: HashMap<&str, u32> = robbench_schemas::all().iter().map(|t| (t.name, t.version)).collect();
    for t in &snapshot.tables {
        let table_dir = tmp.join(t.served_name(current.get(t.table.as_str()).copied()));
        fs::create_dir_all(&table_dir)?;
        let parts_dir = store.derived().join("parts").join(format!("{}.v{}", t.table, t.version));
        for part in &t.parts {
            let source = parts_dir.join(part.name.trim_start_matches("part-"));
            let target = table_dir.join(&part.name);
            // A hard link costs no bytes; a filesystem without them gets a copy.
            if fs::hard_link(&source, &target).is_err() {
                fs::copy(&source, &target).with_context(|| format!("cannot copy {}", source.display()))?;
            }
        }
    }
    write_atomic(&tmp.join("_SUCCESS.json"), &serde_json::to_vec_pretty(&snapshot)?)?;
    match fs::rename(&tmp, &dir) {
        Ok(()) => {}
        // Another process materialised the same snapshot first.
        Err(_) if dir.join("_SUCCESS.json").exists() => {
            fs::remove_dir_all(&tmp).ok();
        }
        Err(e) => return Err(e).with_context(|| format!("cannot move {} into place", dir.display())),
    }
    snapshot.dir = dir;
    Ok(snapshot)
}

/// Reads a snapshot written by [`compact`].
pub fn read_snapshot(store: &Store, id: &str) -> Result<Option<Snapshot>> {
    let dir = store.derived().join("tables").join(id);
    let Ok(text) = fs::read(dir.join("_SUCCESS.json")) else { return Ok(None) };
    let mut snapshot: Snapshot =
        serde_json::from_slice(&text).with_context(|| format!("corrupt {}", dir.join("_SUCCESS.json").display()))?;
    snapshot.dir = dir;
    Ok(Some(snapshot))
}

/// Points `tables/latest` at a snapshot (atomically: a new link renamed over the old).
pub fn point_latest(store: &Store, snapshot: &Snapshot) -> Result<()> {
    let root = store.derived().join("tables");
    let tmp = root.join(format!(".latest.tmp.{}", std::process::id()));
    fs::remove_file(&tmp).ok();
    std::os::unix::fs::symlink(&snapshot.id, &tmp)?;
    fs::rename(&tmp, root.join("latest")).context("cannot update tables/latest")?;
    Ok(())
}

/// A file of a snapshot whose bytes are not those recorded.
#[derive(Debug)]
pub struct DamagedPart {
    pub table: String,
    pub version: u32,
    pub name: String,
    pub path: PathBuf,
    /// The blake3 recorded when the part was written.
    pub recorded: String,
    pub problem: String,
}

/// Whether repeated checks of an unchanged file may be skipped.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Rehash {
    /// Hash a file only when its identity (inode, size, mtime) changed since
    /// it was last found intact: repeated queries pay nothing.
    Changed,
    /// Hash every file (`robbench verify`).
    All,
}

/// The parts of a snapshot that no longer match their recorded blake3.
pub fn damaged_parts(snapshot: &Snapshot, rehash: Rehash) -> Result<Vec<DamagedPart>> {
    let cache_path = snapshot.dir.join("_verified.json");
    let mut cache: BTreeMap<String, (u64, u64, i64)> = match rehash {
        Rehash::Changed => fs::read(&cache_path).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default(),
        Rehash::All => BTreeMap::new(),
    };
    let current: HashMap<&str, u32> = robbench_schemas::all().iter().map(|t| (t.name, t.version)).collect();
    let mut changed = false;
    let mut damaged = Vec::new();
    for t in &snapshot.tables {
        let dir = snapshot.table_dir(t, current.get(t.table.as_str()).copied());
        for Part { name, blake3, .. } in &t.parts {
            let path = dir.join(name);
            let damage = |problem: String| DamagedPart {
                table: t.table.clone(),
                version: t.version,
                name: name.clone(),
                path: path.clone(),
                recorded: blake3.clone(),
                problem,
            };
            let meta = match fs::metadata(&path) {
                Ok(meta) => meta,
                Err(e) => {
                    damaged.push(damage(format!("unreadable: {e}")));
                    continue;
                }
            };
            let identity = file_identity(&meta);
            let key = format!("{}/{name}", t.table);
            if cache.get(&key) == Some(&identity) {
                continue;
            }
            let (hash, _) = crate::store::hash_file(&path)?;
            if &hash != blake3 {
                damaged.push(damage(format!(
                    "has changed since it was written (blake3 {} != recorded {})",
                    &hash[..16],
                    &blake3[..16]
                )));
                continue;
            }
            cache.insert(key, identity);
            changed = true;
        }
    }
    if changed {
        // Best effort: a read-only store just verifies again next time.
        write_atomic(&cache_path, &serde_json::to_vec(&cache)?).ok();
    }
    Ok(damaged)
}

/// Takes a damaged snapshot out of use so that the next compaction rebuilds
/// it from the units: each damaged part whose stored copy under `parts/` is
/// damaged too goes to `quarantine/`, and the snapshot and every pointer to
/// it are removed.
pub fn discard(store: &Store, snapshot: &Snapshot, damaged: &[DamagedPart]) -> Result<()> {
    for part in damaged {
        let base = store.derived().join("parts").join(format!("{}.v{}", part.table, part.version));
        let stored = base.join(part.name.trim_start_matches("part-"));
        let intact = crate::store::hash_file(&stored).is_ok_and(|(hash, _)| hash == part.recorded);
        if !intact && stored.exists() {
            quarantine_part(store, &stored)?;
        }
    }
    let pointers = store.derived().join("tables").join("runs");
    for entry in fs::read_dir(&pointers).into_iter().flatten().filter_map(|e| e.ok()) {
        if fs::read_to_string(entry.path()).is_ok_and(|id| id.trim() == snapshot.id) {
            fs::remove_file(entry.path()).with_context(|| format!("cannot remove {}", entry.path().display()))?;
        }
    }
    fs::remove_dir_all(&snapshot.dir).with_context(|| format!("cannot remove {}", snapshot.dir.display()))
}

/// `robbench verify`'s check of the compacted tables: every snapshot's
/// files and every part under `parts/` re-hashed against what was recorded.
/// Damaged snapshots are discarded and damaged parts quarantined, so the next
/// query rebuilds them from the units. Returns (files checked, problems).
pub fn verify_tables(store: &Store) -> Result<(usize, Vec<String>)> {
    let mut checked = 0;
    let mut problems = Vec::new();
    // Inodes found intact through a snapshot: its hard links are the parts
    // themselves, so each file is read once.
    let mut hashed: HashSet<u64> = HashSet::new();
    let tables = store.derived().join("tables");
    let mut snapshots: Vec<String> = fs::read_dir(&tables)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir() && !e.path().is_symlink())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name != "runs" && !name.starts_with('.'))
        .collect();
    snapshots.sort();
    for id in snapshots {
        let Some(snapshot) = read_snapshot(store, &id)? else { continue };
        checked += snapshot.tables.iter().map(|t| t.parts.len()).sum::<usize>();
        let damaged = damaged_parts(&snapshot, Rehash::All)?;
        hashed.extend(
            snapshot_inodes(&snapshot)
                .into_iter()
                .filter(|(path, _)| !damaged.iter().any(|d| &d.path == path))
                .map(|(_, inode)| inode),
        );
        if !damaged.is_empty() {
            discard(store, &snapshot, &damaged)?;
            problems.extend(damaged.iter().map(|d| {
                format!(
                    "{} {} (snapshot removed; the next query rebuilds it from the units)",
                    d.path.display(),
                    d.problem
                )
            }));
        }
    }
    let parts = store.derived().join("parts");
    for table in fs::read_dir(&parts).into_iter().flatten().filter_map(|e| e.ok()) {
        for entry in fs::read_dir(table.path())?.filter_map(|e| e.ok()) {
            let path = entry.path();
            if path.extension().is_none_or(|e| e != "parquet") {
                continue;
            }
            // A part without its metadata is never used as it is: compaction writes it again.
            let meta =
                fs::read(path.with_extension("json")).ok().and_then(|b| serde_json::from_slice::<PartMeta>(&b).ok());
            let Some(meta) = meta else { continue };
            use std::os::unix::fs::MetadataExt;
            if fs::metadata(&path).is_ok_and(|m| hashed.contains(&m.ino())) {
                continue;
            }
            checked += 1;
            let (hash, _) = crate::store::hash_file(&path)?;
            if hash != meta.blake3 {
                quarantine_part(store, &path)?;
                problems.push(format!(
                    "{} has changed since it was written (blake3 {} != recorded {}; quarantined, the next query rebuilds it)",
                    path.display(),
                    &hash[..16],
                    &meta.blake3[..16]
                ));
            }
        }
    }
    Ok((checked, problems))
}

/// Each file of a snapshot with its inode.
fn snapshot_inodes(snapshot: &Snapshot) -> Vec<(PathBuf, u64)> {
    use std::os::unix::fs::MetadataExt;
    let current: HashMap<&str, u32> = robbench_schemas::all().iter().map(|t| (t.name, t.version)).collect();
    let mut out = Vec::new();
    for t in &snapshot.tables {
        let dir = snapshot.table_dir(t, current.get(t.table.as_str()).copied());
        for part in &t.parts {
            let path = dir.join(&part.name);
            if let Ok(meta) = fs::metadata(&path) {
                out.push((path, meta.ino()));
            }
        }
    }
    out
}

/// Moves a stored part into `quarantine/parts/` and drops its metadata, so
/// compaction writes it again instead of trusting it.
fn quarantine_part(store: &Store, part: &Path) -> Result<()> {
    let target = store.derived().join("quarantine").join("parts");
    fs::create_dir_all(&target)?;
    let table = part.parent().and_then(Path::file_name).map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let name = part.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let moved = target.join(crate::store::quarantine_name(&format!("{table}.{name}")));
    fs::rename(part, &moved).with_context(|| format!("cannot move {} to {}", part.display(), moved.display()))?;
    fs::remove_file(part.with_extension("json")).ok();
    Ok(())
}

fn file_identity(meta: &fs::Metadata) -> (u64, u64, i64) {
    use std::os::unix::fs::MetadataExt;
    (meta.ino(), meta.len(), meta.mtime_nsec() + meta.mtime() * 1_000_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int64Array, StringArray};
    use arrow::datatypes::DataType;
    use robbench_schemas::{Column, TableDef};

    use crate::store::{FileEntry, Manifest};

    static SAMPLES: TableDef = TableDef {
        name: "samples_under_test",
        version: 1,
        doc: "",
        columns: &[
            Column { name: "attack", data_type: || DataType::Utf8, nullable: false, doc: "" },
            Column { name: "sample_index", data_type: || DataType::Int64, nullable: false, doc: "" },
        ],
    };

    /// A unit file as a stage writes it, with its manifest.
    fn unit_file(dir: &Path, key: &str, attack: &str, samples: &[i64]) -> UnitFile {
        let unit_dir = dir.join(key);
        fs::create_dir_all(unit_dir.join("tables")).unwrap();
        let relative = format!("tables/{}", SAMPLES.file_name());
        let path = unit_dir.join(&relative);
        let schema = SAMPLES.schema();
        let rows = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from(vec![attack; samples.len()])),
                Arc::new(Int64Array::from(samples.to_vec())),
            ],
        )
        .unwrap();
        crate::tables::write_parquet(&path, &SAMPLES, &[rows]).unwrap();
        let (blake3, bytes) = crate::store::hash_file(&path).unwrap();
        let manifest = Manifest {
            key: key.into(),
            stage: "evaluate".into(),
            stage_version: 1,
            label: key.into(),
            params: serde_json::Value::Null,
            config: serde_json::Value::Null,
            inputs: Vec::new(),
            files: vec![FileEntry { path: relative.clone(), blake3, bytes }],
            started_at: String::new(),
            seconds: 0.0,
            host: String::new(),
            notes: Default::default(),
        };
        fs::write(unit_dir.join("manifest.json"), serde_json::to_vec(&manifest).unwrap()).unwrap();
        let unit = RunUnit {
            stage: "evaluate".into(),
            key: key.into(),
            label: key.into(),
            status: crate::runs::UnitStatus::Executed,
            seconds: 0.0,
            error: None,
        };
        UnitFile { unit, unit_dir, relative, path, bytes }
    }

    /// Rows of a part, and the sizes of its row groups.
    fn written(path: &Path) -> (Vec<(String, i64)>, Vec<i64>) {
        let builder = ParquetRecordBatchReaderBuilder::try_new(fs::File::open(path).unwrap()).unwrap();
        let groups = builder.metadata().row_groups().iter().map(|g| g.num_rows()).collect();
        let mut out = Vec::new();
        for batch in builder.build().unwrap() {
            let batch = batch.unwrap();
            let attacks = batch.column(0).as_any().downcast_ref::<StringArray>().unwrap();
            let samples = batch.column(1).as_any().downcast_ref::<Int64Array>().unwrap();
            out.extend((0..batch.num_rows()).map(|i| (attacks.value(i).to_string(), samples.value(i))));
        }
        (out, groups)
    }

    #[test]
    fn big_sorted_units_are_copied_as_row_groups_and_small_ones_merged_sorted() {
        let dir = tempfile::tempdir().unwrap();
        let big: Vec<i64> = (0..SPLICE_MIN_ROWS as i64).rev().collect();
        let files = [
            unit_file(dir.path(), "a", "pgd", &[3, 1]),
            unit_file(dir.path(), "b", "clean", &[2]),
            unit_file(dir.path(), "c", "fgsm", &big),
            unit_file(dir.path(), "d", "clean", &[0]),
        ];
        let path = dir.path().join("part.parquet");
        let meta = write_part(&files, &path).unwrap();
        assert_eq!(meta.rows, 4 + SPLICE_MIN_ROWS as u64);
        let (rows, groups) = written(&path);
        // The two small units before the big one share a sorted row group;
        // the big unit (sorted when written) is its own; the last small one follows.
        assert_eq!(groups, [2 + 1, SPLICE_MIN_ROWS as i64, 1]);
        let mut expected = vec![("clean".to_string(), 2), ("pgd".to_string(), 1), ("pgd".to_string(), 3)];
        expected.extend((0..SPLICE_MIN_ROWS as i64).map(|i| ("fgsm".to_string(), i)));
        expected.push(("clean".to_string(), 0));
        assert_eq!(rows, expected);
        // The copied row group keeps its page index, so filters still prune pages.
        let reader = parquet::file::serialized_reader::SerializedFileReader::new_with_options(
            fs::File::open(&path).unwrap(),
            parquet::file::serialized_reader::ReadOptionsBuilder::new().with_page_index().build(),
        )
        .unwrap();
        use parquet::file::reader::FileReader;
        assert!(reader.metadata().offset_index().is_some_and(|o| o.len() == 3));
    }

    #[test]
    fn a_unit_file_that_no_longer_matches_its_manifest_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = unit_file(dir.path(), "a", "pgd", &[1, 2]);
        fs::write(&file.path, b"not the bytes the manifest recorded").unwrap();
        let Err(error) = write_part(&[file], &dir.path().join("part.parquet")) else {
            panic!("a changed unit file was compacted")
        };
        assert!(format!("{error:#}").contains("has changed since its unit was written"), "{error:#}");
    }
}
