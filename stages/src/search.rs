//! Tabular architecture search (`robbench search`): the algorithms of
//! `robbench-search` run against a table of the store — a released benchmark
//! (`benchmark`, one source and dataset) or this project's `evaluations` —
//! one unit per objective × algorithm × trial.
//!
//! A unit's key hashes the oracle's content (every value the search can see),
//! the algorithm and its settings, the objective, the budget, the cost model
//! and the trial's seed: re-running an unchanged search does nothing, and
//! adding trials runs only the new ones.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use arrow::array::{Array, ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow::compute::cast;
use arrow::datatypes::DataType;
use robbench_pipeline::sql::{Catalog, query};
use robbench_pipeline::{
    Config, ConfigError, ConfigSchema, Pipeline, Runnable, Stage, UnitContext, UnitSpec, Upstream, invalid,
};
use robbench_schemas::{SEARCH_RESULTS, SEARCH_STEPS, TableDef};
pub use robbench_search::CostModel;
use robbench_search::{Algorithm, Budget, Objective, Settings, Table, Trace, TraceNames, trace_batches};
use robbench_space::{ModelShape, SPACE_SIZE, Space};
use serde::{Deserialize, Deserializer, Serialize};

use crate::config::NtkWeights;

/// Stage name under which searches are stored.
pub const SEARCH_STAGE: &str = "search";

/// Stage name under which live searches are recorded.
pub const LIVE_SEARCH_STAGE: &str = "live-search";

/// `search.source` of a live search: the pipeline is the oracle.
pub const LIVE_SOURCE: &str = "live";

/// The `[search]` section.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SearchConfig {
    /// A `benchmark` source (e.g. `nas-robbench-201`, `nas-bench-201`),
    /// `evaluations`, or `live` (train and attack each proposal).
    pub source: String,
    pub dataset: String,
    pub algorithms: Vec<Algorithm>,
    pub objectives: Vec<ObjectiveSpec>,
    pub trials: u64,
    /// Base seed; trial t searches with seed `seed + t`.
    pub seed: u64,
    /// Queries (distinct architecture classes) per trial.
    pub queries: usize,
    /// Simulated GPU-hours per trial (0: no cost budget).
    pub gpu_hours: f64,
    pub settings: Settings,
    pub cost: CostModel,
    #[serde(deserialize_with = "benchmark_unless_named")]
    pub warm_start: ScoreSpec,
}

impl Default for SearchConfig {
    fn default() -> SearchConfig {
        SearchConfig {
            source: "nas-robbench-201".into(),
            dataset: "cifar10".into(),
            algorithms: Algorithm::ALL.to_vec(),
            objectives: vec![
                ObjectiveSpec::Metric { metric: "pgd@8".into() },
                ObjectiveSpec::Weighted { clean: "clean".into(), robust: "pgd@8".into(), beta: 0.5 },
                ObjectiveSpec::Pareto { first: "clean".into(), second: "pgd@8".into(), reference: [0.0, 0.0] },
            ],
            trials: 20,
            seed: 0,
            queries: 150,
            gpu_hours: 0.0,
            settings: Settings::default(),
            cost: CostModel::default(),
            warm_start: ScoreSpec::default(),
        }
    }
}

/// What a search maximises, by metric name: one of the source's (`clean`,
/// `pgd@8`, `test_acc`...) or the cell's `params` or `flops` at the dataset's
/// NAS-Bench-201 skeleton; a leading `-` minimises it (`-flops`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum ObjectiveSpec {
    Metric {
        metric: String,
    },
    /// (1−β)·clean + β·robust.
    Weighted {
        clean: String,
        robust: String,
        beta: f64,
    },
    /// Both metrics, maximised jointly; hypervolume above `reference`.
    Pareto {
        first: String,
        second: String,
        #[serde(default)]
        reference: [f64; 2],
    },
}

impl ObjectiveSpec {
    /// The name in the tables.
    pub fn name(&self) -> String {
        match self {
            ObjectiveSpec::Metric { metric } => metric.clone(),
            ObjectiveSpec::Weighted { clean, robust, beta } => format!("weighted({clean},{robust},beta={beta})"),
            ObjectiveSpec::Pareto { first, second, .. } => format!("pareto({first},{second})"),
        }
    }

    pub fn metrics(&self) -> Vec<&str> {
        match self {
            ObjectiveSpec::Metric { metric } => vec![metric.as_str()],
            ObjectiveSpec::Weighted { clean, robust, .. } => vec![clean.as_str(), robust.as_str()],
            ObjectiveSpec::Pareto { first, second, .. } => vec![first.as_str(), second.as_str()],
        }
    }

    pub fn reference(&self) -> [f64; 2] {
        match self {
            ObjectiveSpec::Pareto { reference, .. } => *reference,
            _ => [0.0, 0.0],
        }
    }

    pub fn objective(&self) -> Objective {
        match self {
            ObjectiveSpec::Metric { .. } => Objective::Single,
            ObjectiveSpec::Weighted { beta, .. } => Objective::Weighted { beta: *beta },
            ObjectiveSpec::Pareto { .. } => Objective::Pareto,
        }
    }
}

/// The training-free score the warm start ranks by, of the search's dataset:
/// a column of this project's `ntk` or `bounds` table (from the same run as
/// `evaluations`), or a metric of an imported `benchmark` source (e.g. a
/// NAS-Bench-Suite-Zero proxy). `table` names which; without it the score is
/// a `benchmark` metric, so configs written before `table` existed read as
/// they did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "table", rename_all = "kebab-case", deny_unknown_fields)]
pub enum ScoreSpec {
    /// `benchmark` rows of one source whose metric name (`nwot`, `pgd@8`...) is `metric`.
    Benchmark {
        #[serde(default = "zero_cost_source")]
        source: String,
        #[serde(default = "nwot")]
        metric: String,
        /// Default: see [`ScoreSpec::default_direction`].
        #[serde(default, skip_serializing_if = "Option::is_none")]
        higher_is_better: Option<bool>,
    },
    /// A spectral summary of one kernel of the `ntk` table.
    Ntk {
        column: NtkColumn,
        #[serde(default = "init_weights")]
        weights: NtkWeights,
        kernel: NtkKernel,
        /// The mixed kernels' (`all`, `robust_all`) robust weight; 0 for `clean` and `robust`.
        #[serde(default)]
        beta: f64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        higher_is_better: Option<bool>,
        /// The dataset the kernels were computed on; default the search's.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        dataset: Option<String>,
    },
    /// A bound term of the `bounds` table, for the objective of robust weight `beta`.
    Bounds {
        column: BoundsColumn,
        #[serde(default = "init_weights")]
        weights: NtkWeights,
        #[serde(default)]
        beta: f64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        higher_is_better: Option<bool>,
        /// The dataset the bounds were computed on; default the search's.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        dataset: Option<String>,
    },
}

