//! Live architecture search: the algorithms of `robbench-search` with the
//! pipeline as the oracle (`robbench search` with `search.source = "live"`).
//!
//! Each batch of proposed architectures (class representatives) becomes one
//! run of the experiment restricted to them (`architectures.indices`), and of
//! it only the `prepare`, `train` and `evaluate` units the objectives read.
//! Units are content-addressed, so an architecture trained by any earlier
//! search, or by `robbench run` with the same recipe, is reused, not trained
//! again. What a query costs is measured: the seconds the architecture's
//! `train` and `evaluate` units took when they ran (from their manifests, so a
//! reused unit costs what it cost then). Nobody knows the best architecture of
//! a live recipe, so regret is measured against the best any trial of the same
//! search measured (see [`live_trials`]).
//!
//! A warm start ranks its pool by a column of `ntk` or `bounds` at
//! initialisation: the pool's `prepare`, `ntk` (and `bound`) units run in one
//! run of the experiment before the first query, and cost what they measured.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use robbench_pipeline::compact::Completeness;
use robbench_pipeline::sql::Catalog;
use robbench_pipeline::{Config, Pipeline, RunOptions, Store, execute_selected};
use robbench_search::{Algorithm, Budget, Entry, Optimum, Oracle, SearchError, explore};
use robbench_space::{ModelShape, SPACE_SIZE, Space};

use crate::config::NtkWeights;
use crate::reads::read;
use crate::search::{LIVE_SOURCE, LiveTrial, NtkKernel, ObjectiveSpec, ScoreSpec, SearchConfig, metric_rows};
use crate::select::{ArchitecturesReads, model_shape};

/// The experiment sections a query's units read: a recipe is identified by them.
const RECIPE_SECTIONS: [&str; 4] = ["dataset", "model", "train", "evaluation"];

/// What one architecture cost and measured.
struct Measured {
    /// Measured metric → value, averaged over training seeds.
    values: BTreeMap<String, f64>,
    hours: f64,
}

/// The pipeline, run on demand, as a search oracle for every objective of a search.
pub struct LiveOracle<'a> {
    store: &'a Store,
    pipeline: &'a Pipeline,
    recipe: Config,
    options: RunOptions,
    /// Metrics every query is evaluated for (the union over the objectives).
    metrics: BTreeSet<String>,
    shape: ModelShape,
    cells: Vec<usize>,
    classes: usize,
    measured: HashMap<usize, Measured>,
    /// The warm start's score (`ntk` or `bounds` at initialisation), when a warm start runs.
    warm_start: Option<ScoreSpec>,
    /// Scored classes: their score, signed so that higher is better (`None`
    /// where it is infinite or undefined), and the hours its units took.
    scores: HashMap<usize, (Option<f64>, f64)>,
    /// `live:<recipe hash>`.
    pub source: String,
    pub dataset: String,
    /// The experiment runs the queries (and a warm start's scores) made.
    pub runs: Vec<String>,
    /// Per stage (`train`, `evaluate`; a warm start's `ntk` and `bound`): units [executed, reused].
    pub units: BTreeMap<String, [usize; 2]>,
}

/// The metric an `evaluate` unit measures (`clean`, `pgd@8`...), from its parameters.
fn evaluated_metric(params: &serde_json::Value) -> Option<String> {
    let attack = params["attack"].as_str()?;
    let eps = (attack != "clean").then(|| params["eps"].as_f64()).flatten();
    Some(crate::import::metric_name(attack, eps))
}

fn is_derived(metric: &str) -> bool {
    matches!(metric, "params" | "flops")
}

/// The experiment config of a query of `classes`.
fn restricted(recipe: &Config, classes: &[usize]) -> Result<Config> {
    let mut raw = recipe.clone();
    raw.set("architectures.select=\"indices\"")?;
    raw.set(&format!("architectures.indices={classes:?}"))?;
    Ok(raw)
}

