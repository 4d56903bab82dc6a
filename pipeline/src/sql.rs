//! SQL over the tables of a run, with DataFusion scanning Parquet itself.
//!
//! Tables are registered lazily by name: `<table>` holds the rows of the
//! chosen run (every unit it executed or reused, plus the latest import of
//! each published source), `<table>_history` the rows of every recorded run
//! with a leading `run_id` column, `<table>_v<k>` rows written under an older
//! schema version k, and `runs` one row per unit of every run. A run's
//! tables are its compacted datasets ([`crate::compact`]), built on the first
//! query that needs them; DataFusion reads them with projection and predicate
//! pushdown, so memory stays bounded whatever the row count.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use anyhow::{Context, Result};
use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use async_trait::async_trait;
use datafusion::catalog::{MemorySchemaProvider, SchemaProvider, TableProvider, view::ViewTable};
use datafusion::common::ScalarValue;
use datafusion::datasource::physical_plan::parquet::transform_schema_to_view;
use datafusion::datasource::{MemTable, provider_as_source};
use datafusion::error::DataFusionError;
use datafusion::logical_expr::{LogicalPlanBuilder, col, lit};
use datafusion::prelude::{SessionConfig, SessionContext};
use futures::StreamExt;
use robbench_schemas::TableDef;

use crate::compact::{self, Completeness, MissingUnit, Snapshot, TableDataset};
use crate::parts_table::PartsTable;
use crate::runs::{self, RunRecord, RunState, RunUnit};
use crate::store::{Store, write_atomic};
use crate::tables::plain;

/// The tables of a store as SQL sees them, for one chosen run.
pub struct Catalog {
    store: Store,
    run_id: Option<String>,
    /// The run's record, read only when its tables are not compacted yet.
    run: OnceLock<Result<Option<RunRecord>, String>>,
    completeness: Completeness,
    part_bytes: u64,
    /// The run's tables, compacted on first use.
    resolved: OnceLock<Result<Resolved, String>>,
    history: OnceLock<Result<Vec<(String, Snapshot)>, String>>,
    /// Lines for stderr: which run, what is missing, what was repaired.
    notices: Mutex<Vec<String>>,
    /// Snapshots rebuilt after damage (damaged again: an error, not a loop).
    repaired: Mutex<std::collections::HashSet<String>>,
    /// The units a run's config plans, to name those an incomplete run lacks.
    planned: Option<PlannedUnits>,
}

/// Every unit a run's config plans (stage, key, label; `why` left empty).
/// The engine knows no stages: the application that plans supplies it.
pub type PlannedUnits = Box<dyn Fn(&RunRecord) -> Result<Vec<MissingUnit>> + Send + Sync>;

/// The notice of a partial answer: how many units, and the first of them.
fn partial_notice(owner: &str, missing: &[MissingUnit]) -> String {
    const SHOWN: usize = 20;
    let mut text = format!("partial answer: {} unit(s) of {owner} are missing:", missing.len());
    for m in missing.iter().take(SHOWN) {
        text.push_str(&format!("\n  [{}] {} ({}): {}", m.stage, m.label, &m.key[..m.key.len().min(12)], m.why));
    }
    if missing.len() > SHOWN {
        text.push_str(&format!("\n  … and {} more", missing.len() - SHOWN));
    }
    text
}

struct Resolved {
    snapshot: Snapshot,
    missing: Vec<MissingUnit>,
}

impl std::fmt::Debug for Catalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Catalog").field("run", &self.run_id).finish()
    }
}

