//! Dataset prep: load (or generate) the dataset, take the configured
//! class-balanced subsets, and publish images, labels and normalisation
//! constants for the training and evaluation units.

use std::sync::Arc;

use anyhow::{Context, Result};
use arrow::array::{ArrayRef, BinaryArray, Float64Builder, Int64Array, ListBuilder, StringArray};
use robbench_data::{Dataset, Split};
use robbench_experiment::units::prepare::PrepareReads;
use robbench_pipeline::{Runnable, UnitContext};
use robbench_schemas::{DATASETS, SAMPLES};

use crate::config::DatasetName;
use crate::data::{DATA_FILE, DataFile};
use crate::reads::read;

pub struct Prepare;

robbench_experiment::plans_as!(Prepare, robbench_experiment::units::prepare::Prepare);

impl Runnable for Prepare {
    fn run(&self, unit: &mut UnitContext<'_>) -> Result<()> {
        let cfg = read::<PrepareReads>(unit.config())?.dataset;
        unit.progress(0.0, "loading");
        let mut dataset = if cfg.name == DatasetName::Synthetic {
            robbench_data::synthetic(&robbench_data::SyntheticConfig {
                seed: cfg.seed,
                train: cfg.train_size,
                test: cfg.test_size,
                size: cfg.image_size,
                classes: cfg.classes,
            })
        } else {
            robbench_data::load(cfg.name.as_str(), std::path::Path::new(&cfg.root))?
        };
        if cfg.name != DatasetName::Synthetic {
            if cfg.train_size > 0 {
                dataset.train =
                    robbench_data::balanced_subset(&dataset.train, cfg.train_size, dataset.classes, cfg.seed)
                        .context("dataset.train_size")?;
            }
            if cfg.test_size > 0 {
                dataset.test = robbench_data::balanced_subset(&dataset.test, cfg.test_size, dataset.classes, cfg.seed)
                    .context("dataset.test_size")?;
            }
        }
        let (mean, std) = robbench_data::channel_stats(&dataset.train);
        unit.progress(0.5, "writing");
        // The model normalises with the train split's statistics.
        let file = DataFile::from_dataset(&dataset, mean, std);
        file.save(&unit.output_file(DATA_FILE)?)?;
        let samples: Vec<_> = [("train", &dataset.train), ("test", &dataset.test)]
            .into_iter()
            .map(|(split, data)| samples_batch(&dataset, split, data))
            .collect::<Result<_>>()?;
        unit.write_table(&SAMPLES, &samples)?;
        let stats = datasets_batch(&dataset)?;
        unit.write_table(&DATASETS, &[stats])?;
        Ok(())
    }
}

fn samples_batch(dataset: &Dataset, split: &str, data: &Split) -> Result<arrow::record_batch::RecordBatch> {
    let n = data.len();
    let constant = |v: usize| -> ArrayRef { Arc::new(Int64Array::from(vec![v as i64; n])) };
    Ok(SAMPLES.batch(vec![
        Arc::new(StringArray::from(vec![dataset.name.as_str(); n])),
        Arc::new(StringArray::from(vec![split; n])),
        Arc::new(Int64Array::from((0..n as i64).collect::<Vec<_>>())),
        Arc::new(Int64Array::from(data.labels.iter().map(|&l| l as i64).collect::<Vec<_>>())),
        Arc::new(BinaryArray::from_iter_values((0..n).map(|i| data.image(i)))),
        constant(dataset.height),
        constant(dataset.width),
        constant(dataset.channels),
    ])?)
}

fn datasets_batch(dataset: &Dataset) -> Result<arrow::record_batch::RecordBatch> {
    let item = Arc::new(arrow::datatypes::Field::new("item", arrow::datatypes::DataType::Float64, false));
    let mut means = ListBuilder::new(Float64Builder::new()).with_field(item.clone());
    let mut stds = ListBuilder::new(Float64Builder::new()).with_field(item);
    let splits = [&dataset.train, &dataset.test];
    for split in splits {
        let (mean, std) = robbench_data::channel_stats(split);
        means.values().append_slice(&mean);
        means.append(true);
        stds.values().append_slice(&std);
        stds.append(true);
    }
    let same = |v: usize| -> ArrayRef { Arc::new(Int64Array::from(vec![v as i64; 2])) };
    Ok(DATASETS.batch(vec![
        Arc::new(StringArray::from(vec![dataset.name.as_str(); 2])),
        Arc::new(StringArray::from(vec!["train", "test"])),
        Arc::new(Int64Array::from(splits.iter().map(|s| s.len() as i64).collect::<Vec<_>>())),
        same(dataset.classes),
        same(dataset.channels),
        same(dataset.height),
        same(dataset.width),
        Arc::new(means.finish()),
        Arc::new(stds.finish()),
    ])?)
}
