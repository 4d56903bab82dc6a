//! `robbench verify` and `robbench gc`.

use std::collections::HashSet;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use robbench_pipeline::{Store, runs};

pub fn verify(store: &Path) -> Result<ExitCode> {
    let store = Store::open(store)?;
    let problems = store.verify(|_, _| {})?;
    let total = store.objects()?.len() + problems.len();
    if problems.is_empty() {
        println!("verified {total} units: all intact");
        return Ok(ExitCode::SUCCESS);
    }
    for p in &problems {
        println!("CORRUPT [{}] {}: {} (quarantined; the next run recomputes it)", p.stage, p.key, p.problem);
    }
    println!("verified {total} units: {} corrupt", problems.len());
    Ok(ExitCode::FAILURE)
}

pub fn gc(store: &Path, dry_run: bool) -> Result<ExitCode> {
    let store = Store::open(store)?;
    let referenced: HashSet<String> =
        runs::list(&store)?.into_iter().flat_map(|r| r.units.into_iter().map(|u| u.key)).collect();
    let removed = store.gc(&referenced, dry_run)?;
    for (stage, key) in &removed {
        println!("{} [{stage}] {key}", if dry_run { "would remove" } else { "removed" });
    }
    println!("{} unreferenced unit(s) {}", removed.len(), if dry_run { "found" } else { "removed" });
    Ok(ExitCode::SUCCESS)
}
