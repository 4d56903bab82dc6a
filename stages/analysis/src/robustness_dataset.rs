//! Jung et al. (ICLR 2023), "Neural Architecture Design and Robustness: A
//! Dataset": attacks and common corruptions on the 6,466 standard-trained
//! NAS-Bench-201 networks.
//!
//! The dataset (data.robustness.vision; its helper `robustness_dataset.py`
//! reads `<root>/<dataset>/<key>_<measure>.json`) has one file per dataset,
//! key and measure. Each `<key>_accuracy.json` holds `{dataset: {key:
//! {"accuracy": {representative index: value, [value per ε] or [value per
//! severity]}}}}`, with the ε list (units of 1/255) of each attack key in
//! `meta.json` `epsilons`. Names:
//!
//! | key | metric | eps |
//! |---|---|---|
//! | `clean` | `clean` | None |
//! | `fgsm@Linf` | `fgsm` | each ε of `epsilons["fgsm@Linf"]` |
//! | `pgd@Linf` | `pgd` | ε list |
//! | `aa_apgd-ce@Linf` | `apgd-ce` | ε list |
//! | `aa_square@Linf` | `square` | ε list |
//! | `fog` (any of [`CORRUPTIONS`]) | `corruption:fog@1` … `corruption:fog@5` | None |
//!
//! (in general `[aa_]name@Linf` → `name`). A corruption key (CIFAR-10-C's 15
//! corruptions, `fog_accuracy.json` and so on, for CIFAR-10 and CIFAR-100
//! only) holds five values per network, severities 1 to 5; its metric is
//! named as robbench's own corruption metrics in `correlations`
//! (`corruption:<name>@<severity>`), so that the published values and
//! `corruption_evaluations` meet per cell in SQL. Datasets: `cifar10`,
//! `cifar100`, `ImageNet16-120` → `imagenet16-120`. The networks are
//! NAS-Bench-201's own checkpoints of one (unstated) training seed, so
//! `seed` is `None`.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use robbench_published::Input;
use serde_json::Value;

use crate::error::{AnalysisError, parse_json, read};
use crate::meta::Meta;
use crate::record::{Record, canonical_dataset, check_fraction};

/// `source` of the records.
pub const SOURCE: &str = "robustness-dataset";

/// The corruption keys of the dataset (`RobustnessDataset.keys_cc`): the 15
/// standard corruptions of CIFAR-10-C, each evaluated at severities 1–5.
pub(crate) const CORRUPTIONS: [&str; 15] = [
    "brightness",
    "contrast",
    "defocus_blur",
    "elastic_transform",
    "fog",
    "frost",
    "gaussian_noise",
    "glass_blur",
    "impulse_noise",
    "jpeg_compression",
    "motion_blur",
    "pixelate",
    "shot_noise",
    "snow",
    "zoom_blur",
];

/// Severities of every corruption key, in the order of its values.
const SEVERITIES: [u8; 5] = [1, 2, 3, 4, 5];

/// Imports `*_accuracy.json` files (e.g. those of the `cifar10/` and
/// `cifar100/` folders, see [`accuracy_files`]: attacks, clean and, where
/// present, corruptions) with the dataset's `meta.json`; records are sorted
/// by (dataset, index, metric, ε).
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