fn zero_cost_source() -> String {
    "nas-bench-suite-zero".into()
}

fn nwot() -> String {
    "nwot".into()
}

fn init_weights() -> NtkWeights {
    NtkWeights::Init
}

impl Default for ScoreSpec {
    fn default() -> ScoreSpec {
        ScoreSpec::Benchmark { source: zero_cost_source(), metric: nwot(), higher_is_better: Some(true) }
    }
}

/// `search.warm_start` without `table` is a `benchmark` metric (the only kind there once was).
fn benchmark_unless_named<'de, D: Deserializer<'de>>(d: D) -> Result<ScoreSpec, D::Error> {
    let mut fields = serde_json::Map::deserialize(d)?;
    fields.entry("table").or_insert_with(|| "benchmark".into());
    ScoreSpec::deserialize(serde_json::Value::Object(fields)).map_err(serde::de::Error::custom)
}

/// The score columns of `ntk`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NtkColumn {
    LambdaMin,
    LambdaMax,
    Trace,
    Condition,
}

/// The kernels of `ntk` (its `kernel` column).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NtkKernel {
    Clean,
    Robust,
    All,
    RobustAll,
}

/// The score columns of `bounds` (not `confidence_term`, the same for every
/// architecture, nor the numerical `jitter`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BoundsColumn {
    CleanBound,
    RobustBound,
    CleanLambdaBound,
    RobustLambdaBound,
    CleanComplexity,
    RobustComplexity,
    CleanQuadratic,
    RobustQuadratic,
    CleanLambdaMin,
    RobustLambdaMin,
}

impl NtkColumn {
    pub fn as_str(self) -> &'static str {
        match self {
            NtkColumn::LambdaMin => "lambda_min",
            NtkColumn::LambdaMax => "lambda_max",
            NtkColumn::Trace => "trace",
            NtkColumn::Condition => "condition",
        }
    }

    /// Which way the column ranks architectures, where that is settled: a
    /// larger smallest eigenvalue (a better-conditioned kernel) trains faster
    /// and generalises better; the scale of the kernel alone (`lambda_max`,
    /// `trace`) has no agreed direction.
    pub fn higher_is_better(self) -> Option<bool> {
        match self {
            NtkColumn::LambdaMin => Some(true),
            NtkColumn::Condition => Some(false),
            NtkColumn::LambdaMax | NtkColumn::Trace => None,
        }
    }
}

impl NtkKernel {
    pub fn as_str(self) -> &'static str {
        match self {
            NtkKernel::Clean => "clean",
            NtkKernel::Robust => "robust",
            NtkKernel::All => "all",
            NtkKernel::RobustAll => "robust_all",
        }
    }

    /// Does `beta` select among this kernel's rows (the mixtures `all`, `robust_all`)?
    fn mixed(self) -> bool {
        matches!(self, NtkKernel::All | NtkKernel::RobustAll)
    }
}

impl BoundsColumn {
    pub fn as_str(self) -> &'static str {
        match self {
            BoundsColumn::CleanBound => "clean_bound",
            BoundsColumn::RobustBound => "robust_bound",
            BoundsColumn::CleanLambdaBound => "clean_lambda_bound",
            BoundsColumn::RobustLambdaBound => "robust_lambda_bound",
            BoundsColumn::CleanComplexity => "clean_complexity",
            BoundsColumn::RobustComplexity => "robust_complexity",
            BoundsColumn::CleanQuadratic => "clean_quadratic",
            BoundsColumn::RobustQuadratic => "robust_quadratic",
            BoundsColumn::CleanLambdaMin => "clean_lambda_min",
            BoundsColumn::RobustLambdaMin => "robust_lambda_min",
        }
    }

    /// Bounds and their terms are upper bounds of an error: lower is better;
    /// the kernels' smallest eigenvalues, as in `ntk`: higher is better.
    pub fn higher_is_better(self) -> bool {
        matches!(self, BoundsColumn::CleanLambdaMin | BoundsColumn::RobustLambdaMin)
    }
}

impl ScoreSpec {
    /// What the score is, for messages: `ntk.robust.lambda_min (weights init, beta 0)`.
    pub fn name(&self) -> String {
        match self {
            ScoreSpec::Benchmark { source, metric, .. } => format!("benchmark {source}:{metric}"),
            ScoreSpec::Ntk { column, weights, kernel, beta, .. } => {
                format!("ntk.{}.{} (weights {}, beta {beta})", kernel.as_str(), column.as_str(), weights.as_str())
            }
            ScoreSpec::Bounds { column, weights, beta, .. } => {
                format!("bounds.{} (weights {}, beta {beta})", column.as_str(), weights.as_str())
            }
        }
    }

    fn explicit_direction(&mut self) -> &mut Option<bool> {
        match self {
            ScoreSpec::Benchmark { higher_is_better, .. }
            | ScoreSpec::Ntk { higher_is_better, .. }
            | ScoreSpec::Bounds { higher_is_better, .. } => higher_is_better,
        }
    }

    /// Whether a larger value ranks first: `higher_is_better`, else the
    /// [default](ScoreSpec::default_direction); `None` when neither says.
    pub fn higher_is_better(&self) -> Option<bool> {
        match self {
            ScoreSpec::Benchmark { higher_is_better, .. }
            | ScoreSpec::Ntk { higher_is_better, .. }
            | ScoreSpec::Bounds { higher_is_better, .. } => higher_is_better.or_else(|| self.default_direction()),
        }
    }