impl<'a> LiveOracle<'a> {
    /// An oracle training and attacking architectures with the experiment
    /// `recipe` (a raw config; its architecture selection is replaced by the
    /// proposals) for the objectives of `cfg`, into `store`.
    pub fn new(
        store: &'a Store,
        pipeline: &'a Pipeline,
        recipe: Config,
        cfg: &SearchConfig,
        options: RunOptions,
    ) -> Result<LiveOracle<'a>> {
        if cfg.source != LIVE_SOURCE {
            bail!("search.source is `{}`, not `{LIVE_SOURCE}`", cfg.source);
        }
        // Plan one architecture to learn what the recipe measures.
        let probe = pipeline.plan(&restricted(&recipe, &[0])?).context("the live search's experiment config")?;
        let dataset: String = probe.config.typed("dataset.name")?;
        if cfg.dataset != dataset {
            bail!("search.dataset is `{}` but the experiment trains on `{dataset}` (set search.dataset)", cfg.dataset);
        }
        let available: BTreeSet<String> = probe
            .units
            .iter()
            .filter(|u| u.stage_name == "evaluate")
            .filter_map(|u| evaluated_metric(&u.spec.params))
            .collect();
        let mut metrics = BTreeSet::new();
        for objective in &cfg.objectives {
            for metric in objective.metrics() {
                let name = metric.strip_prefix('-').unwrap_or(metric);
                if is_derived(name) {
                    continue;
                }
                if !available.contains(name) {
                    bail!(
                        "objective {}: the experiment measures no `{name}` (it measures {}, and the cell's params and \
                         flops; see [evaluation] and train.enabled)",
                        objective.name(),
                        if available.is_empty() {
                            "nothing".into()
                        } else {
                            available.iter().cloned().collect::<Vec<_>>().join(", ")
                        }
                    );
                }
                metrics.insert(name.to_string());
            }
        }
        let warm_start = if cfg.algorithms.contains(&Algorithm::WarmStartEvolution) {
            let betas: Vec<f64> = probe.config.typed("ntk.betas")?;
            let beta = match &cfg.warm_start {
                ScoreSpec::Ntk { kernel: NtkKernel::All | NtkKernel::RobustAll, beta, .. }
                | ScoreSpec::Bounds { beta, .. } => Some(*beta),
                _ => None,
            };
            if let Some(beta) = beta
                && !betas.contains(&beta)
            {
                bail!(
                    "search.warm_start: {} needs beta {beta} in the experiment's ntk.betas ({betas:?})",
                    cfg.warm_start.name()
                );
            }
            Some(cfg.warm_start.clone())
        } else {
            None
        };
        let sections = probe.config.slice(&RECIPE_SECTIONS).canonical_json();
        let hash = blake3::hash(sections.to_string().as_bytes()).to_hex();
        Ok(LiveOracle {
            store,
            pipeline,
            shape: model_shape(&read::<ArchitecturesReads>(&probe.config)?),
            recipe,
            options,
            metrics,
            cells: (0..SPACE_SIZE).collect(),
            classes: Space::nb201().representatives().len(),
            measured: HashMap::new(),
            warm_start,
            scores: HashMap::new(),
            source: format!("{LIVE_SOURCE}:{}", &hash[..12]),
            dataset,
            runs: Vec::new(),
            units: BTreeMap::new(),
        })
    }

    /// Trains and evaluates the `classes` not measured yet, in one run of the experiment.
    fn measure(&mut self, classes: &[usize]) -> Result<()> {
        let new: Vec<usize> = classes.iter().copied().filter(|c| !self.measured.contains_key(c)).collect();
        if new.is_empty() {
            return Ok(());
        }
        let plan = self.pipeline.plan(&restricted(&self.recipe, &new)?)?;
        let wanted = |u: &robbench_pipeline::PlannedUnit| match u.stage_name {
            "prepare" | "train" => true,
            "evaluate" => evaluated_metric(&u.spec.params).is_some_and(|m| self.metrics.contains(&m)),
            _ => false,
        };
        let selected: Vec<bool> = plan.units.iter().map(wanted).collect();
        let run_id = self.execute(&plan, selected.clone(), &["train", "evaluate"])?;
        let hours = unit_hours(self.store, &plan, &selected)?;
        let catalog = Arc::new(Catalog::new(self.store, Some(run_id.clone()), Completeness::Whole));
        let list = new.iter().map(usize::to_string).collect::<Vec<_>>().join(", ");
        let rows = metric_rows(
            &catalog,
            &format!(
                "SELECT arch_index, attack AS metric, CASE WHEN attack = 'clean' THEN NULL ELSE eps END AS eps, \
                 accuracy AS value FROM evaluations WHERE arch_index IN ({list})"
            ),
        )?;
        let mut sums: HashMap<(usize, String), (f64, usize)> = HashMap::new();
        for (arch, metric, value) in rows.into_iter().filter(|r| self.metrics.contains(&r.1)) {
            let sum = sums.entry((arch, metric)).or_default();
            sum.0 += value;
            sum.1 += 1;
        }
        for class in new {
            let mut values = BTreeMap::new();
            for metric in &self.metrics {
                let (sum, n) = sums.get(&(class, metric.clone())).with_context(|| {
                    format!("experiment run {run_id} has no `{metric}` for architecture {class} in `evaluations`")
                })?;
                values.insert(metric.clone(), sum / *n as f64);
            }
            let hours = hours.get(&class).copied().unwrap_or_default();
            self.measured.insert(class, Measured { values, hours });
        }
        Ok(())
    }

    /// Computes the warm start's score of the `classes` not scored yet, in one
    /// run of the experiment (their `prepare`, `ntk` and `bound` units at
    /// initialisation), and returns the hours the units of all `classes` took.
    fn score(&mut self, classes: &[usize]) -> Result<f64> {
        let spec = self.warm_start.clone().context("a live search without a warm start has no scores")?;
        let new: Vec<usize> = classes.iter().copied().filter(|c| !self.scores.contains_key(c)).collect();
        if !new.is_empty() {
            let mut raw = restricted(&self.recipe, &new)?;
            // Which NTK units exist: those at initialisation, whatever the recipe computes.
            raw.set("ntk.enabled=true")?;
            raw.set("ntk.weights=[\"init\"]")?;
            let plan = self.pipeline.plan(&raw)?;
            let init = serde_json::json!(NtkWeights::Init);
            let wanted = |u: &robbench_pipeline::PlannedUnit| match u.stage_name {
                "prepare" => true,
                "ntk" => u.spec.params["weights"] == init,
                "bound" => matches!(spec, ScoreSpec::Bounds { .. }) && u.spec.params["weights"] == init,
                _ => false,
            };
            let selected: Vec<bool> = plan.units.iter().map(wanted).collect();
            let run_id = self.execute(&plan, selected.clone(), &["ntk", "bound"])?;
            let hours = unit_hours(self.store, &plan, &selected)?;
            let catalog = Arc::new(Catalog::new(self.store, Some(run_id), Completeness::Whole));
            // Per class (the run's architectures are the representatives); an
            // infinite or undefined score leaves its class out of the pool.
            let scores = spec.load(&catalog, &self.dataset)?;
            for class in new {
                let hours = hours.get(&class).copied().unwrap_or_default();
                self.scores.insert(class, (scores.get(&class).copied(), hours));
            }
        }
        Ok(classes.iter().map(|c| self.scores[c].1).sum())
    }

    /// Runs the `selected` units of `plan` as an experiment run of its own
    /// and counts the units of `stages` it executed and reused; fails naming
    /// every unit that failed. Returns the run's id.
    fn execute(&mut self, plan: &robbench_pipeline::Plan, selected: Vec<bool>, stages: &[&str]) -> Result<String> {
        let report = execute_selected(self.pipeline, plan, self.store, &self.options, selected)?;
        let run_id = report.record.run_id.clone();
        self.runs.push(run_id.clone());
        let failed: Vec<String> = report
            .record
            .units
            .iter()
            .filter(|u| !u.status.succeeded())
            .map(|u| format!("{} {}: {}", u.stage, u.label, u.error.as_deref().unwrap_or(u.status.as_str())))
            .collect();
        if !failed.is_empty() {
            bail!("experiment run {run_id} of the live search failed:\n  {}", failed.join("\n  "));
        }
        for (stage, [executed, reused, ..]) in report.summary() {
            if stages.contains(&stage.as_str()) {
                let counts = self.units.entry(stage).or_default();
                counts[0] += executed;
                counts[1] += reused;
            }
        }
        Ok(run_id)
    }

    /// The oracle of one objective.
    pub fn view<'o>(&'o mut self, objective: &ObjectiveSpec) -> LiveView<'o, 'a> {
        let columns = objective
            .metrics()
            .iter()
            .map(|m| m.strip_prefix('-').map_or((m.to_string(), 1.0), |n| (n.to_string(), -1.0)))
            .collect();
        LiveView { live: self, columns }
    }

    /// How many architectures this oracle has measured (or found measured).
    pub fn measured(&self) -> usize {
        self.measured.len()
    }
}

