//! `robbench.open()` and `robbench.Store`: SQL over the tables of one run of
//! a store, with the CLI's run choice, completeness rules and messages
//! (robbench-pipeline's `Catalog`, as `robbench sql` uses it).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray, UInt64Array};
use arrow::datatypes::{DataType, Field, Schema};
use pyo3::prelude::*;
use robbench_pipeline::compact::Completeness;
use robbench_pipeline::sql::{Catalog, RunChoice, choose_run, query};
use robbench_pipeline::{RunKind, RunRecord, Store as PipelineStore, runs};

use crate::bench::{EvaluationRow, NasRobBench201, arch_index};
use crate::table::Table;
use crate::{Kind, error, guard, warn};

/// The CLI's default store (`--store`), and the variable that overrides it.
const DEFAULT_STORE: &str = "artifacts";
const STORE_VARIABLE: &str = "ROBBENCH_STORE";

/// The tables of one run of a robbench store (see ``robbench.open``).
///
/// The run is fixed when the store is opened, and its tables are compacted
/// on first use; open the store again to see runs recorded since.
#[pyclass(module = "robbench", name = "Store", frozen)]
pub struct Store {
    catalog: Arc<Catalog>,
    root: PathBuf,
}

/// The `robbench` exception for an engine error, with its message (the
/// CLI's, plus how to say the same from Python where it names a flag).
pub fn engine_error(e: &anyhow::Error) -> PyErr {
    let text = format!("{e:#}");
    let incomplete = text.contains("is not complete")
        || text.contains("no complete run")
        || text.contains("so its tables would be incomplete");
    if incomplete {
        return error(
            Kind::Incomplete,
            format!(
                "{text}\n(from Python: robbench.open(run=ID, allow_partial=True) answers from the units that \
                 finished, with a PartialAnswerWarning naming the missing ones)"
            ),
        );
    }
    if text.contains("no run `") {
        return error(Kind::NotFound, text);
    }
    if text.contains("SQL error in") {
        return error(Kind::Sql, text);
    }
    error(Kind::Error, text)
}

/// Edit distance, for "did you mean".
pub fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitution = previous + usize::from(ca != cb);
            previous = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(previous + 1);
        }
    }
    row[b.len()]
}

/// `"(did you mean `x`?) "` for the closest of `known`, when it is close.
pub fn closest<'a>(value: &str, known: impl IntoIterator<Item = &'a str>) -> String {
    let best = known.into_iter().map(|k| (distance(&value.to_lowercase(), &k.to_lowercase()), k)).min();
    match best {
        Some((d, k)) if d <= value.chars().count().max(3) / 2 => format!("did you mean `{k}`? "),
        _ => String::new(),
    }
}

/// Where the store is: `store`, else `$ROBBENCH_STORE`, else `artifacts`
/// (the CLI's `--store`).
fn store_root(store: Option<PathBuf>) -> PathBuf {
    store
        .or_else(|| std::env::var_os(STORE_VARIABLE).filter(|v| !v.is_empty()).map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(DEFAULT_STORE))
}

fn open_catalog(root: &Path, run: Option<&str>, allow_partial: bool) -> PyResult<Catalog> {
    if !root.is_dir() {
        let what = if root.exists() { "is not a directory" } else { "does not exist" };
        return Err(error(
            Kind::Store,
            format!(
                "no robbench store at {}: the path {what} (store= or ${STORE_VARIABLE} names one; the default \
                 is `{DEFAULT_STORE}` in the working directory, {}; `robbench import` or `robbench run` \
                 creates a store)",
                root.display(),
                std::env::current_dir().map(|d| d.display().to_string()).unwrap_or_default()
            ),
        ));
    }
    let store = PipelineStore::open(root).map_err(|e| error(Kind::Store, format!("{e:#}")))?;
    if let Some(id) = run {
        let ids = runs::ids(&store).map_err(|e| error(Kind::Store, format!("{e:#}")))?;
        if !ids.iter().any(|i| i == id) {
            let listed = if ids.is_empty() {
                "the store has no run yet".to_string()
            } else {
                let shown: Vec<&str> = ids.iter().rev().take(10).map(String::as_str).collect();
                format!("its runs, latest first: {}{}", shown.join(", "), if ids.len() > 10 { ", …" } else { "" })
            };
            return Err(error(
                Kind::NotFound,
                format!(
                    "no run `{id}` in {} ({}{listed}; Store.runs() lists them)",
                    store.root().display(),
                    closest(id, ids.iter().map(String::as_str))
                ),
            ));
        }
    }
    let choice = match run {
        Some(id) => RunChoice::Id(id),
        None => RunChoice::Latest,
    };
    let chosen = choose_run(&store, choice).map_err(|e| engine_error(&e))?;
    let completeness = if allow_partial { Completeness::AllowPartial } else { Completeness::Whole };
    Ok(Catalog::new(&store, chosen, completeness).with_planned_units(Box::new(robbench_experiment::planned_units)))
}

