//! Jung et al. (ICLR 2023), "Neural Architecture Design and Robustness: A
//! Dataset": attacks on the 6,466 standard-trained NAS-Bench-201 networks.
//!
//! Each `*_accuracy.json` holds `{dataset: {key: {"accuracy": {representative
//! index: value or [value per ε]}}}}`, with the ε list (units of 1/255) of each
//! key in `meta.json` `epsilons`. Names:
//!
//! | key | metric | eps |
//! |---|---|---|
//! | `clean` | `clean` | None |
//! | `fgsm@Linf` | `fgsm` | each ε of `epsilons["fgsm@Linf"]` |
//! | `pgd@Linf` | `pgd` | ε list |
//! | `aa_apgd-ce@Linf` | `apgd-ce` | ε list |
//! | `aa_square@Linf` | `square` | ε list |
//!
//! (in general `[aa_]name@Linf` → `name`). Datasets: `cifar10`, `cifar100`,
//! `ImageNet16-120` → `imagenet16-120`. The networks are NAS-Bench-201's own
//! checkpoints of one (unstated) training seed, so `seed` is `None`.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use robbench_published::Input;
use serde_json::Value;

use crate::error::{AnalysisError, parse_json, read};
use crate::meta::Meta;
use crate::record::{Record, canonical_dataset, check_fraction};

/// `source` of the records.
pub const SOURCE: &str = "robustness-dataset";

/// Imports `*_accuracy.json` files (e.g. those of the `cifar10/` and
/// `cifar100/` folders, see [`accuracy_files`]) with the dataset's
/// `meta.json`; records are sorted by (dataset, index, metric, ε).
pub fn import_robustness_dataset(meta: &Input, files: &[Input]) -> Result<Vec<Record>, AnalysisError> {
    let meta = Meta::load(meta)?;
    let mut records = Vec::new();
    // (dataset, key) → the file that gave it: a second file with the same
    // table would otherwise duplicate every record.
    let mut seen = HashMap::new();
    for file in files {
        import_file(&meta, file, &mut records, &mut seen)?;
    }
    records.sort_by(|a, b| {
        (&a.dataset, a.arch_index, &a.metric)
            .cmp(&(&b.dataset, b.arch_index, &b.metric))
            .then(a.eps.partial_cmp(&b.eps).expect("ε values are finite"))
    });
    Ok(records)
}

/// The `*_accuracy.json` files of a dataset folder, sorted by name.
pub fn accuracy_files(dir: &Path) -> Result<Vec<Input>, AnalysisError> {
    let io = |source| AnalysisError::Io { path: dir.to_owned(), source };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.ends_with("_accuracy.json")) {
            files.push(path);
        }
    }
    files.sort();
    Ok(files.into_iter().map(Input::File).collect())
}

/// Canonical metric of a key (table above), `None` for an unknown key.
fn metric_of(key: &str) -> Option<String> {
    if key == "clean" {
        return Some("clean".into());
    }
    let attack = key.strip_suffix("@Linf")?;
    Some(attack.strip_prefix("aa_").unwrap_or(attack).to_owned())
}

fn import_file(
    meta: &Meta,
    input: &Input,
    records: &mut Vec<Record>,
    seen: &mut HashMap<(&'static str, String), PathBuf>,
) -> Result<(), AnalysisError> {
    let path = &input.origin();
    let root: Value = parse_json(path, &read(input)?)?;
    let bad = |entry: String, reason: String| AnalysisError::malformed(path, entry, reason);
    for (dataset_name, keys) in object(&root, path, "top level")? {
        let dataset = canonical_dataset(dataset_name)
            .ok_or_else(|| bad(dataset_name.clone(), "is not a known dataset".into()))?;
        for (key, content) in object(keys, path, dataset_name)? {
            let entry = format!("{dataset_name}.{key}");
            if let Some(earlier) = seen.insert((dataset, key.clone()), path.to_owned()) {
                return Err(bad(entry, format!("is also in {}", earlier.display())));
            }
            let metric =
                metric_of(key).ok_or_else(|| bad(entry.clone(), "is neither `clean` nor an `…@Linf` attack".into()))?;
            let epsilons: Option<&[f64]> = match metric.as_str() {
                "clean" => None,
                _ => Some(meta.epsilons(key).ok_or_else(|| bad(entry.clone(), "has no ε list in meta.json".into()))?),
            };
            let accuracy = content.get("accuracy").ok_or_else(|| bad(entry.clone(), "has no `accuracy`".into()))?;
            let accuracy: BTreeMap<u32, Vec<f64>> =
                parse_accuracies(accuracy, &entry, meta, epsilons).map_err(|(e, r)| bad(e, r))?;
            for (index, values) in accuracy {
                for (k, &value) in values.iter().enumerate() {
                    records.push(Record {
                        source: SOURCE.into(),
                        arch_index: index,
                        arch: meta.arch(index as usize).to_owned(),
                        dataset: dataset.into(),
                        metric: metric.clone(),
                        eps: epsilons.map(|e| e[k]),
                        seed: None,
                        value,
                    });
                }
            }
        }
    }
    Ok(())
}

fn object<'v>(value: &'v Value, path: &Path, entry: &str) -> Result<&'v serde_json::Map<String, Value>, AnalysisError> {
    value.as_object().ok_or_else(|| AnalysisError::malformed(path, entry, "is not an object"))
}

/// Per representative index its values (one, or one per ε); errors are
/// (entry, reason).
fn parse_accuracies(
    accuracy: &Value,
    entry: &str,
    meta: &Meta,
    epsilons: Option<&[f64]>,
) -> Result<BTreeMap<u32, Vec<f64>>, (String, String)> {
    let entry = format!("{entry}.accuracy");
    let map = accuracy.as_object().ok_or_else(|| (entry.clone(), "is not an object".to_string()))?;
    let mut out = BTreeMap::new();
    for (id, value) in map {
        let entry = format!("{entry}.{id}");
        let index = id
            .parse::<u32>()
            .ok()
            .filter(|&i| meta.representative(i as usize) == Some(i))
            .ok_or_else(|| (entry.clone(), "is not a representative index of meta.json".to_string()))?;
        let values: Vec<&Value> = match (value, epsilons) {
            (Value::Array(values), Some(eps)) if values.len() == eps.len() => values.iter().collect(),
            (Value::Array(values), Some(eps)) => {
                return Err((entry, format!("has {} values for the {} ε of meta.json", values.len(), eps.len())));
            }
            (value, None) if !value.is_array() => vec![value],
            _ => return Err((entry, "is not one value per ε (or a single clean value)".to_string())),
        };
        let values = values
            .into_iter()
            .map(|v| v.as_f64().ok_or_else(|| format!("{v} is not a number")).and_then(check_fraction))
            .collect::<Result<Vec<f64>, String>>()
            .map_err(|reason| (entry.clone(), reason))?;
        out.insert(index, values);
    }
    Ok(out)
}