/// Hours the `selected` units of `plan` other than `prepare` took, per
/// architecture: their seconds when they ran (from their manifests, so a
/// reused unit costs what it cost then).
fn unit_hours(store: &Store, plan: &robbench_pipeline::Plan, selected: &[bool]) -> Result<BTreeMap<usize, f64>> {
    let mut hours: BTreeMap<usize, f64> = BTreeMap::new();
    for (unit, _) in plan.units.iter().zip(selected).filter(|(u, s)| **s && u.stage_name != "prepare") {
        let arch = unit.spec.params["arch_index"].as_u64().context("a unit without arch_index")? as usize;
        let manifest = store.read_manifest(unit.stage_name, &unit.key)?;
        *hours.entry(arch).or_default() += manifest.seconds / 3600.0;
    }
    Ok(hours)
}

/// A [`LiveOracle`] answering for one objective's metrics (a leading `-` negated).
pub struct LiveView<'o, 'a> {
    live: &'o mut LiveOracle<'a>,
    columns: Vec<(String, f64)>,
}

impl Oracle for LiveView<'_, '_> {
    fn arity(&self) -> usize {
        self.columns.len()
    }

    fn cells(&self) -> &[usize] {
        &self.live.cells
    }

    fn classes(&self) -> usize {
        self.live.classes
    }

