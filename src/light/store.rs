//! `robbench verify` and `robbench gc`.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Result, bail};
use robbench_pipeline::store::{GcPolicy, UnitState};
use robbench_pipeline::{Store, compact, runs};

use super::say;

pub fn verify(store: &Path) -> Result<ExitCode> {
    let started = std::time::Instant::now();
    let store = Store::open(store)?;
    let problems = store.verify(|_, _| {})?;
    let total = store.objects()?.len() + problems.len();
    for p in &problems {
        say(format_args!("CORRUPT [{}] {}: {} (quarantined; the next run recomputes it)", p.stage, p.key, p.problem))?;
    }
    // Every unit a recorded run finished must still be there.
    let mut missing = 0;
    for record in runs::list(&store)? {
        for unit in record.units.iter().filter(|u| u.status.succeeded()) {
            if let UnitState::Absent | UnitState::Incomplete(_) = store.unit_state_of(&unit.stage, &unit.key) {
                missing += 1;
                say(format_args!(
                    "MISSING [{}] {} ({}) of run {}: rerun its config to recompute it",
                    unit.stage,
                    unit.label,
                    &unit.key[..12],
                    record.run_id
                ))?;
            }
        }
    }
    // The compacted tables: parts and the snapshots that link them.
    let (parts, damaged) = compact::verify_tables(&store)?;
    for problem in &damaged {
        say(format_args!("DAMAGED {problem}"))?;
    }
    let seconds = started.elapsed().as_secs_f64();
    if problems.is_empty() && missing == 0 && damaged.is_empty() {
        say(format_args!(
            "verified {total} units and {parts} compacted table files in {seconds:.1}s: all intact, \
             every unit the recorded runs reference is present"
        ))?;
        return Ok(ExitCode::SUCCESS);
    }
    say(format_args!(
        "verified {total} units and {parts} compacted table files in {seconds:.1}s: {} corrupt unit(s), \
         {missing} referenced unit(s) missing, {} damaged table file(s)",
        problems.len(),
        damaged.len()
    ))?;
    Ok(ExitCode::FAILURE)
}

/// `24h`, `30m`, `45s`, `7d` or plain seconds.
pub fn parse_duration(text: &str) -> Result<Duration> {
    let text = text.trim();
    let (number, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len()));
    let seconds_per = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => bail!("`{text}`: expected a duration like 24h, 30m, 45s or 7d"),
    };
    let number: u64 = number.parse().map_err(|_| anyhow::anyhow!("`{text}`: expected a duration like 24h or 30m"))?;
    Ok(Duration::from_secs(number * seconds_per))
}

#[derive(clap::Args, Clone)]
pub struct GcArgs {
    /// Only list what would be removed, and why.
    #[arg(long)]
    pub dry_run: bool,
    /// Keep everything younger than this (e.g. 24h, 30m, 0s): a concurrent
    /// writer's work may not be on record yet.
    #[arg(long, default_value = "24h", value_parser = parse_duration)]
    pub keep_recent: Duration,
}

pub fn gc(store: &Path, args: &GcArgs) -> Result<ExitCode> {
    let (dry_run, keep_recent) = (args.dry_run, args.keep_recent);
    let store = Store::open(store)?;
    let referenced = runs::referenced_keys(&store)?;
    let alive = runs::running(&store)?;
    let report = store.gc(&referenced, &alive, &GcPolicy { keep_recent, dry_run })?;
    let verb = if dry_run { "would remove" } else { "removed" };
    for (what, why) in &report.removed {
        say(format_args!("{verb} {what}: {why}"))?;
    }
    for (what, why) in &report.kept {
        say(format_args!("kept {what}: {why}"))?;
    }
    let objects = report.removed.iter().filter(|(w, _)| w.starts_with("objects/")).count();
    say(format_args!(
        "{objects} unreferenced unit(s) {}, {} other entr{} (retention {}s)",
        if dry_run { "found" } else { "removed" },
        report.removed.len() - objects,
        if report.removed.len() - objects == 1 { "y" } else { "ies" },
        keep_recent.as_secs()
    ))?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    #[test]
    fn durations_parse_with_units_and_refuse_garbage() {
        assert_eq!(super::parse_duration("24h").unwrap().as_secs(), 86_400);
        assert_eq!(super::parse_duration("0").unwrap().as_secs(), 0);
        assert_eq!(super::parse_duration("7d").unwrap().as_secs(), 604_800);
        assert!(super::parse_duration("soon").is_err());
        assert!(super::parse_duration("5 weeks").is_err());
    }
}
