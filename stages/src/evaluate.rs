//! Attack evaluation: clean accuracy and robust accuracy under FGSM and PGD
//! (NAS-RobBench-201: ε = 3/255 and 8/255, PGD-20 with step 2.5·ε/20 and a
//! random start) on the prepared test split, with the network in eval mode.
//! One unit per trained model × attack × ε, so changing one attack's settings
//! reruns only that attack.

use std::sync::Arc;

use anyhow::{Context, Result};
use arrow::array::{BooleanArray, Float64Array, Int64Array, StringArray};
use robbench_nn::TinyNetwork;
use robbench_pipeline::{Config, Stage, UnitContext, UnitSpec, Upstream};
use robbench_rng::Rng;
use robbench_schemas::{TableDef, EVALUATIONS, EVALUATION_SAMPLES};
use serde_json::json;
use tch::{Device, Kind, Tensor};

use crate::config::{EvaluationConfig, PgdConfig};
use crate::data::{prepared_for, to_pixels, DataFile, DATA_FILE};
use crate::train::CHECKPOINT;

pub struct Evaluate {
    pub device: Device,
}

/// The attacks a config asks for: (name, ε in 1/255, config keys read).
fn attacks(cfg: &EvaluationConfig) -> Vec<(&'static str, f64, Vec<&'static str>)> {
    let common = ["evaluation.samples", "evaluation.batch_size"];
    let mut out = Vec::new();
    if cfg.clean.enabled {
        out.push(("clean", 0.0, common.to_vec()));
    }
    for &eps in &cfg.fgsm.eps {
        out.push(("fgsm", eps, common.to_vec()));
    }
    for &eps in &cfg.pgd.eps {
        let mut keys = common.to_vec();
        keys.extend(["evaluation.pgd.steps", "evaluation.pgd.step_size", "evaluation.pgd.restarts", "evaluation.pgd.random_start"]);
        out.push(("pgd", eps, keys));
    }
    out
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
        let available = data.test_images.size()[0];
        let n = if cfg.samples == 0 { available } else { (cfg.samples as i64).min(available) };
        let forward = |x: &Tensor| net.forward_t(x, false);
        let mut correct: Vec<bool> = Vec::with_capacity(n as usize);
        let mut start = 0;
        let mut batch_index = 0u64;
        while start < n {
            let len = (cfg.batch_size as i64).min(n - start);
            let x = to_pixels(&data.test_images.narrow(0, start, len), self.device);
            let y = data.test_labels.narrow(0, start, len).to_device(self.device);
            let mut rng = Rng::derive(seed, &format!("evaluate-{attack}-{eps}"), batch_index);
            let adv = match attack.as_str() {
                "clean" => x,
                "fgsm" => robbench_attacks::fgsm(&forward, &x, &y, eps / 255.0),
                "pgd" => robbench_attacks::pgd(&forward, &x, &y, &pgd_config(&cfg.pgd, eps), &mut rng),
                other => anyhow::bail!("unknown attack `{other}`"),
            };
            let hits = tch::no_grad(|| forward(&adv).argmax(1, false).eq_tensor(&y).to_kind(Kind::Bool).to_device(Device::Cpu));
            correct.extend(Vec::<bool>::try_from(hits)?);
            start += len;
            batch_index += 1;
            unit.progress(start as f64 / n as f64, &attack);
        }
        let n_correct = correct.iter().filter(|&&c| c).count() as i64;
        let steps = match attack.as_str() {
            "clean" => 0,
            "fgsm" => 1,
            _ => cfg.pgd.steps as i64,
        };
        let arch_index = params["arch_index"].as_i64().context("arch_index")?;
        let dataset = params["dataset"].as_str().context("dataset")?;
        let summary = EVALUATIONS.batch(vec![
            Arc::new(Int64Array::from(vec![arch_index])),
            Arc::new(StringArray::from(vec![dataset])),
            Arc::new(Int64Array::from(vec![seed as i64])),
            Arc::new(StringArray::from(vec![attack.as_str()])),
            Arc::new(Float64Array::from(vec![eps])),
            Arc::new(Int64Array::from(vec![steps])),
            Arc::new(Int64Array::from(vec![n])),
            Arc::new(Int64Array::from(vec![n_correct])),
            Arc::new(Float64Array::from(vec![n_correct as f64 / n as f64])),
        ])?;
        unit.write_table(&EVALUATIONS, &[summary])?;
        let m = correct.len();
        let per_sample = EVALUATION_SAMPLES.batch(vec![
            Arc::new(Int64Array::from(vec![arch_index; m])),
            Arc::new(StringArray::from(vec![dataset; m])),
            Arc::new(Int64Array::from(vec![seed as i64; m])),
            Arc::new(Int64Array::from((0..m as i64).collect::<Vec<_>>())),
            Arc::new(StringArray::from(vec![attack.as_str(); m])),
            Arc::new(Float64Array::from(vec![eps; m])),
            Arc::new(BooleanArray::from(correct)),
        ])?;
        unit.write_table(&EVALUATION_SAMPLES, &[per_sample])
    }
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
