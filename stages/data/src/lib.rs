//! Datasets for robbench: the official on-disk formats of CIFAR-10/100
//! (binary version) and NAS-Bench-201's ImageNet16-120 pickles, and a
//! generated synthetic dataset. Images are uint8 in
//! CHW order, labels 0-based.

mod cifar;
mod dataset;
mod imagenet16;
mod pickle;
mod subset;
mod synthetic;

use std::path::Path;

pub use cifar::{load_cifar10, load_cifar100};
pub use dataset::{Dataset, Split, channel_stats};
pub use imagenet16::load_imagenet16;
pub use subset::balanced_subset;
pub use synthetic::{SyntheticConfig, synthetic};

#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("{path}: {reason}")]
    File { path: String, reason: String },
    #[error("unknown dataset `{0}`: expected cifar10, cifar100 or imagenet16-120")]
    UnknownDataset(String),
    #[error("subset: {0}")]
    Subset(String),
}

impl DataError {
    pub(crate) fn file(path: &Path, reason: impl Into<String>) -> DataError {
        DataError::File { path: path.display().to_string(), reason: reason.into() }
    }
}

/// Loads an official dataset from its directory.
pub fn load(name: &str, root: &Path) -> Result<Dataset, DataError> {
    match name {
        "cifar10" => load_cifar10(root),
        "cifar100" => load_cifar100(root),
        "imagenet16-120" => load_imagenet16(root),
        other => Err(DataError::UnknownDataset(other.to_string())),
    }
}
