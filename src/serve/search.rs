//! Search (`/search`): regret against queries per algorithm, from every
//! search run's `search_steps` — the median over trials and the band
//! between the quartiles (a trial that stopped early keeps its last regret).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::response::IntoResponse;

use super::app::App;
use super::data::{batches, blocking, floats, ints, strings};
use super::html::{self, Html, esc};
use super::http_error::{HttpError, Page};
use super::plot::{Series, line_plot};
use super::table::Params;

/// (run, source, dataset, objective) → algorithm → trial → regret per step.
type Steps = BTreeMap<(String, String, String, String), BTreeMap<String, BTreeMap<i64, Vec<f64>>>>;

fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let at = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (at.floor() as usize, at.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (at - lo as f64)
}

/// Median and quartiles of the trials' regret after each query.
fn curve(trials: &BTreeMap<i64, Vec<f64>>) -> Vec<(f64, f64, f64, f64)> {
    let steps = trials.values().map(Vec::len).max().unwrap_or(0);
    (0..steps)
        .map(|s| {
            let mut at: Vec<f64> = trials
                .values()
                .filter_map(|r| r.get(s.min(r.len().saturating_sub(1))).copied())
                .filter(|v| v.is_finite())
                .collect();
            at.sort_by(f64::total_cmp);
            ((s + 1) as f64, quantile(&at, 0.5), quantile(&at, 0.25), quantile(&at, 0.75))
        })
        .collect()
}

pub async fn page(State(app): State<Arc<App>>, Query(pairs): Query<Vec<(String, String)>>) -> Page {
    Params::new(pairs, &[], &[])?;
    let catalog = app.catalog.clone();
    let steps = blocking(move || {
        let mut steps: Steps = BTreeMap::new();
        for b in batches(
            &catalog,
            "SELECT run_id, source, dataset, objective, algorithm, trial, step, regret FROM search_steps_history \
             ORDER BY run_id, source, dataset, objective, algorithm, trial, step",
        )? {
            let (run, source, dataset, objective, algorithm) =
                (strings(&b, 0)?, strings(&b, 1)?, strings(&b, 2)?, strings(&b, 3)?, strings(&b, 4)?);
            let (trial, regret) = (ints(&b, 5)?, floats(&b, 7)?);
            let s = |v: &Option<String>| v.clone().unwrap_or_default();
            for r in 0..b.num_rows() {
                steps
                    .entry((s(&run[r]), s(&source[r]), s(&dataset[r]), s(&objective[r])))
                    .or_default()
                    .entry(s(&algorithm[r]))
                    .or_default()
                    .entry(trial[r].unwrap_or(0))
                    .or_default()
                    .push(regret[r]);
            }
        }
        Ok(steps)
    })
    .await
    .map_err(|e| HttpError::internal(&e))?;

    let mut body = String::from("<h1>Architecture search</h1>\n");
    if steps.is_empty() {
        body.push_str(
            "<p class=\"muted\" id=\"no-search\">No architecture search in this store yet: <code>robbench search</code> \
             runs one (the guide's \"Architecture search\").</p>\n",
        );
        return Ok(Html(html::page("Search", "/search", &body)).into_response());
    }
    body.push_str(
        "<p>Regret (the table's optimum minus the best value found so far; two objectives: the hypervolume \
         the front misses) after each query: the median over trials, and the band between the quartiles.</p>\n",
    );
    for ((run, source, dataset, objective), algorithms) in &steps {
        body.push_str(&format!(
            "<h2>{} <span class=\"muted\">· {} · {} · run <code>{}</code></span></h2>\n<div class=\"plots\">",
            esc(objective),
            esc(source),
            esc(dataset),
            esc(run)
        ));
        let series: Vec<Series> = algorithms
            .iter()
            .map(|(algorithm, trials)| {
                let c = curve(trials);
                Series {
                    name: algorithm.clone(),
                    points: c.iter().map(|p| (p.0, p.1)).collect(),
                    band: c.iter().map(|p| (p.0, p.2, p.3)).collect(),
                }
            })
            .collect();
        body.push_str(&line_plot(&format!("{objective} · {dataset}"), "queries", "regret", &series));
        body.push_str(
            "</div><table class=\"small\"><tr><th>algorithm</th><th>trials</th><th>median final regret</th>\
                       <th>found the optimum</th></tr>",
        );
        for (algorithm, trials) in algorithms {
            let mut last: Vec<f64> = trials.values().filter_map(|r| r.last().copied()).collect();
            last.sort_by(f64::total_cmp);
            let found = last.iter().filter(|&&v| v <= 0.0).count();
            body.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{found} of {}</td></tr>",
                esc(algorithm),
                trials.len(),
                html::value(quantile(&last, 0.5)),
                trials.len()
            ));
        }
        body.push_str("</table>\n");
    }
    Ok(Html(html::page("Search", "/search", &body)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trial_that_stopped_keeps_its_last_regret() {
        let trials: BTreeMap<i64, Vec<f64>> = [(0, vec![3.0, 2.0, 1.0]), (1, vec![5.0]), (2, vec![4.0, 0.0])].into();
        let c = curve(&trials);
        assert_eq!(c.len(), 3);
        assert_eq!(c[0].1, 4.0);
        assert_eq!(c[2].1, 1.0);
        assert_eq!(c[2].2, 0.5);
    }
}
