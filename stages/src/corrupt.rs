//! Common-corruption evaluation: each trained network, in eval mode,
//! classifies the first test images under every configured corruption of
//! CIFAR-10-C (`robbench-corruptions`: `make_cifar_c.py`'s parameters) and
//! severity. A corrupted image is a function of (image, corruption,
//! severity, seed) only, so a unit is reproducible byte for byte.

use std::sync::Arc;

use anyhow::{Context, Result, ensure};
use arrow::array::{BooleanArray, Float64Array, Int64Array, StringArray};
use robbench_corruptions::{Corruption, Image, Severity, corrupt};
use robbench_experiment::units::corrupt::CorruptionReads;
use robbench_experiment::units::evaluate::Images;
use robbench_nn::TinyNetwork;
use robbench_pipeline::{Runnable, UnitContext, store};
use robbench_schemas::{CORRUPTION_EVALUATIONS, CORRUPTION_SAMPLES};
use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};

use crate::data::{DATA_FILE, DataFile, to_pixels};
use crate::evaluate::limit;
use crate::reads::read;
use crate::train::CHECKPOINT;

pub struct Corrupt {
    pub device: Device,
}

robbench_experiment::plans_as!(Corrupt, robbench_experiment::units::corrupt::Corrupt);

/// The network's answers on one corruption × severity, per image; kept in
/// scratch so an interrupted unit resumes at the next pair.
#[derive(Serialize, Deserialize)]
struct Answers {
    predicted: Vec<i64>,
    loss: Vec<f64>,
    confidence: Vec<f64>,
}

impl Runnable for Corrupt {
    fn run(&self, unit: &mut UnitContext<'_>) -> Result<()> {
        let params = unit.params().clone();
        let images: Images = read(unit.config())?;
        let reads: CorruptionReads = read(unit.config())?;
        let data = DataFile::load(&unit.input("prepare")?.file(DATA_FILE))?;
        let net = TinyNetwork::load(&unit.input("train")?.file(CHECKPOINT), self.device)?;
        net.use_fastest_layout();
        let n = limit(reads.samples, limit(images.samples, data.test_images.size()[0]));
        let clean = test_images(&data.test_images.narrow(0, 0, n))?;
        let labels = data.test_labels.narrow(0, 0, n).to_device(self.device);
        let severities = reads.severities.iter().map(|&s| Severity::new(s as i64)).collect::<Result<Vec<_>, _>>()?;
        let scratch = unit.scratch_dir()?.to_path_buf();
        let total = reads.names.len() * severities.len();
        let mut results = Vec::with_capacity(total);
        for &corruption in &reads.names {
            for &severity in &severities {
                let saved = scratch.join(format!("{corruption}-{severity}.json"));
                let answers = match std::fs::read(&saved).ok().and_then(|b| serde_json::from_slice::<Answers>(&b).ok())
                {
                    Some(a) if a.predicted.len() == n as usize => a,
                    _ => {
                        let corrupted = clean
                            .iter()
                            .map(|image| corrupt(image, corruption, severity, reads.seed))
                            .collect::<Result<Vec<_>, _>>()?;
                        let answers = classify(&net, &corrupted, &labels, images.batch_size as i64, self.device)?;
                        store::write_atomic(&saved, &serde_json::to_vec(&answers)?)?;
                        answers
                    }
                };
                results.push((corruption, severity, answers));
                unit.progress(results.len() as f64 / total as f64, corruption.name());
            }
        }
        let labels = Vec::<i64>::try_from(labels.to_device(Device::Cpu))?;
        let arch_index = params["arch_index"].as_i64().context("arch_index")?;
        let dataset = params["dataset"].as_str().context("dataset")?;
        let seed = params["seed"].as_i64().context("seed")?;
        write_tables(unit, (arch_index, dataset, seed), &labels, &results)
    }
}

/// uint8 images (N, C, H, W) as the corruptions' H×W×3 images.
fn test_images(images: &Tensor) -> Result<Vec<Image>> {
    let (n, c, h, w) = images.size4()?;
    ensure!(c == 3, "common corruptions are defined for RGB images; the dataset's have {c} channel(s)");
    let hwc = Vec::<u8>::try_from(images.permute([0, 2, 3, 1]).contiguous().view([-1]))?;
    let (h, w) = (h as usize, w as usize);
    (0..n as usize).map(|i| Ok(Image::new(h, w, hwc[i * h * w * 3..(i + 1) * h * w * 3].to_vec())?)).collect()
}

