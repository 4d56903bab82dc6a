//! Runs (`/runs`): every recorded run, newest first, with its state, its
//! units per stage (done, reused, failed, skipped), why units failed, and
//! the alerts its networks raised.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::response::IntoResponse;
use robbench_pipeline::{RunKind, Store, UnitStatus, runs};

use super::app::App;
use super::data::{batches, blocking, ints, strings};
use super::html::{self, Html, esc};
use super::http_error::{HttpError, Page};
use super::table::Params;

struct Listing {
    runs: Vec<(robbench_pipeline::RunRecord, &'static str)>,
    /// Alerts per run and kind; `Err` when they cannot be read.
    alerts: Result<BTreeMap<String, BTreeMap<String, i64>>, String>,
}

pub async fn page(State(app): State<Arc<App>>, Query(pairs): Query<Vec<(String, String)>>) -> Page {
    Params::new(pairs, &[], &[])?;
    let root = app.store.clone();
    let catalog = app.catalog.clone();
    let listing = blocking(move || {
        let store = Store::open(&root)?;
        let mut out = Vec::new();
        for record in runs::list(&store)? {
            let state = record.state(&store).as_str();
            out.push((record, state));
        }
        // Alerts of every run; a store that cannot build them still lists its runs.
        let alerts = (|| -> anyhow::Result<BTreeMap<String, BTreeMap<String, i64>>> {
            let mut alerts: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
            for b in batches(&catalog, "SELECT run_id, kind, count(*) FROM alerts_history GROUP BY 1, 2 ORDER BY 1, 2")?
            {
                let (run, kind, n) = (strings(&b, 0)?, strings(&b, 1)?, ints(&b, 2)?);
                for r in 0..b.num_rows() {
                    alerts
                        .entry(run[r].clone().unwrap_or_default())
                        .or_default()
                        .insert(kind[r].clone().unwrap_or_default(), n[r].unwrap_or(0));
                }
            }
            Ok(alerts)
        })()
        .map_err(|e| format!("{e:#}"));
        Ok(Listing { runs: out, alerts })
    })
    .await
    .map_err(|e| HttpError::internal(&e))?;

    let mut body = format!("<h1>Runs</h1>\n<p>Store <code>{}</code>", esc(&app.store.display().to_string()));
    match app.catalog.run_id() {
        Some(id) => body.push_str(&format!("; the explorer shows the tables of run <b>{}</b>.</p>\n", esc(id))),
        None => body.push_str("; it holds no complete run: the explorer shows imported data only.</p>\n"),
    }
    if let Err(why) = &listing.alerts {
        body.push_str(&format!("<p class=\"error\">Alerts cannot be read: {}</p>\n", esc(why)));
    }
    if listing.runs.is_empty() {
        body.push_str("<p class=\"muted\">No run yet: <code>robbench run</code> or <code>robbench import</code> records one.</p>\n");
    }
    body.push_str(
        "<table class=\"bench\" id=\"runs\"><thead><tr><th>run</th><th>kind</th><th>state</th><th>started</th>\
                   <th>finished</th><th>config</th><th>units</th><th>alerts</th></tr></thead><tbody>\n",
    );
    for (run, state) in listing.runs.iter().rev() {
        let kind = match run.kind {
            RunKind::Experiment => "experiment",
            RunKind::Shared => "imports or search",
            RunKind::Auxiliary => "live search oracle",
        };
        let count = |s: UnitStatus| run.units.iter().filter(|u| u.status == s).count();
        let mut units = format!("{} executed, {} reused", count(UnitStatus::Executed), count(UnitStatus::Reused));
        for (status, name) in [(UnitStatus::Failed, "failed"), (UnitStatus::Skipped, "skipped")] {
            if count(status) > 0 {
                units.push_str(&format!(", <b class=\"down\">{} {name}</b>", count(status)));
            }
        }
        let alerts = match &listing.alerts {
            Ok(all) => match all.get(&run.run_id) {
                Some(kinds) => kinds.iter().map(|(k, n)| format!("{n} {}", esc(k))).collect::<Vec<_>>().join(", "),
                None => "none".into(),
            },
            Err(_) => "?".into(),
        };
        let current = app.catalog.run_id() == Some(run.run_id.as_str());
        body.push_str(&format!(
            "<tr{}><td><code>{}</code>{}</td><td>{kind}{}</td><td class=\"state-{state}\">{state}</td><td>{}</td><td>{}</td>\
             <td><code>{}</code></td><td>{units}</td><td>{alerts}</td></tr>\n",
            if current { " class=\"current\"" } else { "" },
            esc(&run.run_id),
            if current { " (shown)" } else { "" },
            run.shard.as_ref().map(|s| format!(", shard {}", esc(s))).unwrap_or_default(),
            esc(&run.started_at),
            esc(run.finished_at.as_deref().unwrap_or("–")),
            esc(&run.config_hash.chars().take(12).collect::<String>()),
        ));
    }
    body.push_str("</tbody></table>\n");
    // Per stage, and failures, for each run.
    for (run, state) in listing.runs.iter().rev() {
        let mut stages: BTreeMap<&str, [usize; 4]> = BTreeMap::new();
        for u in &run.units {
            let slot = match u.status {
                UnitStatus::Executed => 0,
                UnitStatus::Reused => 1,
                UnitStatus::Failed => 2,
                UnitStatus::Skipped => 3,
            };
            stages.entry(&u.stage).or_default()[slot] += 1;
        }
        let seconds: f64 = run.units.iter().map(|u| u.seconds).sum();
        body.push_str(&format!(
            "<details class=\"run\" id=\"run-{}\"><summary><code>{}</code> · {state} · {} units · {:.0} s of work</summary>\
             <table class=\"small\"><tr><th>stage</th><th>executed</th><th>reused</th><th>failed</th><th>skipped</th></tr>",
            esc(&run.run_id),
            esc(&run.run_id),
            run.units.len(),
            seconds
        ));
        for (stage, n) in &stages {
            body.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(stage),
                n[0],
                n[1],
                n[2],
                n[3]
            ));
        }
        body.push_str("</table>");
        let failed: Vec<_> = run.units.iter().filter(|u| !u.status.succeeded()).collect();
        if !failed.is_empty() {
            body.push_str("<ul class=\"failures\">");
            for u in failed.iter().take(20) {
                body.push_str(&format!(
                    "<li>[{}] {} <b>{}</b>: {}</li>",
                    esc(&u.stage),
                    esc(&u.label),
                    u.status.as_str(),
                    esc(u.error.as_deref().unwrap_or(""))
                ));
            }
            if failed.len() > 20 {
                body.push_str(&format!("<li>… and {} more</li>", failed.len() - 20));
            }
            body.push_str("</ul>");
        }
        body.push_str(&format!(
            "<details><summary>config</summary><pre class=\"code\">{}</pre></details></details>\n",
            esc(&run.config)
        ));
    }
    Ok(Html(html::page("Runs", "/runs", &body)).into_response())
}