/// Which run a query is about.
pub enum RunChoice<'a> {
    /// `--run ID`.
    Id(&'a str),
    /// The latest complete run of a config (by its hash).
    Config(&'a str),
    /// The latest complete run in the store.
    Latest,
}

/// The id of the run a command reads, or `None` for a store that holds
/// imports only. Reads no run record but (when there is no complete run) the
/// latest ones.
pub fn choose_run(store: &Store, choice: RunChoice<'_>) -> Result<Option<String>> {
    match choice {
        RunChoice::Id(id) => runs::read_header(store, id).map(|h| Some(h.run_id)),
        RunChoice::Config(hash) => match runs::latest_id_of_config(store, hash)? {
            Some(run) => Ok(Some(run)),
            None => anyhow::bail!(
                "no complete run of this config (hash {hash}) in {}; run `robbench run` with the same \
                 --config/--set first, or pass --run ID (`robbench runs` lists them)",
                store.root().display()
            ),
        },
        RunChoice::Latest => {
            if let Some(run) = runs::latest_id(store)? {
                return Ok(Some(run));
            }
            // Experiment runs exist, but none is whole: say so rather than answer from nothing.
            let ids = runs::ids(store)?;
            for id in ids.iter().rev() {
                let run = runs::read(store, id)?;
                if run.kind == runs::RunKind::Experiment {
                    anyhow::bail!(
                        "no complete run in {}: the latest, {id}, is {}{}; query it with `--run {id} --allow-partial`, \
                         or finish it with `robbench run`",
                        store.root().display(),
                        run.state(store).as_str(),
                        run.shard.as_ref().map(|s| format!(" (shard {s})")).unwrap_or_default()
                    );
                }
            }
            Ok(None)
        }
    }
}

impl Catalog {
    /// The catalog of the run `run_id` (`None`: imported data only).
    pub fn new(store: &Store, run_id: Option<String>, completeness: Completeness) -> Catalog {
        Catalog {
            store: store.clone(),
            run_id,
            run: OnceLock::new(),
            completeness,
            part_bytes: compact::PART_BYTES,
            resolved: OnceLock::new(),
            history: OnceLock::new(),
            notices: Mutex::new(Vec::new()),
            repaired: Mutex::new(std::collections::HashSet::new()),
            planned: None,
        }
    }

    /// Names the units an incomplete run lacks, from its config's plan.
    pub fn with_planned_units(mut self, planned: PlannedUnits) -> Catalog {
        self.planned = Some(planned);
        self
    }

    /// Cuts compacted parts at about `bytes` of per-unit files instead of
    /// [`compact::PART_BYTES`].
    pub fn with_part_bytes(mut self, bytes: u64) -> Catalog {
        self.part_bytes = bytes;
        self
    }

    pub fn run_id(&self) -> Option<&str> {
        self.run_id.as_deref()
    }

    /// The chosen run's record (read on first use).
    pub fn run(&self) -> Result<Option<&RunRecord>> {
        let run = self.run.get_or_init(|| match &self.run_id {
            Some(id) => runs::read(&self.store, id).map(Some).map_err(|e| format!("{e:#}")),
            None => Ok(None),
        });
        run.as_ref().map(Option::as_ref).map_err(|e| anyhow::anyhow!("{e}"))
    }

    /// Messages for the user (which run was used, what is missing); drained.
    pub fn take_notices(&self) -> Vec<String> {
        std::mem::take(&mut *self.notices.lock().expect("notices lock"))
    }

    /// The compacted tables of the run (compacting now if needed).
    pub fn snapshot(&self) -> Result<&Snapshot> {
        let resolved = self.resolved.get_or_init(|| self.resolve().map_err(|e| format!("{e:#}")));
        match resolved {
            Ok(r) => Ok(&r.snapshot),
            Err(e) => Err(anyhow::anyhow!("{e}")),
        }
    }

    /// Units left out of a partial answer.
    pub fn missing(&self) -> Vec<MissingUnit> {
        match self.resolved.get() {
            Some(Ok(r)) => r.missing.clone(),
            _ => Vec::new(),
        }
    }

    fn resolve(&self) -> Result<Resolved> {
        let globals = runs::global_units(&self.store)?;
        let run_id = self.run_id.as_deref().unwrap_or("imports");
        // A complete run's units are fixed: with the imports it sees, they name
        // its snapshot, found without reading its record or listing a unit.
        let pointer = self
            .store
            .derived()
            .join("tables")
            .join("runs")
            .join(format!("{run_id}.{}.complete", units_hash(&globals)));
        if let Ok(id) = std::fs::read_to_string(&pointer)
            && let Some(snapshot) = compact::read_snapshot(&self.store, id.trim())?
            && self.intact(&snapshot)?
        {
            return Ok(Resolved { snapshot, missing: Vec::new() });
        }
        let run = self.run()?;
        let mut units: Vec<RunUnit> = run.map(|r| r.units.clone()).unwrap_or_default();
        let unrecorded = match run {
            Some(run) if !run.is_complete() => self.unrecorded(run)?,
            _ => Vec::new(),
        };
        let in_run: std::collections::HashSet<String> = units.iter().map(|u| u.key.clone()).collect();
        units.extend(globals.into_iter().filter(|g| !in_run.contains(&g.key)));
        let (snapshot, mut missing) = loop {
            let started = std::time::Instant::now();
            let mut shown = 0;
            let (snapshot, missing) =
                compact::compact(&self.store, &units, self.completeness, self.part_bytes, &mut |done, total| {
                    // Progress for long compactions only, on stderr.
                    if started.elapsed().as_secs() >= 2 && done * 10 / total.max(1) > shown {
                        shown = done * 10 / total.max(1);
                        crate::console::note(format_args!(
                            "robbench: compacting the tables of {run_id}: {done}/{total} parts"
                        ));
                    }
                })
                .map_err(|e| anyhow::anyhow!("{e:#}"))?;
            // Damaged parts were quarantined: compacting again rebuilds them from the units.
            if self.intact(&snapshot)? {
                break (snapshot, missing);
            }
        };
        missing.extend(unrecorded);
        if missing.is_empty() && run.is_none_or(RunRecord::is_complete) {
            std::fs::create_dir_all(pointer.parent().expect("has a parent"))?;
            write_atomic(&pointer, snapshot.id.as_bytes())?;
            if self.run_id.is_some() && runs::latest_id(&self.store)? == self.run_id {
                compact::point_latest(&self.store, &snapshot)?;
            }
        }
        if !missing.is_empty() {
            self.notice(partial_notice(run_id, &missing));
        }
        Ok(Resolved { snapshot, missing })
    }

    /// Whether every part of `snapshot` is as written. Damaged parts are
    /// quarantined and the snapshot discarded (and the user told), so the
    /// next compaction rebuilds them from the units.
    fn intact(&self, snapshot: &Snapshot) -> Result<bool> {
        let damaged = compact::damaged_parts(snapshot, compact::Rehash::Changed)?;
        if damaged.is_empty() {
            return Ok(true);
        }
        if !self.repaired.lock().expect("repaired lock").insert(snapshot.id.clone()) {
            anyhow::bail!(
                "{} is damaged again right after it was rebuilt: {}",
                damaged[0].path.display(),
                damaged[0].problem
            );
        }
        compact::discard(&self.store, snapshot, &damaged)?;
        for part in &damaged {
            self.notice(format!(
                "{} {}: quarantined, and the tables are rebuilt from their units",
                part.path.display(),
                part.problem
            ));
        }
        Ok(false)
    }

    /// The units of an incomplete run that its record does not hold as
    /// finished (never run, interrupted, outside its shard), as far as
    /// its config's plan tells. Refuses unless a partial answer is allowed.
    fn unrecorded(&self, run: &RunRecord) -> Result<Vec<MissingUnit>> {
        let state = run.state(&self.store);
        let failed = run.units.iter().filter(|u| !u.status.succeeded()).count();
        let mut what = state.as_str().to_string();
        if let Some(shard) = &run.shard {
            what.push_str(&format!(", shard {shard} of the work"));
        }
        if failed > 0 {
            what.push_str(&format!(", {failed} unit(s) failed or skipped"));
        }
        if self.completeness == Completeness::Whole {
            anyhow::bail!(
                "run {} is not complete ({what}; {} unit(s) on record), so its tables would be partial; \
                 pass --allow-partial for an answer from the units it finished (the missing ones are listed), \
                 or complete it: `robbench run` with its config",
                run.run_id,
                run.units.iter().filter(|u| u.status.succeeded()).count()
            );
        }
        let Some(planned) = &self.planned else { return Ok(Vec::new()) };
        let recorded: std::collections::HashSet<&str> = run.units.iter().map(|u| u.key.as_str()).collect();
        let why = match state {
            RunState::Running => "not finished yet (the run is still going)".to_string(),
            RunState::Interrupted => "not run: the run was interrupted".to_string(),
            RunState::Finished => format!("not part of this run ({what})"),
        };
        Ok(match planned(run) {
            Ok(units) => units
                .into_iter()
                .filter(|u| !recorded.contains(u.key.as_str()))
                .map(|u| MissingUnit { why: why.clone(), ..u })
                .collect(),
            Err(e) => {
                self.notice(format!("the units run {} has not finished cannot be listed: {e:#}", run.run_id));
                Vec::new()
            }
        })
    }

    fn notice(&self, line: String) {
        self.notices.lock().expect("notices lock").push(line);
    }

    fn history(&self) -> Result<&[(String, Snapshot)]> {
        let history = self.history.get_or_init(|| {
            let mut out = Vec::new();
            for id in runs::ids(&self.store).map_err(|e| format!("{e:#}"))? {
                let run = runs::read(&self.store, &id).map_err(|e| format!("{e:#}"))?;
                // History holds the rows each run produced (imports are runs of
                // their own): its failed units never had rows, but a finished
                // unit whose files are gone is missing.
                let finished: Vec<RunUnit> = run.units.into_iter().filter(|u| u.status.succeeded()).collect();
                let (snapshot, missing) = loop {
                    let (snapshot, missing) =
                        compact::compact(&self.store, &finished, self.completeness, self.part_bytes, &mut |_, _| {})
                            .map_err(|e| format!("run {id}: {e:#}"))?;
                    if self.intact(&snapshot).map_err(|e| format!("{e:#}"))? {
                        break (snapshot, missing);
                    }
                };
                if !missing.is_empty() {
                    self.notice(partial_notice(&format!("{id} (in _history)"), &missing));
                }
                out.push((id, snapshot));
            }
            Ok(out)
        });
        history.as_deref().map_err(|e| anyhow::anyhow!("{e}"))
    }

    /// Every table name SQL can see (known tables, history, old versions).
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = robbench_schemas::all().iter().map(|t| t.name.to_string()).collect();
        for t in robbench_schemas::all().iter().filter(|t| t.name != robbench_schemas::RUNS.name) {
            names.push(format!("{}_history", t.name));
        }
        if let Ok(snapshot) = self.snapshot() {
            for t in &snapshot.tables {
                let current = robbench_schemas::by_name(&t.table).map(|d| d.version);
                if current != Some(t.version) {
                    names.push(t.served_name(current));
                }
            }
        }
        names
    }

    /// Every table with its schema and row count, for `robbench tables`.
    pub fn table_schemas(&self) -> Result<Vec<(String, SchemaRef, u64)>> {
        let snapshot = self.snapshot()?;
        let mut out = Vec::new();
        for def in robbench_schemas::all() {
            if def.name == robbench_schemas::RUNS.name {
                continue;
            }
            let rows = snapshot
                .tables
                .iter()
                .filter(|t| t.table == def.name && t.version == def.version)
                .map(|t| t.rows)
                .sum();
            out.push((def.name.to_string(), def.schema(), rows));
        }
        for t in &snapshot.tables {
            let current = robbench_schemas::by_name(&t.table).map(|d| d.version);
            if current.is_some_and(|v| v != t.version) {
                let dir = snapshot.table_dir(t, current);
                out.push((t.served_name(current), part_schema(&dir, t)?, t.rows));
            }
        }
        Ok(out)
    }

    fn provider(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        if name == robbench_schemas::RUNS.name {
            return crate::runs_table::provider(&self.store).map(Some);
        }
        if let Some(base) = name.strip_suffix("_history").and_then(robbench_schemas::by_name) {
            return self.history_provider(base).map(Some);
        }
        let snapshot = self.snapshot()?;
        if let Some(def) = robbench_schemas::by_name(name) {
            let dataset = snapshot.tables.iter().find(|t| t.table == def.name && t.version == def.version);
            return match dataset {
                Some(dataset) => parts_table(&snapshot.table_dir(dataset, Some(def.version)), dataset).map(Some),
                None => Ok(Some(Arc::new(MemTable::try_new(plain(def.schema()), vec![vec![]])?))),
            };
        }
        // Old schema versions (`<table>_v<k>`), and tables this build does not know.
        for t in &snapshot.tables {
            let current = robbench_schemas::by_name(&t.table).map(|d| d.version);
            if current != Some(t.version) && t.served_name(current) == name {
                return parts_table(&snapshot.table_dir(t, current), t).map(Some);
            }
        }
        Ok(None)
    }

    fn history_provider(&self, def: &'static TableDef) -> Result<Arc<dyn TableProvider>> {
        let mut fields = vec![Field::new("run_id", DataType::Utf8, false)];
        fields.extend(def.schema().fields().iter().map(|f| f.as_ref().clone()));
        let schema = Arc::new(Schema::new(fields));
        let mut plan: Option<LogicalPlanBuilder> = None;
        for (run_id, snapshot) in self.history()? {
            let Some(dataset) = snapshot.tables.iter().find(|t| t.table == def.name && t.version == def.version) else {
                continue;
            };
            let table = parts_table(&snapshot.table_dir(dataset, Some(def.version)), dataset)?;
            let mut columns = vec![lit(ScalarValue::Utf8(Some(run_id.clone()))).alias("run_id")];
            columns.extend(def.columns.iter().map(|c| col(c.name)));
            let scan = LogicalPlanBuilder::scan(format!("{}_{run_id}", def.name), provider_as_source(table), None)?
                .project(columns)?;
            plan = Some(match plan {
                None => scan,
                Some(p) => p.union(scan.build()?)?,
            });
        }
        match plan {
            Some(plan) => Ok(Arc::new(ViewTable::new(plan.build()?, None))),
            None => Ok(Arc::new(MemTable::try_new(schema, vec![vec![]])?)),
        }
    }
}

