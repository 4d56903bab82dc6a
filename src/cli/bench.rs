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
    /// Adversarial-training throughput (images/s incl. the PGD steps), and the
    /// same recipe in PyTorch (the venv's torch) for the ratio.
    Train {
        /// NAS-Bench-201 index or cell string.
        #[arg(long, default_value = "2581")]
        arch: String,
        #[arg(long, default_value_t = 16)]
        channels: i64,
        #[arg(long, default_value_t = 5)]
        cells: i64,
        #[arg(long, default_value_t = 256)]
        batch: usize,
        /// Timed batches (after one warm-up batch).
        #[arg(long, default_value_t = 3)]
        batches: usize,
        /// PGD steps per training batch (NAS-RobBench-201: 7).
        #[arg(long, default_value_t = 7)]
        attack_steps: usize,
        #[arg(long, default_value = "auto")]
        device: String,
        /// Skip the PyTorch comparison.
        #[arg(long)]
        no_pytorch: bool,
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
        BenchCommand::Train { arch, channels, cells, batch, batches, attack_steps, device, no_pytorch } => {
            let space = robbench_space::Space::nb201();
            let arch = match arch.parse::<usize>() {
                Ok(i) => space.arch(i)?,
                Err(_) => arch.parse()?,
            };
            let device = robbench_nn::parse_device(&device)?;
            let spec = robbench_nn::NetworkSpec {
                arch,
                channels,
                cells_per_stage: cells,
                classes: 10,
                mean: vec![0.49, 0.48, 0.45],
                std: vec![0.25, 0.24, 0.26],
            };
            let ours = robbench_stages::train::benchmark_throughput(&spec, batch, batches, attack_steps, device)?;
            println!(
                "robbench (tch) on {}: {ours:.1} images/s  [arch {arch}, C={channels}, N={cells}, batch {batch}, PGD-{attack_steps}]",
                robbench_nn::describe_device(device)
            );
            if !no_pytorch {
                let python = std::env::var("ROBBENCH_PYTHON").unwrap_or_else(|_| {
                    format!("{}/.cache/robbench/torch-2.11.0/bin/python", std::env::var("HOME").unwrap_or_default())
                });
                let script = concat!(env!("CARGO_MANIFEST_DIR"), "/stages/reference/python/bench_train.py");
                let device_name = if device.is_cuda() { "cuda" } else { "cpu" };
                let output = std::process::Command::new(&python)
                    .args([script, &arch.to_string(), &channels.to_string(), &cells.to_string(), "10", &batch.to_string(), &batches.to_string(), &attack_steps.to_string(), device_name])
                    .output()
                    .map_err(|e| anyhow::anyhow!("cannot run {python} (set ROBBENCH_PYTHON): {e}"))?;
                anyhow::ensure!(output.status.success(), "PyTorch benchmark failed: {}", String::from_utf8_lossy(&output.stderr));
                let result: serde_json::Value = serde_json::from_slice(&output.stdout)?;
                let theirs = result["images_per_second"].as_f64().unwrap_or(f64::NAN);
                println!("PyTorch 2.11 on {}: {theirs:.1} images/s; robbench / PyTorch = {:.2}", result["device"], ours / theirs);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
