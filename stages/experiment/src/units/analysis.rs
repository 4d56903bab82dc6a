//! `analysis`: one unit over every evaluation, corruption evaluation, NTK and bound.

use anyhow::{Context, Result};
use robbench_pipeline::{Config, Stage, UnitSpec, Upstream};
use robbench_schemas::{CORRELATIONS, TableDef};
use serde_json::json;

use crate::config::AnalysisConfig;
use crate::reads::paths;

pub struct Analysis;

const UPSTREAM: [&str; 4] = ["evaluate", "corrupt", "ntk", "bound"];

/// What the `analysis` unit reads.
#[derive(serde::Deserialize)]
pub struct AnalysisReads {
    pub analysis: AnalysisConfig,
}

impl Stage for Analysis {
    fn name(&self) -> &'static str {
        "analysis"
    }
    /// 2: corruption accuracies are metrics, and correlated with the clean and adversarial ones.
    fn version(&self) -> u32 {
        2
    }
    fn upstream(&self) -> &'static [&'static str] {
        &UPSTREAM
    }
    fn tables(&self) -> Vec<&'static TableDef> {
        vec![&CORRELATIONS]
    }

    fn plan(&self, config: &Config, up: &Upstream<'_>) -> Result<Vec<UnitSpec>> {
        let inputs: Vec<_> = UPSTREAM.iter().flat_map(|s| up.units(s).iter().map(|u| u.unit)).collect();
        let cfg: AnalysisConfig = config.typed("analysis")?;
        if up.units("ntk").is_empty() || (up.units("evaluate").is_empty() && cfg.reference.is_none()) {
            return Ok(Vec::new());
        }
        // The reference's content, not its path, decides whether to recompute.
        let mut reference = serde_json::Map::new();
        for input in [&cfg.reference, &cfg.reference_ops, &cfg.zero_cost].into_iter().flatten() {
            let bytes = input.bytes().with_context(|| format!("analysis.reference: cannot read {input}"))?;
            reference.insert(input.to_string(), blake3::hash(&bytes).to_hex().to_string().into());
        }
        Ok(vec![UnitSpec {
            label: "correlations".into(),
            params: json!({ "reference_blake3": reference }),
            config_keys: paths::<AnalysisReads>(),
            inputs,
            shard_group: None,
        }])
    }
}