/// Opens a robbench store for SQL.
///
/// ``store`` defaults as the CLI's ``--store``: ``$ROBBENCH_STORE``, else
/// ``artifacts`` in the working directory. ``run`` is a run id (``runs()``
/// lists them); without it, the latest complete run (as ``robbench sql``).
/// An incomplete run raises ``IncompleteError`` unless ``allow_partial`` is
/// true; then answers hold the units it finished and a
/// ``PartialAnswerWarning`` names the missing ones.
#[pyfunction]
#[pyo3(signature = (store=None, run=None, allow_partial=false))]
pub fn open(py: Python<'_>, store: Option<PathBuf>, run: Option<String>, allow_partial: bool) -> PyResult<Store> {
    guard(|| {
        let root = store_root(store);
        let catalog = py.detach(|| guard(|| open_catalog(&root, run.as_deref(), allow_partial)))?;
        Ok(Store { catalog: Arc::new(catalog), root })
    })
}

impl Store {
    /// Emits the catalog's notices (partial answers, repairs) as warnings.
    fn notices(&self, py: Python<'_>) -> PyResult<()> {
        for line in self.catalog.take_notices() {
            let category = if line.starts_with("partial answer") { "PartialAnswerWarning" } else { "RobbenchWarning" };
            warn(py, category, &line)?;
        }
        Ok(())
    }

    fn run_query(&self, py: Python<'_>, sql: &str) -> PyResult<Table> {
        let (schema, batches) = self.batches(py, sql)?;
        Table::new(schema, batches)
    }

    fn batches(&self, py: Python<'_>, sql: &str) -> PyResult<(arrow::datatypes::SchemaRef, Vec<RecordBatch>)> {
        let catalog = self.catalog.clone();
        let result = py.detach(|| guard(|| query(catalog, sql).map_err(|e| engine_error(&e))));
        self.notices(py)?;
        result
    }

    /// Whether the run's catalog has table `name`.
    fn has_table(&self, py: Python<'_>, name: &str) -> bool {
        let catalog = self.catalog.clone();
        py.detach(|| catalog.names()).iter().any(|n| n == name)
    }

    /// What a message calls the store and its run.
    fn describe(&self) -> String {
        match self.catalog.run_id() {
            Some(run) => format!("run {run} of {}", self.root.display()),
            None => format!("{} (imports only, no run)", self.root.display()),
        }
    }
}

/// Column `name` of `batch` as `to` (SQL may widen or relabel types).
fn column(batch: &RecordBatch, name: &str, to: &DataType) -> PyResult<ArrayRef> {
    let c =
        batch.column_by_name(name).ok_or_else(|| error(Kind::Error, format!("no column `{name}` in the result")))?;
    arrow::compute::cast(c, to).map_err(|e| error(Kind::Error, format!("column `{name}`: {e}")))
}

fn ints(batch: &RecordBatch, name: &str) -> PyResult<Vec<i64>> {
    let c = column(batch, name, &DataType::Int64)?;
    let c = c.as_any().downcast_ref::<Int64Array>().expect("cast to Int64");
    Ok(c.iter().map(|v| v.unwrap_or(0)).collect())
}

fn floats(batch: &RecordBatch, name: &str) -> PyResult<Vec<f64>> {
    let c = column(batch, name, &DataType::Float64)?;
    let c = c.as_any().downcast_ref::<Float64Array>().expect("cast to Float64");
    Ok(c.iter().map(|v| v.unwrap_or(f64::NAN)).collect())
}

fn strings(batch: &RecordBatch, name: &str) -> PyResult<Vec<String>> {
    let c = column(batch, name, &DataType::Utf8)?;
    let c = c.as_any().downcast_ref::<StringArray>().expect("cast to Utf8");
    Ok(c.iter().map(|v| v.unwrap_or_default().to_string()).collect())
}

/// The command that computes one network's checkpoint in a store.
fn train_command(root: &Path, index: usize, dataset: &str, seed: i64) -> String {
    format!(
        "robbench --store {} run --set architectures.select=indices --set 'architectures.indices=[{index}]' \
         --set 'train.seeds=[{seed}]' (with the config whose dataset is `{dataset}`)",
        root.display()
    )
}

