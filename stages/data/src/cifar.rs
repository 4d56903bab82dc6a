//! CIFAR-10 and CIFAR-100 in their official binary versions
//! (`cifar-10-batches-bin/`, `cifar-100-binary/`): fixed-size records of
//! label byte(s) followed by 3072 pixel bytes (R, G, B planes of 32×32).

use std::path::{Path, PathBuf};

use crate::{DataError, Dataset, Split};

const PIXELS: usize = 3 * 32 * 32;

/// Reads records of `label_bytes + 3072` bytes; `label_at` picks the label
/// byte (CIFAR-100: 1, the fine label).
fn read_records(
    path: &Path,
    label_bytes: usize,
    label_at: usize,
    classes: usize,
    split: &mut Split,
) -> Result<(), DataError> {
    let bytes = std::fs::read(path).map_err(|e| DataError::file(path, format!("cannot read: {e}")))?;
    let record = label_bytes + PIXELS;
    if bytes.is_empty() || bytes.len() % record != 0 {
        return Err(DataError::file(
            path,
            format!("{} bytes is not a whole number of {record}-byte records (truncated?)", bytes.len()),
        ));
    }
    for (i, chunk) in bytes.chunks_exact(record).enumerate() {
        let label = chunk[label_at] as usize;
        if label >= classes {
            return Err(DataError::file(path, format!("record {i} has label {label}, outside 0..{classes}")));
        }
        split.labels.push(label as u16);
        split.images.extend_from_slice(&chunk[label_bytes..]);
    }
    Ok(())
}

/// The files of CIFAR-10 under `root` (the `cifar-10-batches-bin` directory
/// or its parent): (train batches, test batch).
pub fn cifar10_files(root: &Path) -> (Vec<PathBuf>, PathBuf) {
    let dir =
        if root.join("cifar-10-batches-bin").is_dir() { root.join("cifar-10-batches-bin") } else { root.to_path_buf() };
    ((1..=5).map(|i| dir.join(format!("data_batch_{i}.bin"))).collect(), dir.join("test_batch.bin"))
}

/// The files of CIFAR-100 under `root` (the `cifar-100-binary` directory or
/// its parent): (train, test).
pub fn cifar100_files(root: &Path) -> (PathBuf, PathBuf) {
    let dir = if root.join("cifar-100-binary").is_dir() { root.join("cifar-100-binary") } else { root.to_path_buf() };
    (dir.join("train.bin"), dir.join("test.bin"))
}

/// CIFAR-10 from `root` (the `cifar-10-batches-bin` directory or its parent).
pub fn load_cifar10(root: &Path) -> Result<Dataset, DataError> {
    let (train_files, test_file) = cifar10_files(root);
    let mut train = Split::default();
    for file in &train_files {
        read_records(file, 1, 0, 10, &mut train)?;
    }
    let mut test = Split::default();
    read_records(&test_file, 1, 0, 10, &mut test)?;
    Ok(Dataset { name: "cifar10".into(), classes: 10, channels: 3, height: 32, width: 32, train, test })
}

/// CIFAR-100 (fine labels) from `root` (the `cifar-100-binary` directory or its parent).
pub fn load_cifar100(root: &Path) -> Result<Dataset, DataError> {
    let (train_file, test_file) = cifar100_files(root);
    let mut train = Split::default();
    read_records(&train_file, 2, 1, 100, &mut train)?;
    let mut test = Split::default();
    read_records(&test_file, 2, 1, 100, &mut test)?;
    Ok(Dataset { name: "cifar100".into(), classes: 100, channels: 3, height: 32, width: 32, train, test })
}
