//! NAS-Bench-201's CIFAR-10 200-epoch standard-training results
//! (`cifar10_200epoch.csv`, NATS-Bench topology, averaged over seeds).
//!
//! Columns used: `index`, `arch_str`, `num_classes` (must be 10) and
//! `{train,valid,test}-{loss,accuracy}`, which become the metrics
//! `{train,valid,test}_{loss,acc}`. Accuracies are stored in percent and are
//! converted to fractions; the timing columns are not imported.

use robbench_published::Input;
use std::collections::HashSet;

use crate::error::{AnalysisError, csv_reader};
use crate::record::{CIFAR10, Record, check_fraction};

/// `source` of the records.
pub const SOURCE: &str = "nas-bench-201";

/// (CSV column, metric, whether it is a percentage).
const COLUMNS: [(&str, &str, bool); 6] = [
    ("train-loss", "train_loss", false),
    ("train-accuracy", "train_acc", true),
    ("valid-loss", "valid_loss", false),
    ("valid-accuracy", "valid_acc", true),
    ("test-loss", "test_loss", false),
    ("test-accuracy", "test_acc", true),
];

/// Imports the CSV: six records per NB201 index (in file order), `seed: None`.
/// `arch_of(index)` gives the cell string of an index (e.g. from
/// `robbench_space`); it must agree with the file's `arch_str`, which catches
/// an index mismatch between the two.
pub fn import_nb201_cifar10(
    input: &Input,
    arch_of: impl Fn(usize) -> Option<String>,
) -> Result<Vec<Record>, AnalysisError> {
    let csv = &input.origin();
    let csv_error = |source| AnalysisError::Csv { path: csv.to_owned(), source };
    let mut reader = csv_reader(input)?;
    let headers = reader.headers().map_err(csv_error)?.clone();
    let column = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| AnalysisError::malformed(csv, "header", format!("has no column `{name}`")))
    };
    let (index_col, arch_col, classes_col) = (column("index")?, column("arch_str")?, column("num_classes")?);
    let metric_cols = COLUMNS.map(|(name, metric, percent)| column(name).map(|c| (c, name, metric, percent)));
    let metric_cols = metric_cols.into_iter().collect::<Result<Vec<_>, _>>()?;

    let mut seen = HashSet::new();
    let mut records = Vec::new();
    // Line numbers for messages: the header is line 1, records are one line each.
    for (line, row) in (2..).zip(reader.records()) {
        let row = row.map_err(csv_error)?;
        let bad = |reason: String| AnalysisError::malformed(csv, format!("line {line}"), reason);
        let index: u32 =
            row[index_col].parse().map_err(|_| bad(format!("index `{}` is not an integer", &row[index_col])))?;
        if !seen.insert(index) {
            return Err(bad(format!("index {index} occurs twice")));
        }
        if &row[classes_col] != "10" {
            return Err(bad(format!("num_classes is {}, not CIFAR-10's 10", &row[classes_col])));
        }
        let arch = arch_of(index as usize).ok_or_else(|| bad(format!("index {index} is not a NAS-Bench-201 index")))?;
        if arch != row[arch_col] {
            return Err(bad(format!("arch_str {} differs from index {index}'s cell {arch}", &row[arch_col])));
        }
        for &(col, name, metric, percent) in &metric_cols {
            let value: f64 = row[col].parse().map_err(|_| bad(format!("{name} `{}` is not a number", &row[col])))?;
            let value = if percent {
                check_fraction(value / 100.0).map_err(|reason| bad(format!("{name}: {reason}")))?
            } else if value.is_finite() {
                value
            } else {
                return Err(bad(format!("{name} is {value}")));
            };
            records.push(Record {
                source: SOURCE.into(),
                arch_index: index,
                arch: arch.clone(),
                dataset: CIFAR10.into(),
                metric: metric.into(),
                eps: None,
                seed: None,
                value,
            });
        }
    }
    Ok(records)
}
