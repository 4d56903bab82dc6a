//! The report's search section: a results table per objective, regret curves
//! (median and interquartile band over trials) against queries and against
//! simulated GPU-hours, and the Pareto fronts of two-objective searches.
//! A child module of `report`; it shares the report's query results and
//! tables (`Rows`, `table`: `report_rows.rs`) with it.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Arc;

use anyhow::Result;
use robbench_pipeline::sql::Catalog;

use super::rows::{Rows, table};
use crate::svg::{Axis, Band, Plot, Series, escape};

/// Sorted-sample quantile with linear interpolation.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// Regret over trials at each x of `grid`; `at(trial, x)` is a trial's regret
/// at x, or `None` before its first query.
fn band(grid: &[f64], trials: usize, at: impl Fn(usize, f64) -> Option<f64>) -> Band {
    grid.iter()
        .filter_map(|&x| {
            let mut v: Vec<f64> = (0..trials).filter_map(|t| at(t, x)).collect();
            // A point only where every trial has started.
            (v.len() == trials && trials > 0).then(|| {
                v.sort_by(f64::total_cmp);
                (x, quantile(&v, 0.25), quantile(&v, 0.5), quantile(&v, 0.75))
            })
        })
        .collect()
}

/// Median lines over shaded interquartile bands, one per named series.
fn bands(title: &str, x_label: &str, series: &[(String, Band)]) -> String {
    let x = Axis::linear(x_label, series.iter().flat_map(|s| s.1.iter().map(|p| p.0)), Some((0.0, f64::INFINITY)));
    let y = Axis::linear(
        "regret",
        series.iter().flat_map(|s| s.1.iter().flat_map(|p| [p.1, p.3])),
        Some((0.0, f64::INFINITY)),
    );
    Plot::new(title, x, y).bands(series)
}

/// One trial's trace: (step, regret, cumulative GPU-hours).
type TrialSteps = Vec<(f64, f64, f64)>;

/// Final regrets, queries and GPU-hours over trials, and the optimum's description.
type Finals = (Vec<f64>, Vec<f64>, Vec<f64>, String);

