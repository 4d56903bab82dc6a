//! `robbench search`: architecture search over a table of the store, or
//! live (`search.source = "live"`) with the pipeline training each proposal.

use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Result, bail};
use robbench_pipeline::compact::Completeness;
use robbench_pipeline::console::note;
use robbench_pipeline::parallelism::Jobs;
use robbench_pipeline::sql::{Catalog, RunChoice, choose_run, query};
use robbench_pipeline::{Config, RunKind, RunOptions, RunReport, Store, execute};
use robbench_stages::DEFAULT_CONFIG;
use robbench_stages::live_search::{LiveOracle, live_trials};
use robbench_stages::search::{LIVE_SOURCE, SearchData, live_record_pipeline, search_config, search_pipeline};
use robbench_stages::search_keys::SEARCH_TOML;

#[derive(clap::Args)]
pub struct SearchArgs {
    /// Search config (TOML with a `[search]` section). Default: the embedded configs/search.toml.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Override a key, e.g. `--set search.trials=100` (repeatable). In a live
    /// search, keys outside `search.` set the experiment, e.g. `--set train.epochs=2`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
    /// Live search: the experiment config whose recipe trains and attacks each
    /// proposed architecture (its architecture selection is replaced).
    /// Default: the embedded configs/default.toml.
    #[arg(long, value_name = "FILE")]
    experiment: Option<PathBuf>,
    /// Live search: auto (CUDA when available), cpu, cuda or cuda:N.
    #[arg(long, default_value = "auto")]
    device: String,
    /// The run whose evaluations to search (`search.source = "evaluations"`) and
    /// whose `ntk` or `bounds` a warm start ranks by (default: the latest run
    /// that evaluated networks). Imported benchmarks are seen from any run.
    #[arg(long)]
    run: Option<String>,
    /// Units run in parallel (search trials; in a live search, the training
    /// and attack units of a batch of proposals): auto or a number.
    #[arg(long, default_value = "auto")]
    jobs: Jobs,
}

pub fn search(store: &Path, args: &SearchArgs, threads: Option<NonZeroUsize>) -> Result<ExitCode> {
    let mut raw = match &args.config {
        Some(path) => Config::from_file(path)?,
        None => Config::from_toml_str(SEARCH_TOML, "configs/search.toml (embedded)")?,
    };
    let (search_sets, experiment_sets): (Vec<&String>, Vec<&String>) =
        args.sets.iter().partition(|s| s.trim_start().starts_with("search."));
    for assignment in search_sets {
        raw.set(assignment)?;
    }
    let cfg = search_config(&raw)?;
    let device_kind = super::parallel::device_kind(&args.device)?;
    let jobs = super::parallel::configure(args.jobs, threads, device_kind)?.jobs;
    let store = Store::open(store)?;
    if cfg.source == LIVE_SOURCE {
        let mut experiment = match &args.experiment {
            Some(path) => Config::from_file(path)?,
            None => Config::from_toml_str(DEFAULT_CONFIG, "configs/default.toml (embedded)")?,
        };
        for assignment in experiment_sets {
            experiment.set(assignment)?;
        }
        return live(&store, &raw, &cfg, experiment, &args.device, jobs);
    }
    if let Some(set) = experiment_sets.first() {
        bail!(
            "--set {set}: a search over a table reads only `search.` keys (experiment keys are for search.source = \"live\")"
        );
    }
    if args.experiment.is_some() {
        bail!("--experiment is for a live search (search.source = \"live\"), not one over `{}`", cfg.source);
    }
    // `evaluations` come from the chosen (default: latest complete) run;
    // imported benchmarks are visible from any run, or from none.
    let choice = match &args.run {
        Some(id) => RunChoice::Id(id),
        None => RunChoice::Latest,
    };
    let chosen = choose_run(&store, choice)?;
    let catalog = Arc::new(Catalog::new(&store, chosen, Completeness::Whole));
    let data = SearchData::load(&catalog, &cfg)?;
    let pipeline = search_pipeline(data)?;
    let plan = pipeline.plan(&raw)?;
    let report =
        execute(&pipeline, &plan, &store, &RunOptions { jobs, shard: None, device: None, kind: RunKind::Shared })?;
    summarise(&store, &report)
}

