//! NTK computation (NAS-RobBench-201, Section 4): for each network, at
//! initialisation and/or trained, the empirical NTKs on clean points x,
//! attacked points x̃ = A(x) and twice-attacked points A(A(x)), where A is
//! the configured attack run against the network itself; their spectra and
//! the β-mixtures K_all(β), K̃_all(β) of the multi-objective loss. Kernels
//! are taken in eval mode (samples independent); an initialised network's BN
//! statistics are first calibrated on training images, as training would
//! normalise them.

use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use arrow::array::{Float64Array, Int64Array, StringArray};
use robbench_experiment::units::ntk::{InitReads, NtkReads};
use robbench_nn::TinyNetwork;
use robbench_ntk::{NtkOutput, RobustKernels, kernel_stats};
use robbench_pipeline::{Config, Runnable, UnitContext};
use robbench_rng::Rng;
use robbench_schemas::NTK;
use tch::{Device, Tensor};

use crate::DEFAULT_CONFIG;
use crate::config::{NtkAttack, NtkOutputKind, NtkWeights};
use crate::data::{DATA_FILE, DataFile, to_pixels};
use crate::reads::read;
use crate::train::CHECKPOINT;

pub const KERNELS_FILE: &str = "kernels.safetensors";

pub struct Ntk {
    pub device: Device,
}

robbench_experiment::plans_as!(Ntk, robbench_experiment::units::ntk::Ntk);

impl Runnable for Ntk {
    fn run(&self, unit: &mut UnitContext<'_>) -> Result<()> {
        let params = unit.params().clone();
        let cfg: NtkReads = read(unit.config())?;
        let seed = params["seed"].as_u64().context("seed")?;
        let weights: NtkWeights = serde_json::from_value(params["weights"].clone()).context("weights")?;
        let data = DataFile::load(&unit.input("prepare")?.file(DATA_FILE))?;
        let net = if weights == NtkWeights::Trained {
            TinyNetwork::load(&unit.input("train")?.file(CHECKPOINT), self.device)?
        } else {
            let InitReads { bn_calibration } = read(unit.config())?;
            let spec = data.network_spec(params["arch"].as_str().context("arch")?, &cfg.model)?;
            let net = TinyNetwork::new(&spec, self.device, seed)?;
            if bn_calibration > 0 {
                let started = Instant::now();
                let m = (bn_calibration as i64).min(data.train_images.size()[0]);
                net.calibrate_batch_norm(&to_pixels(&data.train_images.narrow(0, 0, m), self.device));
                unit.note("calibration_seconds", started.elapsed().as_secs_f64());
            }
            net
        };
        // After the calibration: channels-last batch statistics are ~1000× less
        // accurate on CPU (PyTorch 2.11: 3e-5 relative in the variance against
        // 5e-8), which moved a kernel's trace by 5e-4; eval mode reads no statistics.
        net.use_fastest_layout();
        let n = (cfg.samples as i64).min(data.train_images.size()[0]);
        let x = to_pixels(&data.train_images.narrow(0, 0, n), self.device);
        let y = data.train_labels.narrow(0, 0, n).to_device(self.device);
        unit.progress(0.1, "attacking");
        let started = Instant::now();
        let (x_adv, x_adv2) = attacked_points(&net, &x, &y, &cfg, seed);
        unit.note("attack_seconds", started.elapsed().as_secs_f64());
        let output = match cfg.output {
            NtkOutputKind::Label => NtkOutput::Logit(&y),
            NtkOutputKind::PerLogit => NtkOutput::PerLogit,
            NtkOutputKind::Sum => NtkOutput::SumOfLogits,
        };
        unit.progress(0.3, "kernels");
        let started = Instant::now();
        // Structured per-sample gradients: one traced forward and backward per point set.
        let trace = |input: &Tensor| net.forward_traced(input);
        let kernels = RobustKernels::compute_structured(&trace, &x, &x_adv, &x_adv2, output)?;
        unit.note("kernel_seconds", started.elapsed().as_secs_f64());
        let mut rows: Vec<(String, f64, robbench_ntk::KernelStats)> = vec![
            ("clean".into(), 0.0, kernel_stats(&kernels.clean)?),
            ("robust".into(), 0.0, kernel_stats(&kernels.robust)?),
        ];
        for &beta in &cfg.betas {
            rows.push(("all".into(), beta, kernel_stats(&kernels.k_all(beta)?)?));
            rows.push(("robust_all".into(), beta, kernel_stats(&kernels.k_tilde_all(beta)?)?));
        }
        let classes = Tensor::from_slice(&[data.classes]);
        let labels = y.to_device(Device::Cpu);
        Tensor::write_safetensors(
            &[
                ("clean", &kernels.clean),
                ("robust", &kernels.robust),
                ("cross", &kernels.cross),
                ("cross2", &kernels.cross2),
                ("robust2", &kernels.robust2),
                ("labels", &labels),
                ("classes", &classes),
            ],
            unit.output_file(KERNELS_FILE)?,
        )?;
        let m = rows.len();
        let size = kernels.clean.size()[0];
        let batch = NTK.batch(vec![
            Arc::new(Int64Array::from(vec![params["arch_index"].as_i64().context("arch_index")?; m])),
            Arc::new(StringArray::from(vec![params["dataset"].as_str().context("dataset")?; m])),
            Arc::new(Int64Array::from(vec![seed as i64; m])),
            Arc::new(StringArray::from(vec![weights.as_str(); m])),
            Arc::new(StringArray::from(rows.iter().map(|r| r.0.as_str()).collect::<Vec<_>>())),
            Arc::new(Float64Array::from(rows.iter().map(|r| r.1).collect::<Vec<_>>())),
            Arc::new(Int64Array::from(vec![size; m])),
            Arc::new(Float64Array::from(rows.iter().map(|r| r.2.lambda_min).collect::<Vec<_>>())),
            Arc::new(Float64Array::from(rows.iter().map(|r| r.2.lambda_max).collect::<Vec<_>>())),
            Arc::new(Float64Array::from(rows.iter().map(|r| r.2.trace).collect::<Vec<_>>())),
            Arc::new(Float64Array::from(rows.iter().map(|r| r.2.condition).collect::<Vec<_>>())),
        ])?;
        unit.write_table(&NTK, &[batch])
    }
}

