//! `robbench run`.

use std::io::Write;
use std::num::NonZeroUsize;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use robbench_pipeline::console::note;
use robbench_pipeline::parallelism::Jobs;
use robbench_pipeline::{RunKind, RunOptions, Store, execute, execute_selected};

use robbench::light::parse_shard;
use robbench::light::{ConfigArgs, RunArgs, say};

/// How many units run at once, and their intra-op threads (`--jobs`, `--threads`).
pub struct Parallelism {
    pub jobs: Jobs,
    pub threads: Option<NonZeroUsize>,
}

pub fn run(
    store: &Path,
    args: &ConfigArgs,
    parallelism: Parallelism,
    device: &str,
    shard: Option<&str>,
    groups_from: Option<&Path>,
) -> Result<ExitCode> {
    let shard = parse_shard(shard)?;
    let groups = groups_from.map(read_groups).transpose()?;
    let device_kind = super::parallel::device_kind(device)?;
    let jobs = super::parallel::configure(parallelism.jobs, parallelism.threads, device_kind)?.jobs;
    let device = robbench_nn::parse_device(device)?;
    let described = robbench_nn::describe_device(device);
    note(format_args!("robbench: device {described}"));
    let pipeline = robbench_stages::pipeline(device)?;
    let plan = pipeline.plan(&args.load()?)?;
    let store = Store::open(store)?;
    let options = RunOptions { jobs, shard, device: Some(described), kind: RunKind::Experiment };
    let report = match groups {
        Some(groups) => {
            let selected = plan.select_groups(&groups, shard.unwrap_or((0, 1)))?;
            execute_selected(&pipeline, &plan, &store, &options, selected)?
        }
        None => execute(&pipeline, &plan, &store, &options)?,
    };
    // Output may go to a closed pipe (`| head`): the run is recorded either way.
    let _ = say(format_args!("run {}", report.record.run_id));
    let _ = say(format_args!("{:<14} {:>9} {:>7} {:>7} {:>7}", "stage", "executed", "reused", "failed", "skipped"));
    for (stage, [executed, reused, failed, skipped]) in report.summary() {
        let _ = say(format_args!("{stage:<14} {executed:>9} {reused:>7} {failed:>7} {skipped:>7}"));
    }
    // A shard's tables are a slice; the unsharded run that completes the work compacts them.
    // A training-health check that cannot run fails the command (after the failures are listed).
    let mut unchecked = false;
    if shard.is_none() {
        // The run's tables as Parquet datasets, ready for SQL and other tools
        // (of a run with failures: what there is, to check its training health).
        let complete = report.record.is_complete();
        let run = RunArgs { run: Some(report.record.run_id.clone()), allow_partial: !complete };
        let catalog = robbench::light::sql::open_catalog(store.root(), &run, None)?;
        if complete {
            let _ = say(format_args!("tables: {}", catalog.snapshot()?.dir.display()));
        }
        catalog.take_notices();
        // Training health: networks stored as results although they never
        // learned. A check that cannot run is a failure, not a warning.
        match robbench_stages::training_warnings(catalog) {
            Ok(warnings) => warnings.iter().for_each(|w| drop(say(format_args!("warning: {w}")))),
            Err(e) => {
                unchecked = true;
                note(format_args!(
                    "robbench: error: run {} is recorded, but its training health could not be checked: {e:#}",
                    report.record.run_id
                ));
            }
        }
    }
    let failed = report.failed();
    if failed.is_empty() {
        return Ok(if unchecked { ExitCode::FAILURE } else { ExitCode::SUCCESS });
    }
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{} unit(s) failed:", failed.len());
    for unit in failed {
        let error = unit.error.as_deref().unwrap_or("");
        let _ = writeln!(err, "  [{}] {} ({}): {error}", unit.stage, unit.label, &unit.key[..12]);
    }
    let skipped = report.skipped();
    if !skipped.is_empty() {
        let _ = writeln!(err, "{} unit(s) skipped because an input failed", skipped.len());
    }
    Ok(ExitCode::FAILURE)
}

/// Shard groups listed one per line (as `robbench slurm submit` writes them).
pub fn read_groups(path: &Path) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read shard groups {}", path.display()))?;
    Ok(text.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_string).collect())
}
