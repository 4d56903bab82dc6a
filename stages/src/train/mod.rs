//! Adversarial training (the NAS-RobBench-201 recipe): each batch is
//! augmented, attacked with PGD generated with the network in eval mode, and
//! the network is trained on the adversarial batch with SGD under a one-cycle
//! schedule. One unit per architecture × seed; every epoch is checkpointed in
//! the unit's scratch directory so an interrupted unit resumes there.

mod augment;
mod schedule;
mod sgd;

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use arrow::array::{Float64Array, Int64Array, StringArray};
use robbench_experiment::units::train::TrainReads;
use robbench_nn::{NetworkSpec, TinyNetwork};
use robbench_pipeline::{Runnable, UnitContext};
use robbench_rng::Rng;
use robbench_schemas::{MODELS, TRAINING};
use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};

use crate::config::{ModelConfig, TrainAttackConfig, TrainConfig};
use crate::data::{DATA_FILE, DataFile, to_pixels};
use crate::reads::read;
use schedule::OneCycle;
use sgd::Sgd;

pub const CHECKPOINT: &str = "model.safetensors";

pub struct Train {
    pub device: Device,
}

/// One row of the `training` table.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct EpochLog {
    epoch: usize,
    lr: f64,
    loss: f64,
    train_clean_acc: f64,
    train_adv_acc: f64,
    seconds: f64,
}

/// What a resumed unit needs besides weights and momentum.
#[derive(Serialize, Deserialize)]
struct Progress {
    epochs_done: usize,
    log: Vec<EpochLog>,
}

robbench_experiment::plans_as!(Train, robbench_experiment::units::train::Train);

impl Runnable for Train {
    fn run(&self, unit: &mut UnitContext<'_>) -> Result<()> {
        let params = unit.params().clone();
        let arch_index = params["arch_index"].as_i64().context("arch_index")?;
        let seed = params["seed"].as_u64().context("seed")?;
        let dataset = params["dataset"].as_str().context("dataset")?.to_string();
        let cfg: TrainReads = read(unit.config())?;
        let data = DataFile::load(&unit.input("prepare")?.file(DATA_FILE))?;
        let spec = data.network_spec(params["arch"].as_str().context("arch")?, &cfg.model)?;
        let scratch = unit.scratch_dir()?.to_path_buf();
        let mut trainer = Trainer::start(&spec, &cfg, seed, self.device, &scratch)?;
        unit.note("device", format!("{:?}", self.device));
        let images = data.train_images.to_device(self.device);
        let labels = data.train_labels.to_device(self.device);
        let started = Instant::now();
        let first_epoch = trainer.progress.epochs_done;
        while trainer.progress.epochs_done < cfg.epochs {
            let epoch = trainer.progress.epochs_done + 1;
            let log = trainer.epoch(epoch, &images, &labels, |fraction, loss| {
                unit.progress(
                    (epoch - 1) as f64 / cfg.epochs as f64 + fraction / cfg.epochs as f64,
                    &format!("epoch {epoch}/{} loss {loss:.3}", cfg.epochs),
                )
            })?;
            trainer.progress.log.push(log);
            trainer.progress.epochs_done = epoch;
            trainer.checkpoint()?;
        }
        let trained = cfg.epochs - first_epoch;
        if trained > 0 {
            let images_seen = (trained * images.size()[0] as usize) as f64;
            unit.note("train_images_per_second", images_seen / started.elapsed().as_secs_f64());
        }
        if first_epoch > 0 {
            unit.note("resumed_after_epoch", first_epoch as u64);
        }
        trainer.net.save(&unit.output_file(CHECKPOINT)?)?;
        let log = &trainer.progress.log;
        let n = log.len();
        let rows = TRAINING.batch(vec![
            Arc::new(Int64Array::from(vec![arch_index; n])),
            Arc::new(StringArray::from(vec![dataset.as_str(); n])),
            Arc::new(Int64Array::from(vec![seed as i64; n])),
            Arc::new(Int64Array::from(log.iter().map(|l| l.epoch as i64).collect::<Vec<_>>())),
            Arc::new(Float64Array::from(log.iter().map(|l| l.lr).collect::<Vec<_>>())),
            Arc::new(Float64Array::from(log.iter().map(|l| l.loss).collect::<Vec<_>>())),
            Arc::new(Float64Array::from(log.iter().map(|l| l.train_clean_acc).collect::<Vec<_>>())),
            Arc::new(Float64Array::from(log.iter().map(|l| l.train_adv_acc).collect::<Vec<_>>())),
        ])?;
        // Timings go to the manifest, not the table: the same key must give the same bytes.
        unit.note("epoch_seconds", log.iter().map(|l| l.seconds).collect::<Vec<_>>());
        unit.write_table(&TRAINING, &[rows])?;
        let model_row = MODELS.batch(vec![
            Arc::new(Int64Array::from(vec![arch_index])),
            Arc::new(StringArray::from(vec![dataset.as_str()])),
            Arc::new(Int64Array::from(vec![seed as i64])),
            Arc::new(StringArray::from(vec![unit.stored_path(CHECKPOINT)])),
            Arc::new(Int64Array::from(vec![trainer.net.parameter_count()])),
        ])?;
        unit.write_table(&MODELS, &[model_row])
    }
}

