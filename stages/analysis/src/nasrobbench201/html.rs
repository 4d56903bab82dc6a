//! The NAS-RobBench-201 project page's data: `NAS-RobBench-201_html.json`
//! (`acc={...}`) and `ops.json` (`arch=[...]`).
//!
//! `acc`: key `""` lists the columns as `dataset#metric` (e.g.
//! `cifar10#val_pgd_8_acc`, `imagenet#autoattack`); each representative index
//! maps to one value per column (clean/FGSM/PGD are means over the seeds, so
//! every record has `seed: None`); every other index maps to its
//! representative's index as a string. Values are fractions in 0..=1.
//!
//! `arch`: per NB201 index six digits, the ops on edges (0→1, 0→2, 1→2, 0→3,
//! 1→3, 2→3), digit = index into [`crate::NB201_OPS`].

use robbench_published::Input;

use serde_json::Value;

use super::{SOURCE, is_accuracy, parse_metric};
use crate::cell::{NB201_OPS, cell_string};
use crate::error::{AnalysisError, parse_json, read};
use crate::js::strip_assignment;
use crate::record::{Record, canonical_dataset, check_fraction};

/// Reads `ops.json` into the cell string of every NB201 index.
pub fn read_ops_json(input: &Input) -> Result<Vec<String>, AnalysisError> {
    let path = &input.origin();
    let text = read(input)?;
    let json = strip_assignment(&text, "arch").ok_or_else(|| {
        AnalysisError::malformed(path, "start of file", "is not a JavaScript assignment `arch=[...]`")
    })?;
    let codes: Vec<String> = parse_json(path, json)?;
    codes
        .iter()
        .enumerate()
        .map(|(i, code)| {
            let ops: Vec<&str> = code
                .bytes()
                .map(|digit| NB201_OPS.get(digit.wrapping_sub(b'0') as usize).copied())
                .collect::<Option<_>>()
                .unwrap_or_default();
            let ops: [&str; 6] = ops.try_into().map_err(|_| {
                AnalysisError::malformed(path, format!("arch[{i}]"), format!("`{code}` is not six digits 0..4"))
            })?;
            Ok(cell_string(ops))
        })
        .collect()
}

/// Imports the project-page table: 18 records (3 datasets × 6 metrics, see
/// the module doc of [`crate::nasrobbench201`] for the names) per
/// representative, sorted by (index, column). `arch` comes from `ops` and is
/// left empty when no `ops.json` is given (the index identifies the cell).
pub fn import_nasrobbench201_html(table: &Input, ops: Option<&Input>) -> Result<Vec<Record>, AnalysisError> {
    let archs = ops.map(read_ops_json).transpose()?;
    let path = &table.origin();
    let text = read(table)?;
    let bad = |entry: String, reason: String| AnalysisError::malformed(path, entry, reason);
    let json = strip_assignment(&text, "acc")
        .ok_or_else(|| bad("start of file".into(), "is not a JavaScript assignment `acc={...}`".into()))?;
    let root: Value = parse_json(path, json)?;
    let table = root.as_object().ok_or_else(|| bad("acc".into(), "is not an object".into()))?;

    let header =
        table.get("").and_then(Value::as_array).ok_or_else(|| bad("\"\"".into(), "missing column list".into()))?;
    let columns = header
        .iter()
        .map(|column| {
            let (dataset, metric) = column
                .as_str()
                .and_then(|c| c.split_once('#'))
                .ok_or_else(|| bad("\"\"".into(), format!("column {column} is not `dataset#metric`")))?;
            let dataset = canonical_dataset(dataset)
                .ok_or_else(|| bad("\"\"".into(), format!("column {column}: unknown dataset")))?;
            let (metric, eps) = parse_metric(metric).map_err(|reason| bad("\"\"".into(), reason))?;
            Ok((dataset, metric, eps))
        })
        .collect::<Result<Vec<_>, AnalysisError>>()?;

    let mut entries: Vec<(u32, &Value)> = Vec::with_capacity(table.len());
    for (key, value) in table.iter().filter(|(key, _)| !key.is_empty()) {
        let index = key.parse::<u32>().map_err(|_| bad(key.clone(), "key is not an index".into()))?;
        if let Some(archs) = &archs
            && index as usize >= archs.len()
        {
            return Err(bad(key.clone(), format!("index beyond the {} cells of ops.json", archs.len())));
        }
        entries.push((index, value));
    }
    entries.sort_by_key(|&(index, _)| index);

    let mut records = Vec::new();
    for &(index, value) in &entries {
        match value {
            Value::Array(values) => {
                if values.len() != columns.len() {
                    return Err(bad(
                        index.to_string(),
                        format!("has {} values for {} columns", values.len(), columns.len()),
                    ));
                }
                let arch = archs.as_ref().map_or_else(String::new, |a| a[index as usize].clone());
                for ((dataset, metric, eps), value) in columns.iter().zip(values) {
                    let entry = || format!("{index}.{dataset}#{metric}");
                    let mut value = value.as_f64().ok_or_else(|| bad(entry(), format!("{value} is not a number")))?;
                    if is_accuracy(metric) {
                        value = check_fraction(value).map_err(|reason| bad(entry(), reason))?;
                    }
                    records.push(Record {
                        source: SOURCE.into(),
                        arch_index: index,
                        arch: arch.clone(),
                        dataset: (*dataset).into(),
                        metric: metric.clone(),
                        eps: *eps,
                        seed: None,
                        value,
                    });
                }
            }
            // A non-representative: it must point at a representative.
            Value::String(target) => {
                let points_at_row = entries
                    .binary_search_by_key(&target.parse::<u32>().unwrap_or(u32::MAX), |&(i, _)| i)
                    .is_ok_and(|k| entries[k].1.is_array());
                if !points_at_row {
                    return Err(bad(index.to_string(), format!("representative `{target}` has no row of values")));
                }
            }
            other => return Err(bad(index.to_string(), format!("{other} is neither a row of values nor an index"))),
        }
    }
    Ok(records)
}
