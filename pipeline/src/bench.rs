//! The engine's own benchmark: how long a no-op rerun of a large plan takes
//! (planning every unit's key, checking the store, executing nothing).

use std::time::Instant;

use anyhow::Result;
use robbench_schemas::TableDef;
use serde_json::json;

use crate::{
    Config, ConfigError, ConfigSchema, Pipeline, RunKind, RunOptions, Runnable, Stage, Store, UnitContext, UnitSpec,
    UnitStatus, Upstream, execute,
};

struct AnyConfig;
impl ConfigSchema for AnyConfig {
    fn normalize(&self, raw: &Config) -> Result<Config, ConfigError> {
        Ok(raw.clone())
    }
}

/// One cheap unit per item, each writing one small file.
struct Items;
impl Stage for Items {
    fn name(&self) -> &'static str {
        "items"
    }
    fn version(&self) -> u32 {
        1
    }
    fn upstream(&self) -> &'static [&'static str] {
        &[]
    }
    fn tables(&self) -> Vec<&'static TableDef> {
        vec![]
    }
    fn plan(&self, config: &Config, _: &Upstream<'_>) -> Result<Vec<UnitSpec>> {
        let n: u64 = config.typed("items.count")?;
        Ok((0..n)
            .map(|i| UnitSpec {
                label: format!("item {i}"),
                params: json!({ "arch_index": i, "dataset": "cifar10", "seed": 0 }),
                config_keys: vec!["items.recipe"],
                inputs: vec![],
                shard_group: Some(i.to_string()),
            })
            .collect())
    }
}

impl Runnable for Items {
    fn run(&self, unit: &mut UnitContext<'_>) -> Result<()> {
        std::fs::write(unit.output_file("value")?, unit.params()["arch_index"].to_string())?;
        Ok(())
    }
}

/// Seconds spent by each phase of a no-op rerun.
pub struct NoopRerun {
    pub units: u64,
    pub first_run: f64,
    pub plan: f64,
    pub store_check: f64,
    pub execute: f64,
}

/// Fills a fresh store in `dir` with `units` units, then times a rerun.
pub fn noop_rerun(dir: &std::path::Path, units: u64) -> Result<NoopRerun> {
    let pipeline = Pipeline::new(Box::new(AnyConfig), vec![Box::new(Items)])?;
    let mut config = Config::default();
    config.set(&format!("items.count={units}"))?;
    config.set("items.recipe={ epochs = 50, lr = 0.1, attack = \"pgd\" }")?;
    let store = Store::open(dir)?;
    let options = RunOptions { jobs: 4, shard: None, device: None, kind: RunKind::Experiment };

    let t = Instant::now();
    execute(&pipeline, &pipeline.plan(&config)?, &store, &options)?;
    let first_run = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let plan = pipeline.plan(&config)?;
    let plan_seconds = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let summary = plan.summary(&store, &plan.select(None))?;
    let store_check = t.elapsed().as_secs_f64();
    anyhow::ensure!(summary[0].2 as u64 == units, "the first run did not store every unit");
    let t = Instant::now();
    let report = execute(&pipeline, &plan, &store, &options)?;
    let execute_seconds = t.elapsed().as_secs_f64();
    anyhow::ensure!(report.record.units.iter().all(|u| u.status == UnitStatus::Reused), "a no-op rerun executed work");
    Ok(NoopRerun { units, first_run, plan: plan_seconds, store_check, execute: execute_seconds })
}
