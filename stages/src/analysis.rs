//! Analysis: how well each training-free score ranks the architectures by
//! their measured accuracy — Kendall τ-b, Spearman ρ and Pearson r of every
//! NTK statistic and bound term against every clean/robust accuracy and
//! every common-corruption accuracy of this run, per dataset (values
//! averaged over seeds first) — and how the run's clean and adversarial
//! accuracies rank the networks by their corruption accuracy.
//!
//! Corruption accuracies (`corruption_evaluations`) become the metrics
//! - `corruption:<name>@<severity>`, one per evaluated cell (`corruption:fog@5`);
//! - `corruption:<family>`, the mean over the family's evaluated cells
//!   (`corruption:noise`, `blur`, `weather`, `digital`);
//! - `corruption:mean`, the mean over every evaluated corruption × severity;
//! - `corruption:robustbench`, RobustBench's corruption accuracy: the mean
//!   over exactly the 15 standard corruptions × severities 1–5, present only
//!   for networks evaluated on all 75 (extras are left out of it).
//!
//! Each is computed per network and seed and then averaged over seeds, like
//! every other metric. The accuracy-vs-accuracy rows have an accuracy of
//! this run's `evaluations` (`clean`, `pgd@8`, `autoattack@8`, …) as `score`
//! and a corruption metric as `metric`.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::Result;
use arrow::array::{Array, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray};
use robbench_experiment::units::analysis::AnalysisReads;
use robbench_pipeline::{Runnable, UnitContext};
use robbench_schemas::{BOUNDS, CORRELATIONS, CORRUPTION_EVALUATIONS, EVALUATIONS, NTK};

use robbench_published::Input;

use crate::config::AnalysisConfig;
use crate::import::{Cell, CorruptionCells, Series, corruption_summaries};
use crate::reads::read;

pub struct Analysis;

fn strings<'a>(batch: &'a RecordBatch, name: &str) -> &'a StringArray {
    batch.column_by_name(name).and_then(|c| c.as_any().downcast_ref()).expect("schema column")
}
fn floats<'a>(batch: &'a RecordBatch, name: &str) -> &'a Float64Array {
    batch.column_by_name(name).and_then(|c| c.as_any().downcast_ref()).expect("schema column")
}
fn ints<'a>(batch: &'a RecordBatch, name: &str) -> &'a Int64Array {
    batch.column_by_name(name).and_then(|c| c.as_any().downcast_ref()).expect("schema column")
}
fn booleans<'a>(batch: &'a RecordBatch, name: &str) -> &'a BooleanArray {
    batch.column_by_name(name).and_then(|c| c.as_any().downcast_ref()).expect("schema column")
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

fn eps_label(eps: f64) -> String {
    if eps.fract() == 0.0 { format!("{eps:.0}") } else { format!("{eps}") }
}

robbench_experiment::plans_as!(Analysis, robbench_experiment::units::analysis::Analysis);