    /// The direction a score has unless `higher_is_better` says otherwise:
    /// NAS-Bench-Suite-Zero's proxies higher (what the warm start always
    /// assumed of them); a benchmark's accuracies (`clean`, `pgd@8`,
    /// `test_acc`...) higher and its losses (`test_loss`...) lower; `ntk` and
    /// `bounds` columns as [`NtkColumn::higher_is_better`] and
    /// [`BoundsColumn::higher_is_better`]. `None`: nothing is known.
    pub fn default_direction(&self) -> Option<bool> {
        match self {
            ScoreSpec::Benchmark { source, metric, .. } => {
                let accuracy = metric == "clean" || metric.contains('@') || metric.ends_with("_acc");
                if source == "nas-bench-suite-zero" || accuracy {
                    Some(true)
                } else if metric.ends_with("_loss") {
                    Some(false)
                } else {
                    None
                }
            }
            ScoreSpec::Ntk { column, .. } => column.higher_is_better(),
            ScoreSpec::Bounds { column, .. } => Some(column.higher_is_better()),
        }
    }

    /// The spec checked, with its direction written out (so that writing the
    /// default explicitly keys the same units).
    fn resolved(mut self) -> Result<ScoreSpec, ConfigError> {
        let fail = |key: &str, message: String| Err(invalid(&format!("search.warm_start.{key}"), &message));
        let beta = match &self {
            ScoreSpec::Benchmark { .. } => None,
            ScoreSpec::Ntk { kernel, beta, .. } => {
                if !kernel.mixed() && *beta != 0.0 {
                    return fail(
                        "beta",
                        format!(
                            "kernel `{}` has no beta (its rows have beta 0); beta selects the mixtures all and robust_all",
                            kernel.as_str()
                        ),
                    );
                }
                Some(*beta)
            }
            ScoreSpec::Bounds { beta, .. } => Some(*beta),
        };
        if let Some(beta) = beta
            && !(0.0..=1.0).contains(&beta)
        {
            return fail("beta", format!("{beta} is not in [0, 1]"));
        }
        let Some(direction) = self.higher_is_better() else {
            return fail(
                "higher_is_better",
                format!("{} has no known direction: say whether a higher value is better (true or false)", self.name()),
            );
        };
        *self.explicit_direction() = Some(direction);
        Ok(self)
    }

    /// Score per cell (averaged over seeds), signed so that higher is better,
    /// of `dataset`, from the tables of `catalog`.
    pub(crate) fn load(&self, catalog: &Arc<Catalog>, dataset: &str) -> Result<BTreeMap<usize, f64>> {
        let sign = match self.higher_is_better() {
            Some(true) => 1.0,
            Some(false) => -1.0,
            None => bail!("search.warm_start.higher_is_better: {} has no known direction", self.name()),
        };
        let (table, column, weights, kernel, beta, scored_on) = match self {
            ScoreSpec::Benchmark { source, metric, .. } => {
                return benchmark_scores(catalog, source, metric, dataset).map(|s| signed(s, sign));
            }
            ScoreSpec::Ntk { column, weights, kernel, beta, dataset: scored_on, .. } => {
                ("ntk", column.as_str(), *weights, Some(*kernel), *beta, scored_on)
            }
            ScoreSpec::Bounds { column, weights, beta, dataset: scored_on, .. } => {
                ("bounds", column.as_str(), *weights, None, *beta, scored_on)
            }
        };
        let dataset = scored_on.as_deref().unwrap_or(dataset);
        let rows = project_rows(catalog, table, column, dataset)?;
        let run = match catalog.run_id() {
            Some(run) => format!("run {run}"),
            None => "the store (no experiment run)".into(),
        };
        if rows.is_empty() {
            let datasets = distinct(catalog, &format!("SELECT DISTINCT dataset FROM {table} ORDER BY dataset"))?;
            bail!(
                "search.warm_start: `{table}` of {run} has no rows for dataset `{dataset}` ({}; see `robbench sql \
                 \"SELECT DISTINCT dataset, weights FROM {table}\"`, and choose the run with --run)",
                if datasets.is_empty() {
                    "it is empty: run an experiment with ntk.enabled = true".to_string()
                } else {
                    format!("it has {}", datasets.join(", "))
                }
            );
        }
        let rows: Vec<&ProjectRow> = rows.iter().filter(|r| r.weights == weights.as_str()).collect();
        if rows.is_empty() {
            let weights_there = distinct(
                catalog,
                &format!(
                    "SELECT DISTINCT weights FROM {table} WHERE dataset = {} ORDER BY weights",
                    sql_string(dataset)
                ),
            )?;
            bail!(
                "search.warm_start: `{table}` of {run} has no rows with weights `{}` for {dataset} (it has weights {}; \
                 the experiment's ntk.weights decides which are computed)",
                weights.as_str(),
                weights_there.join(", ")
            );
        }
        let selected: Vec<(usize, f64)> = rows
            .iter()
            .filter(|r| r.kernel.as_deref() == kernel.map(NtkKernel::as_str) && r.beta == beta)
            .map(|r| (r.cell, r.value))
            .collect();
        if selected.is_empty() {
            let mut there: Vec<String> = rows
                .iter()
                .map(|r| match &r.kernel {
                    Some(k) => format!("kernel {k} beta {}", r.beta),
                    None => format!("beta {}", r.beta),
                })
                .collect();
            there.sort();
            there.dedup();
            bail!(
                "search.warm_start: `{table}` of {run} has no rows of {} for {dataset} (with weights {} it has {}; \
                 the experiment's ntk.betas decides the betas)",
                self.name(),
                weights.as_str(),
                there.join(", ")
            );
        }
        let scores = mean_by_cell(selected.into_iter());
        if scores.is_empty() {
            bail!("search.warm_start: every value of {} in {run} for {dataset} is infinite or NaN", self.name());
        }
        Ok(signed(scores, sign))
    }
}

fn signed(scores: BTreeMap<usize, f64>, sign: f64) -> BTreeMap<usize, f64> {
    scores.into_iter().map(|(cell, v)| (cell, sign * v)).collect()
}

