//! `robbench bench ...`: timings (never asserted by tests).

use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Time a no-op rerun of a plan with many units (planning + store check).
    Plan {
        #[arg(long, default_value_t = 20_000)]
        units: u64,
    },
}

pub fn bench(command: BenchCommand) -> Result<ExitCode> {
    match command {
        BenchCommand::Plan { units } => {
            let dir = tempfile::tempdir()?;
            let r = robbench_pipeline::bench::noop_rerun(dir.path(), units)?;
            println!("first run: {} units executed in {:.2}s", r.units, r.first_run);
            println!(
                "no-op rerun of {} units: plan {:.3}s + store check {:.3}s; full `run` (all reused, run record written) {:.3}s",
                r.units, r.plan, r.store_check, r.execute
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
