//! Attack evaluation on the prepared test split, with the network in eval
//! mode: clean accuracy, FGSM and PGD (NAS-RobBench-201: ε = 3/255 and 8/255,
//! PGD-20 with step 2.5·ε/20 and a random start), AutoAttack (standard or
//! rand, reference budgets), and the PGD ε sweep behind the gradient-masking
//! checks. One unit per trained model × attack × ε, so changing one
//! attack's settings reruns only that attack.

use std::sync::Arc;

use anyhow::{Context, Result, bail};
use arrow::array::{BooleanArray, Float64Array, Int64Array, StringArray};
use robbench_nn::TinyNetwork;
use robbench_pipeline::{Config, Stage, UnitContext, UnitSpec, Upstream, store};
use robbench_rng::Rng;
use robbench_schemas::{EVALUATION_SAMPLES, EVALUATIONS, TableDef};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tch::{Device, Kind, Tensor};

use crate::config::{AutoAttackConfig, EvaluationConfig, PgdConfig};
use crate::data::{DATA_FILE, DataFile, prepared_for, to_pixels};
use crate::train::CHECKPOINT;

/// Attack name of the gradient-masking ε sweep in `evaluations`.
pub const SWEEP: &str = "pgd-sweep";

pub struct Evaluate {
    pub device: Device,
}

