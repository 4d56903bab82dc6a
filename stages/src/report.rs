//! `robbench report`: one self-contained HTML page with SVG plots of a run —
//! accuracy under each attack, clean vs robust accuracy, the PGD ε sweep
//! with the gradient-masking alerts, every score against the strongest
//! attack's accuracy (Kendall τ in the title), training curves, and, when
//! imported, the released NAS-RobBench-201 clean vs PGD@8 accuracies.

use std::fmt::Write;
use std::sync::Arc;

use anyhow::Result;
use arrow::array::{Array, StringArray};
use arrow::compute::cast;
use arrow::datatypes::DataType;
use robbench_pipeline::sql::{query, Catalog};

use crate::evaluate::SWEEP;

/// Column `i` of a query result as strings and as numbers.
struct Rows {
    columns: Vec<Vec<Option<String>>>,
}

impl Rows {
    fn fetch(catalog: &Arc<Catalog>, sql: &str) -> Result<Rows> {
        let (schema, batches) = query(catalog.clone(), sql)?;
        let mut columns = vec![Vec::new(); schema.fields().len()];
        for batch in &batches {
            for (i, column) in batch.columns().iter().enumerate() {
                let text = cast(column, &DataType::Utf8)?;
                let text = text.as_any().downcast_ref::<StringArray>().expect("cast to Utf8");
                columns[i].extend((0..text.len()).map(|r| text.is_valid(r).then(|| text.value(r).to_string())));
            }
        }
        Ok(Rows { columns })
    }

    fn len(&self) -> usize {
        self.columns.first().map_or(0, Vec::len)
    }

    fn text(&self, column: usize, row: usize) -> &str {
        self.columns[column][row].as_deref().unwrap_or("")
    }

    fn number(&self, column: usize, row: usize) -> f64 {
        self.columns[column][row].as_deref().and_then(|v| v.parse().ok()).unwrap_or(f64::NAN)
    }
}

/// An HTML table; cells are escaped here.
fn table(headers: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut html = String::from("<table><tr>");
    for h in headers {
        let _ = write!(html, "<th>{}</th>", escape(h));
    }
    html.push_str("</tr>\n");
    for row in rows {
        html.push_str("<tr>");
        for cell in row {
            let _ = write!(html, "<td>{}</td>", escape(&cell));
        }
        html.push_str("</tr>\n");
    }
    html.push_str("</table>\n");
    html
}

const W: f64 = 360.0;
const H: f64 = 260.0;
const PAD: f64 = 44.0;

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values.filter(|v| v.is_finite()).fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    if hi - lo < 1e-12 { (lo - 0.5, hi + 0.5) } else { (lo - 0.04 * (hi - lo), hi + 0.04 * (hi - lo)) }
}

/// Opens an SVG with its title, plot frame, axis labels and axis ranges.
fn frame(out: &mut String, title: &str, x_label: &str, y_label: &str, xr: (f64, f64), yr: (f64, f64)) {
    let _ = write!(
        out,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="10">
<title>{t}</title><text x="{cx}" y="14" text-anchor="middle" font-size="11">{t}</text>
<rect x="{PAD}" y="22" width="{pw}" height="{ph}" fill="none" stroke="#888"/>
<text x="{cx}" y="{xl}" text-anchor="middle">{x}</text>
<text x="12" y="{cy}" text-anchor="middle" transform="rotate(-90 12 {cy})">{y}</text>
<text x="{PAD}" y="{tick}" text-anchor="start">{x0:.3}</text><text x="{xe}" y="{tick}" text-anchor="end">{x1:.3}</text>
<text x="{yt}" y="{ybot}" text-anchor="end">{y0:.3}</text><text x="{yt}" y="30" text-anchor="end">{y1:.3}</text>
"##,
        t = escape(title),
        cx = W / 2.0,
        pw = W - PAD - 10.0,
        ph = H - 22.0 - PAD,
        xl = H - 6.0,
        x = escape(x_label),
        cy = H / 2.0,
        y = escape(y_label),
        tick = H - PAD + 12.0,
        x0 = xr.0,
        x1 = xr.1,
        xe = W - 10.0,
        yt = PAD - 2.0,
        ybot = H - PAD,
        y0 = yr.0,
        y1 = yr.1,
    );
}

fn to_px(v: f64, r: (f64, f64), lo: f64, hi: f64) -> f64 {
    lo + (v - r.0) / (r.1 - r.0) * (hi - lo)
}

/// A scatter plot of (x, y, label) points.
fn scatter(title: &str, x_label: &str, y_label: &str, points: &[(f64, f64, String)]) -> String {
    let xr = range(points.iter().map(|p| p.0));
    let yr = range(points.iter().map(|p| p.1));
    let mut out = String::new();
    frame(&mut out, title, x_label, y_label, xr, yr);
    let radius = if points.len() > 500 { 1.0 } else { 3.0 };
    for (x, y, label) in points.iter().filter(|p| p.0.is_finite() && p.1.is_finite()) {
        let _ = writeln!(
            out,
            r##"<circle cx="{:.1}" cy="{:.1}" r="{radius}" fill="#1f77b4" fill-opacity="0.6"><title>{}</title></circle>"##,
            to_px(*x, xr, PAD, W - 10.0),
            to_px(*y, yr, H - PAD, 22.0),
            escape(label)
        );
    }
    out.push_str("</svg>\n");
    out
}

