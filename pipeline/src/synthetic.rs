//! A store of the real layout, filled with generated rows: what `robbench
//! bench sql` times and what the SQL tests query. Per architecture one
//! `architectures` row, a `train` unit (`models`, `training`) and one
//! `evaluate` unit per attack (`evaluations`, `evaluation_samples`) — the
//! units and tables the real stages write, without training anything.

use std::sync::Arc;

use anyhow::Result;
use arrow::array::{ArrayRef, BooleanArray, Float64Array, Int64Array, StringArray};
use robbench_schemas::{ARCHITECTURES, EVALUATION_SAMPLES, EVALUATIONS, MODELS, TRAINING, TableDef};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::{Config, ConfigError, ConfigSchema, Pipeline, Runnable, Stage, UnitContext, UnitSpec, Upstream};

/// The shape of a synthetic store.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyntheticConfig {
    /// Architectures (NB201 indices 0..n).
    pub architectures: u64,
    /// Attacks per architecture: clean, then pgd at ε = 1, 2, ….
    pub attacks: u64,
    /// Test images per evaluation unit (rows of `evaluation_samples`).
    pub samples: u64,
    /// Architectures whose units get new keys (a changed recipe for them).
    #[serde(default)]
    pub changed: Vec<u64>,
}

struct Schema;
impl ConfigSchema for Schema {
    fn normalize(&self, raw: &Config) -> Result<Config, ConfigError> {
        let config: SyntheticConfig = raw.typed("synthetic")?;
        Config::from_serialize(&json!({ "synthetic": config }))
    }
}

/// The pipeline that fills a synthetic store, and its config.
pub fn pipeline(config: &SyntheticConfig) -> Result<(Pipeline, Config)> {
    let pipeline = Pipeline::new(Box::new(Schema), vec![Box::new(Architectures), Box::new(Train), Box::new(Evaluate)])?;
    Ok((pipeline, Config::from_serialize(&json!({ "synthetic": config }))?))
}

fn cfg(config: &Config) -> Result<SyntheticConfig> {
    Ok(config.typed("synthetic")?)
}

/// Deterministic pseudo-random numbers in [0, 1) from a few integers.
fn noise(parts: &[u64]) -> f64 {
    let mut h = 0x9E37_79B9_7F4A_7C15u64;
    for &p in parts {
        h = (h ^ p).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        h ^= h >> 31;
    }
    (h >> 11) as f64 / (1u64 << 53) as f64
}

struct Architectures;
impl Stage for Architectures {
    fn name(&self) -> &'static str {
        "architectures"
    }
    fn version(&self) -> u32 {
        1
    }
    fn upstream(&self) -> &'static [&'static str] {
        &[]
    }
    fn tables(&self) -> Vec<&'static TableDef> {
        vec![&ARCHITECTURES]
    }
    fn plan(&self, _: &Config, _: &Upstream<'_>) -> Result<Vec<UnitSpec>> {
        Ok(vec![UnitSpec {
            label: "architectures".into(),
            params: json!({}),
            config_keys: vec!["synthetic.architectures"],
            inputs: vec![],
            shard_group: None,
        }])
    }
}

impl Runnable for Architectures {
    fn run(&self, unit: &mut UnitContext<'_>) -> Result<()> {
        let n = unit.config().typed::<u64>("synthetic.architectures")? as i64;
        let ints =
            |f: &dyn Fn(i64) -> i64| -> ArrayRef { Arc::new(Int64Array::from((0..n).map(f).collect::<Vec<_>>())) };
        let batch = ARCHITECTURES.batch(vec![
            ints(&|i| i),
            Arc::new(StringArray::from((0..n).map(|i| format!("cell-{i}")).collect::<Vec<_>>())),
            ints(&|i| i),
            ints(&|_| 16),
            ints(&|_| 5),
            ints(&|_| 10),
            ints(&|_| 32),
            ints(&|i| 100_000 + i * 37 % 1_000_000),
            Arc::new(Float64Array::from((0..n).map(|i| 10.0 + (i % 200) as f64).collect::<Vec<_>>())),
        ])?;
        unit.write_table(&ARCHITECTURES, &[batch])
    }
}

fn arch_spec(arch: u64, changed: bool, inputs: Vec<crate::UnitRef>, label: String, attack: Option<u64>) -> UnitSpec {
    UnitSpec {
        label,
        params: json!({ "arch_index": arch, "attack": attack, "changed": changed }),
        config_keys: vec!["synthetic.samples", "synthetic.attacks"],
        inputs,
        shard_group: Some(format!("arch {arch}")),
    }
}

struct Train;
impl Stage for Train {
    fn name(&self) -> &'static str {
        "train"
    }
    fn version(&self) -> u32 {
        1
    }
    fn upstream(&self) -> &'static [&'static str] {
        &["architectures"]
    }
    fn tables(&self) -> Vec<&'static TableDef> {
        vec![&MODELS, &TRAINING]
    }
    fn plan(&self, config: &Config, up: &Upstream<'_>) -> Result<Vec<UnitSpec>> {
        let c = cfg(config)?;
        let archs = up.units("architectures").iter().map(|u| u.unit).collect::<Vec<_>>();
        Ok((0..c.architectures)
            .map(|a| arch_spec(a, c.changed.contains(&a), archs.clone(), format!("arch {a}"), None))
            .collect())
    }
}