#[pymethods]
impl Store {
    /// Runs one SQL statement (DataFusion's dialect, as ``robbench sql``) over
    /// the run's tables and returns the result as a ``robbench.Table``.
    ///
    /// Tables: every table of docs/src/reference/tables.md (``tables()`` lists them), ``<table>_history``
    /// (every run's rows, with ``run_id``), ``runs``, and ``<table>_v<k>`` for
    /// files of older schema versions.
    fn sql(&self, py: Python<'_>, query: &str) -> PyResult<Table> {
        guard(|| self.run_query(py, query))
    }

    /// Every table of the run: its name, row count and columns (as
    /// ``robbench tables``).
    fn tables(&self, py: Python<'_>) -> PyResult<Table> {
        guard(|| {
            let catalog = self.catalog.clone();
            let result = py.detach(|| guard(|| catalog.table_schemas().map_err(|e| engine_error(&e))));
            self.notices(py)?;
            let tables = result?;
            let names: Vec<&str> = tables.iter().map(|(n, _, _)| n.as_str()).collect();
            let rows: Vec<u64> = tables.iter().map(|(_, _, r)| *r).collect();
            let columns: Vec<String> = tables
                .iter()
                .map(|(_, s, _)| {
                    s.fields().iter().map(|f| format!("{} {}", f.name(), f.data_type())).collect::<Vec<_>>().join(", ")
                })
                .collect();
            let schema = Arc::new(Schema::new(vec![
                Field::new("table", DataType::Utf8, false),
                Field::new("rows", DataType::UInt64, false),
                Field::new("columns", DataType::Utf8, false),
            ]));
            let arrays: Vec<ArrayRef> = vec![
                Arc::new(StringArray::from(names)),
                Arc::new(UInt64Array::from(rows)),
                Arc::new(StringArray::from(columns)),
            ];
            let batch = RecordBatch::try_new(schema, arrays).map_err(|e| error(Kind::Error, e.to_string()))?;
            Table::from_batch(batch)
        })
    }

    /// All rows of one table (``SELECT * FROM name``); an unknown name raises
    /// ``NotFoundError`` listing the known ones.
    fn table(&self, py: Python<'_>, name: &str) -> PyResult<Table> {
        guard(|| {
            let catalog = self.catalog.clone();
            let mut names = py.detach(|| catalog.names());
            names.push(robbench_schemas::RUNS.name.to_string());
            if !names.iter().any(|n| n == name) {
                let mut plain: Vec<&str> =
                    names.iter().map(String::as_str).filter(|n| !n.ends_with("_history")).collect();
                plain.sort();
                plain.dedup();
                return Err(error(
                    Kind::NotFound,
                    format!(
                        "no table `{name}` ({}tables: {}; each also as <table>_history)",
                        closest(name, names.iter().map(String::as_str)),
                        plain.join(", ")
                    ),
                ));
            }
            self.run_query(py, &format!("SELECT * FROM \"{}\"", name.replace('"', "\"\"")))
        })
    }