/// Values of `metric` (a metric name: `nwot`, `pgd@8`) of a `benchmark` source, per cell.
fn benchmark_scores(catalog: &Arc<Catalog>, source: &str, metric: &str, dataset: &str) -> Result<BTreeMap<usize, f64>> {
    let base = metric.split_once('@').map_or(metric, |m| m.0);
    let rows = metric_rows(
        catalog,
        &format!(
            "SELECT arch_index, metric, eps, value FROM benchmark WHERE source = {} AND dataset = {} AND metric = {}",
            sql_string(source),
            sql_string(dataset),
            sql_string(base)
        ),
    )?;
    let scores = mean_by_cell(rows.into_iter().filter(|r| r.1 == metric).map(|(cell, _, v)| (cell, v)));
    if scores.is_empty() {
        let there = metric_rows(
            catalog,
            &format!(
                "SELECT DISTINCT 0 AS arch_index, metric, eps, 0.0 AS value FROM benchmark WHERE source = {} AND dataset = {}",
                sql_string(source),
                sql_string(dataset)
            ),
        )?;
        let mut names: Vec<String> = there.into_iter().map(|r| r.1).collect();
        names.sort();
        bail!(
            "search.warm_start: no `{metric}` scores of source `{source}` for {dataset} in `benchmark` ({}; import them \
             with `robbench import zero-cost`, or drop warm-start-evolution from search.algorithms)",
            if names.is_empty() {
                format!("`{source}` has no rows for {dataset}")
            } else {
                format!("it has {}", names.join(", "))
            }
        );
    }
    Ok(scores)
}

/// One row of `ntk` (with its kernel) or `bounds` (without).
struct ProjectRow {
    cell: usize,
    weights: String,
    kernel: Option<String>,
    beta: f64,
    value: f64,
}

/// `column` of every row of `table` (`ntk` or `bounds`) of `dataset`.
fn project_rows(catalog: &Arc<Catalog>, table: &str, score: &str, dataset: &str) -> Result<Vec<ProjectRow>> {
    let kernel = if table == "ntk" { "kernel, " } else { "" };
    let sql = format!(
        "SELECT arch_index, weights, {kernel}beta, {score} AS value FROM {table} WHERE dataset = {}",
        sql_string(dataset)
    );
    let (_, batches) = query(catalog.clone(), &sql)?;
    let mut out = Vec::new();
    for b in &batches {
        let arch = column(b, "arch_index", &DataType::Int64)?;
        let weights = column(b, "weights", &DataType::Utf8)?;
        let kernels = if kernel.is_empty() { None } else { Some(column(b, "kernel", &DataType::Utf8)?) };
        let beta = column(b, "beta", &DataType::Float64)?;
        let value = column(b, "value", &DataType::Float64)?;
        let (arch, weights) = (downcast::<Int64Array>(&arch), downcast::<StringArray>(&weights));
        let (beta, value) = (downcast::<Float64Array>(&beta), downcast::<Float64Array>(&value));
        for i in 0..b.num_rows() {
            out.push(ProjectRow {
                cell: arch.value(i) as usize,
                weights: weights.value(i).to_string(),
                kernel: kernels.as_ref().map(|k| downcast::<StringArray>(k).value(i).to_string()),
                beta: beta.value(i),
                value: value.value(i),
            });
        }
    }
    Ok(out)
}

/// The first column of a query's rows, as strings.
fn distinct(catalog: &Arc<Catalog>, sql: &str) -> Result<Vec<String>> {
    let (_, batches) = query(catalog.clone(), sql)?;
    let mut out = Vec::new();
    for b in &batches {
        let values = cast(b.column(0), &DataType::Utf8)?;
        let values = downcast::<StringArray>(&values);
        out.extend((0..b.num_rows()).map(|i| values.value(i).to_string()));
    }
    Ok(out)
}

/// Everything a search can see: metric → cell → value (averaged over seeds),
/// and the warm start's score per cell (higher is better).
#[derive(Debug)]
pub struct SearchData {
    pub source: String,
    pub dataset: String,
    pub metrics: BTreeMap<String, BTreeMap<usize, f64>>,
    pub scores: BTreeMap<usize, f64>,
}

fn sql_string(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Column `name` of a query result, cast to `to` (SQL may widen or relabel types).
fn column(batch: &RecordBatch, name: &str, to: &DataType) -> Result<ArrayRef> {
    let c = batch.column_by_name(name).with_context(|| format!("query result has no column `{name}`"))?;
    Ok(cast(c, to)?)
}

fn downcast<T: 'static>(array: &ArrayRef) -> &T {
    array.as_any().downcast_ref::<T>().expect("cast to this type above")
}

/// (cell, metric name, value) rows of an SQL query selecting `arch_index`, `metric`, `eps`, `value`.
pub(crate) fn metric_rows(catalog: &Arc<Catalog>, sql: &str) -> Result<Vec<(usize, String, f64)>> {
    let (_, batches) = query(catalog.clone(), sql)?;
    let mut out = Vec::new();
    for b in &batches {
        let arch = column(b, "arch_index", &DataType::Int64)?;
        let metric = column(b, "metric", &DataType::Utf8)?;
        let eps = column(b, "eps", &DataType::Float64)?;
        let value = column(b, "value", &DataType::Float64)?;
        let (arch, metric) = (downcast::<Int64Array>(&arch), downcast::<StringArray>(&metric));
        let (eps, value) = (downcast::<Float64Array>(&eps), downcast::<Float64Array>(&value));
        for i in 0..b.num_rows() {
            let eps = (!eps.is_null(i)).then(|| eps.value(i));
            out.push((arch.value(i) as usize, crate::import::metric_name(metric.value(i), eps), value.value(i)));
        }
    }
    Ok(out)
}

fn mean_by_cell(rows: impl Iterator<Item = (usize, f64)>) -> BTreeMap<usize, f64> {
    let mut sums: BTreeMap<usize, (f64, usize)> = BTreeMap::new();
    for (cell, v) in rows.filter(|r| r.1.is_finite()) {
        let s = sums.entry(cell).or_default();
        s.0 += v;
        s.1 += 1;
    }
    sums.into_iter().map(|(cell, (sum, n))| (cell, sum / n as f64)).collect()
}