impl Runnable for Train {
    fn run(&self, unit: &mut UnitContext<'_>) -> Result<()> {
        let arch = unit.params()["arch_index"].as_i64().unwrap_or_default();
        let models = MODELS.batch(vec![
            Arc::new(Int64Array::from(vec![arch])),
            Arc::new(StringArray::from(vec!["synthetic"])),
            Arc::new(Int64Array::from(vec![0])),
            Arc::new(StringArray::from(vec![format!("objects/train/{arch}/files/model.safetensors")])),
            Arc::new(Int64Array::from(vec![100_000 + arch])),
        ])?;
        unit.write_table(&MODELS, &[models])?;
        let epochs: Vec<i64> = (1..=10).collect();
        let f = |k: u64| -> ArrayRef {
            Arc::new(Float64Array::from(epochs.iter().map(|&e| noise(&[arch as u64, e as u64, k])).collect::<Vec<_>>()))
        };
        let training = TRAINING.batch(vec![
            Arc::new(Int64Array::from(vec![arch; epochs.len()])),
            Arc::new(StringArray::from(vec!["synthetic"; epochs.len()])),
            Arc::new(Int64Array::from(vec![0; epochs.len()])),
            Arc::new(Int64Array::from(epochs.clone())),
            f(1),
            f(2),
            f(3),
            f(4),
        ])?;
        unit.write_table(&TRAINING, &[training])
    }
}

struct Evaluate;
impl Stage for Evaluate {
    fn name(&self) -> &'static str {
        "evaluate"
    }
    fn version(&self) -> u32 {
        1
    }
    fn upstream(&self) -> &'static [&'static str] {
        &["train"]
    }
    fn tables(&self) -> Vec<&'static TableDef> {
        vec![&EVALUATIONS, &EVALUATION_SAMPLES]
    }
    fn plan(&self, config: &Config, up: &Upstream<'_>) -> Result<Vec<UnitSpec>> {
        let c = cfg(config)?;
        let mut specs = Vec::new();
        for model in up.units("train") {
            let arch = model.params["arch_index"].as_u64().unwrap_or_default();
            for attack in 0..c.attacks {
                let label = format!("arch {arch} attack {attack}");
                specs.push(arch_spec(arch, c.changed.contains(&arch), vec![model.unit], label, Some(attack)));
            }
        }
        Ok(specs)
    }
}

impl Runnable for Evaluate {
    fn run(&self, unit: &mut UnitContext<'_>) -> Result<()> {
        let arch = unit.params()["arch_index"].as_u64().unwrap_or_default();
        let attack_index = unit.params()["attack"].as_u64().unwrap_or_default();
        let n = unit.config().typed::<u64>("synthetic.samples")?;
        let (attack, eps) = if attack_index == 0 { ("clean", 0.0) } else { ("pgd", attack_index as f64) };
        // A network's accuracy falls with ε; each image is correct with that probability.
        let p = 0.9 * noise(&[arch]) / (1.0 + attack_index as f64);
        let correct: Vec<bool> = (0..n).map(|i| noise(&[arch, attack_index, i]) < p).collect();
        let n_correct = correct.iter().filter(|&&c| c).count() as i64;
        let rows = n as usize;
        let samples = EVALUATION_SAMPLES.batch(vec![
            Arc::new(Int64Array::from(vec![arch as i64; rows])),
            Arc::new(StringArray::from(vec!["synthetic"; rows])),
            Arc::new(Int64Array::from(vec![0; rows])),
            Arc::new(Int64Array::from((0..n as i64).collect::<Vec<_>>())),
            Arc::new(StringArray::from(vec![attack; rows])),
            Arc::new(Float64Array::from(vec![eps; rows])),
            Arc::new(BooleanArray::from(correct)),
        ])?;
        unit.write_table(&EVALUATION_SAMPLES, &[samples])?;
        let evaluations = EVALUATIONS.batch(vec![
            Arc::new(Int64Array::from(vec![arch as i64])),
            Arc::new(StringArray::from(vec!["synthetic"])),
            Arc::new(Int64Array::from(vec![0])),
            Arc::new(StringArray::from(vec![attack])),
            Arc::new(Float64Array::from(vec![eps])),
            Arc::new(Int64Array::from(vec![if attack_index == 0 { 0 } else { 20 }])),
            Arc::new(Int64Array::from(vec![n as i64])),
            Arc::new(Int64Array::from(vec![n_correct])),
            Arc::new(Float64Array::from(vec![n_correct as f64 / n.max(1) as f64])),
        ])?;
        unit.write_table(&EVALUATIONS, &[evaluations])
    }
}
