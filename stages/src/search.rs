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
use serde::{Deserialize, Serialize};

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

/// The training-free score the warm start ranks by: a `benchmark` metric
/// (e.g. a NAS-Bench-Suite-Zero proxy) of the same dataset.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScoreSpec {
    pub source: String,
    pub metric: String,
    pub higher_is_better: bool,
}

impl Default for ScoreSpec {
    fn default() -> ScoreSpec {
        ScoreSpec { source: "nas-bench-suite-zero".into(), metric: "nwot".into(), higher_is_better: true }
    }
}

/// Everything a search can see: metric → cell → value (averaged over seeds),
/// and the warm start's score per cell (higher is better).
#[derive(Debug, Serialize)]
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
        let mut scores = BTreeMap::new();
        if cfg.algorithms.contains(&Algorithm::WarmStartEvolution) {
            let ws = &cfg.warm_start;
            let sql = format!(
                "SELECT arch_index, metric, eps, value FROM benchmark WHERE source = {} AND dataset = {dataset} AND metric = {}",
                sql_string(&ws.source),
                sql_string(&ws.metric)
            );
            let sign = if ws.higher_is_better { 1.0 } else { -1.0 };
            scores = mean_by_cell(metric_rows(catalog, &sql)?.into_iter().map(|(c, _, v)| (c, sign * v)));
            if scores.is_empty() {
                bail!(
                    "search.warm_start: no `{}` scores of source `{}` for {} in `benchmark` (import them with \
                     `robbench import zero-cost`, or drop warm-start-evolution from search.algorithms)",
                    ws.metric,
                    ws.source,
                    cfg.dataset
                );
            }
        }
        Ok(SearchData { source: cfg.source.clone(), dataset: cfg.dataset.clone(), metrics, scores })
    }

    /// blake3 of the content: what a unit's key hashes instead of the rows.
    fn hash(&self) -> String {
        blake3::hash(&serde_json::to_vec(self).expect("plain data serialises")).to_hex().to_string()
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
}

#[derive(Serialize)]
struct SearchFile {
    search: SearchConfig,
}

struct SearchSchema;

impl ConfigSchema for SearchSchema {
    fn normalize(&self, raw: &Config) -> Result<Config, ConfigError> {
        let search: SearchConfig = if raw.get("search").is_some() { raw.typed("search")? } else { Default::default() };
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
        if search.gpu_hours.is_nan() || search.gpu_hours < 0.0 {
            return fail("gpu_hours", "must be >= 0 (0: no cost budget)");
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
        if search.source == LIVE_SOURCE && search.algorithms.contains(&Algorithm::WarmStartEvolution) {
            return fail(
                "algorithms",
                "warm-start-evolution ranks by a training-free score of a table; a live search has none (drop it)",
            );
        }
        Config::from_serialize(&SearchFile { search })
    }
}

struct SearchStage {
    data: Arc<SearchData>,
    data_blake3: String,
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
    let data_blake3 = data.hash();
    Pipeline::new(Box::new(SearchSchema), vec![Box::new(SearchStage { data: Arc::new(data), data_blake3 })])
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
}
