//! The prepared dataset as tensors: what `prepare` hands to training and
//! evaluation (one safetensors file, uint8 images, int64 labels).

use std::path::Path;

use anyhow::{Context, Result, bail};
use robbench_data::Dataset;
use tch::{Device, Kind, Tensor};

pub const DATA_FILE: &str = "data.safetensors";

pub struct DataFile {
    pub train_images: Tensor,
    pub train_labels: Tensor,
    pub test_images: Tensor,
    pub test_labels: Tensor,
    /// Per-channel normalisation constants (train split), as the model uses them.
    pub mean: Vec<f64>,
    pub std: Vec<f64>,
    pub classes: i64,
}

fn images(split: &robbench_data::Split, d: &Dataset) -> Tensor {
    Tensor::from_slice(&split.images).view([split.len() as i64, d.channels as i64, d.height as i64, d.width as i64])
}

fn labels(split: &robbench_data::Split) -> Tensor {
    Tensor::from_slice(&split.labels.iter().map(|&l| l as i64).collect::<Vec<_>>())
}

impl DataFile {
    pub fn from_dataset(d: &Dataset, mean: Vec<f64>, std: Vec<f64>) -> DataFile {
        DataFile {
            train_images: images(&d.train, d),
            train_labels: labels(&d.train),
            test_images: images(&d.test, d),
            test_labels: labels(&d.test),
            mean,
            std,
            classes: d.classes as i64,
        }
    }

    /// The network a unit trains or scores: `arch` in the configured
    /// skeleton, with this dataset's classes and normalisation.
    pub fn network_spec(&self, arch: &str, model: &crate::config::ModelConfig) -> Result<robbench_nn::NetworkSpec> {
        Ok(robbench_nn::NetworkSpec {
            arch: arch.parse()?,
            channels: model.channels,
            cells_per_stage: model.cells,
            classes: self.classes,
            mean: self.mean.clone(),
            std: self.std.clone(),
        })
    }

    pub fn save(&self, path: &Path) -> Result<()> {
        let meta = Tensor::from_slice(&[self.classes as f64]);
        let mean = Tensor::from_slice(&self.mean);
        let std = Tensor::from_slice(&self.std);
        Tensor::write_safetensors(
            &[
                ("train_images", &self.train_images),
                ("train_labels", &self.train_labels),
                ("test_images", &self.test_images),
                ("test_labels", &self.test_labels),
                ("mean", &mean),
                ("std", &std),
                ("classes", &meta),
            ],
            path,
        )
        .with_context(|| format!("cannot write {}", path.display()))
    }

    pub fn load(path: &Path) -> Result<DataFile> {
        let tensors =
            Tensor::read_safetensors(path).with_context(|| format!("cannot read prepared data {}", path.display()))?;
        let get = |name: &str| -> Result<Tensor> {
            match tensors.iter().position(|(n, _)| n == name) {
                Some(i) => Ok(tensors[i].1.shallow_clone()),
                None => bail!("{} has no tensor `{name}`", path.display()),
            }
        };
        let to_vec = |t: Tensor| -> Result<Vec<f64>> { Ok(Vec::<f64>::try_from(t.to_kind(Kind::Double))?) };
        Ok(DataFile {
            train_images: get("train_images")?,
            train_labels: get("train_labels")?,
            test_images: get("test_images")?,
            test_labels: get("test_labels")?,
            mean: to_vec(get("mean")?)?,
            std: to_vec(get("std")?)?,
            classes: get("classes")?.double_value(&[0]) as i64,
        })
    }
}

/// uint8 images (N, C, H, W) → float pixels in [0, 1] on `device`.
pub fn to_pixels(images: &Tensor, device: Device) -> Tensor {
    images.to_device(device).to_kind(Kind::Float) / 255.0
}
