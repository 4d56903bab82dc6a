//! The released `NAS-RobBench-201_all.json`.
//!
//! Assumed format (from the release's reader `get_result(dataset, id, metric)
//! = res[dataset][isomorph(id)][metric]["1"]`; the file itself is not in this
//! repository):
//!
//! ```json
//! {"cifar10": {"1000": {"val_acc": {"1": 0.77, "2": 0.76, "3": 0.77, "threeseed": 0.7667},
//!                       "val_fgsm_3.0_acc": {"1": 0.6729999780654907, ...},
//!                       "autoattack": 0.43}}, "cifar100": {...}, "imagenet": {...}}
//! ```
//!
//! dataset → NB201 index (a string) → metric → either a map seed → value, where
//! a seed is an integer string or `threeseed` (the mean over the seeds, stored
//! with `seed: None`), or a bare number (also `seed: None`). Indices that are
//! not representatives are resolved through `meta.json`; two entries that land
//! on the same (dataset, representative, metric, ε, seed) must agree.

use robbench_published::Input;
use std::collections::BTreeMap;

use serde_json::Value;

use super::{SOURCE, is_accuracy, parse_metric};
use crate::error::{AnalysisError, parse_json, read};
use crate::meta::Meta;
use crate::record::{Record, canonical_dataset, check_fraction};

/// Seed key of the mean over seeds.
const MEAN_SEED: &str = "threeseed";

type Key = (String, u32, String, Option<u64>, Option<i64>);

/// Imports `NAS-RobBench-201_all.json` (format above) with its `meta.json`:
/// one record per representative, dataset, metric, ε and seed, sorted by
/// (dataset, index, metric, ε, seed).
pub fn import_nasrobbench201(meta: &Input, results: &Input) -> Result<Vec<Record>, AnalysisError> {
    let meta = Meta::load(meta)?;
    let text = read(results)?;
    let results = &results.origin();
    let root: Value = parse_json(results, &text)?;
    let bad = |entry: String, reason: String| AnalysisError::malformed(results, entry, reason);
    let datasets = root.as_object().ok_or_else(|| bad("top level".into(), "is not an object".into()))?;

    // Value and the entry it came from, to name both sides of a conflict.
    let mut found: BTreeMap<Key, (f64, String)> = BTreeMap::new();
    for (dataset_name, archs) in datasets {
        let dataset = canonical_dataset(dataset_name)
            .ok_or_else(|| bad(dataset_name.clone(), "is not a known dataset".into()))?;
        let archs = archs.as_object().ok_or_else(|| bad(dataset_name.clone(), "is not an object".into()))?;
        for (id, metrics) in archs {
            let entry = format!("{dataset_name}.{id}");
            let rep = id
                .parse::<usize>()
                .ok()
                .and_then(|i| meta.representative(i))
                .ok_or_else(|| bad(entry.clone(), format!("is not an index of meta.json (0..{})", meta.len())))?;
            let metrics = metrics.as_object().ok_or_else(|| bad(entry.clone(), "is not an object".into()))?;
            for (metric_name, seeds) in metrics {
                let entry = format!("{entry}.{metric_name}");
                let (metric, eps) = parse_metric(metric_name).map_err(|reason| bad(entry.clone(), reason))?;
                let values: Vec<(Option<i64>, &Value, String)> = match seeds {
                    Value::Object(seeds) => seeds
                        .iter()
                        .map(|(seed, value)| {
                            let entry = format!("{entry}.{seed}");
                            match seed.as_str() {
                                MEAN_SEED => Ok((None, value, entry)),
                                _ => match seed.parse::<i64>() {
                                    Ok(seed) => Ok((Some(seed), value, entry)),
                                    Err(_) => Err(bad(entry, format!("seed is neither an integer nor `{MEAN_SEED}`"))),
                                },
                            }
                        })
                        .collect::<Result<_, _>>()?,
                    value => vec![(None, value, entry)],
                };
                for (seed, value, entry) in values {
                    let mut value =
                        value.as_f64().ok_or_else(|| bad(entry.clone(), format!("{value} is not a number")))?;
                    if is_accuracy(&metric) {
                        value = check_fraction(value).map_err(|reason| bad(entry.clone(), reason))?;
                    }
                    let key = (dataset.to_string(), rep, metric.clone(), eps.map(f64::to_bits), seed);
                    if let Some((earlier, earlier_entry)) = found.get(&key) {
                        if *earlier != value {
                            return Err(bad(
                                entry,
                                format!("{value} contradicts {earlier} at {earlier_entry} (same representative {rep})"),
                            ));
                        }
                    } else {
                        found.insert(key, (value, entry));
                    }
                }
            }
        }
    }
    Ok(found
        .into_iter()
        .map(|((dataset, rep, metric, eps, seed), (value, _))| Record {
            source: SOURCE.into(),
            arch_index: rep,
            arch: meta.arch(rep as usize).to_owned(),
            dataset,
            metric,
            eps: eps.map(f64::from_bits),
            seed,
            value,
        })
        .collect())
}
