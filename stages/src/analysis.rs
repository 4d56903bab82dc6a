//! Analysis: how well each training-free score ranks the architectures by
//! their measured accuracy — Kendall τ-b, Spearman ρ and Pearson r of every
//! NTK statistic and bound term against every clean/robust accuracy of this
//! run, per dataset (values averaged over seeds first).

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::Result;
use arrow::array::{Array, Float64Array, Int64Array, RecordBatch, StringArray};
use robbench_experiment::units::analysis::AnalysisReads;
use robbench_pipeline::{Runnable, UnitContext};
use robbench_schemas::{BOUNDS, CORRELATIONS, EVALUATIONS, NTK};

use robbench_published::Input;

use crate::config::AnalysisConfig;

use crate::reads::read;

pub struct Analysis;

/// (name, dataset) → arch index → values over seeds.
type Series = BTreeMap<(String, String), BTreeMap<i64, Vec<f64>>>;

fn strings<'a>(batch: &'a RecordBatch, name: &str) -> &'a StringArray {
    batch.column_by_name(name).and_then(|c| c.as_any().downcast_ref()).expect("schema column")
}
fn floats<'a>(batch: &'a RecordBatch, name: &str) -> &'a Float64Array {
    batch.column_by_name(name).and_then(|c| c.as_any().downcast_ref()).expect("schema column")
}
fn ints<'a>(batch: &'a RecordBatch, name: &str) -> &'a Int64Array {
    batch.column_by_name(name).and_then(|c| c.as_any().downcast_ref()).expect("schema column")
}

fn eps_label(eps: f64) -> String {
    if eps.fract() == 0.0 { format!("{eps:.0}") } else { format!("{eps}") }
}

robbench_experiment::plans_as!(Analysis, robbench_experiment::units::analysis::Analysis);

impl Runnable for Analysis {
    fn run(&self, unit: &mut UnitContext<'_>) -> Result<()> {
        let mut metrics = Series::new();
        let mut scores = Series::new();
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
        let cfg = read::<AnalysisReads>(unit.config())?.analysis;
        if let Some(zero_cost) = &cfg.zero_cost {
            add_zero_cost(zero_cost, cfg.reference_dataset.as_str(), &mut scores)?;
        }
        if let Some(reference) = &cfg.reference {
            add_reference(reference, &cfg, &scores, &mut metrics)?;
        }
        let mean = |v: &Vec<f64>| v.iter().sum::<f64>() / v.len() as f64;
        let mut rows = Vec::new();
        for ((score, dataset), by_arch) in &scores {
            for ((metric, metric_dataset), measured) in &metrics {
                if metric_dataset != dataset {
                    continue;
                }
                let pairs: Vec<(f64, f64)> = by_arch
                    .iter()
                    .filter_map(|(arch, s)| measured.get(arch).map(|m| (mean(s), mean(m))))
                    .filter(|(s, m)| s.is_finite() && m.is_finite())
                    .collect();
                let (x, y): (Vec<f64>, Vec<f64>) = pairs.into_iter().unzip();
                rows.push((
                    score.clone(),
                    metric.clone(),
                    dataset.clone(),
                    x.len() as i64,
                    robbench_analysis::kendall_tau_b(&x, &y),
                    robbench_analysis::spearman(&x, &y),
                    robbench_analysis::pearson(&x, &y),
                ));
            }
        }
        let n = rows.len();
        let batch = CORRELATIONS.batch(vec![
            Arc::new(StringArray::from(vec!["robbench"; n])),
            Arc::new(StringArray::from(rows.iter().map(|r| r.0.clone()).collect::<Vec<_>>())),
            Arc::new(StringArray::from(rows.iter().map(|r| r.1.clone()).collect::<Vec<_>>())),
            Arc::new(StringArray::from(rows.iter().map(|r| r.2.clone()).collect::<Vec<_>>())),
            Arc::new(Int64Array::from(rows.iter().map(|r| r.3).collect::<Vec<_>>())),
            Arc::new(Float64Array::from(rows.iter().map(|r| r.4).collect::<Vec<_>>())),
            Arc::new(Float64Array::from(rows.iter().map(|r| r.5).collect::<Vec<_>>())),
            Arc::new(Float64Array::from(rows.iter().map(|r| r.6).collect::<Vec<_>>())),
        ])?;
        unit.write_table(&CORRELATIONS, &[batch])
    }
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
