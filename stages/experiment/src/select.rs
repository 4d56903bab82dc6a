//! Architecture selection and the `architectures` table.

use std::collections::BTreeSet;
use std::sync::Arc;

use anyhow::{Context, Result};
use arrow::array::{ArrayRef, Float64Array, Int64Array, StringArray};
use robbench_pipeline::{Config, Runnable, Stage, UnitContext, UnitSpec, Upstream};
use robbench_schemas::{ARCHITECTURES, TableDef};
use robbench_space::{Arch, ModelShape, Space, cost};
use serde_json::json;

use crate::config::{ArchitecturesConfig, DatasetName, ModelConfig, Selection};
use crate::reads::{paths, read};

/// The selected NAS-Bench-201 indices, sorted and without duplicates.
pub fn select_architectures(cfg: &ArchitecturesConfig) -> Result<Vec<usize>> {
    let space = Space::nb201();
    let selected: BTreeSet<usize> = match cfg.select {
        Selection::Indices => cfg.indices.iter().copied().collect(),
        Selection::Strings => cfg
            .strings
            .iter()
            .map(|s| Ok(space.index_of(&s.parse::<Arch>().context("architectures.strings")?)))
            .collect::<Result<_>>()?,
        Selection::Unique => space.representatives().into_iter().collect(),
        Selection::Sample => {
            let mut reps = space.representatives();
            robbench_rng::Rng::derive(cfg.sample_seed, "architecture-sample", 0).shuffle(&mut reps);
            reps.into_iter().take(cfg.sample_size).collect()
        }
    };
    Ok(selected.into_iter().collect())
}

/// One network of the experiment: a selected architecture and a seed, on a
/// prepared dataset — what `train` trains and `ntk` scores.
pub struct ModelUnit<'a> {
    pub data: &'a robbench_pipeline::PlannedUnitView<'a>,
    pub params: serde_json::Value,
    pub label: String,
}

/// Every selected architecture × training seed × prepared dataset.
pub fn model_units<'a>(config: &Config, up: &'a Upstream<'a>) -> Result<Vec<ModelUnit<'a>>> {
    let indices = select_architectures(&config.typed::<ArchitecturesConfig>("architectures")?)?;
    let seeds: Vec<u64> = config.typed("train.seeds")?;
    let space = Space::nb201();
    let mut out = Vec::new();
    for data in up.units("prepare") {
        for &index in &indices {
            for &seed in &seeds {
                out.push(ModelUnit {
                    data,
                    label: format!("arch {index} · {} · seed {seed}", data.params["dataset"].as_str().unwrap_or("?")),
                    params: json!({
                        "arch_index": index,
                        "arch": space.arch(index)?.to_string(),
                        "dataset": data.params["dataset"],
                        "seed": seed,
                    }),
                });
            }
        }
    }
    Ok(out)
}

/// What an `architectures` unit reads: the skeleton and the dataset's shape.
#[derive(serde::Deserialize)]
pub struct ArchitecturesReads {
    model: ModelConfig,
    #[serde(rename = "dataset.name")]
    dataset: DatasetName,
    #[serde(rename = "dataset.classes")]
    synthetic_classes: usize,
    #[serde(rename = "dataset.image_size")]
    synthetic_size: usize,
}

/// The model shape the configured skeleton and dataset give.
pub fn model_shape(reads: &ArchitecturesReads) -> ModelShape {
    let (model, (classes, input_size)) =
        (&reads.model, reads.dataset.shape(reads.synthetic_classes, reads.synthetic_size));
    ModelShape {
        channels: model.channels as u64,
        cells_per_stage: model.cells as u64,
        classes: classes as u64,
        input_size: input_size as u64,
        in_channels: 3,
    }
}

pub struct Architectures;

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

    fn plan(&self, config: &Config, _: &Upstream<'_>) -> Result<Vec<UnitSpec>> {
        let indices = select_architectures(&config.typed("architectures")?)?;
        Ok(vec![UnitSpec {
            label: format!("{} architectures", indices.len()),
            params: json!({ "indices": indices }),
            config_keys: paths::<ArchitecturesReads>(),
            inputs: vec![],
            shard_group: None,
        }])
    }
}

impl Runnable for Architectures {
    fn run(&self, unit: &mut UnitContext<'_>) -> Result<()> {
        let indices: Vec<usize> = serde_json::from_value(unit.params()["indices"].clone())?;
        let shape = model_shape(&read(unit.config())?);
        let space = Space::nb201();
        let archs: Vec<Arch> = indices.iter().map(|&i| space.arch(i)).collect::<Result<_, _>>()?;
        let costs: Vec<_> = archs.iter().map(|a| cost(a, &shape)).collect();
        let n = indices.len();
        let constant = |v: u64| -> ArrayRef { Arc::new(Int64Array::from(vec![v as i64; n])) };
        let batch = ARCHITECTURES.batch(vec![
            Arc::new(Int64Array::from(indices.iter().map(|&i| i as i64).collect::<Vec<_>>())),
            Arc::new(StringArray::from(archs.iter().map(|a| a.to_string()).collect::<Vec<_>>())),
            Arc::new(Int64Array::from(
                indices.iter().map(|&i| space.unique_index(i).map(|u| u as i64)).collect::<Result<Vec<_>, _>>()?,
            )),
            constant(shape.channels),
            constant(shape.cells_per_stage),
            constant(shape.classes),
            constant(shape.input_size),
            Arc::new(Int64Array::from(costs.iter().map(|c| c.params as i64).collect::<Vec<_>>())),
            Arc::new(Float64Array::from(costs.iter().map(|c| c.flops).collect::<Vec<_>>())),
        ])?;
        unit.write_table(&ARCHITECTURES, &[batch])
    }
}
