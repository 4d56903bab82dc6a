//! `robbench run` and `robbench plan`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use robbench_pipeline::{RunOptions, Store, execute, execute_selected};

use super::{load_config, parse_shard};
use crate::ConfigArgs;

pub fn run(
    store: &Path,
    args: &ConfigArgs,
    jobs: usize,
    device: &str,
    shard: Option<&str>,
    groups_from: Option<&Path>,
) -> Result<ExitCode> {
    let shard = parse_shard(shard)?;
    let groups = groups_from.map(read_groups).transpose()?;
    let device = robbench_nn::parse_device(device)?;
    let described = robbench_nn::describe_device(device);
    eprintln!("robbench: device {described}");
    let pipeline = robbench_stages::pipeline(device)?;
    let plan = pipeline.plan(&load_config(args)?)?;
    let store = Store::open(store)?;
    let options = RunOptions { jobs, shard, device: Some(described) };
    let report = match groups {
        Some(groups) => {
            let selected = plan.select_groups(&groups, shard.unwrap_or((0, 1)))?;
            execute_selected(&pipeline, &plan, &store, &options, selected)?
        }
        None => execute(&pipeline, &plan, &store, &options)?,
    };
    println!("run {}", report.record.run_id);
    println!("{:<14} {:>9} {:>7} {:>7}", "stage", "executed", "reused", "failed");
    for (stage, executed, reused, failed) in report.summary() {
        println!("{stage:<14} {executed:>9} {reused:>7} {failed:>7}");
    }
    let failed = report.failed();
    if failed.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!("{} unit(s) failed:", failed.len());
    for unit in failed {
        eprintln!("  [{}] {} ({}): {}", unit.stage, unit.label, &unit.key[..12], unit.error.as_deref().unwrap_or(""));
    }
    Ok(ExitCode::FAILURE)
}

pub fn plan(store: &Path, args: &ConfigArgs, shard: Option<&str>) -> Result<ExitCode> {
    let shard = parse_shard(shard)?;
    let pipeline = robbench_stages::pipeline(tch::Device::Cpu)?;
    let started = std::time::Instant::now();
    let plan = pipeline.plan(&load_config(args)?)?;
    let store = Store::open(store)?;
    let summary = plan.summary(&store, &plan.select(shard));
    println!("{:<14} {:>7} {:>7} {:>7}", "stage", "units", "stored", "to run");
    for (stage, total, stored) in summary {
        println!("{stage:<14} {total:>7} {stored:>7} {:>7}", total - stored);
    }
    println!(
        "planned {} units in {:.3}s (config {})",
        plan.units.len(),
        started.elapsed().as_secs_f64(),
        plan.config_hash
    );
    Ok(ExitCode::SUCCESS)
}

/// Shard groups listed one per line (as `robbench slurm submit` writes them).
pub fn read_groups(path: &Path) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read shard groups {}", path.display()))?;
    Ok(text.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_string).collect())
}