impl SearchData {
    /// Reads the oracle of `cfg` from the tables SQL sees in `catalog`.
    pub fn load(catalog: &Arc<Catalog>, cfg: &SearchConfig) -> Result<SearchData> {
        let dataset = sql_string(&cfg.dataset);
        let rows = if cfg.source == "evaluations" {
            // `clean` has eps 0 in `evaluations` but no eps in metric names.
            metric_rows(
                catalog,
                &format!(
                    "SELECT arch_index, attack AS metric, CASE WHEN attack = 'clean' THEN NULL ELSE eps END AS eps, \
                     accuracy AS value FROM evaluations WHERE dataset = {dataset}"
                ),
            )?
        } else {
            metric_rows(
                catalog,
                &format!(
                    "SELECT arch_index, metric, eps, value FROM benchmark WHERE source = {} AND dataset = {dataset}",
                    sql_string(&cfg.source)
                ),
            )?
        };
        if rows.is_empty() {
            bail!(
                "search.source `{}` has no rows for dataset `{}` (import it first, e.g. `robbench import nasrobbench201-html`; \
                 see `robbench sql \"SELECT DISTINCT source, dataset FROM benchmark\"`)",
                cfg.source,
                cfg.dataset
            );
        }
        let mut by_metric: BTreeMap<String, Vec<(usize, f64)>> = BTreeMap::new();
        for (cell, metric, value) in rows {
            by_metric.entry(metric).or_default().push((cell, value));
        }
        let metrics = by_metric.into_iter().map(|(m, rows)| (m, mean_by_cell(rows.into_iter()))).collect();
        let scores = if cfg.algorithms.contains(&Algorithm::WarmStartEvolution) {
            cfg.warm_start.load(catalog, &cfg.dataset)?
        } else {
            BTreeMap::new()
        };
        Ok(SearchData { source: cfg.source.clone(), dataset: cfg.dataset.clone(), metrics, scores })
    }

    /// blake3 of the oracle's values: what a unit's key hashes instead of the
    /// rows. The warm start's scores are hashed apart ([`SearchData::scores_blake3`]),
    /// only into the units that rank by them; `scores` stays in the hashed
    /// shape, empty, so that the keys of searches stored before stand.
    fn oracle_blake3(&self) -> String {
        #[derive(Serialize)]
        struct Oracle<'a> {
            source: &'a str,
            dataset: &'a str,
            metrics: &'a BTreeMap<String, BTreeMap<usize, f64>>,
            scores: BTreeMap<usize, f64>,
        }
        let oracle =
            Oracle { source: &self.source, dataset: &self.dataset, metrics: &self.metrics, scores: BTreeMap::new() };
        blake3::hash(&serde_json::to_vec(&oracle).expect("plain data serialises")).to_hex().to_string()
    }

    /// blake3 of the warm start's scores.
    fn scores_blake3(&self) -> String {
        blake3::hash(&serde_json::to_vec(&self.scores).expect("plain data serialises")).to_hex().to_string()
    }

    fn model_shape(&self) -> Result<ModelShape> {
        Ok(match self.dataset.as_str() {
            "cifar10" => ModelShape::nb201(10, 32),
            "cifar100" => ModelShape::nb201(100, 32),
            "imagenet16-120" => ModelShape::nb201(120, 16),
            // The default experiment's synthetic images.
            "synthetic" => ModelShape::nb201(10, 16),
            other => bail!(
                "search.dataset `{other}`: no model shape for its FLOPs (cifar10, cifar100, imagenet16-120, synthetic)"
            ),
        })
    }

    /// The oracle of one objective: architectures with every metric it needs.
    fn table(&self, spec: &ObjectiveSpec, cost: &CostModel) -> Result<Table> {
        let space = Space::nb201();
        let shape = self.model_shape()?;
        let derived = |metric: &str| -> Option<BTreeMap<usize, f64>> {
            let of = |cell: usize| robbench_space::cost(&space.archs()[cell], &shape);
            match metric {
                "params" => Some((0..SPACE_SIZE).map(|c| (c, of(c).params as f64)).collect()),
                "flops" => Some((0..SPACE_SIZE).map(|c| (c, of(c).flops)).collect()),
                _ => None,
            }
        };
        let mut columns: Vec<BTreeMap<usize, f64>> = Vec::new();
        for m in spec.metrics() {
            let (name, sign) = m.strip_prefix('-').map_or((m, 1.0), |n| (n, -1.0));
            let column = self.metrics.get(name).cloned().or_else(|| derived(name)).with_context(|| {
                format!(
                    "objective {}: {}/{} has no metric `{name}` (it has {}, and the cell's params and flops)",
                    spec.name(),
                    self.source,
                    self.dataset,
                    self.metrics.keys().cloned().collect::<Vec<_>>().join(", ")
                )
            })?;
            columns.push(column.into_iter().map(|(cell, v)| (cell, sign * v)).collect());
        }
        let mut rows = Vec::new();
        for (&cell, &first) in &columns[0] {
            let mut values = vec![first];
            values.extend(columns[1..].iter().filter_map(|c| c.get(&cell).copied()));
            if values.len() == columns.len() {
                let mflops = robbench_space::cost(&space.arch(cell)?, &shape).flops;
                rows.push((cell, values, cost.gpu_hours(mflops)));
            }
        }
        let table = Table::from_rows(rows).with_context(|| format!("objective {}", spec.name()))?;
        Ok(table.with_scores(self.scores.iter().map(|(&c, &s)| (c, s)))?)
    }
}

/// A unit's identity: everything its result depends on.
#[derive(Serialize, Deserialize)]
struct UnitParams {
    algorithm: Algorithm,
    objective: ObjectiveSpec,
    trial: u64,
    seed: u64,
    queries: usize,
    gpu_hours: f64,
    settings: Settings,
    cost: CostModel,
    source: String,
    dataset: String,
    data_blake3: String,
    /// Warm-start units only: the score they rank by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    warm_start: Option<WarmStartKey>,
}

/// What a warm start's first population depends on.
#[derive(Serialize, Deserialize)]
struct WarmStartKey {
    /// With its direction written out.
    score: ScoreSpec,
    scores_blake3: String,
}

#[derive(Serialize)]
struct SearchFile {
    search: SearchConfig,
}

struct SearchSchema;

