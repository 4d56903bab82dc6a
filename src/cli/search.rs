//! `robbench search`: tabular architecture search over a table of the store.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Result;
use robbench_pipeline::compact::Completeness;
use robbench_pipeline::sql::{Catalog, RunChoice, choose_run, query};
use robbench_pipeline::{Config, RunOptions, Store, execute};
use robbench_stages::search::{SearchData, search_config, search_pipeline};

/// The embedded default search config.
const DEFAULT_SEARCH_CONFIG: &str = include_str!("../../configs/search.toml");

#[derive(clap::Args)]
pub struct SearchArgs {
    /// Search config (TOML with a `[search]` section). Default: the embedded configs/search.toml.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Override a key, e.g. `--set search.trials=100` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
    /// With `search.source = "evaluations"`: the run whose evaluations to search
    /// (default: the latest run that evaluated networks).
    #[arg(long)]
    run: Option<String>,
    /// Units run in parallel.
    #[arg(long, default_value_t = 1)]
    jobs: usize,
}

pub fn search(store: &Path, args: &SearchArgs) -> Result<ExitCode> {
    let mut raw = match &args.config {
        Some(path) => Config::from_file(path)?,
        None => Config::from_toml_str(DEFAULT_SEARCH_CONFIG, "configs/search.toml (embedded)")?,
    };
    for assignment in &args.sets {
        raw.set(assignment)?;
    }
    let cfg = search_config(&raw)?;
    let store = Store::open(store)?;
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
        execute(&pipeline, &plan, &store, &RunOptions { jobs: args.jobs, shard: None, device: None, primary: false })?;
    let failed = report.failed();
    for unit in &failed {
        eprintln!("robbench: search {} failed: {}", unit.label, unit.error.as_deref().unwrap_or(""));
    }
    let (executed, reused) = report.summary().iter().fold((0, 0), |acc, s| (acc.0 + s.1[0], acc.1 + s.1[1]));
    println!(
        "run {id}: {executed} search unit(s) executed, {reused} reused (query it with `robbench sql --run {id}`)",
        id = report.record.run_id
    );
    let catalog = Arc::new(Catalog::new(&store, Some(report.record.run_id.clone()), Completeness::Whole));
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
