//! Attack evaluation on the prepared test split, with the network in eval
//! mode: clean accuracy, FGSM and PGD (NAS-RobBench-201: ε = 3/255 and 8/255,
//! PGD-20 with step 2.5·ε/20 and a random start), AutoAttack (standard or
//! rand, reference budgets), and the PGD ε sweep behind the gradient-masking
//! checks. One unit per trained model × attack × ε, so changing one
//! attack's settings reruns only that attack.

use std::sync::Arc;

use anyhow::{Context, Result, bail};
use arrow::array::{BooleanArray, Float64Array, Int64Array, StringArray};
use robbench_experiment::units::evaluate::{AutoAttackReads, Images, Method, PgdReads, SWEEP, SweepReads};
use robbench_nn::TinyNetwork;
use robbench_pipeline::{Config, Runnable, UnitContext, store};
use robbench_rng::Rng;
use robbench_schemas::{EVALUATION_SAMPLES, EVALUATIONS};
use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};

use crate::config::AutoAttackVersion;
use crate::data::{DATA_FILE, DataFile, to_pixels};
use crate::reads::read;
use crate::train::CHECKPOINT;

/// An attack with the settings its unit read.
enum Settings {
    Clean,
    Fgsm,
    Pgd(PgdReads),
    AutoAttack(AutoAttackReads),
    Sweep(SweepReads),
}

/// An attack's settings, from a unit's config.
fn settings(method: Method, config: &Config) -> Result<Settings> {
    Ok(match method {
        Method::Clean => Settings::Clean,
        Method::Fgsm => Settings::Fgsm,
        Method::Pgd => Settings::Pgd(read(config)?),
        Method::AutoAttack => Settings::AutoAttack(read(config)?),
        Method::Sweep => Settings::Sweep(read(config)?),
    })
}

/// What one batch of an attack produced: adversarial points to classify,
/// or (for AutoAttack's intermediate components) correctness it reported.
enum Verdict {
    Points(Tensor),
    Known(Vec<bool>),
}

/// Per-image correctness under one attack (or one AutoAttack component).
#[derive(Serialize, Deserialize)]
struct Outcome {
    attack: String,
    steps: i64,
    correct: Vec<bool>,
}

pub struct Evaluate {
    pub device: Device,
}

robbench_experiment::plans_as!(Evaluate, robbench_experiment::units::evaluate::Evaluate);

impl Runnable for Evaluate {
    fn run(&self, unit: &mut UnitContext<'_>) -> Result<()> {
        let params = unit.params().clone();
        let attack: Method = serde_json::from_value(params["attack"].clone()).context("attack")?;
        let eps = params["eps"].as_f64().context("eps")?;
        let seed = params["seed"].as_u64().context("seed")?;
        let images: Images = read(unit.config())?;
        let settings = settings(attack, unit.config())?;
        let data = DataFile::load(&unit.input("prepare")?.file(DATA_FILE))?;
        let net = TinyNetwork::load(&unit.input("train")?.file(CHECKPOINT), self.device)?;
        net.use_fastest_layout();
        let mut n = limit(images.samples, data.test_images.size()[0]);
        match &settings {
            Settings::AutoAttack(aa) => n = limit(aa.samples, n),
            Settings::Sweep(sweep) => n = limit(sweep.samples, n),
            _ => {}
        }
        let forward = |x: &Tensor| net.forward_t(x, false);
        // Finished batches are kept in scratch: an interrupted unit (AutoAttack
        // on a full test split runs for hours) resumes at its next batch, with
        // the same result because each batch's randomness depends only on its index.
        let scratch = unit.scratch_dir()?.to_path_buf();
        let mut resumed_batches = 0u64;
        let mut outcomes: Vec<Outcome> = Vec::new();
        let mut start = 0;
        let mut batch_index = 0u64;
        while start < n {
            let len = (images.batch_size as i64).min(n - start);
            let saved = scratch.join(format!("batch-{batch_index}.json"));
            let batch = match read_batch(&saved, len as usize) {
                Some(batch) => {
                    resumed_batches += 1;
                    batch
                }
                None => {
                    let x = to_pixels(&data.test_images.narrow(0, start, len), self.device);
                    let y = data.test_labels.narrow(0, start, len).to_device(self.device);
                    let rng = Rng::derive(seed, &format!("evaluate-{}-{eps}", attack.name()), batch_index);
                    let batch = attack_batch(&settings, eps, &forward, &x, &y, rng)?;
                    store::write_atomic(&saved, &serde_json::to_vec(&batch)?)?;
                    batch
                }
            };
            for (i, o) in batch.into_iter().enumerate() {
                if outcomes.len() <= i {
                    outcomes.push(Outcome {
                        attack: o.attack,
                        steps: o.steps,
                        correct: Vec::with_capacity(n as usize),
                    });
                }
                outcomes[i].correct.extend(o.correct);
            }
            start += len;
            batch_index += 1;
            unit.progress(start as f64 / n as f64, attack.name());
        }
        if resumed_batches > 0 {
            unit.note("resumed_batches", resumed_batches);
        }
        let arch_index = params["arch_index"].as_i64().context("arch_index")?;
        let dataset = params["dataset"].as_str().context("dataset")?;
        write_outcomes(unit, arch_index, dataset, seed as i64, eps, &outcomes)
    }
}

