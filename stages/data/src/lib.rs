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

use std::path::{Path, PathBuf};

pub use cifar::{cifar10_files, cifar100_files, load_cifar10, load_cifar100};
pub use dataset::{Dataset, Split, channel_stats};
pub use imagenet16::{imagenet16_files, load_imagenet16};
pub use subset::balanced_subset;
pub use synthetic::{SyntheticConfig, synthetic};

#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("{path}: {reason}")]
    File { path: String, reason: String },
    #[error("unknown dataset `{0}`: expected cifar10, cifar100 or imagenet16-120")]
    UnknownDataset(String),
    #[error("{root} lacks {missing} of the files of {dataset} (e.g. {first}); expected {expected}")]
    MissingFiles { dataset: String, root: String, missing: usize, first: String, expected: String },
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

/// The files `load` reads for an official dataset under `root`.
pub fn required_files(name: &str, root: &Path) -> Result<Vec<PathBuf>, DataError> {
    Ok(match name {
        "cifar10" => {
            let (mut files, test) = cifar10_files(root);
            files.push(test);
            files
        }
        "cifar100" => {
            let (train, test) = cifar100_files(root);
            vec![train, test]
        }
        "imagenet16-120" => {
            let (mut files, test) = imagenet16_files(root);
            files.push(test);
            files
        }
        other => return Err(DataError::UnknownDataset(other.to_string())),
    })
}

/// Checks, before anything is loaded, that `root` holds every file of the
/// dataset (their contents are checked when `load` reads them).
pub fn check_files(name: &str, root: &Path) -> Result<(), DataError> {
    if !root.is_dir() {
        return Err(DataError::file(root, "is not a directory"));
    }
    let files = required_files(name, root)?;
    let missing: Vec<&PathBuf> = files.iter().filter(|f| !f.is_file()).collect();
    match missing.first() {
        None => Ok(()),
        Some(first) => Err(DataError::MissingFiles {
            dataset: name.to_string(),
            root: root.display().to_string(),
            missing: missing.len(),
            first: first.display().to_string(),
            expected: files
                .iter()
                .map(|f| f.file_name().unwrap_or_default().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}