/// The table's schema, from the footer of its smallest part (at the
/// benchmark's size a big part's footer lists thousands of row groups).
fn part_schema(dir: &Path, dataset: &TableDataset) -> Result<SchemaRef> {
    let smallest = dataset
        .parts
        .iter()
        .map(|p| dir.join(&p.name))
        .min_by_key(|path| std::fs::metadata(path).map_or(u64::MAX, |m| m.len()))
        .with_context(|| format!("{} holds no part", dir.display()))?;
    let file = std::fs::File::open(&smallest).with_context(|| format!("{} is missing", smallest.display()))?;
    let builder = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .with_context(|| format!("{} is not a readable Parquet file", smallest.display()))?;
    // Strings as views, as DataFusion's own Parquet tables read them: the
    // scan then points into the pages' buffers instead of copying each value,
    // and grouping compares short strings inline.
    Ok(Arc::new(transform_schema_to_view(&plain(builder.schema().clone()))))
}

/// A table that DataFusion scans from a directory of Parquet parts.
fn parts_table(dir: &Path, dataset: &TableDataset) -> Result<Arc<dyn TableProvider>> {
    Ok(Arc::new(PartsTable::new(dir, &dataset.parts, part_schema(dir, dataset)?)?))
}

fn units_hash(units: &[RunUnit]) -> String {
    let mut hasher = blake3::Hasher::new();
    for u in units {
        hasher.update(u.key.as_bytes());
        hasher.update(if u.status.succeeded() { b"+" } else { b"-" });
    }
    hasher.finalize().to_hex()[..16].to_string()
}