    /// Every run the store has recorded, oldest first: its id, kind
    /// (experiment, shared, auxiliary), state, whether it is complete, when
    /// it started and finished, its config hash, shard, and unit counts.
    fn runs(&self, py: Python<'_>) -> PyResult<Table> {
        guard(|| {
            let root = self.root.clone();
            let (records, states) = py.detach(|| {
                guard(|| {
                    let store = PipelineStore::open(&root).map_err(|e| error(Kind::Store, format!("{e:#}")))?;
                    let records = runs::list(&store).map_err(|e| error(Kind::Store, format!("{e:#}")))?;
                    let states: Vec<&'static str> = records.iter().map(|r| r.state(&store).as_str()).collect();
                    Ok((records, states))
                })
            })?;
            let kind = |k: RunKind| match k {
                RunKind::Experiment => "experiment",
                RunKind::Shared => "shared",
                RunKind::Auxiliary => "auxiliary",
            };
            let strings = |f: &dyn Fn(&RunRecord) -> Option<String>| -> ArrayRef {
                Arc::new(StringArray::from(records.iter().map(f).collect::<Vec<_>>()))
            };
            let schema = Arc::new(Schema::new(vec![
                Field::new("run_id", DataType::Utf8, false),
                Field::new("kind", DataType::Utf8, false),
                Field::new("state", DataType::Utf8, false),
                Field::new("complete", DataType::Boolean, false),
                Field::new("started_at", DataType::Utf8, false),
                Field::new("finished_at", DataType::Utf8, true),
                Field::new("config_hash", DataType::Utf8, false),
                Field::new("shard", DataType::Utf8, true),
                Field::new("units", DataType::UInt64, false),
                Field::new("failed", DataType::UInt64, false),
            ]));
            let arrays: Vec<ArrayRef> = vec![
                strings(&|r| Some(r.run_id.clone())),
                strings(&|r| Some(kind(r.kind).to_string())),
                Arc::new(StringArray::from(states.clone())),
                Arc::new(BooleanArray::from(records.iter().map(RunRecord::is_complete).collect::<Vec<_>>())),
                strings(&|r| Some(r.started_at.clone())),
                strings(&|r| r.finished_at.clone()),
                strings(&|r| Some(r.config_hash.clone())),
                strings(&|r| r.shard.clone()),
                Arc::new(UInt64Array::from(records.iter().map(|r| r.units.len() as u64).collect::<Vec<_>>())),
                Arc::new(UInt64Array::from(
                    records
                        .iter()
                        .map(|r| r.units.iter().filter(|u| !u.status.succeeded()).count() as u64)
                        .collect::<Vec<_>>(),
                )),
            ];
            let batch = RecordBatch::try_new(schema, arrays).map_err(|e| error(Kind::Error, e.to_string()))?;
            Table::from_batch(batch)
        })
    }

    /// The run's own benchmark: ``NasRobBench201``'s calls answered from its
    /// ``evaluations`` (accuracy per attack and ε, official metric names such
    /// as ``val_pgd_8.0_acc``; the run's dataset names), so a NAS method can
    /// be evaluated on a benchmark built with robbench. A cell answers for
    /// its isomorphism class; the default seed is the mean over the run's
    /// seeds (``seed=`` picks one). ``run`` reads another run of the store.
    #[pyo3(signature = (run=None, allow_partial=false))]
    fn benchmark(&self, py: Python<'_>, run: Option<String>, allow_partial: bool) -> PyResult<NasRobBench201> {
        guard(|| {
            let other;
            let store = match run {
                Some(id) if Some(id.as_str()) != self.catalog.run_id() => {
                    let catalog = py.detach(|| guard(|| open_catalog(&self.root, Some(&id), allow_partial)))?;
                    other = Store { catalog: Arc::new(catalog), root: self.root.clone() };
                    &other
                }
                _ => self,
            };
            let none = || {
                error(
                    Kind::NotFound,
                    format!(
                        "{} has no `evaluations` rows: `robbench run` trains and attacks networks (an import \
                         alone has none; NasRobBench201() serves the released benchmark)",
                        store.describe()
                    ),
                )
            };
            if !store.has_table(py, robbench_schemas::EVALUATIONS.name) {
                return Err(none());
            }
            let (_, batches) = store.batches(
                py,
                "SELECT arch_index, dataset, seed, attack, eps, steps, accuracy FROM evaluations \
                 ORDER BY dataset, arch_index, seed, attack, eps",
            )?;
            let mut rows = Vec::new();
            for batch in &batches {
                let (index, dataset, seed) =
                    (ints(batch, "arch_index")?, strings(batch, "dataset")?, ints(batch, "seed")?);
                let (attack, eps, steps) = (strings(batch, "attack")?, floats(batch, "eps")?, ints(batch, "steps")?);
                let accuracy = floats(batch, "accuracy")?;
                for i in 0..batch.num_rows() {
                    rows.push(EvaluationRow {
                        arch_index: index[i],
                        dataset: dataset[i].clone(),
                        seed: seed[i],
                        attack: attack[i].clone(),
                        eps: eps[i],
                        steps: steps[i],
                        accuracy: accuracy[i],
                    });
                }
            }
            if rows.is_empty() {
                return Err(none());
            }
            NasRobBench201::from_evaluations(format!("store:{}", store.describe()), rows)
        })
    }

