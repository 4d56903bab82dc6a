//! `robbench search`: tabular architecture search over a table of the store.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use robbench_pipeline::sql::{Catalog, query};
use robbench_pipeline::{Config, RunOptions, Store, UnitStatus, execute, runs};
use robbench_stages::import::IMPORT_STAGE;
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
    let all = runs::list(&store)?;
    let chosen = match &args.run {
        Some(id) => all.iter().find(|r| &r.run_id == id).cloned().with_context(|| format!("no run `{id}`"))?,
        None => all
            .iter()
            .rev()
            .find(|r| r.units.iter().any(|u| u.stage == "evaluate" && u.status != UnitStatus::Failed))
            .or(all.last())
            .cloned()
            .context("the store holds no runs: import a benchmark first (`robbench import nasrobbench201-html`)")?,
    };
    let catalog = Arc::new(Catalog::new(&store, chosen, all, &[IMPORT_STAGE]));
    let data = SearchData::load(&catalog, &cfg)?;
    let pipeline = search_pipeline(data)?;
    let plan = pipeline.plan(&raw)?;
    let report = execute(&pipeline, &plan, &store, &RunOptions { jobs: args.jobs, shard: None, device: None })?;
    let failed = report.failed();
    for unit in &failed {
        eprintln!("robbench: search {} failed: {}", unit.label, unit.error.as_deref().unwrap_or(""));
    }
    let (executed, reused) = report.summary().iter().fold((0, 0), |acc, s| (acc.0 + s.1, acc.1 + s.2));
    println!("run {}: {executed} search unit(s) executed, {reused} reused", report.record.run_id);
    let catalog = Arc::new(Catalog::new(&store, report.record.clone(), runs::list(&store)?, &[]));
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