#[derive(Debug)]
struct LazySchema {
    catalog: Arc<Catalog>,
    /// Providers already built, so a table named twice is scanned as one.
    built: Mutex<HashMap<String, Arc<dyn TableProvider>>>,
}

#[async_trait]
impl SchemaProvider for LazySchema {
    fn table_names(&self) -> Vec<String> {
        self.catalog.names()
    }

    async fn table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>, DataFusionError> {
        if let Some(t) = self.built.lock().expect("built lock").get(name) {
            return Ok(Some(t.clone()));
        }
        let provider = self.catalog.provider(name).map_err(|e| DataFusionError::External(e.into()))?;
        if let Some(p) = &provider {
            self.built.lock().expect("built lock").insert(name.to_string(), p.clone());
        }
        Ok(provider)
    }

    fn table_exist(&self, name: &str) -> bool {
        name == robbench_schemas::RUNS.name
            || robbench_schemas::by_name(name).is_some()
            || name.strip_suffix("_history").and_then(robbench_schemas::by_name).is_some()
            || self.catalog.names().iter().any(|n| n == name)
    }
}

fn session(catalog: Arc<Catalog>) -> Result<SessionContext> {
    // DataFusion's own settings may be tuned with DATAFUSION_* variables
    // (e.g. DATAFUSION_EXECUTION_TARGET_PARTITIONS).
    let config = SessionConfig::from_env()
        .context("a DATAFUSION_* environment variable is not a valid DataFusion setting")?
        .with_information_schema(true)
        .set_bool("datafusion.execution.parquet.pushdown_filters", true)
        .set_bool("datafusion.execution.parquet.reorder_filters", true);
    let ctx = SessionContext::new_with_config(config);
    let default_catalog = ctx.catalog("datafusion").context("DataFusion has no default catalog")?;
    default_catalog.register_schema("public", Arc::new(LazySchema { catalog, built: Mutex::new(HashMap::new()) }))?;
    // Keep an empty schema around so DataFusion's name resolution has a fallback.
    default_catalog.register_schema("scratch", Arc::new(MemorySchemaProvider::new()))?;
    Ok(ctx)
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    Ok(tokio::runtime::Builder::new_multi_thread().worker_threads(threads).enable_all().build()?)
}

