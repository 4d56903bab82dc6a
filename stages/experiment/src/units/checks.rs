//! `checks`: one unit per trained model, over its training log and evaluations.

use std::collections::HashMap;

use anyhow::Result;
use robbench_pipeline::{Config, Stage, UnitSpec, Upstream};
use robbench_schemas::{ALERTS, TableDef};
use serde_json::json;

use super::prepare::prepared_for;
use crate::config::ChecksConfig;
use crate::reads::paths;

pub struct Checks;

/// What a `checks` unit reads.
#[derive(serde::Deserialize)]
pub struct ChecksReads {
    pub checks: ChecksConfig,
}

impl Stage for Checks {
    fn name(&self) -> &'static str {
        "checks"
    }
    fn version(&self) -> u32 {
        3
    }
    fn upstream(&self) -> &'static [&'static str] {
        &["prepare", "train", "evaluate"]
    }
    fn tables(&self) -> Vec<&'static TableDef> {
        vec![&ALERTS]
    }

    /// One unit per trained model, over its training log and all of its evaluations.
    fn plan(&self, _config: &Config, up: &Upstream<'_>) -> Result<Vec<UnitSpec>> {
        let identity = |p: &serde_json::Value| json!({ "arch_index": p["arch_index"], "dataset": p["dataset"], "seed": p["seed"] });
        // The model an evaluation is of, without encoding anything (there
        // are hundreds of thousands of evaluations at the benchmark's size).
        fn model_of(p: &serde_json::Value) -> (Option<i64>, Option<&str>, Option<u64>) {
            (p["arch_index"].as_i64(), p["dataset"].as_str(), p["seed"].as_u64())
        }
        // A model's evaluations are planned together, so they are grouped
        // run by run: one map entry per run, not per evaluation.
        let mut evaluations: HashMap<_, Vec<_>> = HashMap::new();
        for run in up.units("evaluate").chunk_by(|a, b| model_of(a.params) == model_of(b.params)) {
            evaluations.entry(model_of(run[0].params)).or_default().extend(run.iter().map(|u| u.unit));
        }
        let config_keys = paths::<ChecksReads>();
        up.units("train")
            .iter()
            .map(|trained| {
                let model = identity(trained.params);
                let mut inputs = vec![prepared_for(up, trained)?.unit, trained.unit];
                inputs.extend(evaluations.remove(&model_of(trained.params)).unwrap_or_default());
                Ok(UnitSpec {
                    label: format!(
                        "arch {} · {} · seed {}",
                        model["arch_index"],
                        model["dataset"].as_str().unwrap_or("?"),
                        model["seed"]
                    ),
                    shard_group: Some(format!("arch {}", model["arch_index"])),
                    params: model,
                    config_keys: config_keys.clone(),
                    inputs,
                })
            })
            .collect()
    }
}