/// The first `samples` of `available` images (0: all of them), as every
/// `samples` key of `[evaluation]` counts.
pub(crate) fn limit(samples: usize, available: i64) -> i64 {
    if samples == 0 { available } else { (samples as i64).min(available) }
}

/// Runs `attack` on one batch: per-image correctness under it (and, for
/// AutoAttack, after each of its components).
fn attack_batch(
    settings: &Settings,
    eps: f64,
    forward: &dyn Fn(&Tensor) -> Tensor,
    x: &Tensor,
    y: &Tensor,
    mut rng: Rng,
) -> Result<Vec<Outcome>> {
    let verdicts = match settings {
        Settings::Clean => vec![("clean".to_string(), 0, Verdict::Points(x.shallow_clone()))],
        Settings::Fgsm => {
            vec![("fgsm".to_string(), 1, Verdict::Points(robbench_attacks::fgsm(forward, x, y, eps / 255.0)))]
        }
        Settings::Pgd(cfg) => {
            let pgd = pgd_config(cfg.steps, cfg.step_size, cfg.restarts, cfg.random_start, eps);
            let adv = robbench_attacks::pgd(forward, x, y, &pgd, &mut rng);
            vec![("pgd".to_string(), pgd.steps as i64, Verdict::Points(adv))]
        }
        Settings::Sweep(cfg) => {
            let pgd = pgd_config(cfg.steps, 0.0, 1, true, eps);
            let adv = robbench_attacks::pgd(forward, x, y, &pgd, &mut rng);
            vec![(SWEEP.to_string(), pgd.steps as i64, Verdict::Points(adv))]
        }
        Settings::AutoAttack(cfg) => {
            // `evaluation.autoattack.seed` shifts the batch's stream (0 keeps it as it was).
            let aa = autoattack_config(cfg, eps, x.size()[0] as usize, rng.next_u64() ^ cfg.seed);
            let report = robbench_attacks::autoattack(forward, x, y, &aa)
                .with_context(|| format!("AutoAttack at eps {eps}/255"))?;
            autoattack_outcomes(&aa, &report)
        }
    };
    let mut outcomes = Vec::new();
    for (attack, steps, verdict) in verdicts {
        let correct = match verdict {
            Verdict::Known(correct) => correct,
            Verdict::Points(adv) => {
                check_in_ball(&adv, x, eps, &attack)?;
                let hits = tch::no_grad(|| forward(&adv).argmax(1, false).eq_tensor(y).to_kind(Kind::Bool));
                Vec::<bool>::try_from(hits.to_device(Device::Cpu))?
            }
        };
        outcomes.push(Outcome { attack, steps, correct });
    }
    Ok(outcomes)
}

/// A batch finished by an earlier, interrupted attempt; `None` when there is
/// none (or it is unreadable, or of another size: it is then recomputed).
fn read_batch(path: &std::path::Path, len: usize) -> Option<Vec<Outcome>> {
    let batch: Vec<Outcome> = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    (!batch.is_empty() && batch.iter().all(|o| o.correct.len() == len)).then_some(batch)
}