/// A live search: every trial against the pipeline, then one run recording them.
fn live(
    store: &Store,
    raw: &Config,
    cfg: &robbench_stages::search::SearchConfig,
    experiment: Config,
    device: &str,
    jobs: usize,
) -> Result<ExitCode> {
    let started = Instant::now();
    let device = robbench_nn::parse_device(device)?;
    let described = robbench_nn::describe_device(device);
    note(format_args!("robbench: live search on {described}"));
    let pipeline = robbench_stages::pipeline(device)?;
    // The oracle's experiments are auxiliary runs: neither the store's default
    // experiment nor mixed into other runs' tables.
    let options = RunOptions { jobs, shard: None, device: Some(described), kind: RunKind::Auxiliary };
    let mut oracle = LiveOracle::new(store, &pipeline, experiment, cfg, options)?;
    let trials = live_trials(&mut oracle, cfg)?;
    let counts = |stage: &str| oracle.units.get(stage).copied().unwrap_or_default();
    let ([trained, train_reused], [evaluated, evaluate_reused]) = (counts("train"), counts("evaluate"));
    println!(
        "live search {source}/{dataset}: {n} architecture(s) measured in {runs} experiment run(s): \
         train units {trained} executed, {train_reused} reused; evaluate units {evaluated} executed, \
         {evaluate_reused} reused ({secs:.1}s)",
        source = oracle.source,
        dataset = oracle.dataset,
        n = oracle.measured(),
        runs = oracle.runs.len(),
        secs = started.elapsed().as_secs_f64(),
    );
    let pipeline = live_record_pipeline(trials)?;
    let plan = pipeline.plan(raw)?;
    let report =
        execute(&pipeline, &plan, store, &RunOptions { jobs: 1, shard: None, device: None, kind: RunKind::Shared })?;
    summarise(store, &report)
}

/// Prints the search run's id, unit counts and regret table.
fn summarise(store: &Store, report: &RunReport) -> Result<ExitCode> {
    let failed = report.failed();
    for unit in &failed {
        note(format_args!("robbench: search {} failed: {}", unit.label, unit.error.as_deref().unwrap_or("")));
    }
    let (executed, reused) = report.summary().iter().fold((0, 0), |acc, s| (acc.0 + s.1[0], acc.1 + s.1[1]));
    println!(
        "run {id}: {executed} search unit(s) executed, {reused} reused (query it with `robbench sql --run {id}`)",
        id = report.record.run_id
    );
    let catalog = Arc::new(Catalog::new(store, Some(report.record.run_id.clone()), Completeness::Whole));
    let (_, batches) = query(
        catalog,
        "SELECT r.objective, r.algorithm, count(*) AS trials, round(median(r.regret), 4) AS median_regret,
                round(avg(CASE WHEN r.regret <= 0 THEN 1.0 ELSE 0.0 END), 2) AS found_optimum,
                round(median(r.cost), 1) AS median_gpu_hours, o.arch_index AS optimum, round(o.value, 4) AS optimum_value
         FROM search_results r JOIN search_results o
           ON o.role = 'optimum' AND r.objective = o.objective AND r.algorithm = o.algorithm AND r.trial = o.trial
              AND r.source = o.source AND r.dataset = o.dataset
         WHERE r.role = 'final'
         GROUP BY r.objective, r.algorithm, o.arch_index, o.value ORDER BY r.objective, median_regret, r.algorithm",
    )?;
    println!("{}", arrow::util::pretty::pretty_format_batches(&batches)?);
    Ok(if failed.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
