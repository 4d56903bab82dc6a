//! `robbench plan`: what `run` would do, planned without any tensor code.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use robbench_pipeline::Store;

use super::{ConfigArgs, parse_shard, say};

pub fn plan(store: &Path, args: &ConfigArgs, shard: Option<&str>) -> Result<ExitCode> {
    let shard = parse_shard(shard)?;
    let started = std::time::Instant::now();
    let plan = robbench_experiment::planner()?.plan(&args.load()?)?;
    let store = Store::open(store)?;
    let summary = plan.summary(&store, &plan.select(shard))?;
    say(format_args!("{:<14} {:>7} {:>7} {:>7}", "stage", "units", "stored", "to run"))?;
    for (stage, total, stored) in summary {
        say(format_args!("{stage:<14} {total:>7} {stored:>7} {:>7}", total - stored))?;
    }
    say(format_args!(
        "planned {} units in {:.3}s (config {})",
        plan.units.len(),
        started.elapsed().as_secs_f64(),
        plan.config_hash
    ))?;
    // The process ends here: freeing a benchmark-sized plan unit by unit
    // would add a tenth of the planning time for nothing.
    std::mem::forget(plan);
    Ok(ExitCode::SUCCESS)
}