impl Runnable for Analysis {
    fn run(&self, unit: &mut UnitContext<'_>) -> Result<()> {
        let mut metrics = Series::new();
        let mut scores = Series::new();
        let mut cells = CorruptionCells::new();
        for input in unit.inputs() {
            for batch in input.read_table(&EVALUATIONS)? {
                for i in 0..batch.num_rows() {
                    let attack = strings(&batch, "attack").value(i);
                    let eps = floats(&batch, "eps").value(i);
                    let name =
                        if attack == "clean" { "clean".to_string() } else { format!("{attack}@{}", eps_label(eps)) };
                    metrics
                        .entry((name, strings(&batch, "dataset").value(i).to_string()))
                        .or_default()
                        .entry(ints(&batch, "arch_index").value(i))
                        .or_default()
                        .push(floats(&batch, "accuracy").value(i));
                }
            }
            for batch in input.read_table(&CORRUPTION_EVALUATIONS)? {
                for i in 0..batch.num_rows() {
                    let key = (
                        strings(&batch, "dataset").value(i).to_string(),
                        ints(&batch, "arch_index").value(i),
                        ints(&batch, "seed").value(i),
                    );
                    cells.entry(key).or_default().push(Cell {
                        corruption: strings(&batch, "corruption").value(i).to_string(),
                        family: strings(&batch, "family").value(i).to_string(),
                        standard: booleans(&batch, "standard").value(i),
                        severity: ints(&batch, "severity").value(i),
                        accuracy: floats(&batch, "accuracy").value(i),
                    });
                }
            }
            for batch in input.read_table(&NTK)? {
                for i in 0..batch.num_rows() {
                    let kernel = strings(&batch, "kernel").value(i);
                    let beta = if kernel.ends_with("all") {
                        format!("@beta={}", floats(&batch, "beta").value(i))
                    } else {
                        String::new()
                    };
                    for stat in ["lambda_min", "condition", "trace"] {
                        let name = format!("ntk.{}.{kernel}.{stat}{beta}", strings(&batch, "weights").value(i));
                        scores
                            .entry((name, strings(&batch, "dataset").value(i).to_string()))
                            .or_default()
                            .entry(ints(&batch, "arch_index").value(i))
                            .or_default()
                            .push(floats(&batch, stat).value(i));
                    }
                }
            }
            for batch in input.read_table(&BOUNDS)? {
                for i in 0..batch.num_rows() {
                    let beta = floats(&batch, "beta").value(i);
                    for term in ["clean_bound", "robust_bound", "clean_lambda_bound", "robust_lambda_bound"] {
                        let name = format!("bound.{}.{term}@beta={beta}", strings(&batch, "weights").value(i));
                        scores
                            .entry((name, strings(&batch, "dataset").value(i).to_string()))
                            .or_default()
                            .entry(ints(&batch, "arch_index").value(i))
                            .or_default()
                            .push(floats(&batch, term).value(i));
                    }
                }
            }
        }
        // This run's clean and adversarial accuracies, before the released ones join them.
        let accuracies = metrics.clone();
        let corruptions = corruption_metrics(&cells);
        let cfg = read::<AnalysisReads>(unit.config())?.analysis;
        if let Some(zero_cost) = &cfg.zero_cost {
            add_zero_cost(zero_cost, cfg.reference_dataset.as_str(), &mut scores)?;
        }
        if let Some(reference) = &cfg.reference {
            add_reference(reference, &cfg, &scores, &mut metrics)?;
        }
        metrics.extend(corruptions.iter().map(|(k, v)| (k.clone(), v.clone())));
        let mut rows = correlation_rows(&scores, &metrics);
        rows.extend(correlation_rows(&accuracies, &corruptions));
        let n = rows.len();
        let batch = CORRELATIONS.batch(vec![
            Arc::new(StringArray::from(vec!["robbench"; n])),
            Arc::new(StringArray::from(rows.iter().map(|r| r.score.as_str()).collect::<Vec<_>>())),
            Arc::new(StringArray::from(rows.iter().map(|r| r.metric.as_str()).collect::<Vec<_>>())),
            Arc::new(StringArray::from(rows.iter().map(|r| r.dataset.as_str()).collect::<Vec<_>>())),
            Arc::new(Int64Array::from(rows.iter().map(|r| r.n).collect::<Vec<_>>())),
            Arc::new(Float64Array::from(rows.iter().map(|r| r.kendall_tau).collect::<Vec<_>>())),
            Arc::new(Float64Array::from(rows.iter().map(|r| r.spearman).collect::<Vec<_>>())),
            Arc::new(Float64Array::from(rows.iter().map(|r| r.pearson).collect::<Vec<_>>())),
        ])?;
        unit.write_table(&CORRELATIONS, &[batch])
    }
}

/// One `correlations` row of this run.
#[derive(Debug)]
struct Row {
    score: String,
    metric: String,
    dataset: String,
    n: i64,
    kendall_tau: Option<f64>,
    spearman: Option<f64>,
    pearson: Option<f64>,
}