/// Line plot: one polyline per named series of (x, y).
fn lines(title: &str, x_label: &str, y_label: &str, series: &[(String, Vec<(f64, f64)>)]) -> String {
    let xr = range(series.iter().flat_map(|s| s.1.iter().map(|p| p.0)));
    let yr = range(series.iter().flat_map(|s| s.1.iter().map(|p| p.1)));
    let mut out = String::new();
    frame(&mut out, title, x_label, y_label, xr, yr);
    const COLOURS: [&str; 8] = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"];
    for (i, (name, points)) in series.iter().enumerate() {
        let path: Vec<String> = points
            .iter()
            .map(|(x, y)| format!("{:.1},{:.1}", to_px(*x, xr, PAD, W - 10.0), to_px(*y, yr, H - PAD, 22.0)))
            .collect();
        let _ = writeln!(
            out,
            r#"<polyline points="{}" fill="none" stroke="{c}" stroke-width="1.5"><title>{n}</title></polyline><text x="{lx}" y="{ly}" fill="{c}">{n}</text>"#,
            path.join(" "),
            c = COLOURS[i % COLOURS.len()],
            n = escape(name),
            lx = W - 70.0,
            ly = 34.0 + 11.0 * i as f64,
        );
    }
    out.push_str("</svg>\n");
    out
}