/// The state of one training run.
pub struct Trainer<'a> {
    pub net: TinyNetwork,
    sgd: Sgd,
    cfg: &'a TrainReads,
    seed: u64,
    device: Device,
    scratch: &'a Path,
    progress: Progress,
}

impl<'a> Trainer<'a> {
    /// A fresh network, or the last checkpoint in `scratch` if there is one.
    pub fn start(
        spec: &NetworkSpec,
        cfg: &'a TrainReads,
        seed: u64,
        device: Device,
        scratch: &'a Path,
    ) -> Result<Trainer<'a>> {
        let latest = scratch.join("latest");
        let (net, sgd, progress) = match std::fs::read_to_string(&latest) {
            Ok(dir) => {
                let dir = scratch.join(dir.trim());
                let net = TinyNetwork::load(&dir.join(CHECKPOINT), device)?;
                let mut sgd = Sgd::new(net.var_store(), cfg.weight_decay);
                sgd.load(&dir.join("momentum.safetensors"))?;
                let progress: Progress = serde_json::from_str(&std::fs::read_to_string(dir.join("progress.json"))?)
                    .with_context(|| format!("corrupt training checkpoint in {}", dir.display()))?;
                (net, sgd, progress)
            }
            Err(_) => {
                let net = TinyNetwork::new(spec, device, seed)?;
                let sgd = Sgd::new(net.var_store(), cfg.weight_decay);
                (net, sgd, Progress { epochs_done: 0, log: Vec::new() })
            }
        };
        net.use_fastest_layout();
        Ok(Trainer { net, sgd, cfg, seed, device, scratch, progress })
    }

    /// Saves weights, momentum and log into a new directory, then points
    /// `latest` at it: a crash at any moment leaves a consistent checkpoint.
    fn checkpoint(&self) -> Result<()> {
        let name = format!("epoch-{}", self.progress.epochs_done);
        let dir = self.scratch.join(&name);
        std::fs::create_dir_all(&dir)?;
        self.net.save(&dir.join(CHECKPOINT))?;
        self.sgd.save(&dir.join("momentum.safetensors"))?;
        std::fs::write(dir.join("progress.json"), serde_json::to_string(&self.progress)?)?;
        robbench_pipeline::store::write_atomic(&self.scratch.join("latest"), name.as_bytes())?;
        if self.progress.epochs_done > 1 {
            std::fs::remove_dir_all(self.scratch.join(format!("epoch-{}", self.progress.epochs_done - 1))).ok();
        }
        Ok(())
    }

    /// One epoch over the shuffled training set.
    fn epoch(
        &mut self,
        epoch: usize,
        images: &Tensor,
        labels: &Tensor,
        mut report: impl FnMut(f64, f64),
    ) -> Result<EpochLog> {
        let started = Instant::now();
        let n = images.size()[0] as usize;
        let batch = self.cfg.batch_size;
        let steps_per_epoch = n.div_ceil(batch);
        let schedule = OneCycle::new(self.cfg.max_lr, steps_per_epoch * self.cfg.epochs);
        let order = Rng::derive(self.seed, "shuffle", epoch as u64).permutation(n);
        let attack = robbench_attacks::PgdConfig {
            eps: self.cfg.attack.eps / 255.0,
            step_size: self.cfg.attack.step_size / 255.0,
            steps: self.cfg.attack.steps,
            random_start: self.cfg.attack.random_start,
            restarts: 1,
        };
        let (mut loss_sum, mut clean_correct, mut adv_correct) = (0.0, 0i64, 0i64);
        let mut lr = 0.0;
        for (step, chunk) in order.chunks(batch).enumerate() {
            let global_step = (epoch - 1) * steps_per_epoch + step;
            let index = Tensor::from_slice(&chunk.iter().map(|&i| i as i64).collect::<Vec<_>>()).to_device(self.device);
            let mut x = to_pixels(&images.index_select(0, &index), self.device);
            let y = labels.index_select(0, &index);
            if self.cfg.augment {
                x = augment::crop_and_flip(&x, &mut Rng::derive(self.seed, "augment", global_step as u64));
            }
            let net = &self.net;
            let eval = |input: &Tensor| net.forward_t(input, false);
            let mut rng = Rng::derive(self.seed, "train-attack", global_step as u64);
            let adv = if attack.steps > 0 {
                robbench_attacks::pgd(&eval, &x, &y, &attack, &mut rng)
            } else {
                x.shallow_clone()
            };
            clean_correct += tch::no_grad(|| eval(&x).argmax(1, false).eq_tensor(&y).sum(Kind::Int64).int64_value(&[]));
            let (step_lr, momentum) = schedule.at(global_step);
            lr = step_lr;
            let logits = self.net.forward_t(&adv, true);
            let loss = logits.cross_entropy_for_logits(&y);
            let loss_value = loss.double_value(&[]);
            if !loss_value.is_finite() || loss_value > 1e4 {
                bail!("training diverged: loss {loss_value} at epoch {epoch}, step {step} (lr {step_lr:.4})");
            }
            let grads = self.sgd.gradients(&loss);
            self.sgd.step(grads, step_lr, momentum);
            loss_sum += loss_value * chunk.len() as f64;
            adv_correct += logits.argmax(1, false).eq_tensor(&y).sum(Kind::Int64).int64_value(&[]);
            report((step + 1) as f64 / steps_per_epoch as f64, loss_value);
        }
        Ok(EpochLog {
            epoch,
            lr,
            loss: loss_sum / n as f64,
            train_clean_acc: clean_correct as f64 / n as f64,
            train_adv_acc: adv_correct as f64 / n as f64,
            seconds: started.elapsed().as_secs_f64(),
        })
    }
}