/// Every series of `scores` against every series of `metrics` of the same
/// dataset, over the architectures both have finite (seed-averaged) values for.
fn correlation_rows(scores: &Series, metrics: &Series) -> Vec<Row> {
    let mut rows = Vec::new();
    for ((score, dataset), by_arch) in scores {
        for ((metric, metric_dataset), measured) in metrics {
            if metric_dataset != dataset {
                continue;
            }
            let (x, y): (Vec<f64>, Vec<f64>) = by_arch
                .iter()
                .filter_map(|(arch, s)| measured.get(arch).map(|m| (mean(s), mean(m))))
                .filter(|(s, m)| s.is_finite() && m.is_finite())
                .unzip();
            rows.push(Row {
                score: score.clone(),
                metric: metric.clone(),
                dataset: dataset.clone(),
                n: x.len() as i64,
                kendall_tau: robbench_analysis::kendall_tau_b(&x, &y),
                spearman: robbench_analysis::spearman(&x, &y),
                pearson: robbench_analysis::pearson(&x, &y),
            });
        }
    }
    rows
}

/// Every corruption metric (see the module's documentation): the cells and
/// their summaries, each value of a network and seed pushed once, so that
/// the series average over seeds.
fn corruption_metrics(cells: &CorruptionCells) -> Series {
    let mut out = corruption_summaries(cells);
    for ((dataset, arch, _seed), cells) in cells {
        for cell in cells {
            out.entry((cell.metric(), dataset.clone())).or_default().entry(*arch).or_default().push(cell.accuracy);
        }
    }
    out
}

/// Adds the released NAS-RobBench-201 accuracies as metrics named
/// `nas-robbench-201/<dataset>:<metric>`, under each dataset the scores were
/// computed on, for every scored architecture (via its isomorphism class).
fn add_reference(reference: &Input, cfg: &AnalysisConfig, scores: &Series, metrics: &mut Series) -> Result<()> {
    let records = robbench_analysis::import_nasrobbench201_html(reference, cfg.reference_ops.as_ref())?;
    let mut released: BTreeMap<String, BTreeMap<i64, f64>> = BTreeMap::new();
    for r in records.iter().filter(|r| r.dataset == cfg.reference_dataset.as_str()) {
        let name = format!("nas-robbench-201/{}:{}", r.dataset, crate::import::metric_name(&r.metric, r.eps));
        released.entry(name).or_default().insert(r.arch_index as i64, r.value);
    }
    let space = robbench_space::Space::nb201();
    for ((_, dataset), by_arch) in scores {
        for (name, values) in &released {
            let series = metrics.entry((name.clone(), dataset.clone())).or_default();
            for &arch in by_arch.keys() {
                if let Some(&v) = space.unique_index(arch as usize).ok().and_then(|u| values.get(&(u as i64))) {
                    series.insert(arch, vec![v]);
                }
            }
        }
    }
    Ok(())
}

