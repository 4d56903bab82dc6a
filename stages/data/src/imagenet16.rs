//! ImageNet16-120 as NAS-Bench-201 uses it: the Downsampled ImageNet 16×16
//! files `train_data_batch_1` … `train_data_batch_10` and `val_data`, each a
//! pickled dict with `data` (uint8 array, one 768-byte row per image: R, G, B
//! planes of 16×16) and `labels` (1-based ImageNet classes). Only classes
//! 1..=120 are kept, shifted to 0..119.

use std::path::{Path, PathBuf};

use crate::pickle::{Value, parse};
use crate::{DataError, Dataset, Split};

const ROW: usize = 3 * 16 * 16;
const CLASSES: usize = 120;

fn read_file(path: &Path, split: &mut Split) -> Result<(), DataError> {
    let bytes = std::fs::read(path).map_err(|e| DataError::file(path, format!("cannot read: {e}")))?;
    let value = parse(&bytes).map_err(|e| DataError::file(path, format!("not a readable pickle: {e}")))?;
    let data = match value.get("data") {
        Some(Value::Array(a)) => a,
        Some(_) => return Err(DataError::file(path, "`data` is not a numpy array")),
        None => return Err(DataError::file(path, "no `data` entry")),
    };
    if !matches!(data.dtype.as_str(), "u1" | "|u1" | "uint8") || data.shape.len() != 2 || data.shape[1] != ROW {
        return Err(DataError::file(
            path,
            format!("`data` must be uint8 of shape (n, {ROW}), got {} {:?}", data.dtype, data.shape),
        ));
    }
    let n = data.shape[0];
    if data.data.len() != n * ROW {
        return Err(DataError::file(path, format!("`data` holds {} bytes, expected {}", data.data.len(), n * ROW)));
    }
    let labels: Vec<i64> = match value.get("labels") {
        Some(Value::List(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::Int(l) => Ok(*l),
                _ => Err(DataError::file(path, format!("label {i} is not an integer"))),
            })
            .collect::<Result<_, _>>()?,
        Some(Value::Array(a)) if matches!(a.dtype.as_str(), "<i8" | "i8" | "int64") => {
            a.data.chunks_exact(8).map(|c| i64::from_le_bytes(c.try_into().expect("8 bytes"))).collect()
        }
        _ => return Err(DataError::file(path, "`labels` must be a list of integers or an int64 array")),
    };
    if labels.len() != n {
        return Err(DataError::file(path, format!("{} labels for {n} images", labels.len())));
    }
    for (i, &label) in labels.iter().enumerate() {
        if !(1..=1000).contains(&label) {
            return Err(DataError::file(path, format!("image {i} has label {label}, outside 1..=1000")));
        }
        if label as usize <= CLASSES {
            split.labels.push((label - 1) as u16);
            split.images.extend_from_slice(&data.data[i * ROW..(i + 1) * ROW]);
        }
    }
    Ok(())
}

/// The pickles of ImageNet16-120 in `root`: (train batches, validation).
pub fn imagenet16_files(root: &Path) -> (Vec<PathBuf>, PathBuf) {
    ((1..=10).map(|i| root.join(format!("train_data_batch_{i}"))).collect(), root.join("val_data"))
}

/// ImageNet16-120 from the directory holding the pickles.
pub fn load_imagenet16(root: &Path) -> Result<Dataset, DataError> {
    let (train_files, test_file) = imagenet16_files(root);
    let mut train = Split::default();
    for file in &train_files {
        read_file(file, &mut train)?;
    }
    let mut test = Split::default();
    read_file(&test_file, &mut test)?;
    Ok(Dataset { name: "imagenet16-120".into(), classes: CLASSES, channels: 3, height: 16, width: 16, train, test })
}
