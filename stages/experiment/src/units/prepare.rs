//! `prepare`: one unit per dataset.

use anyhow::{Context, Result};
use robbench_pipeline::{Config, PlannedUnitView, Stage, UnitSpec, Upstream};
use robbench_schemas::{DATASETS, SAMPLES, TableDef};
use serde_json::json;

use crate::config::DatasetConfig;
use crate::reads::paths;

pub struct Prepare;

/// What a `prepare` unit reads.
#[derive(serde::Deserialize)]
pub struct PrepareReads {
    pub dataset: DatasetConfig,
}

impl Stage for Prepare {
    fn name(&self) -> &'static str {
        "prepare"
    }
    fn version(&self) -> u32 {
        1
    }
    fn upstream(&self) -> &'static [&'static str] {
        &[]
    }
    fn tables(&self) -> Vec<&'static TableDef> {
        vec![&SAMPLES, &DATASETS]
    }

    fn plan(&self, config: &Config, _: &Upstream<'_>) -> Result<Vec<UnitSpec>> {
        let dataset: DatasetConfig = config.typed("dataset")?;
        Ok(vec![UnitSpec {
            label: dataset.name.to_string(),
            params: json!({ "dataset": dataset.name }),
            config_keys: paths::<PrepareReads>(),
            inputs: vec![],
            shard_group: None,
        }])
    }
}

/// The prepared dataset a model is trained (or scored) on.
pub fn prepared_for<'a>(up: &'a Upstream<'_>, model: &PlannedUnitView<'_>) -> Result<&'a PlannedUnitView<'a>> {
    up.units("prepare")
        .iter()
        .find(|d| d.params["dataset"] == model.params["dataset"])
        .with_context(|| format!("no prepared dataset for {}", model.label))
}
