//! SQL over the tables of a run, with DataFusion.
//!
//! Tables are registered lazily by name: `<table>` holds the rows of the
//! chosen run (every unit it executed or reused), `<table>_history` the rows
//! of every recorded run with a leading `run_id` column, `<table>_v<k>` rows
//! written under an older schema version k, and `runs` one row per unit of
//! every run. Files are read with `parquet` and served from memory, which
//! keeps DataFusion's own file formats out of the build.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use arrow::array::{ArrayRef, Float64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use async_trait::async_trait;
use datafusion::catalog::{MemorySchemaProvider, SchemaProvider, TableProvider};
use datafusion::datasource::MemTable;
use datafusion::error::DataFusionError;
use datafusion::prelude::SessionContext;
use robbench_schemas::{TableDef, parse_file_name};

use crate::runs::{RunRecord, UnitStatus};
use crate::store::Store;
use crate::tables::read_any;

/// Table files of one run, by (table name, schema version).
type FilesByTable = BTreeMap<(String, u32), Vec<PathBuf>>;

fn run_files(store: &Store, run: &RunRecord) -> FilesByTable {
    unit_files(store, run.units.iter().filter(|u| u.status != UnitStatus::Failed))
}

fn unit_files<'a>(store: &Store, units: impl Iterator<Item = &'a crate::runs::RunUnit>) -> FilesByTable {
    let mut out = FilesByTable::new();
    for unit in units {
        let dir = store.root().join("objects").join(&unit.stage).join(&unit.key).join("tables");
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        let mut files: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        files.sort();
        for path in files {
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            if let Some((table, version)) = parse_file_name(&name) {
                out.entry((table.to_string(), version)).or_default().push(path);
            }
        }
    }
    out
}

/// The tables of a store as SQL sees them.
#[derive(Debug)]
pub struct Catalog {
    run: RunRecord,
    runs: Vec<RunRecord>,
    files: FilesByTable,
    history: Vec<(String, FilesByTable)>,
    cache: Mutex<HashMap<PathBuf, Vec<RecordBatch>>>,
}

