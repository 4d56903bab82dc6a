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

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use arrow::array::RecordBatch;
use arrow::compute::{SortColumn, concat_batches, lexsort_to_indices, take_record_batch};
use arrow::datatypes::Schema;
use arrow::row::{OwnedRow, RowConverter, SortField};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::Compression;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use serde::{Deserialize, Serialize};

use robbench_schemas::SORT_COLUMNS;

use crate::runs::RunUnit;
use crate::store::{Store, write_atomic};

/// Default target size of a part (bytes of the per-unit files it holds).
pub const PART_BYTES: u64 = 32 << 20;

/// Rows per row group: small enough for a filter to skip most of a part.
const ROW_GROUP_ROWS: usize = 64 * 1024;

/// Changes whenever the bytes a part would hold for the same units change.
const PART_FORMAT: u32 = 3;

/// One table of a snapshot, as SQL serves it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TableDataset {
    /// Table name; files of an older schema version are served as `<table>_v<k>`.
    pub table: String,
    pub version: u32,
    pub rows: u64,
    /// Part file names with their blake3.
    pub parts: Vec<(String, String)>,
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
        if !dir.is_dir() {
            missing.push(MissingUnit {
                stage: unit.stage.clone(),
                key: unit.key.clone(),
                label: unit.label.clone(),
                why: "not in the store (removed, or quarantined by `robbench verify`)".into(),
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
        let dir = store.root().join("parts").join(format!("{table}.v{version}"));
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
        tables[*table].parts.push((format!("part-{hash}.parquet"), meta.blake3));
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
    if let Some(meta) = fs::read(&meta_path).ok().and_then(|b| serde_json::from_slice::<PartMeta>(&b).ok())
        && path.exists()
    {
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
}

/// Reads the units' files (each checked against its manifest first), sorts
/// the rows and writes the part atomically.
///
/// Each unit's rows are sorted on their own and streamed to the writer while
/// every unit starts at or after the key where the previous one ended (the
/// usual case: a unit is one network × attack, and units come in label
/// order), so memory holds one unit, not the part. A part whose units
/// interleave is read again and sorted whole.
fn write_part(part: &[UnitFile], path: &Path) -> Result<PartMeta> {
    let tmp = path.with_extension(format!("tmp.{}.{:?}", std::process::id(), std::thread::current().id()));
    let units = || {
        let mut columns: Option<Arc<Schema>> = None;
        part.iter().map(move |file| {
            let rows = read_unit_file(file)?;
            match &columns {
                None => columns = Some(rows.schema()),
                Some(s) if s.fields() != rows.schema().fields() => bail!(
                    "{} does not have the columns of the other files of its table ({:?})",
                    file.path.display(),
                    s.fields().iter().map(|f| f.name()).collect::<Vec<_>>()
                ),
                Some(_) => {}
            }
            Ok(rows)
        })
    };
    let rows = match write_in_order(units(), &tmp)? {
        Some(rows) => rows,
        None => {
            let units = units().collect::<Result<Vec<_>>>()?;
            let all = concat_batches(&units[0].schema(), &units)?;
            drop(units);
            write_in_order(std::iter::once(Ok(all)), &tmp)?.expect("one batch is in order once sorted")
        }
    };
    let (blake3, _) = crate::store::hash_file(&tmp)?;
    fs::rename(&tmp, path)?;
    Ok(PartMeta { rows, blake3 })
}

/// Sorts each batch and writes them one after another to `path`, or returns
/// `None` (leaving a partial file to be overwritten) as soon as a batch
/// starts before the previous one ended. Returns the rows written.
fn write_in_order(batches: impl Iterator<Item = Result<RecordBatch>>, path: &Path) -> Result<Option<u64>> {
    let mut writer: Option<ArrowWriter<fs::File>> = None;
    let mut converter: Option<RowConverter> = None;
    let mut previous_end: Option<OwnedRow> = None;
    let mut rows = 0;
    for batch in batches {
        let batch = sort_rows(&batch?)?;
        let columns = sort_columns(&batch);
        if batch.num_rows() > 0 && !columns.is_empty() {
            let converter = match &mut converter {
                Some(c) => c,
                None => converter.insert(RowConverter::new(
                    columns.iter().map(|c| SortField::new(c.values.data_type().clone())).collect(),
                )?),
            };
            // The first and last row's keys, in the row format (compares as bytes).
            let n = batch.num_rows();
            let ends: Vec<_> = columns
                .iter()
                .map(|c| arrow::compute::concat(&[&c.values.slice(0, 1), &c.values.slice(n - 1, 1)]))
                .collect::<Result<_, _>>()?;
            let keys = converter.convert_columns(&ends)?;
            if previous_end.as_ref().is_some_and(|end| end.row() > keys.row(0)) {
                return Ok(None);
            }
            previous_end = Some(keys.row(1).owned());
        }
        let writer = match &mut writer {
            Some(w) => w,
            None => writer.insert(new_part_writer(path, batch.schema())?),
        };
        rows += batch.num_rows() as u64;
        writer.write(&batch)?;
    }
    writer.context("a part holds at least one file")?.close()?;
    Ok(Some(rows))
}

fn new_part_writer(path: &Path, schema: Arc<Schema>) -> Result<ArrowWriter<fs::File>> {
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        // No `created_by` version string: the same rows give the same bytes.
        .set_created_by("robbench".to_string())
        .build();
    let file = fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    Ok(ArrowWriter::try_new(file, schema, Some(props))?)
}

/// One unit file's rows as one batch, after checking the file against its manifest.
fn read_unit_file(file: &UnitFile) -> Result<RecordBatch> {
    let bytes = crate::store::read_verified(&file.unit_dir, &file.relative)?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(bytes)
        .with_context(|| format!("{} is not a readable Parquet file", file.path.display()))?;
    let schema = builder.schema().clone();
    let batches = builder
        .build()?
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("{} is corrupt", file.path.display()))?;
    Ok(concat_batches(&schema, &batches)?)
}

/// The sort columns of a batch, in [`SORT_COLUMNS`] order.
fn sort_columns(batch: &RecordBatch) -> Vec<SortColumn> {
    SORT_COLUMNS
        .iter()
        .filter_map(|name| batch.column_by_name(name))
        .filter(|c| c.data_type().is_primitive() || matches!(c.data_type(), arrow::datatypes::DataType::Utf8))
        .map(|c| SortColumn { values: c.clone(), options: None })
        .collect()
}

fn sort_rows(batch: &RecordBatch) -> Result<RecordBatch> {
    let columns = sort_columns(batch);
    if columns.is_empty() || batch.num_rows() < 2 {
        return Ok(batch.clone());
    }
    let indices = lexsort_to_indices(&columns, None)?;
    Ok(take_record_batch(batch, &indices)?)
}

/// Lays the parts out as one directory per table (hard links), once per
/// distinct set of parts.
fn materialise(store: &Store, tables: Vec<TableDataset>) -> Result<Snapshot> {
    let mut hasher = blake3::Hasher::new();
    for t in &tables {
        hasher.update(format!("{} v{}:", t.table, t.version).as_bytes());
        for (name, _) in &t.parts {
            hasher.update(name.as_bytes());
        }
        hasher.update(b"\n");
    }
    let id = hasher.finalize().to_hex()[..24].to_string();
    let root = store.root().join("tables");
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
        let parts_dir = store.root().join("parts").join(format!("{}.v{}", t.table, t.version));
        for (name, _) in &t.parts {
            let source = parts_dir.join(name.trim_start_matches("part-"));
            let target = table_dir.join(name);
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
    let dir = store.root().join("tables").join(id);
    let Ok(text) = fs::read(dir.join("_SUCCESS.json")) else { return Ok(None) };
    let mut snapshot: Snapshot =
        serde_json::from_slice(&text).with_context(|| format!("corrupt {}", dir.join("_SUCCESS.json").display()))?;
    snapshot.dir = dir;
    Ok(Some(snapshot))
}

/// Points `tables/latest` at a snapshot (atomically: a new link renamed over the old).
pub fn point_latest(store: &Store, snapshot: &Snapshot) -> Result<()> {
    let root = store.root().join("tables");
    let tmp = root.join(format!(".latest.tmp.{}", std::process::id()));
    fs::remove_file(&tmp).ok();
    std::os::unix::fs::symlink(&snapshot.id, &tmp)?;
    fs::rename(&tmp, root.join("latest")).context("cannot update tables/latest")?;
    Ok(())
}

/// Checks every part of a snapshot against its recorded blake3, once per
/// file identity (inode, size, mtime): repeated queries pay nothing.
pub fn verify_snapshot(snapshot: &Snapshot) -> Result<()> {
    let cache_path = snapshot.dir.join("_verified.json");
    let mut cache: BTreeMap<String, (u64, u64, i64)> =
        fs::read(&cache_path).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default();
    let current: HashMap<&str, u32> = robbench_schemas::all().iter().map(|t| (t.name, t.version)).collect();
    let mut changed = false;
    for t in &snapshot.tables {
        let dir = snapshot.table_dir(t, current.get(t.table.as_str()).copied());
        for (name, blake3) in &t.parts {
            let path = dir.join(name);
            let meta = fs::metadata(&path).with_context(|| format!("{} is missing", path.display()))?;
            let identity = file_identity(&meta);
            let key = format!("{}/{name}", t.table);
            if cache.get(&key) == Some(&identity) {
                continue;
            }
            let (hash, _) = crate::store::hash_file(&path)?;
            if &hash != blake3 {
                bail!(
                    "{} has changed since it was written (blake3 {} != recorded {}); \
                     remove {} and query again to rebuild it from the units",
                    path.display(),
                    &hash[..16],
                    &blake3[..16],
                    snapshot.dir.display()
                );
            }
            cache.insert(key, identity);
            changed = true;
        }
    }
    if changed {
        // Best effort: a read-only store just verifies again next time.
        write_atomic(&cache_path, &serde_json::to_vec(&cache)?).ok();
    }
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
    use arrow::datatypes::{DataType, Field};

    fn unit(attack: &str, samples: &[i64]) -> Result<RecordBatch> {
        let schema = Arc::new(Schema::new(vec![
            Field::new("attack", DataType::Utf8, false),
            Field::new("sample_index", DataType::Int64, false),
        ]));
        let attacks = StringArray::from(vec![attack; samples.len()]);
        Ok(RecordBatch::try_new(schema, vec![Arc::new(attacks), Arc::new(Int64Array::from(samples.to_vec()))])?)
    }

    fn written(path: &Path) -> Vec<(String, i64)> {
        let reader = ParquetRecordBatchReaderBuilder::try_new(fs::File::open(path).unwrap()).unwrap().build().unwrap();
        let mut out = Vec::new();
        for batch in reader {
            let batch = batch.unwrap();
            let attacks = batch.column(0).as_any().downcast_ref::<StringArray>().unwrap();
            let samples = batch.column(1).as_any().downcast_ref::<Int64Array>().unwrap();
            out.extend((0..batch.num_rows()).map(|i| (attacks.value(i).to_string(), samples.value(i))));
        }
        out
    }

    #[test]
    fn units_that_follow_one_another_are_streamed_each_sorted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("part.parquet");
        // Equal keys at a boundary still follow one another; empty units change nothing.
        let units = [unit("clean", &[1, 0]), unit("fgsm", &[]), unit("fgsm", &[5, 0]), unit("fgsm", &[5, 7])];
        assert_eq!(write_in_order(units.into_iter(), &path).unwrap(), Some(6));
        let expected = [("clean", 0), ("clean", 1), ("fgsm", 0), ("fgsm", 5), ("fgsm", 5), ("fgsm", 7)];
        assert_eq!(written(&path), expected.map(|(a, i)| (a.to_string(), i)));
    }

    #[test]
    fn interleaving_units_are_refused_for_a_whole_sort() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("part.parquet");
        let units = [unit("pgd", &[0, 4]), unit("pgd", &[2, 6])];
        assert_eq!(write_in_order(units.into_iter(), &path).unwrap(), None);
        let units = [unit("pgd", &[0]), unit("clean", &[9])];
        assert_eq!(write_in_order(units.into_iter(), &path).unwrap(), None);
    }
}
