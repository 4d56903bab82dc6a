//! `robbench report`: the HTML report of a run.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use robbench::light::{ConfigArgs, RunArgs};
use robbench_pipeline::console::note;

pub fn report(store: &Path, config: &ConfigArgs, run: &RunArgs, out: &Path) -> Result<ExitCode> {
    let hash = config.hash()?;
    let catalog = robbench::light::sql::open_catalog(store, run, hash.as_deref())?;
    let run_id = catalog.run_id().context("the store holds no experiment run to report on")?.to_string();
    note(format_args!("robbench: report of run {run_id}"));
    let html = robbench_stages::report::render(catalog.clone())?;
    for line in catalog.take_notices() {
        note(format_args!("robbench: {line}"));
    }
    robbench_pipeline::store::write_atomic(out, html.as_bytes())?;
    println!("wrote {}", out.display());
    Ok(ExitCode::SUCCESS)
}