impl ConfigSchema for SearchSchema {
    fn normalize(&self, raw: &Config) -> Result<Config, ConfigError> {
        let mut search: SearchConfig =
            if raw.get("search").is_some() { raw.typed("search")? } else { Default::default() };
        let fail = |key: &str, message: &str| Err(invalid(&format!("search.{key}"), message));
        if search.trials == 0 {
            return fail("trials", "must be at least 1");
        }
        if search.queries == 0 {
            return fail("queries", "must be at least 1");
        }
        if search.algorithms.is_empty() {
            return fail("algorithms", "name at least one algorithm");
        }
        if search.objectives.is_empty() {
            return fail("objectives", "name at least one objective");
        }
        if !(search.gpu_hours.is_finite() && search.gpu_hours >= 0.0) {
            return fail("gpu_hours", "must be a finite number >= 0 (0: no cost budget)");
        }
        let c = &search.cost;
        for (key, value, zero_allowed) in [
            ("cost.epochs", c.epochs, false),
            ("cost.attack_steps", c.attack_steps, true),
            ("cost.train_images", c.train_images, false),
            ("cost.tflops", c.tflops, false),
        ] {
            if !(value.is_finite() && (value > 0.0 || zero_allowed && value == 0.0)) {
                return fail(
                    key,
                    if zero_allowed { "must be a finite number >= 0" } else { "must be a finite number > 0" },
                );
            }
        }
        for o in &search.objectives {
            if let ObjectiveSpec::Weighted { beta, .. } = o
                && !(0.0..=1.0).contains(beta)
            {
                return fail("objectives", &format!("{}: beta must be in [0, 1]", o.name()));
            }
        }
        if let Err(e) = search.settings.check() {
            return fail("settings", &e.to_string());
        }
        search.warm_start = search.warm_start.resolved()?;
        if search.source == LIVE_SOURCE && search.algorithms.contains(&Algorithm::WarmStartEvolution) {
            // A live warm start computes its scores, at initialisation, before training anything.
            match &search.warm_start {
                ScoreSpec::Benchmark { .. } => {
                    return fail(
                        "warm_start",
                        "a live warm start computes its score: a column of `ntk` or `bounds` (table = \"ntk\" or \"bounds\"), \
                         not a `benchmark` metric",
                    );
                }
                ScoreSpec::Ntk { weights: NtkWeights::Trained, .. }
                | ScoreSpec::Bounds { weights: NtkWeights::Trained, .. } => {
                    return fail(
                        "warm_start.weights",
                        "a live warm start ranks proposals before training them: weights = \"init\"",
                    );
                }
                ScoreSpec::Ntk { dataset: Some(scored_on), .. }
                | ScoreSpec::Bounds { dataset: Some(scored_on), .. }
                    if *scored_on != search.dataset =>
                {
                    return fail(
                        "warm_start.dataset",
                        &format!(
                            "a live warm start computes its scores on the recipe's dataset, `search.dataset` (`{}`), \
                             not `{scored_on}`",
                            search.dataset
                        ),
                    );
                }
                ScoreSpec::Ntk { .. } | ScoreSpec::Bounds { .. } => {}
            }
        }
        Config::from_serialize(&SearchFile { search })
    }
}

struct SearchStage {
    data: Arc<SearchData>,
    data_blake3: String,
    scores_blake3: String,
}

impl Stage for SearchStage {
    fn name(&self) -> &'static str {
        SEARCH_STAGE
    }
    fn version(&self) -> u32 {
        1
    }
    fn upstream(&self) -> &'static [&'static str] {
        &[]
    }
    fn tables(&self) -> Vec<&'static TableDef> {
        vec![&SEARCH_STEPS, &SEARCH_RESULTS]
    }

    fn plan(&self, config: &Config, _: &Upstream<'_>) -> Result<Vec<UnitSpec>> {
        let cfg: SearchConfig = config.typed("search")?;
        let mut units = Vec::new();
        let budget = if cfg.gpu_hours > 0.0 {
            format!("{} queries, {} GPU-hours", cfg.queries, cfg.gpu_hours)
        } else {
            format!("{} queries", cfg.queries)
        };
        for objective in &cfg.objectives {
            // Fail at planning, naming the metric, rather than in every unit.
            self.data.table(objective, &cfg.cost)?;
            for &algorithm in &cfg.algorithms {
                for trial in 0..cfg.trials {
                    let params = UnitParams {
                        algorithm,
                        objective: objective.clone(),
                        trial,
                        seed: cfg.seed + trial,
                        queries: cfg.queries,
                        gpu_hours: cfg.gpu_hours,
                        settings: cfg.settings.clone(),
                        cost: cfg.cost.clone(),
                        source: cfg.source.clone(),
                        dataset: cfg.dataset.clone(),
                        data_blake3: self.data_blake3.clone(),
                        warm_start: (algorithm == Algorithm::WarmStartEvolution).then(|| WarmStartKey {
                            score: cfg.warm_start.clone(),
                            scores_blake3: self.scores_blake3.clone(),
                        }),
                    };
                    units.push(UnitSpec {
                        // SQL shows the latest unit of each label, so the
                        // budget is part of it: a search with another budget
                        // adds trials of its own rather than replacing some.
                        label: format!(
                            "{} · {} · {}/{} · {budget} · trial {trial}",
                            algorithm.name(),
                            objective.name(),
                            cfg.source,
                            cfg.dataset
                        ),
                        params: serde_json::to_value(&params)?,
                        config_keys: vec![],
                        inputs: vec![],
                        shard_group: None,
                    });
                }
            }
        }
        Ok(units)
    }
}

impl Runnable for SearchStage {
    fn run(&self, unit: &mut UnitContext<'_>) -> Result<()> {
        let p: UnitParams = serde_json::from_value(unit.params().clone())?;
        let names = TraceNames {
            algorithm: p.algorithm.name().to_string(),
            objective: p.objective.name(),
            source: p.source.clone(),
            dataset: p.dataset.clone(),
            trial: p.trial,
        };
        let table = self.data.table(&p.objective, &p.cost)?;
        let budget = Budget { queries: p.queries, cost: (p.gpu_hours > 0.0).then_some(p.gpu_hours) };
        let trace = robbench_search::search(
            &table,
            p.objective.objective(),
            p.algorithm,
            &p.settings,
            budget,
            p.seed,
            p.objective.reference(),
        )?;
        unit.note("queries", trace.steps.len() as u64);
        write_trace(unit, &names, &trace)
    }
}