/// What a key of the dataset measures (table above).
enum Key {
    Clean,
    /// An attack, by its canonical name: one value per ε.
    Attack(String),
    /// A corruption: one value per severity.
    Corruption(&'static str),
}

/// The key's kind, `None` for an unknown key.
fn key_of(key: &str) -> Option<Key> {
    if key == "clean" {
        return Some(Key::Clean);
    }
    if let Some(name) = CORRUPTIONS.iter().find(|&&c| c == key) {
        return Some(Key::Corruption(name));
    }
    let attack = key.strip_suffix("@Linf")?;
    Some(Key::Attack(attack.strip_prefix("aa_").unwrap_or(attack).to_owned()))
}

/// The metric of a corruption at a severity: `corruption:fog@5`.
pub(crate) fn corruption_metric(corruption: &str, severity: u8) -> String {
    format!("corruption:{corruption}@{severity}")
}

/// What each of a key's values is: its metric and its ε.
fn columns(key: &Key, meta: &Meta, name: &str) -> Result<Vec<(String, Option<f64>)>, String> {
    Ok(match key {
        Key::Clean => vec![("clean".into(), None)],
        Key::Attack(attack) => meta
            .epsilons(name)
            .ok_or_else(|| "has no ε list in meta.json".to_string())?
            .iter()
            .map(|&eps| (attack.clone(), Some(eps)))
            .collect(),
        Key::Corruption(corruption) => SEVERITIES.iter().map(|&s| (corruption_metric(corruption, s), None)).collect(),
    })
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
            let kind = key_of(key).ok_or_else(|| {
                bad(entry.clone(), "is neither `clean`, an `…@Linf` attack nor a CIFAR-10-C corruption".into())
            })?;
            let columns = columns(&kind, meta, key).map_err(|reason| bad(entry.clone(), reason))?;
            let accuracy = content.get("accuracy").ok_or_else(|| bad(entry.clone(), "has no `accuracy`".into()))?;
            let accuracy: BTreeMap<u32, Vec<f64>> =
                parse_accuracies(accuracy, &entry, meta, &kind, columns.len()).map_err(|(e, r)| bad(e, r))?;
            for (index, values) in accuracy {
                for ((metric, eps), &value) in columns.iter().zip(&values) {
                    records.push(Record {
                        source: SOURCE.into(),
                        arch_index: index,
                        arch: meta.arch(index as usize).to_owned(),
                        dataset: dataset.into(),
                        metric: metric.clone(),
                        eps: *eps,
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

/// Per representative index its values (one clean value, one per ε or one
/// per severity: `columns` of them); errors are (entry, reason).
fn parse_accuracies(
    accuracy: &Value,
    entry: &str,
    meta: &Meta,
    key: &Key,
    columns: usize,
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
        let values: Vec<&Value> = match (value, key) {
            (Value::Array(values), Key::Attack(_) | Key::Corruption(_)) if values.len() == columns => {
                values.iter().collect()
            }
            (Value::Array(values), Key::Attack(_)) => {
                return Err((entry, format!("has {} values for the {columns} ε of meta.json", values.len())));
            }
            (Value::Array(values), Key::Corruption(_)) => {
                return Err((entry, format!("has {} values, not one per severity 1 to {columns}", values.len())));
            }
            (value, Key::Clean) if !value.is_array() => vec![value],
            (_, Key::Corruption(_)) => {
                return Err((entry, format!("is not a list of {columns} values, one per severity")));
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> Input {
        Input::Shipped(&robbench_published::ROBUSTNESS_META)
    }

    /// A dataset folder holding `files` (name, JSON text), as the official layout has them.
    fn folder(files: &[(&str, &str)]) -> (tempfile::TempDir, Vec<Input>) {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        let inputs = accuracy_files(dir.path()).unwrap();
        (dir, inputs)
    }

    #[test]
    fn corruption_files_become_one_metric_per_corruption_and_severity() {
        let (_dir, files) = folder(&[
            ("clean_accuracy.json", r#"{"cifar10": {"clean": {"accuracy": {"0": 0.9, "1": 0.8}}}}"#),
            (
                "fog_accuracy.json",
                r#"{"cifar10": {"fog": {"accuracy": {"0": [0.663, 0.518, 0.404, 0.303, 0.177], "1": [0.861, 0.792, 0.714, 0.612, 0.372]}}}}"#,
            ),
            (
                "gaussian_noise_accuracy.json",
                r#"{"cifar100": {"gaussian_noise": {"accuracy": {"0": [0.5, 0.4, 0.3, 0.2, 0.1]}}}}"#,
            ),
        ]);
        let records = import_robustness_dataset(&meta(), &files).unwrap();
        let of = |dataset: &str, arch: u32, metric: &str| -> Vec<f64> {
            records
                .iter()
                .filter(|r| r.dataset == dataset && r.arch_index == arch && r.metric == metric)
                .map(|r| r.value)
                .collect()
        };
        assert_eq!(of("cifar10", 0, "corruption:fog@1"), [0.663]);
        assert_eq!(of("cifar10", 1, "corruption:fog@5"), [0.372]);
        assert_eq!(of("cifar100", 0, "corruption:gaussian_noise@3"), [0.3]);
        assert_eq!(of("cifar10", 0, "clean"), [0.9]);
        assert_eq!(records.len(), 2 + 2 * 5 + 5);
        assert!(records.iter().filter(|r| r.metric.starts_with("corruption:")).all(|r| r.eps.is_none()));
    }

    #[test]
    fn a_malformed_corruption_file_is_refused_naming_the_file_and_entry() {
        for (json, culprit) in [
            (r#"{"cifar10": {"fog": {"accuracy": {"0": [0.6, 0.5, 0.4, 0.3]}}}}"#, "cifar10.fog.accuracy.0"),
            (r#"{"cifar10": {"fog": {"accuracy": {"0": 0.6}}}}"#, "one per severity"),
            (r#"{"cifar10": {"fog": {"accuracy": {"0": [0.6, 0.5, 0.4, 0.3, 17.7]}}}}"#, "not a fraction"),
            (r#"{"cifar10": {"fogg": {"accuracy": {}}}}"#, "cifar10.fogg"),
            (r#"{"cifar10": {"fog": "#, "not valid JSON"),
        ] {
            let (dir, files) = folder(&[("fog_accuracy.json", json)]);
            let err = import_robustness_dataset(&meta(), &files).unwrap_err().to_string();
            let path = dir.path().join("fog_accuracy.json").display().to_string();
            assert!(err.contains(culprit) && err.contains(&path), "{json}: {err}");
        }
    }
}