/// The network's prediction, cross-entropy and confidence (the predicted
/// class's softmax probability) for each image.
fn classify(net: &TinyNetwork, images: &[Image], labels: &Tensor, batch: i64, device: Device) -> Result<Answers> {
    let (h, w) = (images[0].height() as i64, images[0].width() as i64);
    let bytes: Vec<u8> = images.iter().flat_map(|i| i.pixels().iter().copied()).collect();
    let all = Tensor::from_slice(&bytes).view([images.len() as i64, h, w, 3]).permute([0, 3, 1, 2]);
    let mut answers = Answers { predicted: Vec::new(), loss: Vec::new(), confidence: Vec::new() };
    let mut start = 0;
    while start < images.len() as i64 {
        let len = batch.min(images.len() as i64 - start);
        let x = to_pixels(&all.narrow(0, start, len), device);
        let y = labels.narrow(0, start, len);
        let (predicted, loss, confidence) = tch::no_grad(|| {
            let log_p = net.forward_t(&x, false).log_softmax(-1, Kind::Double);
            let loss = -log_p.gather(1, &y.unsqueeze(1), false).squeeze_dim(1);
            let (best, predicted) = log_p.max_dim(1, false);
            (predicted, loss, best.exp())
        });
        answers.predicted.extend(Vec::<i64>::try_from(predicted.to_device(Device::Cpu))?);
        answers.loss.extend(Vec::<f64>::try_from(loss.to_device(Device::Cpu))?);
        answers.confidence.extend(Vec::<f64>::try_from(confidence.to_device(Device::Cpu))?);
        start += len;
    }
    Ok(answers)
}

fn write_tables(
    unit: &mut UnitContext<'_>,
    (arch_index, dataset, seed): (i64, &str, i64),
    labels: &[i64],
    results: &[(Corruption, Severity, Answers)],
) -> Result<()> {
    let k = results.len();
    let n = labels.len();
    let correct: Vec<Vec<bool>> =
        results.iter().map(|(_, _, a)| a.predicted.iter().zip(labels).map(|(p, y)| p == y).collect()).collect();
    let n_correct: Vec<i64> = correct.iter().map(|c| c.iter().filter(|&&c| c).count() as i64).collect();
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let summary = CORRUPTION_EVALUATIONS.batch(vec![
        Arc::new(Int64Array::from(vec![arch_index; k])),
        Arc::new(StringArray::from(vec![dataset; k])),
        Arc::new(Int64Array::from(vec![seed; k])),
        Arc::new(StringArray::from(results.iter().map(|(c, _, _)| c.name()).collect::<Vec<_>>())),
        Arc::new(StringArray::from(results.iter().map(|(c, _, _)| c.family().to_string()).collect::<Vec<_>>())),
        Arc::new(BooleanArray::from(results.iter().map(|(c, _, _)| c.is_standard()).collect::<Vec<_>>())),
        Arc::new(Int64Array::from(results.iter().map(|(_, s, _)| i64::from(s.get())).collect::<Vec<_>>())),
        Arc::new(Int64Array::from(vec![n as i64; k])),
        Arc::new(Int64Array::from(n_correct.clone())),
        Arc::new(Float64Array::from(n_correct.iter().map(|&c| c as f64 / n as f64).collect::<Vec<_>>())),
        Arc::new(Float64Array::from(results.iter().map(|(_, _, a)| mean(&a.loss)).collect::<Vec<_>>())),
        Arc::new(Float64Array::from(results.iter().map(|(_, _, a)| mean(&a.confidence)).collect::<Vec<_>>())),
    ])?;
    unit.write_table(&CORRUPTION_EVALUATIONS, &[summary])?;
    let mut per_sample = Vec::with_capacity(k);
    for ((corruption, severity, answers), correct) in results.iter().zip(correct) {
        per_sample.push(CORRUPTION_SAMPLES.batch(vec![
            Arc::new(Int64Array::from(vec![arch_index; n])),
            Arc::new(StringArray::from(vec![dataset; n])),
            Arc::new(Int64Array::from(vec![seed; n])),
            Arc::new(Int64Array::from((0..n as i64).collect::<Vec<_>>())),
            Arc::new(StringArray::from(vec![corruption.name(); n])),
            Arc::new(Int64Array::from(vec![i64::from(severity.get()); n])),
            Arc::new(Int64Array::from(answers.predicted.clone())),
            Arc::new(BooleanArray::from(correct)),
        ])?);
    }
    unit.write_table(&CORRUPTION_SAMPLES, &per_sample)
}