/// Adds NAS-Bench-Suite-Zero proxies as scores `zero-cost:<proxy>` for the
/// architectures this run scored (matched by isomorphism class), so they are
/// compared on exactly the same architectures as the NTK scores.
fn add_zero_cost(zero_cost: &Input, dataset: &str, scores: &mut Series) -> Result<()> {
    let space = robbench_space::Space::nb201();
    let mut by_class: BTreeMap<String, BTreeMap<usize, f64>> = BTreeMap::new();
    for p in robbench_analysis::import_zero_cost(zero_cost, dataset)? {
        let arch: robbench_space::Arch = p.arch.parse()?;
        by_class.entry(p.proxy).or_default().insert(space.unique_index(space.index_of(&arch))?, p.value);
    }
    let scored: Vec<(String, Vec<i64>)> = {
        let mut per_dataset: BTreeMap<String, std::collections::BTreeSet<i64>> = BTreeMap::new();
        for ((name, dataset), by_arch) in scores.iter() {
            if !name.starts_with("zero-cost:") {
                per_dataset.entry(dataset.clone()).or_default().extend(by_arch.keys());
            }
        }
        per_dataset.into_iter().map(|(d, a)| (d, a.into_iter().collect())).collect()
    };
    for (dataset, archs) in scored {
        for (proxy, values) in &by_class {
            let series = scores.entry((format!("zero-cost:{proxy}"), dataset.clone())).or_default();
            for &arch in &archs {
                if let Some(&v) = space.unique_index(arch as usize).ok().and_then(|u| values.get(&u)) {
                    series.insert(arch, vec![v]);
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use robbench_corruptions::{Corruption, Severity};

    use super::*;

    fn cell(corruption: Corruption, severity: u8, accuracy: f64) -> Cell {
        Cell {
            corruption: corruption.name().into(),
            family: corruption.family().to_string(),
            standard: corruption.is_standard(),
            severity: severity.into(),
            accuracy,
        }
    }

    fn value(series: &Series, name: &str) -> Option<f64> {
        series.get(&(name.to_string(), "cifar10".to_string())).map(|by_arch| mean(&by_arch[&7]))
    }

    #[test]
    fn corruption_metrics_are_cells_families_and_means_averaged_over_seeds() {
        let mut cells = CorruptionCells::new();
        // Seed 0 and 1 of arch 7: fog and gaussian noise at severities 1 and 5, plus an extra.
        for (seed, shift) in [(0, 0.0), (1, 0.1)] {
            cells.insert(
                ("cifar10".into(), 7, seed),
                vec![
                    cell(Corruption::Fog, 1, 0.8 + shift),
                    cell(Corruption::Fog, 5, 0.4 + shift),
                    cell(Corruption::GaussianNoise, 1, 0.6 + shift),
                    cell(Corruption::GaussianNoise, 5, 0.2 + shift),
                    cell(Corruption::SpeckleNoise, 5, 0.3 + shift),
                ],
            );
        }
        let series = corruption_metrics(&cells);
        let close = |name: &str, want: f64| {
            let got = value(&series, name).unwrap_or_else(|| panic!("no {name}"));
            assert!((got - want).abs() < 1e-12, "{name}: {got} != {want}");
        };
        close("corruption:fog@5", 0.45);
        close("corruption:weather", 0.65);
        close("corruption:noise", (0.6 + 0.2 + 0.3) / 3.0 + 0.05);
        close("corruption:mean", (0.8 + 0.4 + 0.6 + 0.2 + 0.3) / 5.0 + 0.05);
        assert_eq!(series[&("corruption:fog@5".to_string(), "cifar10".to_string())][&7].len(), 2, "one value per seed");
        // Not the 15 × 5 cells: no RobustBench mean.
        assert_eq!(value(&series, "corruption:robustbench"), None);
    }

    #[test]
    fn the_robustbench_mean_covers_exactly_the_15_standard_corruptions_at_5_severities() {
        let mut all: Vec<Cell> = Corruption::STANDARD
            .iter()
            .flat_map(|&c| Severity::ALL.iter().map(move |s| cell(c, s.get(), f64::from(s.get()) / 10.0)))
            .collect();
        // An extra corruption counts in the mean over what was evaluated, not in RobustBench's.
        all.push(cell(Corruption::Saturate, 1, 1.0));
        let series = corruption_metrics(&[(("cifar10".to_string(), 7, 0), all)].into_iter().collect());
        assert!((value(&series, "corruption:robustbench").unwrap() - 0.3).abs() < 1e-12);
        assert!((value(&series, "corruption:mean").unwrap() - (0.3 * 75.0 + 1.0) / 76.0).abs() < 1e-12);
    }

    #[test]
    fn accuracy_rows_correlate_per_dataset_over_shared_architectures() {
        let series = |name: &str, values: &[(i64, f64)]| -> Series {
            [((name.to_string(), "cifar10".to_string()), values.iter().map(|&(a, v)| (a, vec![v])).collect())]
                .into_iter()
                .collect()
        };
        let pgd = series("pgd@8", &[(1, 0.1), (2, 0.2), (3, 0.3), (4, 0.25)]);
        let fog = series("corruption:mean", &[(1, 0.5), (2, 0.6), (3, 0.7), (5, 0.9)]);
        let rows = correlation_rows(&pgd, &fog);
        assert_eq!(rows.len(), 1);
        assert_eq!((rows[0].score.as_str(), rows[0].metric.as_str(), rows[0].n), ("pgd@8", "corruption:mean", 3));
        assert_eq!(rows[0].kendall_tau, Some(1.0));
    }
}