/// Runs one SQL statement, handing each result batch to `sink` as it is
/// produced (nothing is collected). Returns the result's schema.
pub fn query_each(
    catalog: Arc<Catalog>,
    sql: &str,
    mut sink: impl FnMut(&SchemaRef, &RecordBatch) -> Result<()>,
) -> Result<SchemaRef> {
    runtime()?.block_on(async {
        let ctx = session(catalog)?;
        let frame = ctx.sql(sql).await.with_context(|| format!("SQL error in: {sql}"))?;
        let schema = plain(Arc::new(frame.schema().as_arrow().clone()));
        let mut stream = frame.execute_stream().await.with_context(|| format!("SQL error in: {sql}"))?;
        while let Some(batch) = stream.next().await {
            let batch = batch.with_context(|| format!("SQL error in: {sql}"))?;
            let batch = RecordBatch::try_new(schema.clone(), batch.columns().to_vec())?;
            sink(&schema, &batch)?;
        }
        Ok(schema)
    })
}

/// Runs one SQL statement and collects its result (for small answers).
pub fn query(catalog: Arc<Catalog>, sql: &str) -> Result<(SchemaRef, Vec<RecordBatch>)> {
    let mut batches = Vec::new();
    let schema = query_each(catalog, sql, |_, b| {
        batches.push(b.clone());
        Ok(())
    })?;
    Ok((schema, batches))
}
