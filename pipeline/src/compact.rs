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
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::Compression;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use serde::{Deserialize, Serialize};

use crate::runs::RunUnit;
use crate::store::{Manifest, Store, write_atomic};

/// Default target size of a part (bytes of the per-unit files it holds).
pub const PART_BYTES: u64 = 32 << 20;

/// Rows per row group: small enough for a filter to skip most of a part.
const ROW_GROUP_ROWS: usize = 64 * 1024;

/// Columns rows are sorted by inside a part, in this order, where present.
pub const SORT_COLUMNS: &[&str] =
    &["source", "dataset", "split", "arch_index", "seed", "weights", "attack", "eps", "epoch", "sample_index"];

/// Changes whenever the bytes a part would hold for the same units change.
const PART_FORMAT: u32 = 1;

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

    let mut plan: Vec<(String, u32, Vec<Vec<UnitFile>>)> = Vec::new();
    for ((table, version), files) in files {
        plan.push((table, version, cut_into_parts(files, part_bytes)));
    }
    let total: usize = plan.iter().map(|(_, _, parts)| parts.len()).sum();
    let mut done = 0;
    let mut tables = Vec::new();
    for (table, version, parts) in plan {
        let dir = store.root().join("parts").join(format!("{table}.v{version}"));
        fs::create_dir_all(&dir)?;
        let mut dataset = TableDataset { table: table.clone(), version, rows: 0, parts: Vec::new() };
        for part in parts {
            let hash = part_hash(&part);
            let path = dir.join(format!("{hash}.parquet"));
            let meta_path = dir.join(format!("{hash}.json"));
            let meta: PartMeta = match fs::read(&meta_path).ok().and_then(|b| serde_json::from_slice(&b).ok()) {
                Some(meta) if path.exists() => meta,
                _ => {
                    let meta = write_part(&part, &path)?;
                    write_atomic(&meta_path, &serde_json::to_vec(&meta)?)?;
                    meta
                }
            };
            dataset.rows += meta.rows;
            dataset.parts.push((format!("part-{hash}.parquet"), meta.blake3));
            done += 1;
            progress(done, total);
        }
        tables.push(dataset);
    }
    let snapshot = materialise(store, tables)?;
    Ok((snapshot, missing))
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
fn write_part(part: &[UnitFile], path: &Path) -> Result<PartMeta> {
    let mut batches = Vec::new();
    let mut schema: Option<Arc<Schema>> = None;
    for file in part {
        verify_unit_file(file)?;
        let reader = fs::File::open(&file.path).with_context(|| format!("cannot open {}", file.path.display()))?;
        let builder = ParquetRecordBatchReaderBuilder::try_new(reader)
            .with_context(|| format!("{} is not a readable Parquet file", file.path.display()))?;
        let file_schema = builder.schema().clone();
        match &schema {
            None => schema = Some(file_schema),
            Some(s) if s.fields() != file_schema.fields() => bail!(
                "{} does not have the columns of the other files of its table ({:?})",
                file.path.display(),
                s.fields().iter().map(|f| f.name()).collect::<Vec<_>>()
            ),
            Some(_) => {}
        }
        for batch in builder.build()? {
            batches.push(batch.with_context(|| format!("{} is corrupt", file.path.display()))?);
        }
    }
    let schema = schema.expect("a part holds at least one file");
    let all = concat_batches(&schema, &batches)?;
    drop(batches);
    let sorted = sort_rows(&all)?;
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    {
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_statistics_enabled(EnabledStatistics::Page)
            .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
            // No `created_by` version string: the same rows give the same bytes.
            .set_created_by("robbench".to_string())
            .build();
        let file = fs::File::create(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
        let mut writer = ArrowWriter::try_new(file, schema.clone(), Some(props))?;
        writer.write(&sorted)?;
        writer.close()?;
    }
    let (blake3, _) = crate::store::hash_file(&tmp)?;
    fs::rename(&tmp, path)?;
    Ok(PartMeta { rows: sorted.num_rows() as u64, blake3 })
}

fn sort_rows(batch: &RecordBatch) -> Result<RecordBatch> {
    let columns: Vec<SortColumn> = SORT_COLUMNS
        .iter()
        .filter_map(|name| batch.column_by_name(name))
        .filter(|c| c.data_type().is_primitive() || matches!(c.data_type(), arrow::datatypes::DataType::Utf8))
        .map(|c| SortColumn { values: c.clone(), options: None })
        .collect();
    if columns.is_empty() || batch.num_rows() < 2 {
        return Ok(batch.clone());
    }
    let indices = lexsort_to_indices(&columns, None)?;
    Ok(take_record_batch(batch, &indices)?)
}

/// Checks a unit file against the blake3 its manifest recorded.
fn verify_unit_file(file: &UnitFile) -> Result<()> {
    let manifest_path = file.unit_dir.join("manifest.json");
    let text =
        fs::read_to_string(&manifest_path).with_context(|| format!("cannot read {}", manifest_path.display()))?;
    let manifest: Manifest =
        serde_json::from_str(&text).with_context(|| format!("corrupt manifest {}", manifest_path.display()))?;
    let entry = manifest.files.iter().find(|f| f.path == file.relative).with_context(|| {
        format!("{} is not listed in its unit's manifest (run `robbench verify`)", file.path.display())
    })?;
    let (hash, _) = crate::store::hash_file(&file.path)?;
    if hash != entry.blake3 {
        bail!(
            "{} has changed since its unit was written (blake3 {} != recorded {}); \
             run `robbench verify` to quarantine it, then rerun to recompute it",
            file.path.display(),
            &hash[..16],
            &entry.blake3[..16]
        );
    }
    Ok(())
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