/// How [`time_kernels`] forms the per-sample gradients.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KernelMethod {
    /// One traced batched forward and backward per point set (the stage's path).
    Structured,
    /// One backward pass per sample (the reference implementation).
    PerSample,
}

/// `A(x)` and `A(A(x))` for the unit's attack `A` against the network itself.
fn attacked_points(net: &TinyNetwork, x: &Tensor, y: &Tensor, cfg: &NtkReads, seed: u64) -> (Tensor, Tensor) {
    let forward = |input: &Tensor| net.forward_t(input, false);
    let attack = |input: &Tensor, round: u64| -> Tensor {
        let eps = cfg.eps / 255.0;
        match cfg.attack {
            NtkAttack::Fgsm => robbench_attacks::fgsm(&forward, input, y, eps),
            NtkAttack::Pgd => {
                let pgd = robbench_attacks::PgdConfig {
                    eps,
                    step_size: cfg.step_size / 255.0,
                    steps: cfg.steps,
                    random_start: true,
                    restarts: 1,
                };
                robbench_attacks::pgd(&forward, input, y, &pgd, &mut Rng::derive(seed, "ntk-attack", round))
            }
        }
    };
    let x_adv = attack(x, 0);
    let x_adv2 = attack(&x_adv, 1);
    (x_adv, x_adv2)
}

/// The whole work of one `ntk` unit of a network at initialisation, as the
/// stage does it with the default config's attack (PGD-5, 8/255), timed: BN
/// calibration on `calibration`, the fastest layout, `x_adv` = A(x) and
/// `x_adv2` = A(x_adv), then [`time_kernels`]. Returns the seconds of the
/// whole, of its kernel work, and the trace of the clean block.
pub fn time_unit(
    net: &TinyNetwork,
    calibration: &Tensor,
    x: &Tensor,
    labels: &Tensor,
    output: NtkOutput,
    method: KernelMethod,
) -> Result<(f64, f64, f64)> {
    let cfg: NtkReads = read(&Config::from_toml_str(DEFAULT_CONFIG, "default")?)?;
    let started = Instant::now();
    net.calibrate_batch_norm(calibration);
    net.use_fastest_layout();
    let (x_adv, x_adv2) = attacked_points(net, x, labels, &cfg, 0);
    let (kernel_seconds, clean_trace) = time_kernels(net, [x, &x_adv, &x_adv2], output, method)?;
    Ok((started.elapsed().as_secs_f64(), kernel_seconds, clean_trace))
}

/// The kernel work of one `ntk` unit, timed: the five blocks on `x`,
/// `x_adv`, `x_adv2` and the spectra of the clean and robust blocks.
/// Returns the seconds and the trace of the clean block (for cross-checks).
pub fn time_kernels(
    net: &TinyNetwork,
    sets: [&Tensor; 3],
    output: NtkOutput,
    method: KernelMethod,
) -> Result<(f64, f64)> {
    let [x, x_adv, x_adv2] = sets;
    let started = Instant::now();
    let kernels = match method {
        KernelMethod::Structured => {
            RobustKernels::compute_structured(&|input: &Tensor| net.forward_traced(input), x, x_adv, x_adv2, output)?
        }
        KernelMethod::PerSample => {
            let parameters = net.var_store().trainable_variables();
            let forward = |input: &Tensor| net.forward_t(input, false);
            RobustKernels::compute(&forward, &parameters, x, x_adv, x_adv2, output)?
        }
    };
    let clean = kernel_stats(&kernels.clean)?;
    kernel_stats(&kernels.robust)?;
    Ok((started.elapsed().as_secs_f64(), clean.trace))
}