/// Refuses adversarial points outside the ε-ball or [0, 1]: such a result
/// would be an attack bug, not a robustness number.
fn check_in_ball(adv: &Tensor, x: &Tensor, eps: f64, attack: &str) -> Result<()> {
    let distance = tch::no_grad(|| (adv - x).abs().max().double_value(&[]));
    let (lo, hi) = (adv.min().double_value(&[]), adv.max().double_value(&[]));
    if distance > eps / 255.0 + 1e-6 || lo < 0.0 || hi > 1.0 {
        bail!(
            "{attack} returned points outside the {eps}/255 ball or [0, 1] (distance {distance}, range [{lo}, {hi}])"
        );
    }
    Ok(())
}

fn autoattack_config(
    cfg: &AutoAttackReads,
    eps: f64,
    batch_size: usize,
    seed: u64,
) -> robbench_attacks::AutoAttackConfig {
    robbench_attacks::AutoAttackConfig {
        eps: eps / 255.0,
        version: match cfg.version {
            AutoAttackVersion::Standard => robbench_attacks::Version::Standard,
            AutoAttackVersion::Rand => robbench_attacks::Version::Rand,
        },
        seed,
        batch_size,
        apgd_steps: cfg.apgd_steps,
        apgd_restarts: cfg.apgd_restarts,
        target_classes: cfg.target_classes,
        fab_steps: cfg.fab_steps,
        fab_restarts: cfg.fab_restarts,
        square_queries: cfg.square_queries,
        square_restarts: cfg.square_restarts,
        square_p_init: cfg.square_p_init,
        eot_iter: cfg.eot_iter,
    }
}

/// AutoAttack's rows: after each component, the accuracy on the points found
/// so far (what AutoAttack reports as "robust accuracy after X"), then the
/// final result, classified again from the adversarial points themselves.
fn autoattack_outcomes(
    cfg: &robbench_attacks::AutoAttackConfig,
    report: &robbench_attacks::AutoAttackReport,
) -> Vec<(String, i64, Verdict)> {
    let steps = |stage: robbench_attacks::Stage| match stage {
        robbench_attacks::Stage::FabT => cfg.fab_steps,
        robbench_attacks::Stage::Square => cfg.square_queries,
        _ => cfg.apgd_steps,
    } as i64;
    let mut rows: Vec<(String, i64, Verdict)> = report
        .stages
        .iter()
        .map(|(stage, correct)| (stage.name().to_string(), steps(*stage), Verdict::Known(correct.clone())))
        .collect();
    rows.push(("autoattack".to_string(), cfg.apgd_steps as i64, Verdict::Points(report.adversarial.shallow_clone())));
    rows
}

fn write_outcomes(
    unit: &mut UnitContext<'_>,
    arch_index: i64,
    dataset: &str,
    seed: i64,
    eps: f64,
    outcomes: &[Outcome],
) -> Result<()> {
    let k = outcomes.len();
    let n_correct: Vec<i64> = outcomes.iter().map(|o| o.correct.iter().filter(|&&c| c).count() as i64).collect();
    let n_samples: Vec<i64> = outcomes.iter().map(|o| o.correct.len() as i64).collect();
    let summary = EVALUATIONS.batch(vec![
        Arc::new(Int64Array::from(vec![arch_index; k])),
        Arc::new(StringArray::from(vec![dataset; k])),
        Arc::new(Int64Array::from(vec![seed; k])),
        Arc::new(StringArray::from(outcomes.iter().map(|o| o.attack.as_str()).collect::<Vec<_>>())),
        Arc::new(Float64Array::from(vec![eps; k])),
        Arc::new(Int64Array::from(outcomes.iter().map(|o| o.steps).collect::<Vec<_>>())),
        Arc::new(Int64Array::from(n_samples.clone())),
        Arc::new(Int64Array::from(n_correct.clone())),
        Arc::new(Float64Array::from(
            n_correct.iter().zip(&n_samples).map(|(&c, &n)| c as f64 / n as f64).collect::<Vec<_>>(),
        )),
    ])?;
    unit.write_table(&EVALUATIONS, &[summary])?;
    let mut per_sample = Vec::new();
    for o in outcomes {
        let m = o.correct.len();
        per_sample.push(EVALUATION_SAMPLES.batch(vec![
            Arc::new(Int64Array::from(vec![arch_index; m])),
            Arc::new(StringArray::from(vec![dataset; m])),
            Arc::new(Int64Array::from(vec![seed; m])),
            Arc::new(Int64Array::from((0..m as i64).collect::<Vec<_>>())),
            Arc::new(StringArray::from(vec![o.attack.as_str(); m])),
            Arc::new(Float64Array::from(vec![eps; m])),
            Arc::new(BooleanArray::from(o.correct.clone())),
        ])?);
    }
    unit.write_table(&EVALUATION_SAMPLES, &per_sample)
}