pub(super) fn section(catalog: &Arc<Catalog>) -> Result<String> {
    let finals = Rows::fetch(
        catalog,
        "SELECT r.source, r.dataset, r.objective, r.algorithm, r.regret, r.queries, r.cost, o.arch_index, o.value
         FROM search_results r JOIN search_results o
           ON o.role = 'optimum' AND r.source = o.source AND r.dataset = o.dataset AND r.objective = o.objective
              AND r.algorithm = o.algorithm AND r.trial = o.trial
         WHERE r.role = 'final'
         ORDER BY r.source, r.dataset, r.objective, r.algorithm, r.trial",
    )?;
    if finals.len() == 0 {
        return Ok(String::new());
    }
    // (source, objective, algorithm) → (regrets, queries, GPU-hours, optimum)
    let mut trials: BTreeMap<(String, String, String), Finals> = BTreeMap::new();
    for r in 0..finals.len() {
        let optimum = match finals.text(7, r) {
            "" => format!("front, hypervolume {:.4}", finals.number(8, r)),
            arch => format!("{arch} ({:.4})", finals.number(8, r)),
        };
        let key = (
            format!("{}/{}", finals.text(0, r), finals.text(1, r)),
            finals.text(2, r).into(),
            finals.text(3, r).into(),
        );
        let entry = trials.entry(key).or_insert_with(|| (Vec::new(), Vec::new(), Vec::new(), optimum));
        entry.0.push(finals.number(4, r));
        entry.1.push(finals.number(5, r));
        entry.2.push(finals.number(6, r));
    }
    let mut html = String::from(
        "<h2>Architecture search</h2>\n<p>Regret: the table's optimum minus the best value found (two objectives: the hypervolume the front found misses), over trials.</p>\n",
    );
    let cells = trials
        .into_iter()
        .map(|((source, objective, algorithm), (mut regret, mut queries, mut hours, optimum))| {
            let found = regret.iter().filter(|&&r| r <= 0.0).count() as f64 / regret.len() as f64;
            for v in [&mut regret, &mut queries, &mut hours] {
                v.sort_by(f64::total_cmp);
            }
            vec![
                source,
                objective,
                algorithm,
                regret.len().to_string(),
                format!("{:.4}", quantile(&regret, 0.5)),
                format!("{:.4} – {:.4}", quantile(&regret, 0.25), quantile(&regret, 0.75)),
                format!("{found:.2}"),
                format!("{:.0}", quantile(&queries, 0.5)),
                format!("{:.1}", quantile(&hours, 0.5)),
                optimum,
            ]
        })
        .collect();
    html.push_str(&table(
        &[
            "source",
            "objective",
            "algorithm",
            "trials",
            "median regret",
            "IQR",
            "found optimum",
            "queries",
            "GPU-hours",
            "optimum (value)",
        ],
        cells,
    ));

    let steps = Rows::fetch(
        catalog,
        "SELECT source, dataset, objective, algorithm, trial, step, regret, cost FROM search_steps
         ORDER BY source, dataset, objective, algorithm, trial, step",
    )?;
    // (source/dataset, objective) → algorithm → trial → steps
    let mut runs: BTreeMap<(String, String), BTreeMap<String, BTreeMap<i64, TrialSteps>>> = BTreeMap::new();
    for r in 0..steps.len() {
        runs.entry((format!("{}/{}", steps.text(0, r), steps.text(1, r)), steps.text(2, r).to_string()))
            .or_default()
            .entry(steps.text(3, r).to_string())
            .or_default()
            .entry(steps.number(4, r) as i64)
            .or_default()
            .push((steps.number(5, r), steps.number(6, r), steps.number(7, r)));
    }
    for ((source, objective), algorithms) in &runs {
        let mut by_queries = Vec::new();
        let mut by_cost = Vec::new();
        for (algorithm, trials) in algorithms {
            let trials: Vec<&TrialSteps> = trials.values().collect();
            let max_step = trials.iter().map(|t| t.len()).max().unwrap_or(0);
            let grid: Vec<f64> = (1..=max_step).map(|s| s as f64).collect();
            // A trial that stopped early (its table ran out) keeps its last regret.
            let at_step = |t: usize, x: f64| trials[t].get((x as usize).min(trials[t].len()) - 1).map(|s| s.1);
            by_queries.push((algorithm.clone(), band(&grid, trials.len(), at_step)));
            let end = trials.iter().filter_map(|t| t.last().map(|s| s.2)).fold(f64::INFINITY, f64::min);
            let cost_grid: Vec<f64> = (1..=60).map(|i| end * i as f64 / 60.0).collect();
            let at_cost = |t: usize, x: f64| trials[t].iter().take_while(|s| s.2 <= x).last().map(|s| s.1);
            by_cost.push((algorithm.clone(), band(&cost_grid, trials.len(), at_cost)));
        }
        let _ = writeln!(html, "<h3>{} · {}</h3>\n<div class=grid>", escape(source), escape(objective));
        html.push_str(&bands(&format!("regret vs queries: {objective}"), "queries", &by_queries));
        html.push_str(&bands(&format!("regret vs GPU-hours: {objective}"), "simulated GPU-hours", &by_cost));
        html.push_str("</div>\n");
    }

    let fronts = Rows::fetch(
        catalog,
        "SELECT source, dataset, objective, role, algorithm, value, value2 FROM search_results
         WHERE trial = 0 AND role IN ('front', 'optimum-front')
         ORDER BY source, dataset, objective, role, algorithm, value",
    )?;
    let mut plots: BTreeMap<(String, String), Vec<Series>> = BTreeMap::new();
    for r in 0..fronts.len() {
        let series = plots.entry((format!("{}/{}", fronts.text(0, r), fronts.text(1, r)), fronts.text(2, r).into()));
        let series = series.or_default();
        // Every unit of an objective holds the table's front: draw one copy.
        let who = match fronts.text(3, r) {
            "optimum-front" => format!("table ({})", fronts.text(4, r)),
            _ => fronts.text(4, r).to_string(),
        };
        if who.starts_with("table") && series.iter().any(|s| s.name.starts_with("table") && s.name != who) {
            continue;
        }
        if series.last().is_none_or(|s| s.name != who) {
            series.push(Series { name: who, points: Vec::new() });
        }
        series.last_mut().expect("pushed").points.push((fronts.number(5, r), fronts.number(6, r)));
    }
    for ((source, objective), mut series) in plots {
        for s in series.iter_mut().filter(|s| s.name.starts_with("table")) {
            s.name = "table's front".into();
        }
        let _ = writeln!(html, "<h3>Pareto fronts, trial 0: {} · {}</h3>", escape(&source), escape(&objective));
        let (first, second) = objective
            .strip_prefix("pareto(")
            .and_then(|o| o.strip_suffix(')'))
            .and_then(|o| o.split_once(','))
            .unwrap_or(("first", "second"));
        let x = Axis::linear(first, series.iter().flat_map(|s| s.points.iter().map(|p| p.0)), None);
        let y = Axis::linear(second, series.iter().flat_map(|s| s.points.iter().map(|p| p.1)), None);
        html.push_str(&Plot::new(&format!("front found vs the table's: {objective}"), x, y).lines(&series));
    }
    Ok(html)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_and_bands_over_trials() {
        assert_eq!(quantile(&[1.0, 2.0, 3.0, 4.0, 5.0], 0.25), 2.0);
        assert_eq!(quantile(&[1.0, 2.0], 0.5), 1.5);
        let trials = [vec![3.0, 1.0, 0.0], vec![5.0, 2.0]];
        // Trial 1 stopped after two queries: its regret stays 2 at step 3.
        let at = |t: usize, x: f64| trials[t].get((x as usize).min(trials[t].len()) - 1).copied();
        let b = band(&[1.0, 2.0, 3.0], 2, at);
        assert_eq!(b, vec![(1.0, 3.5, 4.0, 4.5), (2.0, 1.25, 1.5, 1.75), (3.0, 0.5, 1.0, 1.5)]);
        // No point before every trial has started.
        assert!(band(&[1.0], 2, |t, _| (t == 0).then_some(1.0)).is_empty());
    }
}
