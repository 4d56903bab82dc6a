//! `bound`: one unit per NTK unit.

use anyhow::Result;
use robbench_pipeline::{Config, Stage, UnitSpec, Upstream};
use robbench_schemas::{BOUNDS, TableDef};

use crate::config::BoundConfig;
use crate::reads::paths;

pub struct Bound;

/// What a `bound` unit reads.
#[derive(serde::Deserialize)]
pub struct BoundReads {
    pub bound: BoundConfig,
    #[serde(rename = "ntk.betas")]
    pub betas: Vec<f64>,
}

impl Stage for Bound {
    fn name(&self) -> &'static str {
        "bound"
    }
    fn version(&self) -> u32 {
        1
    }
    fn upstream(&self) -> &'static [&'static str] {
        &["ntk"]
    }
    fn tables(&self) -> Vec<&'static TableDef> {
        vec![&BOUNDS]
    }

    fn plan(&self, _: &Config, up: &Upstream<'_>) -> Result<Vec<UnitSpec>> {
        let config_keys = paths::<BoundReads>();
        Ok(up
            .units("ntk")
            .iter()
            .map(|k| UnitSpec {
                label: k.label.to_string(),
                params: k.params.clone(),
                config_keys: config_keys.clone(),
                inputs: vec![k.unit],
                shard_group: Some(format!("arch {}", k.params["arch_index"])),
            })
            .collect())
    }
}