/// The report for the catalog's run, as HTML.
pub fn render(catalog: Arc<Catalog>) -> Result<String> {
    let mut body = String::new();
    let run_id = catalog.run().run_id.clone();

    let acc = Rows::fetch(
        &catalog,
        "SELECT arch_index, dataset,
                avg(CASE WHEN attack = 'clean' THEN accuracy END) AS clean,
                avg(CASE WHEN attack = 'pgd' THEN accuracy END) AS pgd
         FROM evaluations WHERE attack = 'clean' OR (attack = 'pgd' AND eps = (SELECT max(eps) FROM evaluations WHERE attack = 'pgd'))
         GROUP BY arch_index, dataset ORDER BY arch_index",
    )?;
    if acc.len() > 0 {
        let points: Vec<_> = (0..acc.len()).map(|r| (acc.number(2, r), acc.number(3, r), format!("arch {}", acc.text(0, r)))).collect();
        body.push_str("<h2>Clean vs robust accuracy</h2>\n");
        body.push_str(&scatter("clean vs PGD (largest eps) accuracy", "clean accuracy", "PGD accuracy", &points));
    }

    let attacks = Rows::fetch(
        &catalog,
        &format!(
            "SELECT attack, eps, avg(accuracy) AS accuracy, count(*) AS networks, sum(n_samples) AS images FROM evaluations
             WHERE attack <> '{SWEEP}' GROUP BY attack, eps ORDER BY accuracy DESC, attack"
        ),
    )?;
    if attacks.len() > 0 {
        let cells = (0..attacks.len())
            .map(|r| {
                let text = |c| attacks.text(c, r).to_string();
                vec![text(0), text(1), format!("{:.3}", attacks.number(2, r)), text(3), text(4)]
            })
            .collect();
        body.push_str("<h2>Accuracy under each attack</h2>\n");
        body.push_str(&table(&["attack", "eps (/255)", "mean accuracy", "networks", "images"], cells));
        body.push_str("<p>AutoAttack's components (apgd-ce, apgd-t, fab-t, square) show the accuracy left after each one, as AutoAttack reports it.</p>\n");
    }

    let sweep = Rows::fetch(
        &catalog,
        &format!("SELECT arch_index, seed, eps, accuracy FROM evaluations WHERE attack = '{SWEEP}' ORDER BY arch_index, seed, eps"),
    )?;
    let alerts = Rows::fetch(&catalog, "SELECT arch_index, seed, kind, detail FROM alerts ORDER BY arch_index, seed, kind")?;
    if sweep.len() > 0 || alerts.len() > 0 {
        body.push_str("<h2>Gradient-masking checks</h2>\n");
    }
    if sweep.len() > 0 {
        let mut curves: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
        for r in 0..sweep.len() {
            let name = format!("{} s{}", sweep.text(0, r), sweep.text(1, r));
            if curves.last().is_none_or(|c| c.0 != name) {
                curves.push((name, Vec::new()));
            }
            curves.last_mut().expect("pushed").1.push((sweep.number(2, r).max(1e-9).log2(), sweep.number(3, r)));
        }
        body.push_str(&lines("PGD accuracy over the eps sweep: must reach 0", "log2(eps * 255)", "accuracy", &curves));
    }
    if alerts.len() > 0 {
        let cells = (0..alerts.len()).map(|r| (0..4).map(|c| alerts.text(c, r).to_string()).collect()).collect();
        body.push_str(&table(&["arch", "seed", "alert", "detail"], cells));
    } else if sweep.len() > 0 {
        body.push_str("<p>No alerts: every network's PGD accuracy reached 0 and no masking sign was found.</p>\n");
    }

    let corr = Rows::fetch(
        &catalog,
        "SELECT score, metric, kendall_tau, n FROM correlations WHERE source = 'robbench'
         AND metric = (SELECT max(metric) FROM correlations WHERE source = 'robbench' AND metric LIKE 'pgd@%')
         ORDER BY abs(kendall_tau) DESC NULLS LAST",
    )?;
    if corr.len() > 0 {
        body.push_str("<h2>Training-free scores vs robust accuracy</h2>\n<div class=grid>\n");
        for r in 0..corr.len() {
            let (score, metric) = (corr.text(0, r), corr.text(1, r));
            let Some(points) = score_points(&catalog, score, metric)? else { continue };
            let title = format!("{score}: tau = {}", corr.columns[2][r].as_deref().map_or("n/a".into(), |t| format!("{:.2}", t.parse::<f64>().unwrap_or(f64::NAN))));
            body.push_str(&scatter(&title, score, metric, &points));
        }
        body.push_str("</div>\n");
    }

    let training = Rows::fetch(&catalog, "SELECT arch_index, seed, epoch, loss, train_adv_acc FROM training ORDER BY arch_index, seed, epoch")?;
    if training.len() > 0 {
        let mut loss: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
        let mut adv: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
        for r in 0..training.len() {
            let name = format!("{} s{}", training.text(0, r), training.text(1, r));
            if loss.last().is_none_or(|s| s.0 != name) {
                loss.push((name.clone(), Vec::new()));
                adv.push((name, Vec::new()));
            }
            loss.last_mut().expect("pushed").1.push((training.number(2, r), training.number(3, r)));
            adv.last_mut().expect("pushed").1.push((training.number(2, r), training.number(4, r)));
        }
        body.push_str("<h2>Adversarial training</h2>\n<div class=grid>\n");
        body.push_str(&lines("training loss (adversarial examples)", "epoch", "loss", &loss));
        body.push_str(&lines("training accuracy on PGD examples", "epoch", "accuracy", &adv));
        body.push_str("</div>\n");
    }

    let released = Rows::fetch(
        &catalog,
        "SELECT a.arch_index, a.value, b.value FROM benchmark a JOIN benchmark b USING (arch_index, dataset, source)
         WHERE a.source = 'nas-robbench-201' AND a.dataset = 'cifar10' AND a.metric = 'clean' AND b.metric = 'pgd' AND b.eps = 8",
    )?;
    if released.len() > 0 {
        let points: Vec<_> = (0..released.len()).map(|r| (released.number(1, r), released.number(2, r), format!("arch {}", released.text(0, r)))).collect();
        body.push_str("<h2>Released NAS-RobBench-201 (CIFAR-10)</h2>\n");
        body.push_str(&scatter("NAS-RobBench-201: clean vs PGD@8", "clean accuracy", "PGD@8 accuracy", &points));
    }
    if body.is_empty() {
        body.push_str("<p>This run has no evaluations, scores or imported benchmarks to plot.</p>\n");
    }
    Ok(format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>robbench report {run}</title>\n<style>body{{font-family:sans-serif;margin:2em}} .grid{{display:flex;flex-wrap:wrap;gap:8px}} table{{border-collapse:collapse}} td,th{{border:1px solid #ccc;padding:2px 8px}}</style></head>\n<body><h1>robbench report</h1><p>run <code>{run}</code></p>\n{body}</body></html>\n",
        run = escape(&run_id)
    ))
}

/// (score, accuracy, label) per architecture for a `correlations` score name.
fn score_points(catalog: &Arc<Catalog>, score: &str, metric: &str) -> Result<Option<Vec<(f64, f64, String)>>> {
    let (attack, eps) = metric.split_once('@').unwrap_or((metric, "0"));
    let (name, beta) = score.split_once("@beta=").map_or((score, None), |(n, b)| (n, Some(b)));
    let parts: Vec<&str> = name.split('.').collect();
    let sql_score = match parts.as_slice() {
        ["ntk", weights, kernel, stat] => format!(
            "SELECT arch_index, avg({stat}) AS score FROM ntk WHERE weights = '{weights}' AND kernel = '{kernel}'{} GROUP BY arch_index",
            beta.map_or(String::new(), |b| format!(" AND beta = {b}"))
        ),
        ["bound", weights, term] => format!(
            "SELECT arch_index, avg({term}) AS score FROM bounds WHERE weights = '{weights}'{} GROUP BY arch_index",
            beta.map_or(String::new(), |b| format!(" AND beta = {b}"))
        ),
        _ => return Ok(None),
    };
    let rows = Rows::fetch(
        catalog,
        &format!(
            "SELECT s.arch_index, s.score, m.acc FROM ({sql_score}) s
             JOIN (SELECT arch_index, avg(accuracy) AS acc FROM evaluations WHERE attack = '{attack}' AND eps = {eps} GROUP BY arch_index) m
             USING (arch_index)"
        ),
    )?;
    Ok(Some((0..rows.len()).map(|r| (rows.number(1, r), rows.number(2, r), format!("arch {}", rows.text(0, r)))).collect()))
}
