//! `robbench import ...`: published benchmarks as the `benchmark` table.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;
use robbench_pipeline::{RunOptions, Store, execute};
use robbench_stages::import::{ImportSource, import_pipeline};

#[derive(Subcommand)]
pub enum ImportCommand {
    /// The released NAS-RobBench-201 files.
    Nasrobbench201 {
        #[arg(long)]
        meta: PathBuf,
        /// NAS-RobBench-201_all.json
        #[arg(long)]
        results: PathBuf,
    },
    /// The NAS-RobBench-201 project page's table (`acc={...}`), with ops.json for cell strings.
    Nasrobbench201Html {
        #[arg(long)]
        table: PathBuf,
        #[arg(long)]
        ops: Option<PathBuf>,
    },
    /// Jung et al.'s robustness dataset of standard-trained NB201 networks.
    RobustnessDataset {
        #[arg(long)]
        meta: PathBuf,
        /// Dataset directories holding *_accuracy.json (e.g. cifar10/ cifar100/).
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
    },
    /// NAS-Bench-201's CIFAR-10 200-epoch accuracies (CSV).
    #[command(name = "nas-bench-201")]
    NasBench201 {
        #[arg(long)]
        csv: PathBuf,
    },
    /// NAS-Bench-Suite-Zero zero-cost proxy scores (CSV).
    ZeroCost {
        #[arg(long)]
        csv: PathBuf,
        /// cifar10 | cifar100 | imagenet16-120
        #[arg(long)]
        dataset: String,
    },
}

pub fn import(store: &Path, command: ImportCommand) -> Result<ExitCode> {
    let source = match command {
        ImportCommand::Nasrobbench201 { meta, results } => ImportSource::Nasrobbench201 { meta, results },
        ImportCommand::Nasrobbench201Html { table, ops } => ImportSource::Nasrobbench201Html { table, ops },
        ImportCommand::RobustnessDataset { meta, dirs } => ImportSource::RobustnessDataset { meta, dirs },
        ImportCommand::NasBench201 { csv } => ImportSource::NasBench201 { csv },
        ImportCommand::ZeroCost { csv, dataset } => ImportSource::ZeroCost { csv, dataset },
    };
    let (pipeline, config) = import_pipeline(&source)?;
    let plan = pipeline.plan(&config)?;
    let store = Store::open(store)?;
    let report = execute(&pipeline, &plan, &store, &RunOptions { jobs: 1, shard: None, device: None })?;
    for unit in &report.record.units {
        match &unit.error {
            Some(error) => {
                eprintln!("robbench: import {} failed: {error}", unit.label);
                return Ok(ExitCode::FAILURE);
            }
            None => println!("import {}: {} (run {})", unit.label, unit.status.as_str(), report.record.run_id),
        }
    }
    Ok(ExitCode::SUCCESS)
}