/// Adversarial-training throughput in images per second (PGD-`attack_steps`
/// generation plus the SGD step, one-cycle schedule, augmentation on), for
/// `batches` batches of random 32×32 images after one warm-up batch.
pub fn benchmark_throughput(
    spec: &NetworkSpec,
    batch: usize,
    batches: usize,
    attack_steps: usize,
    device: Device,
) -> Result<f64> {
    let timed = TimedTraining { batch, batches, attack_steps, image_size: 32 };
    Ok((batch * batches) as f64 / time_training(spec, &timed, device, || {})?)
}

/// What [`time_training`] times.
#[derive(Clone, Copy, Debug)]
pub struct TimedTraining {
    pub batch: usize,
    /// Timed batches, after one warm-up batch.
    pub batches: usize,
    /// PGD steps per batch.
    pub attack_steps: usize,
    /// Image side in pixels.
    pub image_size: i64,
}

/// Seconds the production training step (augmentation, PGD, clean-accuracy
/// check, SGD) takes for `timed.batches` batches of random images, after one
/// warm-up batch (allocator, cuDNN algorithm selection). `ready` runs between
/// warm-up and timing, e.g. to wait for concurrent units at a barrier.
pub fn time_training(spec: &NetworkSpec, timed: &TimedTraining, device: Device, ready: impl FnOnce()) -> Result<f64> {
    let batch = timed.batch;
    let cfg = TrainReads::new(
        &ModelConfig::default(),
        &TrainConfig {
            epochs: 1,
            batch_size: batch,
            attack: TrainAttackConfig { steps: timed.attack_steps, ..Default::default() },
            ..Default::default()
        },
    );
    let scratch = tempfile::tempdir()?;
    let mut trainer = Trainer::start(spec, &cfg, 0, device, scratch.path())?;
    let n = (batch * (timed.batches + 1)) as i64;
    let size = timed.image_size;
    let images = Tensor::randint(256, [n, 3, size, size], (Kind::Uint8, device));
    let labels = Tensor::randint(spec.classes, [n], (Kind::Int64, device));
    let synchronize = || {
        if let Device::Cuda(i) = device {
            tch::Cuda::synchronize(i as i64);
        }
    };
    trainer.epoch(1, &images.narrow(0, 0, batch as i64), &labels.narrow(0, 0, batch as i64), |_, _| {})?;
    synchronize();
    ready();
    let started = Instant::now();
    trainer.epoch(
        1,
        &images.narrow(0, batch as i64, n - batch as i64),
        &labels.narrow(0, batch as i64, n - batch as i64),
        |_, _| {},
    )?;
    synchronize();
    Ok(started.elapsed().as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;
    use robbench_space::Space;

    /// A learnable toy: the class is which half of the image is brighter.
    fn toy(n: usize) -> (Tensor, Tensor) {
        let mut rng = Rng::new(0);
        let labels: Vec<i64> = (0..n).map(|i| (i % 2) as i64).collect();
        let mut pixels = Vec::with_capacity(n * 3 * 16 * 16);
        for &label in &labels {
            for _c in 0..3 {
                for y in 0..16 {
                    for _x in 0..16 {
                        let bright = (y < 8) == (label == 0);
                        pixels.push((if bright { 170.0 } else { 80.0 } + 40.0 * rng.next_f32()) as u8);
                    }
                }
            }
        }
        (Tensor::from_slice(&pixels).view([n as i64, 3, 16, 16]), Tensor::from_slice(&labels))
    }

    fn spec() -> NetworkSpec {
        NetworkSpec {
            arch: Space::nb201().arch(1462).unwrap(),
            channels: 4,
            cells_per_stage: 1,
            classes: 2,
            mean: vec![0.5; 3],
            std: vec![0.25; 3],
        }
    }

    #[test]
    fn adversarial_training_lowers_the_loss_on_a_learnable_toy() {
        let cfg = TrainReads::new(
            &ModelConfig::default(),
            &TrainConfig {
                epochs: 3,
                batch_size: 32,
                attack: TrainAttackConfig { steps: 2, eps: 2.0, step_size: 1.0, random_start: true },
                ..Default::default()
            },
        );
        let scratch = tempfile::tempdir().unwrap();
        let device = robbench_nn::test_device();
        let mut trainer = Trainer::start(&spec(), &cfg, 1, device, scratch.path()).unwrap();
        let (x, y) = toy(256);
        let (x, y) = (x.to_device(device), y.to_device(device));
        let losses: Vec<f64> = (1..=3).map(|e| trainer.epoch(e, &x, &y, |_, _| {}).unwrap().loss).collect();
        assert!(losses[2] < 0.5 * losses[0], "loss did not decrease: {losses:?}");
    }

    #[test]
    fn a_diverging_run_stops_with_a_clear_error() {
        let cfg = TrainReads::new(
            &ModelConfig::default(),
            &TrainConfig { epochs: 1, batch_size: 32, max_lr: 1e9, ..Default::default() },
        );
        let scratch = tempfile::tempdir().unwrap();
        let device = robbench_nn::test_device();
        let mut trainer = Trainer::start(&spec(), &cfg, 1, device, scratch.path()).unwrap();
        let (x, y) = toy(256);
        let (x, y) = (x.to_device(device), y.to_device(device));
        let mut result = Ok(());
        for epoch in 1..=3 {
            if let Err(e) = trainer.epoch(epoch, &x, &y, |_, _| {}) {
                result = Err(e);
                break;
            }
        }
        let message = result.expect_err("lr 1e9 must diverge").to_string();
        assert!(message.contains("training diverged"), "{message}");
    }
}
