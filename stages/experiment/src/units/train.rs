//! `train`: one unit per architecture × seed × dataset.

use anyhow::Result;
use robbench_pipeline::{Config, Stage, UnitSpec, Upstream};
use robbench_schemas::{MODELS, TRAINING, TableDef};
use serde::Deserialize;

use crate::config::{ModelConfig, TrainAttackConfig, TrainConfig};
use crate::reads::paths;
use crate::select::model_units;

pub struct Train;

/// What a `train` unit reads: the skeleton and the recipe (seeds are unit
/// parameters, not part of the recipe).
#[derive(Clone, Debug, Deserialize)]
pub struct TrainReads {
    pub model: ModelConfig,
    #[serde(rename = "train.epochs")]
    pub epochs: usize,
    #[serde(rename = "train.batch_size")]
    pub batch_size: usize,
    #[serde(rename = "train.max_lr")]
    pub max_lr: f64,
    #[serde(rename = "train.weight_decay")]
    pub weight_decay: f64,
    #[serde(rename = "train.augment")]
    pub augment: bool,
    #[serde(rename = "train.attack")]
    pub attack: TrainAttackConfig,
}

impl TrainReads {
    /// The recipe of an experiment's `[model]` and `[train]` sections.
    pub fn new(model: &ModelConfig, train: &TrainConfig) -> TrainReads {
        TrainReads {
            model: model.clone(),
            epochs: train.epochs,
            batch_size: train.batch_size,
            max_lr: train.max_lr,
            weight_decay: train.weight_decay,
            augment: train.augment,
            attack: train.attack.clone(),
        }
    }
}

impl Stage for Train {
    fn name(&self) -> &'static str {
        "train"
    }
    fn version(&self) -> u32 {
        1
    }
    fn upstream(&self) -> &'static [&'static str] {
        &["prepare"]
    }
    fn tables(&self) -> Vec<&'static TableDef> {
        vec![&TRAINING, &MODELS]
    }

    fn plan(&self, config: &Config, up: &Upstream<'_>) -> Result<Vec<UnitSpec>> {
        if !config.typed::<bool>("train.enabled")? {
            return Ok(Vec::new());
        }
        let config_keys = paths::<TrainReads>();
        Ok(model_units(config, up)?
            .into_iter()
            .map(|m| UnitSpec {
                shard_group: Some(format!("arch {}", m.params["arch_index"])),
                label: m.label,
                params: m.params,
                config_keys: config_keys.clone(),
                inputs: vec![m.data.unit],
            })
            .collect())
    }
}