/// What identifies a trial's rows in the tables.
fn write_trace(unit: &mut UnitContext<'_>, names: &TraceNames, trace: &Trace) -> Result<()> {
    let (steps, results) = trace_batches(names, trace)?;
    unit.write_table(&SEARCH_STEPS, &[steps])?;
    unit.write_table(&SEARCH_RESULTS, &[results])
}

/// The pipeline `robbench search` runs over `data`.
pub fn search_pipeline(data: SearchData) -> Result<Pipeline> {
    let (data_blake3, scores_blake3) = (data.oracle_blake3(), data.scores_blake3());
    let stage = SearchStage { data: Arc::new(data), data_blake3, scores_blake3 };
    Pipeline::new(Box::new(SearchSchema), vec![Box::new(stage)])
}

/// One trial of a live search, already searched (`live_search`): what its
/// recording unit writes. The key hashes the whole trace, so recording an
/// unchanged search again does nothing.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LiveTrial {
    pub algorithm: Algorithm,
    pub objective: ObjectiveSpec,
    pub trial: u64,
    pub seed: u64,
    pub queries: usize,
    pub gpu_hours: f64,
    pub settings: Settings,
    /// `live:<recipe hash>`.
    pub source: String,
    pub dataset: String,
    /// A warm start's score.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warm_start: Option<ScoreSpec>,
    pub trace: Trace,
}

struct LiveRecord {
    trials: Vec<LiveTrial>,
}

impl Stage for LiveRecord {
    fn name(&self) -> &'static str {
        LIVE_SEARCH_STAGE
    }
    fn version(&self) -> u32 {
        1
    }
    fn upstream(&self) -> &'static [&'static str] {
        &[]
    }
    fn tables(&self) -> Vec<&'static TableDef> {
        vec![&SEARCH_STEPS, &SEARCH_RESULTS]
    }

    fn plan(&self, _: &Config, _: &Upstream<'_>) -> Result<Vec<UnitSpec>> {
        let mut units = Vec::new();
        for t in &self.trials {
            let budget = if t.gpu_hours > 0.0 {
                format!("{} queries, {} device-hours", t.queries, t.gpu_hours)
            } else {
                format!("{} queries", t.queries)
            };
            units.push(UnitSpec {
                label: format!(
                    "{} · {} · {}/{} · {budget} · trial {}",
                    t.algorithm.name(),
                    t.objective.name(),
                    t.source,
                    t.dataset,
                    t.trial
                ),
                params: serde_json::to_value(t)?,
                config_keys: vec![],
                inputs: vec![],
                shard_group: None,
            });
        }
        Ok(units)
    }
}

impl Runnable for LiveRecord {
    fn run(&self, unit: &mut UnitContext<'_>) -> Result<()> {
        let t: LiveTrial = serde_json::from_value(unit.params().clone())?;
        let names = TraceNames {
            algorithm: t.algorithm.name().to_string(),
            objective: t.objective.name(),
            source: t.source,
            dataset: t.dataset,
            trial: t.trial,
        };
        unit.note("queries", t.trace.steps.len() as u64);
        write_trace(unit, &names, &t.trace)
    }
}

/// The pipeline that records live search trials into `search_steps` and `search_results`.
pub fn live_record_pipeline(trials: Vec<LiveTrial>) -> Result<Pipeline> {
    Pipeline::new(Box::new(SearchSchema), vec![Box::new(LiveRecord { trials })])
}

