//! `corrupt`: one unit per trained model, over every configured common
//! corruption × severity (`[evaluation.corruptions]`).

use anyhow::Result;
use robbench_corruptions::Corruption;
use robbench_pipeline::{Config, Stage, UnitSpec, Upstream};
use robbench_schemas::{CORRUPTION_EVALUATIONS, CORRUPTION_SAMPLES, TableDef};
use serde::Deserialize;
use serde_json::json;

use super::evaluate::Images;
use super::prepare::prepared_for;
use crate::reads::paths;

pub struct Corrupt;

/// What a corruption unit reads besides [`Images`].
#[derive(Deserialize)]
pub struct CorruptionReads {
    #[serde(rename = "evaluation.corruptions.names")]
    pub names: Vec<Corruption>,
    #[serde(rename = "evaluation.corruptions.severities")]
    pub severities: Vec<u64>,
    /// The first `samples` evaluated images (0 = all).
    #[serde(rename = "evaluation.corruptions.samples")]
    pub samples: usize,
    #[serde(rename = "evaluation.corruptions.seed")]
    pub seed: u64,
}

impl Stage for Corrupt {
    fn name(&self) -> &'static str {
        "corrupt"
    }
    fn version(&self) -> u32 {
        1
    }
    fn upstream(&self) -> &'static [&'static str] {
        &["prepare", "train"]
    }
    fn tables(&self) -> Vec<&'static TableDef> {
        vec![&CORRUPTION_EVALUATIONS, &CORRUPTION_SAMPLES]
    }

    /// One unit per trained model, none when no corruption is named.
    fn plan(&self, config: &Config, up: &Upstream<'_>) -> Result<Vec<UnitSpec>> {
        let names: Vec<Corruption> = config.typed("evaluation.corruptions.names")?;
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let mut config_keys = paths::<Images>();
        config_keys.extend(paths::<CorruptionReads>());
        up.units("train")
            .iter()
            .map(|model| {
                let data = prepared_for(up, model)?;
                let (arch_index, dataset, seed) =
                    (&model.params["arch_index"], &model.params["dataset"], &model.params["seed"]);
                Ok(UnitSpec {
                    label: format!("{} · corruptions", model.label),
                    params: json!({ "arch_index": arch_index, "dataset": dataset, "seed": seed }),
                    config_keys: config_keys.clone(),
                    inputs: vec![data.unit, model.unit],
                    shard_group: Some(format!("arch {arch_index}")),
                })
            })
            .collect()
    }
}