/// PGD at `eps` (units of 1/255); a `step_size` of 0 means 2.5·ε/steps.
fn pgd_config(
    steps: usize,
    step_size: f64,
    restarts: usize,
    random_start: bool,
    eps: f64,
) -> robbench_attacks::PgdConfig {
    let step = if step_size > 0.0 { step_size } else { 2.5 * eps / steps as f64 };
    robbench_attacks::PgdConfig { eps: eps / 255.0, step_size: step / 255.0, steps, random_start, restarts }
}

/// What `robbench bench autoattack` measured.
pub struct AutoAttackTiming {
    pub images: usize,
    pub seconds: f64,
    /// Accuracy left after each component, in order.
    pub stages: Vec<(&'static str, f64)>,
}

/// Times standard AutoAttack (reference budgets) on `images` random
/// `size`×`size` images labelled with the network's own predictions, so
/// every image is attacked: `checkpoint`'s network, else `spec` at
/// initialisation (seed 0). At ε = 0 nothing breaks and every component
/// spends its whole budget on every image: the cost of a robust network.
pub fn benchmark_autoattack(
    spec: &robbench_nn::NetworkSpec,
    checkpoint: Option<&std::path::Path>,
    images: usize,
    size: i64,
    eps: f64,
    device: Device,
) -> Result<AutoAttackTiming> {
    let net = match checkpoint {
        Some(path) => TinyNetwork::load(path, device)?,
        None => TinyNetwork::new(spec, device, 0)?,
    };
    net.use_fastest_layout();
    let forward = |x: &Tensor| net.forward_t(x, false);
    let mut rng = Rng::new(0);
    let n = images as i64;
    let x = Tensor::from_slice(&rng.uniform_vec(images * 3 * (size * size) as usize, 0.0, 1.0))
        .view([n, 3, size, size])
        .to_device(device);
    let y = tch::no_grad(|| forward(&x).argmax(1, false));
    // Warm-up: allocator, cuDNN algorithm selection.
    let _ = robbench_attacks::fgsm(&forward, &x, &y, eps / 255.0);
    let cfg = robbench_attacks::AutoAttackConfig { eps: eps / 255.0, batch_size: images.max(1), ..Default::default() };
    let started = std::time::Instant::now();
    let report = robbench_attacks::autoattack(&forward, &x, &y, &cfg)?;
    if device.is_cuda() {
        tch::Cuda::synchronize(match device {
            Device::Cuda(i) => i as i64,
            _ => 0,
        });
    }
    let fraction = |c: &[bool]| c.iter().filter(|&&b| b).count() as f64 / c.len().max(1) as f64;
    Ok(AutoAttackTiming {
        images,
        seconds: started.elapsed().as_secs_f64(),
        stages: report.stages.iter().map(|(stage, correct)| (stage.name(), fraction(correct))).collect(),
    })
}

#[cfg(test)]
mod reference_budgets {
    /// The config's AutoAttack defaults are written out in the tensor-free
    /// config crate; they must stay the attack library's reference budgets.
    #[test]
    fn the_configs_autoattack_defaults_are_the_attack_librarys_reference_budgets() {
        let ours = crate::config::AutoAttackConfig::default();
        let reference = robbench_attacks::AutoAttackConfig::default();
        assert_eq!(ours.eps, [reference.eps * 255.0]);
        assert_eq!(ours.version, crate::config::AutoAttackVersion::Standard);
        assert_eq!(reference.version, robbench_attacks::Version::Standard);
        assert_eq!(
            (ours.seed, ours.apgd_steps, ours.apgd_restarts, ours.target_classes),
            (reference.seed, reference.apgd_steps, reference.apgd_restarts, reference.target_classes)
        );
        assert_eq!(
            (ours.fab_steps, ours.fab_restarts, ours.square_queries, ours.square_restarts, ours.eot_iter),
            (
                reference.fab_steps,
                reference.fab_restarts,
                reference.square_queries,
                reference.square_restarts,
                reference.eot_iter
            )
        );
        assert_eq!(ours.square_p_init, reference.square_p_init);
    }
}