/// The `[search]` section of a raw config, validated (what [`SearchData::load`] needs).
pub fn search_config(raw: &Config) -> Result<SearchConfig> {
    Ok(SearchSchema.normalize(raw)?.typed("search")?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cost_model_matches_a_hand_computation() {
        // All-conv3x3 on CIFAR-10: 220.11969 MMACs. 2·220.11969e6 FLOPs × 3 × 8
        // passes × 50 epochs × 50,000 images / 10 TFLOP/s = 2641.4 s.
        let hours = CostModel::default().gpu_hours(220.11969);
        assert!((hours - 2.0 * 220.11969e6 * 3.0 * 8.0 * 50.0 * 50_000.0 / 1e13 / 3600.0).abs() < 1e-9);
        assert!((hours - 0.7337).abs() < 1e-4, "{hours}");
    }

    #[test]
    fn config_errors_name_the_key() {
        let raw = Config::from_toml_str("[search]\ntrials = 0\n", "test").unwrap();
        assert!(search_config(&raw).unwrap_err().to_string().contains("search.trials"));
        let raw = Config::from_toml_str("[search]\nalgorithms = [\"annealing\"]\n", "test").unwrap();
        let e = search_config(&raw).unwrap_err().to_string();
        assert!(e.contains("search.algorithms") && e.contains("annealing"), "{e}");
        let raw = Config::from_toml_str(
            "[search]\nobjectives = [{ kind = \"weighted\", clean = \"clean\", robust = \"pgd@8\", beta = 2.0 }]\n",
            "test",
        )
        .unwrap();
        assert!(search_config(&raw).unwrap_err().to_string().contains("beta"));
        assert_eq!(search_config(&Config::default()).unwrap(), SearchConfig::default());
    }

    fn warm_start(toml: &str) -> Result<ScoreSpec, ConfigError> {
        let raw = Config::from_toml_str(&format!("[search]\nwarm_start = {toml}\n"), "test").unwrap();
        Ok(SearchSchema.normalize(&raw)?.typed::<SearchConfig>("search").unwrap().warm_start)
    }

    #[test]
    fn a_warm_start_without_table_is_a_benchmark_metric_as_before() {
        let old = warm_start(r#"{ source = "nas-bench-suite-zero", metric = "nwot", higher_is_better = true }"#);
        assert_eq!(old.unwrap(), ScoreSpec::default());
        // Fields left out take the defaults they always had.
        assert_eq!(warm_start("{}").unwrap(), ScoreSpec::default());
        let synflow = warm_start(r#"{ metric = "synflow" }"#).unwrap();
        let expected = ScoreSpec::Benchmark {
            source: "nas-bench-suite-zero".into(),
            metric: "synflow".into(),
            higher_is_better: Some(true),
        };
        assert_eq!(synflow, expected);
        let explicit = warm_start(r#"{ table = "benchmark", source = "nas-bench-suite-zero", metric = "synflow" }"#);
        assert_eq!(explicit.unwrap(), expected);
        let loss = warm_start(r#"{ source = "nas-bench-201", metric = "valid_loss" }"#).unwrap();
        assert_eq!(loss.higher_is_better(), Some(false));
    }

    #[test]
    fn project_scores_have_documented_directions() {
        let spec =
            warm_start(r#"{ table = "ntk", column = "lambda_min", weights = "init", kernel = "robust", beta = 0.0 }"#)
                .unwrap();
        let expected = ScoreSpec::Ntk {
            column: NtkColumn::LambdaMin,
            weights: NtkWeights::Init,
            kernel: NtkKernel::Robust,
            beta: 0.0,
            higher_is_better: Some(true),
            dataset: None,
        };
        assert_eq!(spec, expected);
        // weights (init) and beta (0) have defaults.
        assert_eq!(warm_start(r#"{ table = "ntk", column = "lambda_min", kernel = "robust" }"#).unwrap(), expected);
        let condition = warm_start(r#"{ table = "ntk", column = "condition", kernel = "robust_all", beta = 0.5 }"#);
        assert_eq!(condition.unwrap().higher_is_better(), Some(false));
        let bound = warm_start(r#"{ table = "bounds", column = "robust_bound", weights = "trained", beta = 1.0 }"#);
        assert_eq!(bound.unwrap().higher_is_better(), Some(false));
        let lambda = warm_start(r#"{ table = "bounds", column = "robust_lambda_min" }"#);
        assert_eq!(lambda.unwrap().higher_is_better(), Some(true));
        // An explicit direction wins.
        let flipped =
            warm_start(r#"{ table = "ntk", column = "lambda_min", kernel = "clean", higher_is_better = false }"#);
        assert_eq!(flipped.unwrap().higher_is_better(), Some(false));
    }

    #[test]
    fn an_ambiguous_or_impossible_warm_start_is_refused_naming_the_key() {
        let refused = |toml: &str, needles: &[&str]| {
            let e = warm_start(toml).unwrap_err().to_string();
            assert!(needles.iter().all(|n| e.contains(n)), "{toml}: {e}");
        };
        refused(
            r#"{ table = "ntk", column = "trace", kernel = "clean" }"#,
            &["search.warm_start.higher_is_better", "ntk.clean.trace", "no known direction"],
        );
        refused(
            r#"{ source = "nas-bench-201", metric = "train_time" }"#,
            &["search.warm_start.higher_is_better", "nas-bench-201:train_time"],
        );
        refused(
            r#"{ table = "ntk", column = "lambda_mean", kernel = "clean" }"#,
            &["search.warm_start", "lambda_mean", "lambda_min"],
        );
        refused(r#"{ table = "ntk", column = "lambda_min", kernel = "mixed" }"#, &["mixed", "robust_all"]);
        refused(
            r#"{ table = "ntk", column = "lambda_min", kernel = "clean", weights = "final" }"#,
            &["final", "trained"],
        );
        refused(
            r#"{ table = "ntk", column = "lambda_min", kernel = "clean", beta = 0.5 }"#,
            &["search.warm_start.beta", "kernel `clean`"],
        );
        refused(r#"{ table = "bounds", column = "clean_bound", beta = 1.5 }"#, &["search.warm_start.beta", "[0, 1]"]);
        // Fields of another table, and tables that hold no scores.
        refused(r#"{ table = "bounds", column = "clean_bound", kernel = "clean" }"#, &["kernel"]);
        refused(r#"{ table = "ntk", metric = "nwot", kernel = "clean", column = "trace" }"#, &["metric"]);
        refused(r#"{ table = "evaluations", metric = "pgd@8" }"#, &["evaluations", "ntk", "bounds"]);
        refused(r#"{ table = "bounds", column = "jitter" }"#, &["jitter"]);
    }

    /// Keys of `warm_start` searches with every algorithm, by label.
    fn keys(warm_start: &str, scores: &[(usize, f64)]) -> BTreeMap<String, String> {
        let metrics = BTreeMap::from([("pgd@8".to_string(), (0..50).map(|c| (c, c as f64 / 100.0)).collect())]);
        let data = SearchData {
            source: "evaluations".into(),
            dataset: "cifar10".into(),
            metrics,
            scores: scores.iter().copied().collect(),
        };
        let raw = Config::from_toml_str(
            &format!(
                "[search]\nobjectives = [{{ kind = \"metric\", metric = \"pgd@8\" }}]\ntrials = 1\nwarm_start = {warm_start}\n"
            ),
            "test",
        )
        .unwrap();
        let plan = search_pipeline(data).unwrap().plan(&raw).unwrap();
        plan.units.iter().map(|u| (u.spec.label.split(" · ").next().unwrap().to_string(), u.key.to_hex())).collect()
    }

    #[test]
    fn only_warm_start_units_hash_the_score() {
        let nwot = r#"{ metric = "nwot" }"#;
        let scores = [(0, 1.0), (1, 2.0)];
        let base = keys(nwot, &scores);
        assert_eq!(base.len(), Algorithm::ALL.len());
        let changed = |other: &BTreeMap<String, String>| -> Vec<String> {
            base.iter().filter(|(label, key)| other[*label] != **key).map(|(label, _)| label.clone()).collect()
        };
        // Writing the default direction changes nothing.
        assert!(changed(&keys(r#"{ metric = "nwot", higher_is_better = true }"#, &scores)).is_empty());
        // Another score (spec or values) rekeys the warm start alone.
        let warm = vec!["warm-start-evolution".to_string()];
        assert_eq!(changed(&keys(r#"{ metric = "nwot", higher_is_better = false }"#, &scores)), warm);
        assert_eq!(changed(&keys(nwot, &[(0, 1.0), (1, 3.0)])), warm);
        let ntk = r#"{ table = "ntk", column = "lambda_min", weights = "init", kernel = "robust" }"#;
        assert_eq!(changed(&keys(ntk, &scores)), warm);
        let ntk_beta =
            r#"{ table = "ntk", column = "lambda_min", weights = "init", kernel = "robust_all", beta = 0.5 }"#;
        assert_ne!(keys(ntk, &scores)["warm-start-evolution"], keys(ntk_beta, &scores)["warm-start-evolution"]);
    }
}
