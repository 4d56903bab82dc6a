//! `robbench import ...`: published benchmarks as the `benchmark` table.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;
use robbench_pipeline::console::note;
use robbench_pipeline::{RunKind, RunOptions, Store, execute};
use robbench_published::{self as published, Input};
use robbench_stages::import::{ImportSource, import_pipeline};

/// Paths are optional wherever the project ships the file (see `data/README.md`):
/// without one, the copy inside the binary is imported. `shipped:<name>` names
/// a shipped file explicitly.
#[derive(Subcommand)]
pub enum ImportCommand {
    /// The released NAS-RobBench-201 files (`NAS-RobBench-201_all.json` is not shipped).
    Nasrobbench201 {
        /// meta.json [default: the shipped copy]
        #[arg(long)]
        meta: Option<Input>,
        /// NAS-RobBench-201_all.json
        #[arg(long)]
        results: Input,
    },
    /// The NAS-RobBench-201 project page's table (`acc={...}`), with ops.json for cell strings.
    Nasrobbench201Html {
        /// [default: the shipped copy]
        #[arg(long)]
        table: Option<Input>,
        /// [default: the shipped copy]
        #[arg(long)]
        ops: Option<Input>,
    },
    /// Jung et al.'s robustness dataset of standard-trained NB201 networks.
    RobustnessDataset {
        /// [default: the shipped copy]
        #[arg(long)]
        meta: Option<Input>,
        /// Dataset directories holding *_accuracy.json (e.g. cifar10/ cifar100/) [default: the shipped CIFAR-10 and CIFAR-100 files].
        dirs: Vec<PathBuf>,
    },
    /// NAS-Bench-201's CIFAR-10 200-epoch accuracies (CSV).
    #[command(name = "nas-bench-201")]
    NasBench201 {
        /// [default: the shipped copy]
        #[arg(long)]
        csv: Option<Input>,
    },
    /// NAS-Bench-Suite-Zero zero-cost proxy scores (CSV).
    ZeroCost {
        /// [default: the shipped copy for cifar10 and imagenet16-120]
        #[arg(long)]
        csv: Option<Input>,
        /// cifar10 | cifar100 | imagenet16-120
        #[arg(long, default_value = "cifar10")]
        dataset: String,
    },
}

pub fn import(store: &Path, command: ImportCommand) -> Result<ExitCode> {
    let shipped = |file: &'static published::Shipped| Input::Shipped(file);
    let source = match command {
        ImportCommand::Nasrobbench201 { meta, results } => {
            ImportSource::Nasrobbench201 { meta: meta.unwrap_or(shipped(&published::ROBUSTNESS_META)), results }
        }
        ImportCommand::Nasrobbench201Html { table, ops } => ImportSource::Nasrobbench201Html {
            table: table.unwrap_or(shipped(&published::NASROBBENCH201_HTML)),
            ops: Some(ops.unwrap_or(shipped(&published::NASROBBENCH201_OPS))),
        },
        ImportCommand::RobustnessDataset { meta, dirs } => {
            let files = if dirs.is_empty() {
                published::ROBUSTNESS_ACCURACIES.iter().map(Input::Shipped).collect()
            } else {
                let mut files = Vec::new();
                for dir in &dirs {
                    let found = robbench_analysis::accuracy_files(dir)?;
                    anyhow::ensure!(!found.is_empty(), "{} holds no *_accuracy.json file", dir.display());
                    files.extend(found);
                }
                files
            };
            ImportSource::RobustnessDataset { meta: meta.unwrap_or(shipped(&published::ROBUSTNESS_META)), files }
        }
        ImportCommand::NasBench201 { csv } => {
            ImportSource::NasBench201 { csv: csv.unwrap_or(shipped(&published::NB201_CIFAR10)) }
        }
        ImportCommand::ZeroCost { csv, dataset } => {
            let csv = match (csv, robbench_analysis::canonical_dataset(&dataset)) {
                (Some(csv), _) => csv,
                (None, Some("cifar10")) => shipped(&published::ZERO_COST_CIFAR10),
                (None, Some("imagenet16-120")) => shipped(&published::ZERO_COST_IMAGENET16),
                (None, _) => anyhow::bail!("no zero-cost proxies for `{dataset}` are shipped: pass --csv FILE"),
            };
            ImportSource::ZeroCost { csv, dataset }
        }
    };
    let (pipeline, config) = import_pipeline(&source)?;
    let plan = pipeline.plan(&config)?;
    let store = Store::open(store)?;
    let report =
        execute(&pipeline, &plan, &store, &RunOptions { jobs: 1, shard: None, device: None, kind: RunKind::Shared })?;
    for unit in &report.record.units {
        match &unit.error {
            Some(error) => {
                note(format_args!("robbench: import {} failed: {error}", unit.label));
                return Ok(ExitCode::FAILURE);
            }
            None => println!("import {}: {} (run {})", unit.label, unit.status.as_str(), report.record.run_id),
        }
    }
    Ok(ExitCode::SUCCESS)
}