/// A table name served by the catalog.
enum Served {
    Current(&'static TableDef),
    Old(String, u32),
    History(&'static TableDef),
    Runs,
}

impl Catalog {
    /// The catalog of `run`, with the history of all `runs`. Units of the
    /// `global_stages` (e.g. imported reference data) are visible from every
    /// run: the latest successful unit of each label across all runs.
    pub fn new(store: &Store, run: RunRecord, runs: Vec<RunRecord>, global_stages: &[&str]) -> Catalog {
        let mut files = run_files(store, &run);
        let mut latest: BTreeMap<(&str, &str), &crate::runs::RunUnit> = BTreeMap::new();
        for unit in runs.iter().flat_map(|r| &r.units) {
            if unit.status != UnitStatus::Failed && global_stages.contains(&unit.stage.as_str()) {
                latest.insert((unit.stage.as_str(), unit.label.as_str()), unit);
            }
        }
        let in_run: std::collections::HashSet<&str> = run.units.iter().map(|u| u.key.as_str()).collect();
        let global = unit_files(store, latest.values().copied().filter(|u| !in_run.contains(u.key.as_str())));
        for (table, paths) in global {
            files.entry(table).or_default().extend(paths);
        }
        let history = runs.iter().map(|r| (r.run_id.clone(), run_files(store, r))).collect();
        Catalog { run, runs, files, history, cache: Mutex::new(HashMap::new()) }
    }

    pub fn run(&self) -> &RunRecord {
        &self.run
    }

    fn served(&self, name: &str) -> Option<Served> {
        if name == robbench_schemas::RUNS.name {
            return Some(Served::Runs);
        }
        if let Some(def) = robbench_schemas::by_name(name) {
            return Some(Served::Current(def));
        }
        if let Some(def) = name.strip_suffix("_history").and_then(robbench_schemas::by_name) {
            return Some(Served::History(def));
        }
        let (base, version) = name.rsplit_once("_v")?;
        let version: u32 = version.parse().ok()?;
        self.files.contains_key(&(base.to_string(), version)).then(|| Served::Old(base.to_string(), version))
    }

    /// Every table name with its schema, for `robbench tables`.
    pub fn table_schemas(&self) -> Result<Vec<(String, SchemaRef, usize)>> {
        let mut out = Vec::new();
        for name in self.names() {
            let batches = self.load(&name)?;
            let rows = batches.1.iter().map(|b| b.num_rows()).sum();
            out.push((name, batches.0, rows));
        }
        Ok(out)
    }

    fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = robbench_schemas::all().iter().map(|t| t.name.to_string()).collect();
        for t in robbench_schemas::all().iter().filter(|t| t.name != robbench_schemas::RUNS.name) {
            names.push(format!("{}_history", t.name));
        }
        for (name, version) in self.files.keys() {
            if robbench_schemas::by_name(name).is_none_or(|t| t.version != *version) {
                names.push(format!("{name}_v{version}"));
            }
        }
        names
    }

    fn read_cached(&self, path: &PathBuf, expect: Option<&TableDef>) -> Result<Vec<RecordBatch>> {
        if let Some(batches) = self.cache.lock().expect("cache lock").get(path) {
            return Ok(batches.clone());
        }
        let (batches, name, version) = read_any(path)?;
        if let Some(def) = expect
            && (def.name != name || def.version != version)
        {
            anyhow::bail!("{} holds `{name}` v{version}, expected `{}` v{}", path.display(), def.name, def.version);
        }
        self.cache.lock().expect("cache lock").insert(path.clone(), batches.clone());
        Ok(batches)
    }

    fn load(&self, name: &str) -> Result<(SchemaRef, Vec<RecordBatch>)> {
        match self.served(name).with_context(|| format!("no table `{name}`"))? {
            Served::Runs => Ok(runs_batch(&self.runs)),
            Served::Current(def) => {
                let key = (def.name.to_string(), def.version);
                let mut batches = Vec::new();
                for path in self.files.get(&key).into_iter().flatten() {
                    batches.extend(self.read_cached(path, Some(def))?);
                }
                Ok((def.schema(), batches))
            }
            Served::Old(base, version) => {
                let mut batches = Vec::new();
                for path in &self.files[&(base, version)] {
                    batches.extend(self.read_cached(path, None)?);
                }
                let schema = batches.first().map(|b| b.schema()).unwrap_or_else(|| Arc::new(Schema::empty()));
                Ok((schema, batches))
            }
            Served::History(def) => {
                let base = def.schema();
                let mut fields = vec![Field::new("run_id", DataType::Utf8, false)];
                fields.extend(base.fields().iter().map(|f| f.as_ref().clone()));
                let schema = Arc::new(Schema::new(fields));
                let key = (def.name.to_string(), def.version);
                let mut batches = Vec::new();
                for (run_id, files) in &self.history {
                    for path in files.get(&key).into_iter().flatten() {
                        for batch in self.read_cached(path, Some(def))? {
                            let run_col: ArrayRef =
                                Arc::new(StringArray::from(vec![run_id.as_str(); batch.num_rows()]));
                            let mut columns = vec![run_col];
                            columns.extend(batch.columns().iter().cloned());
                            batches.push(RecordBatch::try_new(schema.clone(), columns)?);
                        }
                    }
                }
                Ok((schema, batches))
            }
        }
    }
}

fn runs_batch(runs: &[RunRecord]) -> (SchemaRef, Vec<RecordBatch>) {
    let def = &robbench_schemas::RUNS;
    let units: Vec<(&str, &crate::runs::RunUnit)> =
        runs.iter().flat_map(|r| r.units.iter().map(move |u| (r.run_id.as_str(), u))).collect();
    let strings = |f: &dyn Fn(&(&str, &crate::runs::RunUnit)) -> String| -> ArrayRef {
        Arc::new(StringArray::from(units.iter().map(f).collect::<Vec<_>>()))
    };
    let columns = vec![
        strings(&|(run, _)| run.to_string()),
        strings(&|(_, u)| u.stage.clone()),
        strings(&|(_, u)| u.key.clone()),
        strings(&|(_, u)| u.label.clone()),
        strings(&|(_, u)| u.status.as_str().to_string()),
        Arc::new(Float64Array::from(units.iter().map(|(_, u)| u.seconds).collect::<Vec<_>>())) as ArrayRef,
        Arc::new(StringArray::from(units.iter().map(|(_, u)| u.error.clone()).collect::<Vec<_>>())) as ArrayRef,
    ];
    let batch = def.batch(columns).expect("runs columns match the runs schema");
    (def.schema(), vec![batch])
}

#[derive(Debug)]
struct LazySchema {
    catalog: Arc<Catalog>,
}

#[async_trait]
impl SchemaProvider for LazySchema {
    fn table_names(&self) -> Vec<String> {
        self.catalog.names()
    }

    async fn table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>, DataFusionError> {
        if self.catalog.served(name).is_none() {
            return Ok(None);
        }
        let (schema, batches) = self.catalog.load(name).map_err(|e| DataFusionError::External(e.into()))?;
        let table = MemTable::try_new(schema, vec![batches])?;
        Ok(Some(Arc::new(table)))
    }

    fn table_exist(&self, name: &str) -> bool {
        self.catalog.served(name).is_some()
    }
}

/// Runs one SQL statement over the catalog.
pub fn query(catalog: Arc<Catalog>, sql: &str) -> Result<(SchemaRef, Vec<RecordBatch>)> {
    let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    runtime.block_on(async {
        let ctx = SessionContext::new();
        let default_catalog = ctx.catalog("datafusion").context("DataFusion has no default catalog")?;
        default_catalog.register_schema("public", Arc::new(LazySchema { catalog }))?;
        // Keep an empty schema around so DataFusion's name resolution has a fallback.
        default_catalog.register_schema("scratch", Arc::new(MemorySchemaProvider::new()))?;
        let frame = ctx.sql(sql).await.with_context(|| format!("SQL error in: {sql}"))?;
        let schema: SchemaRef = Arc::new(frame.schema().as_arrow().clone());
        let batches = frame.collect().await.with_context(|| format!("SQL error in: {sql}"))?;
        Ok((schema, batches))
    })
}
