//! `ntk`: one unit per network and weights (initialised or trained).

use anyhow::{Context, Result};
use robbench_pipeline::{Config, Stage, UnitSpec, Upstream};
use robbench_schemas::{NTK, TableDef};
use serde_json::json;

use crate::config::{ModelConfig, NtkAttack, NtkConfig, NtkOutputKind, NtkWeights};
use crate::reads::paths;
use crate::select::model_units;

pub struct Ntk;

/// What every NTK unit reads (the weights and the seed are unit parameters).
#[derive(serde::Deserialize)]
pub struct NtkReads {
    pub model: ModelConfig,
    #[serde(rename = "ntk.samples")]
    pub samples: usize,
    #[serde(rename = "ntk.output")]
    pub output: NtkOutputKind,
    #[serde(rename = "ntk.attack")]
    pub attack: NtkAttack,
    #[serde(rename = "ntk.eps")]
    pub eps: f64,
    #[serde(rename = "ntk.steps")]
    pub steps: usize,
    #[serde(rename = "ntk.step_size")]
    pub step_size: f64,
    #[serde(rename = "ntk.betas")]
    pub betas: Vec<f64>,
}

/// What an NTK unit of an initialised network reads besides [`NtkReads`].
#[derive(serde::Deserialize)]
pub struct InitReads {
    /// BN statistics from the first N training images (0 = fresh).
    #[serde(rename = "ntk.bn_calibration")]
    pub bn_calibration: usize,
}

/// The config keys of an NTK unit on `weights`.
fn config_keys(weights: NtkWeights) -> Vec<&'static str> {
    let mut keys = paths::<NtkReads>();
    if weights == NtkWeights::Init {
        keys.extend(paths::<InitReads>());
    }
    keys
}

impl Stage for Ntk {
    fn name(&self) -> &'static str {
        "ntk"
    }
    fn version(&self) -> u32 {
        1
    }
    fn upstream(&self) -> &'static [&'static str] {
        &["prepare", "train"]
    }
    fn tables(&self) -> Vec<&'static TableDef> {
        vec![&NTK]
    }

    fn plan(&self, config: &Config, up: &Upstream<'_>) -> Result<Vec<UnitSpec>> {
        let cfg: NtkConfig = config.typed("ntk")?;
        if !cfg.enabled {
            return Ok(Vec::new());
        }
        let mut units = Vec::new();
        // Training units by their parameters (the model's identity): a lookup, not a scan per model.
        let trained_by_params: std::collections::HashMap<String, robbench_pipeline::UnitRef> =
            up.units("train").iter().map(|t| (t.params.to_string(), t.unit)).collect();
        for model in model_units(config, up)? {
            for weights in &cfg.weights {
                let mut params = model.params.clone();
                params["weights"] = json!(weights);
                let weights = *weights;
                // The initialised network needs no training: it depends on the
                // data and the seed only, so proxy studies run without training.
                let inputs = if weights == NtkWeights::Trained {
                    let trained = trained_by_params
                        .get(&model.params.to_string())
                        .with_context(|| format!("ntk.weights = trained needs the training of {}", model.label))?;
                    vec![model.data.unit, *trained]
                } else {
                    vec![model.data.unit]
                };
                units.push(UnitSpec {
                    label: format!("{} · {}", model.label, weights.as_str()),
                    params,
                    config_keys: config_keys(weights),
                    inputs,
                    shard_group: Some(format!("arch {}", model.params["arch_index"])),
                });
            }
        }
        Ok(units)
    }
}