    fn answers(&self, class: usize) -> bool {
        class < SPACE_SIZE
    }

    fn score(&self, class: usize) -> Option<f64> {
        self.live.scores.get(&class).and_then(|s| s.0)
    }

    fn scores_on_request(&self) -> bool {
        self.live.warm_start.is_some()
    }

    fn compute_scores(&mut self, classes: &[usize]) -> Result<f64, SearchError> {
        self.live.score(classes).map_err(|e| SearchError::Oracle(format!("{e:#}").into()))
    }

    fn evaluate(&mut self, classes: &[usize]) -> Result<Vec<Entry>, SearchError> {
        self.live.measure(classes).map_err(|e| SearchError::Oracle(format!("{e:#}").into()))?;
        let space = Space::nb201();
        classes
            .iter()
            .map(|&class| {
                let measured = &self.live.measured[&class];
                let arch = space.arch(class)?;
                let values = self
                    .columns
                    .iter()
                    .map(|(metric, sign)| {
                        let cost = || robbench_space::cost(&arch, &self.live.shape);
                        sign * match metric.as_str() {
                            "params" => cost().params as f64,
                            "flops" => cost().flops,
                            measured_metric => measured.values[measured_metric],
                        }
                    })
                    .collect();
                Ok(Entry { values, cost: measured.hours })
            })
            .collect()
    }
}

/// Every trial of `cfg` (objective × algorithm × trial) on `oracle`. Regret
/// needs the best architecture, which nobody knows for a live recipe: it is
/// measured against the best that any trial of this search measured for the
/// same objective (its `optimum` row names it). It is 0 for the trials that
/// found it, and a lower bound of the regret against the true optimum.
pub fn live_trials(oracle: &mut LiveOracle<'_>, cfg: &SearchConfig) -> Result<Vec<LiveTrial>> {
    let budget = Budget { queries: cfg.queries, cost: (cfg.gpu_hours > 0.0).then_some(cfg.gpu_hours) };
    let mut out = Vec::new();
    for objective in &cfg.objectives {
        let mut explored = Vec::new();
        for &algorithm in &cfg.algorithms {
            for trial in 0..cfg.trials {
                let seed = cfg.seed + trial;
                let mut view = oracle.view(objective);
                let exploration = explore(
                    &mut view,
                    objective.objective(),
                    algorithm,
                    &cfg.settings,
                    budget,
                    seed,
                    objective.reference(),
                )
                .with_context(|| format!("live search {} · {} · trial {trial}", algorithm.name(), objective.name()))?;
                explored.push((algorithm, trial, seed, exploration));
            }
        }
        let visited = explored.iter().flat_map(|e| e.3.visits.iter().map(|v| (v.class, v.values.as_slice())));
        let optimum = Optimum::of(visited, objective.objective(), objective.reference())
            .with_context(|| format!("objective {}: the live search measured no architecture", objective.name()))?;
        for (algorithm, trial, seed, exploration) in explored {
            out.push(LiveTrial {
                algorithm,
                objective: objective.clone(),
                trial,
                seed,
                queries: cfg.queries,
                gpu_hours: cfg.gpu_hours,
                settings: cfg.settings.clone(),
                source: oracle.source.clone(),
                dataset: oracle.dataset.clone(),
                warm_start: (algorithm == Algorithm::WarmStartEvolution).then(|| cfg.warm_start.clone()),
                trace: exploration.against(optimum.clone()),
            });
        }
    }
    Ok(out)
}