/// The attacks a config asks for: (name, ε in 1/255, config keys read).
fn attacks(cfg: &EvaluationConfig) -> Vec<(&'static str, f64, Vec<&'static str>)> {
    let common = ["evaluation.samples", "evaluation.batch_size"];
    let with = |extra: &[&'static str]| common.iter().chain(extra).copied().collect::<Vec<_>>();
    let mut out = Vec::new();
    if cfg.clean.enabled {
        out.push(("clean", 0.0, with(&[])));
    }
    for &eps in &cfg.fgsm.eps {
        out.push(("fgsm", eps, with(&[])));
    }
    let pgd_keys =
        ["evaluation.pgd.steps", "evaluation.pgd.step_size", "evaluation.pgd.restarts", "evaluation.pgd.random_start"];
    for &eps in &cfg.pgd.eps {
        out.push(("pgd", eps, with(&pgd_keys)));
    }
    // Every AutoAttack key but the ε list, so adding an ε reruns nothing else.
    let autoattack_keys = [
        "evaluation.autoattack.version",
        "evaluation.autoattack.samples",
        "evaluation.autoattack.seed",
        "evaluation.autoattack.apgd_steps",
        "evaluation.autoattack.apgd_restarts",
        "evaluation.autoattack.target_classes",
        "evaluation.autoattack.fab_steps",
        "evaluation.autoattack.fab_restarts",
        "evaluation.autoattack.square_queries",
        "evaluation.autoattack.square_restarts",
        "evaluation.autoattack.square_p_init",
        "evaluation.autoattack.eot_iter",
    ];
    for &eps in &cfg.autoattack.eps {
        out.push(("autoattack", eps, with(&autoattack_keys)));
    }
    for &eps in &cfg.sweep.eps {
        out.push((SWEEP, eps, with(&["evaluation.sweep.samples", "evaluation.sweep.steps"])));
    }
    out
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

impl Stage for Evaluate {
    fn name(&self) -> &'static str {
        "evaluate"
    }
    fn version(&self) -> u32 {
        1
    }
    fn upstream(&self) -> &'static [&'static str] {
        &["prepare", "train"]
    }
    fn tables(&self) -> Vec<&'static TableDef> {
        vec![&EVALUATIONS, &EVALUATION_SAMPLES]
    }

    fn plan(&self, config: &Config, up: &Upstream<'_>) -> Result<Vec<UnitSpec>> {
        let cfg: EvaluationConfig = config.typed("evaluation")?;
        let attacks = attacks(&cfg);
        let mut units = Vec::new();
        for model in up.units("train") {
            let data = prepared_for(up, model)?;
            for (attack, eps, keys) in &attacks {
                units.push(UnitSpec {
                    label: format!("{} · {attack}@{eps}", model.label),
                    params: json!({
                        "arch_index": model.params["arch_index"],
                        "dataset": model.params["dataset"],
                        "seed": model.params["seed"],
                        "attack": attack,
                        "eps": eps,
                    }),
                    config_keys: keys.clone(),
                    inputs: vec![data.unit, model.unit],
                    shard_group: Some(format!("arch {}", model.params["arch_index"])),
                });
            }
        }
        Ok(units)
    }

    fn run(&self, unit: &mut UnitContext<'_>) -> Result<()> {
        let params = unit.params().clone();
        let attack = params["attack"].as_str().context("attack")?.to_string();
        let eps = params["eps"].as_f64().context("eps")?;
        let seed = params["seed"].as_u64().context("seed")?;
        let cfg: EvaluationConfig = unit.config().typed("evaluation")?;
        let data = DataFile::load(&unit.input("prepare")?.file(DATA_FILE))?;
        let net = TinyNetwork::load(&unit.input("train")?.file(CHECKPOINT), self.device)?;
        let limit =
            |samples: usize, available: i64| if samples == 0 { available } else { (samples as i64).min(available) };
        let mut n = limit(cfg.samples, data.test_images.size()[0]);
        match attack.as_str() {
            "autoattack" => n = limit(cfg.autoattack.samples, n),
            SWEEP => n = limit(cfg.sweep.samples, n),
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
            let len = (cfg.batch_size as i64).min(n - start);
            let saved = scratch.join(format!("batch-{batch_index}.json"));
            let batch = match read_batch(&saved, len as usize) {
                Some(batch) => {
                    resumed_batches += 1;
                    batch
                }
                None => {
                    let x = to_pixels(&data.test_images.narrow(0, start, len), self.device);
                    let y = data.test_labels.narrow(0, start, len).to_device(self.device);
                    let rng = Rng::derive(seed, &format!("evaluate-{attack}-{eps}"), batch_index);
                    let batch = attack_batch(&attack, eps, &cfg, &forward, &x, &y, rng)?;
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
            unit.progress(start as f64 / n as f64, &attack);
        }
        if resumed_batches > 0 {
            unit.note("resumed_batches", resumed_batches);
        }
        let arch_index = params["arch_index"].as_i64().context("arch_index")?;
        let dataset = params["dataset"].as_str().context("dataset")?;
        write_outcomes(unit, arch_index, dataset, seed as i64, eps, &outcomes)
    }
}

/// Runs `attack` on one batch: per-image correctness under it (and, for
/// AutoAttack, after each of its components).
fn attack_batch(
    attack: &str,
    eps: f64,
    cfg: &EvaluationConfig,
    forward: &dyn Fn(&Tensor) -> Tensor,
    x: &Tensor,
    y: &Tensor,
    mut rng: Rng,
) -> Result<Vec<Outcome>> {
    let verdicts = match attack {
        "clean" => vec![("clean".to_string(), 0, Verdict::Points(x.shallow_clone()))],
        "fgsm" => vec![("fgsm".to_string(), 1, Verdict::Points(robbench_attacks::fgsm(forward, x, y, eps / 255.0)))],
        "pgd" => {
            let pgd = pgd_config(&cfg.pgd, eps);
            let adv = robbench_attacks::pgd(forward, x, y, &pgd, &mut rng);
            vec![("pgd".to_string(), pgd.steps as i64, Verdict::Points(adv))]
        }
        SWEEP => {
            let sweep = PgdConfig { eps: vec![eps], steps: cfg.sweep.steps, ..PgdConfig::default() };
            let pgd = pgd_config(&sweep, eps);
            let adv = robbench_attacks::pgd(forward, x, y, &pgd, &mut rng);
            vec![(SWEEP.to_string(), pgd.steps as i64, Verdict::Points(adv))]
        }
        "autoattack" => {
            let aa = autoattack_config(&cfg.autoattack, eps, x.size()[0] as usize, rng.next_u64());
            let report = robbench_attacks::autoattack(forward, x, y, &aa)
                .with_context(|| format!("AutoAttack at eps {eps}/255"))?;
            autoattack_outcomes(&aa, &report)
        }
        other => bail!("unknown attack `{other}`"),
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
    cfg: &AutoAttackConfig,
    eps: f64,
    batch_size: usize,
    seed: u64,
) -> robbench_attacks::AutoAttackConfig {
    robbench_attacks::AutoAttackConfig {
        eps: eps / 255.0,
        version: if cfg.version == "rand" {
            robbench_attacks::Version::Rand
        } else {
            robbench_attacks::Version::Standard
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

fn pgd_config(cfg: &PgdConfig, eps: f64) -> robbench_attacks::PgdConfig {
    let step = if cfg.step_size > 0.0 { cfg.step_size } else { 2.5 * eps / cfg.steps as f64 };
    robbench_attacks::PgdConfig {
        eps: eps / 255.0,
        step_size: step / 255.0,
        steps: cfg.steps,
        random_start: cfg.random_start,
        restarts: cfg.restarts,
    }
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