    /// The trained network of architecture ``index`` (int, or its cell
    /// string) on ``dataset`` at ``seed`` as a ``torch.nn.Module`` in eval
    /// mode: NAS-Bench-201's TinyNetwork (``robbench.nb201``, the official
    /// ``state_dict()`` names) with the unit's safetensors weights loaded
    /// strictly. It takes pixels in [0, 1] and normalises them itself
    /// (``normalise=False``: normalised inputs). ``dataset`` and ``seed`` may
    /// be left out when the run trained one. Needs torch and safetensors.
    #[pyo3(signature = (index, dataset=None, seed=None, normalise=true))]
    fn model<'py>(
        &self,
        py: Python<'py>,
        index: &Bound<'py, PyAny>,
        dataset: Option<String>,
        seed: Option<i64>,
        normalise: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        guard(|| {
            let index = arch_index(index)?;
            if !self.has_table(py, robbench_schemas::MODELS.name) {
                return Err(error(
                    Kind::NotFound,
                    format!(
                        "{} has no trained networks (no `models` table): {}",
                        self.describe(),
                        train_command(&self.root, index, dataset.as_deref().unwrap_or("…"), seed.unwrap_or(0))
                    ),
                ));
            }
            let (_, batches) = self.batches(py, "SELECT arch_index, dataset, seed, checkpoint FROM models")?;
            let mut models: Vec<(i64, String, i64, String)> = Vec::new();
            for batch in &batches {
                let (i, d) = (ints(batch, "arch_index")?, strings(batch, "dataset")?);
                let (s, c) = (ints(batch, "seed")?, strings(batch, "checkpoint")?);
                models.extend((0..batch.num_rows()).map(|r| (i[r], d[r].clone(), s[r], c[r].clone())));
            }
            let pick = |what: &str, given: Option<String>, known: Vec<String>| -> PyResult<String> {
                let mut known = known;
                known.sort();
                known.dedup();
                match given {
                    Some(v) if known.contains(&v) || known.is_empty() => Ok(v),
                    Some(v) => Err(error(
                        Kind::NotFound,
                        format!(
                            "no {what} `{v}` among the trained networks of {} ({}{what}s: {})",
                            self.describe(),
                            closest(&v, known.iter().map(String::as_str)),
                            known.join(", ")
                        ),
                    )),
                    None if known.len() == 1 => Ok(known.remove(0)),
                    None => Err(error(
                        Kind::NotFound,
                        format!("{} trained several {what}s ({}): pass {what}=", self.describe(), known.join(", ")),
                    )),
                }
            };
            let dataset = pick("dataset", dataset, models.iter().map(|m| m.1.clone()).collect())?;
            let seeds = models.iter().filter(|m| m.1 == dataset).map(|m| m.2.to_string()).collect();
            let seed: i64 = pick("seed", seed.map(|s| s.to_string()), seeds)?.parse().expect("an integer seed");
            let Some(found) = models.iter().find(|m| m.0 == index as i64 && m.1 == dataset && m.2 == seed) else {
                let mut trained: Vec<i64> =
                    models.iter().filter(|m| m.1 == dataset && m.2 == seed).map(|m| m.0).collect();
                trained.sort();
                trained.dedup();
                let shown: Vec<String> = trained.iter().take(20).map(i64::to_string).collect();
                return Err(error(
                    Kind::NotFound,
                    format!(
                        "no checkpoint of architecture {index} on {dataset} at seed {seed} in {} (trained there: \
                         {}{}); compute it with: {}",
                        self.describe(),
                        shown.join(", "),
                        if trained.len() > 20 { ", …" } else { "" },
                        train_command(&self.root, index, &dataset, seed)
                    ),
                ));
            };
            let path = self.root.join(&found.3);
            if !path.is_file() {
                return Err(error(
                    Kind::Store,
                    format!(
                        "the checkpoint {} of architecture {index} is missing from the store: `robbench verify` \
                         checks the store, and {} computes it again",
                        path.display(),
                        train_command(&self.root, index, &dataset, seed)
                    ),
                ));
            }
            let nb201 = py.import("robbench.nb201").map_err(|e| {
                error(
                    Kind::Error,
                    format!(
                        "robbench.model needs PyTorch and safetensors (`pip install torch safetensors`): {}",
                        e.value(py)
                    ),
                )
            })?;
            nb201.call_method1("load", (path, normalise))
        })
    }

    /// The id of the run whose tables answer (``None``: the store holds
    /// imported data only).
    #[getter]
    fn run_id(&self) -> Option<String> {
        self.catalog.run_id().map(str::to_string)
    }

    /// The store's directory.
    #[getter]
    fn root(&self) -> PathBuf {
        self.root.clone()
    }

    fn __repr__(&self) -> String {
        format!(
            "robbench.Store({:?}, run={})",
            self.root.display().to_string(),
            self.catalog.run_id().map_or("None (imports only)".to_string(), |r| format!("{r:?}"))
        )
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, _args: &Bound<'_, pyo3::types::PyTuple>) -> bool {
        false
    }
}
