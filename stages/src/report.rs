//! `robbench report`: one self-contained HTML page with SVG plots of a run —
//! clean vs robust accuracy, accuracy under each attack and every attack on
//! AutoAttack's images, the PGD ε sweep with the gradient-masking alerts,
//! common-corruption accuracy per corruption and severity (a few networks'
//! curves over the severities, and mean corruption accuracy against the
//! strongest attack's accuracy), every score's rank agreement with the
//! strongest attack's accuracy (the best few plotted), training curves, and,
//! when imported, the released NAS-RobBench-201 clean vs PGD@8 accuracies.

use std::collections::HashMap;
use std::fmt::Write;
use std::sync::Arc;

use anyhow::Result;
use robbench_pipeline::sql::Catalog;
use robbench_space::Space;

use crate::svg::{Axis, Plot, Point, Series, escape};
use robbench_experiment::units::evaluate::SWEEP;

#[path = "report_rows.rs"]
mod rows;
#[path = "search_report.rs"]
mod search_report;

use rows::{Rows, table};

/// Hover text of a network: its index and its cell.
fn arch_title(index: &str) -> String {
    let cell = index.parse().ok().and_then(|i| Space::nb201().arch(i).ok());
    match cell {
        Some(cell) => format!("arch {index} {cell}"),
        None => format!("arch {index}"),
    }
}

/// Axis of an accuracy: a fraction in [0, 1].
fn accuracy_axis(what: &str, values: impl IntoIterator<Item = f64>) -> Axis {
    Axis::linear(&format!("{what} (fraction of images)"), values, Some((0.0, 1.0)))
}

/// The unit of a `correlations` score, from its name.
fn score_unit(score: &str) -> &'static str {
    let stat = score.split("@beta=").next().unwrap_or(score);
    if score.starts_with("zero-cost:") {
        "proxy value"
    } else if stat.ends_with(".condition") {
        "ratio lambda_max / lambda_min"
    } else if stat.ends_with(".lambda_min") || stat.ends_with(".lambda_max") || stat.ends_with(".trace") {
        "kernel eigenvalue scale"
    } else if stat.starts_with("bound.") {
        "bound on the error rate"
    } else {
        "score"
    }
}

/// The report for the catalog's run, as HTML.
pub fn render(catalog: Arc<Catalog>) -> Result<String> {
    let mut body = String::new();
    let run_id = catalog.run_id().unwrap_or("(imports only)").to_string();

    let acc = Rows::fetch(
        &catalog,
        "SELECT arch_index, dataset,
                avg(CASE WHEN attack = 'clean' THEN accuracy END) AS clean,
                avg(CASE WHEN attack = 'pgd' THEN accuracy END) AS pgd,
                (SELECT max(eps) FROM evaluations WHERE attack = 'pgd') AS eps
         FROM evaluations WHERE attack = 'clean' OR (attack = 'pgd' AND eps = (SELECT max(eps) FROM evaluations WHERE attack = 'pgd'))
         GROUP BY arch_index, dataset ORDER BY arch_index",
    )?;
    if acc.len() > 0 {
        let points: Vec<Point> = (0..acc.len())
            .map(|r| Point {
                x: acc.number(2, r),
                y: acc.number(3, r),
                title: format!(
                    "{}: clean {:.3}, PGD {:.3}",
                    arch_title(acc.text(0, r)),
                    acc.number(2, r),
                    acc.number(3, r)
                ),
            })
            .collect();
        let eps = acc.text(4, 0);
        body.push_str("<h2>Clean vs robust accuracy</h2>\n");
        body.push_str(
            &Plot::new(
                &format!("clean vs PGD accuracy, eps = {eps}/255"),
                accuracy_axis("clean accuracy", points.iter().map(|p| p.x)),
                accuracy_axis(&format!("PGD accuracy at {eps}/255"), points.iter().map(|p| p.y)),
            )
            .scatter(&points),
        );
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
    body.push_str(&same_images(&catalog)?);

    let sweep = Rows::fetch(
        &catalog,
        &format!(
            "SELECT arch_index, seed, eps, accuracy FROM evaluations WHERE attack = '{SWEEP}' ORDER BY arch_index, seed, eps"
        ),
    )?;
    let alerts =
        Rows::fetch(&catalog, "SELECT arch_index, seed, kind, detail FROM alerts ORDER BY arch_index, seed, kind")?;
    if sweep.len() > 0 || alerts.len() > 0 {
        body.push_str("<h2>Gradient-masking checks</h2>\n");
    }
    if sweep.len() > 0 {
        let mut curves: Vec<Series> = Vec::new();
        for r in 0..sweep.len() {
            let name = format!("arch {} s{}", sweep.text(0, r), sweep.text(1, r));
            if curves.last().is_none_or(|c| c.name != name) {
                curves.push(Series { name, points: Vec::new() });
            }
            curves.last_mut().expect("pushed").points.push((sweep.number(2, r), sweep.number(3, r)));
        }
        let all = || curves.iter().flat_map(|c| c.points.iter());
        body.push_str(
            &Plot::new(
                "PGD accuracy over the eps sweep: must reach 0",
                Axis::log2("eps (units of 1/255, log scale)", all().map(|p| p.0)),
                accuracy_axis("PGD accuracy", all().map(|p| p.1)),
            )
            .lines(&curves),
        );
    }
    if alerts.len() > 0 {
        let cells = (0..alerts.len()).map(|r| (0..4).map(|c| alerts.text(c, r).to_string()).collect()).collect();
        body.push_str(&table(&["arch", "seed", "alert", "detail"], cells));
    } else if sweep.len() > 0 {
        body.push_str("<p>No alerts: every network's PGD accuracy reached 0 and no masking sign was found.</p>\n");
    }

    body.push_str(&corruptions(&catalog, acc.len() > 0)?);
    body.push_str(&scores(&catalog)?);

    let training = Rows::fetch(
        &catalog,
        "SELECT arch_index, seed, epoch, loss, train_adv_acc FROM training ORDER BY arch_index, seed, epoch",
    )?;
    if training.len() > 0 {
        let mut loss: Vec<Series> = Vec::new();
        let mut adv: Vec<Series> = Vec::new();
        for r in 0..training.len() {
            let name = format!("arch {} s{}", training.text(0, r), training.text(1, r));
            if loss.last().is_none_or(|s| s.name != name) {
                loss.push(Series { name: name.clone(), points: Vec::new() });
                adv.push(Series { name, points: Vec::new() });
            }
            loss.last_mut().expect("pushed").points.push((training.number(2, r), training.number(3, r)));
            adv.last_mut().expect("pushed").points.push((training.number(2, r), training.number(4, r)));
        }
        let epochs = Axis::linear("epoch (1-based)", (0..training.len()).map(|r| training.number(2, r)), None);
        let losses = (0..training.len()).map(|r| training.number(3, r));
        body.push_str("<h2>Adversarial training</h2>\n<div class=grid>\n");
        body.push_str(
            &Plot::new(
                "training loss (adversarial examples)",
                epochs.clone(),
                Axis::linear("mean cross-entropy (nats)", losses, Some((0.0, f64::INFINITY))),
            )
            .lines(&loss),
        );
        body.push_str(
            &Plot::new(
                "training accuracy on PGD examples",
                epochs,
                accuracy_axis("accuracy on PGD examples", (0..training.len()).map(|r| training.number(4, r))),
            )
            .lines(&adv),
        );
        body.push_str("</div>\n");
    }

    let released = Rows::fetch(
        &catalog,
        "SELECT a.arch_index, a.value, b.value FROM benchmark a JOIN benchmark b USING (arch_index, dataset, source)
         WHERE a.source = 'nas-robbench-201' AND a.dataset = 'cifar10' AND a.metric = 'clean' AND b.metric = 'pgd' AND b.eps = 8",
    )?;
    if released.len() > 0 {
        let points: Vec<Point> = (0..released.len())
            .map(|r| Point {
                x: released.number(1, r),
                y: released.number(2, r),
                title: format!(
                    "{}: clean {:.3}, PGD@8 {:.3}",
                    arch_title(released.text(0, r)),
                    released.number(1, r),
                    released.number(2, r)
                ),
            })
            .collect();
        body.push_str("<h2>Released NAS-RobBench-201 (CIFAR-10)</h2>\n");
        body.push_str(
            &Plot::new(
                "NAS-RobBench-201: clean vs PGD@8",
                accuracy_axis("clean accuracy", points.iter().map(|p| p.x)),
                accuracy_axis("PGD accuracy at 8/255", points.iter().map(|p| p.y)),
            )
            .scatter(&points),
        );
    }
    body.push_str(&search_report::section(&catalog)?);
    if body.is_empty() {
        body.push_str("<p>This run has no evaluations, scores or imported benchmarks to plot.</p>\n");
    }
    Ok(format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>robbench report {run}</title>\n<style>body{{font-family:sans-serif;margin:2em}} .grid{{display:flex;flex-wrap:wrap;gap:8px}} table{{border-collapse:collapse}} td,th{{border:1px solid #ccc;padding:2px 8px}}</style></head>\n<body><h1>robbench report</h1><p>run <code>{run}</code></p>\n{body}</body></html>\n",
        run = escape(&run_id)
    ))
}

/// Attacks in the order the ladder plot shows them: the single-step and
/// iterative baselines, then AutoAttack's cascade in its own order.
const LADDER: [&str; 9] = ["clean", "fgsm", "pgd", "apgd-ce", "apgd-dlr", "apgd-t", "fab-t", "square", "autoattack"];

/// Every attack's accuracy on the images AutoAttack ran on (it runs on a
/// prefix of the evaluated images), so the attacks compare point for point;
/// "worst case" counts an image robust only if clean and every attack left
/// it correct.
fn same_images(catalog: &Arc<Catalog>) -> Result<String> {
    let mut html = String::new();
    let radii = Rows::fetch(catalog, "SELECT DISTINCT eps FROM evaluations WHERE attack = 'autoattack' ORDER BY eps")?;
    for e in 0..radii.len() {
        let (eps, eps_label) = (radii.text(0, e), radii.number(0, e));
        let on_autoattack_images = format!(
            "evaluation_samples s JOIN (SELECT DISTINCT arch_index, dataset, seed, sample_index FROM evaluation_samples
                                        WHERE attack = 'autoattack' AND eps = {eps}) a
             ON s.arch_index = a.arch_index AND s.dataset = a.dataset AND s.seed = a.seed AND s.sample_index = a.sample_index
             WHERE s.attack <> '{SWEEP}' AND (s.attack = 'clean' OR s.eps = {eps})"
        );
        let per_attack = Rows::fetch(
            catalog,
            &format!(
                "SELECT s.arch_index, s.seed, s.attack, avg(CASE WHEN s.correct THEN 1.0 ELSE 0.0 END) FROM {on_autoattack_images}
                 GROUP BY s.arch_index, s.seed, s.attack"
            ),
        )?;
        let worst = Rows::fetch(
            catalog,
            &format!(
                "SELECT arch_index, seed, avg(robust), count(*) FROM
                   (SELECT s.arch_index, s.seed, s.sample_index, min(CASE WHEN s.correct THEN 1.0 ELSE 0.0 END) AS robust
                    FROM {on_autoattack_images} GROUP BY s.arch_index, s.seed, s.sample_index)
                 GROUP BY arch_index, seed ORDER BY arch_index, seed"
            ),
        )?;
        let accuracy: HashMap<(&str, &str, &str), f64> = (0..per_attack.len())
            .map(|r| ((per_attack.text(0, r), per_attack.text(1, r), per_attack.text(2, r)), per_attack.number(3, r)))
            .collect();
        let present: Vec<&str> = LADDER.into_iter().filter(|a| accuracy.keys().any(|k| k.2 == *a)).collect();
        let mut categories: Vec<String> = present.iter().map(|a| a.to_string()).collect();
        categories.push("worst case".into());
        let mut series = Vec::new();
        let mut cells = Vec::new();
        for w in 0..worst.len() {
            let (arch, seed) = (worst.text(0, w), worst.text(1, w));
            let mut ladder: Vec<Option<f64>> =
                present.iter().map(|a| accuracy.get(&(arch, seed, *a)).copied()).collect();
            ladder.push(Some(worst.number(2, w)));
            series.push(Series {
                name: format!("arch {arch} s{seed}"),
                points: ladder.iter().enumerate().filter_map(|(i, v)| v.map(|v| (i as f64, v))).collect(),
            });
            let mut row = vec![arch.to_string(), seed.to_string(), worst.text(3, w).to_string()];
            row.extend(ladder.iter().map(|v| v.map_or("-".into(), |v| format!("{v:.3}"))));
            cells.push(row);
        }
        if series.is_empty() {
            continue;
        }
        let _ = writeln!(html, "<h3>Every attack on AutoAttack's images, eps = {eps_label}/255</h3>");
        html.push_str(
            &Plot::new(
                &format!("accuracy per attack, eps = {eps_label}/255, same images"),
                Axis::categories("attack, in AutoAttack's order", &categories),
                accuracy_axis("accuracy", series.iter().flat_map(|s| s.points.iter().map(|p| p.1))),
            )
            .lines(&series),
        );
        let mut headers = vec!["arch", "seed", "images"];
        headers.extend(categories.iter().map(String::as_str));
        html.push_str(&table(&headers, cells));
    }
    if !html.is_empty() {
        html.push_str("<p>Worst case: an image counts as robust only if it is classified correctly clean and after every attack at that eps.</p>\n");
    }
    Ok(html)
}

/// The strongest attack's metric among `correlations`' metrics: AutoAttack,
/// else PGD, else FGSM, at its largest eps; else clean accuracy.
fn strongest_metric<'a>(metrics: impl Iterator<Item = &'a str>) -> Option<String> {
    let parsed: Vec<(&str, f64, &str)> = metrics
        .map(|m| {
            let (attack, eps) = m.split_once('@').unwrap_or((m, "0"));
            (attack, eps.parse().unwrap_or(0.0), m)
        })
        .collect();
    ["autoattack", "pgd", "fgsm", "clean"].into_iter().find_map(|wanted| {
        parsed.iter().filter(|p| p.0 == wanted).max_by(|a, b| a.1.total_cmp(&b.1)).map(|p| p.2.to_string())
    })
}

/// How many score-vs-accuracy scatter plots the report draws (the best by |τ|).
const SCORE_PLOTS: usize = 6;

/// The `correlations` rows whose score is training-free (not one of the
/// run's accuracies, which `correlations` also ranks corruption accuracy by).
const TRAINING_FREE: &str = "(score LIKE 'ntk.%' OR score LIKE 'bound.%' OR score LIKE 'zero-cost:%')";

/// Every training-free score's rank agreement with clean and with the
/// strongest attack's accuracy, and scatter plots of the best few.
fn scores(catalog: &Arc<Catalog>) -> Result<String> {
    let metrics = Rows::fetch(
        catalog,
        &format!("SELECT DISTINCT metric FROM correlations WHERE source = 'robbench' AND {TRAINING_FREE}"),
    )?;
    let Some(strongest) = strongest_metric((0..metrics.len()).map(|r| metrics.text(0, r))) else {
        return Ok(String::new());
    };
    let corr = Rows::fetch(
        catalog,
        &format!(
            "SELECT score, max(CASE WHEN metric = 'clean' THEN kendall_tau END),
                    max(CASE WHEN metric = '{strongest}' THEN kendall_tau END) AS tau,
                    max(CASE WHEN metric = '{strongest}' THEN spearman END), max(n)
             FROM correlations WHERE source = 'robbench' AND {TRAINING_FREE}
             GROUP BY score ORDER BY abs(tau) DESC NULLS LAST, score"
        ),
    )?;
    let rounded = |c: usize, r: usize| {
        corr.columns[c][r].as_deref().map_or("n/a".into(), |_| format!("{:.3}", corr.number(c, r)))
    };
    let mut html = String::from("<h2>Training-free scores vs robust accuracy</h2>\n<div class=grid>\n");
    for r in 0..corr.len().min(SCORE_PLOTS) {
        let score = corr.text(0, r);
        if let Some(points) = score_points(catalog, score, &strongest)? {
            html.push_str(
                &Plot::new(
                    &format!("{score}: tau = {}", rounded(2, r)),
                    Axis::linear(&format!("{score} ({})", score_unit(score)), points.iter().map(|p| p.x), None),
                    accuracy_axis(&format!("{strongest} accuracy"), points.iter().map(|p| p.y)),
                )
                .scatter(&points),
            );
        }
    }
    html.push_str("</div>\n");
    let cells = (0..corr.len())
        .map(|r| {
            vec![corr.text(0, r).to_string(), rounded(1, r), rounded(2, r), rounded(3, r), corr.text(4, r).to_string()]
        })
        .collect();
    let strongest_tau = format!("Kendall tau, {strongest}");
    let strongest_rho = format!("Spearman rho, {strongest}");
    html.push_str(&table(&["score", "Kendall tau, clean", &strongest_tau, &strongest_rho, "architectures"], cells));
    Ok(html)
}

/// How many networks the severity curves follow.
const SEVERITY_NETWORKS: usize = 4;

/// `networks` (ordered by mean corruption accuracy, best first) thinned to
/// at most `n`, evenly spaced so the best and the worst are among them.
fn spread<T: Clone>(networks: &[T], n: usize) -> Vec<T> {
    if networks.len() <= n {
        return networks.to_vec();
    }
    let mut picked: Vec<usize> = (0..n).map(|k| (k * (networks.len() - 1) + (n - 1) / 2) / (n - 1)).collect();
    picked.dedup();
    picked.into_iter().map(|i| networks[i].clone()).collect()
}

/// Common-corruption accuracy: the mean per corruption and severity, a few
/// networks' accuracy over the severities (one plot per corruption), and
/// each network's mean corruption accuracy against the strongest attack's
/// accuracy. Without corruption rows, a line saying so (when the run has
/// evaluations at all).
fn corruptions(catalog: &Arc<Catalog>, evaluated: bool) -> Result<String> {
    let cells = Rows::fetch(
        catalog,
        "SELECT corruption, family, severity, avg(accuracy), count(DISTINCT arch_index), bool_and(standard)
         FROM corruption_evaluations GROUP BY corruption, family, severity ORDER BY family, corruption, severity",
    )?;
    if cells.len() == 0 {
        return Ok(if evaluated {
            "<h2>Common corruptions</h2>\n<p>No corruption evaluations in this run (<code>[evaluation.corruptions]</code> names none).</p>\n".into()
        } else {
            String::new()
        });
    }
    let mut html = String::from("<h2>Common corruptions</h2>\n");
    // The table: one row per corruption, one column per evaluated severity.
    let mut severities: Vec<i64> = (0..cells.len()).filter_map(|r| cells.text(2, r).parse().ok()).collect();
    severities.sort_unstable();
    severities.dedup();
    let mut rows: Vec<Vec<String>> = Vec::new();
    for r in 0..cells.len() {
        let (corruption, family) = (cells.text(0, r), cells.text(1, r));
        if rows.last().is_none_or(|row| row[0] != corruption) {
            let standard = if cells.text(5, r) == "true" { "standard" } else { "extra" };
            let mut row = vec![corruption.to_string(), family.to_string(), standard.to_string()];
            row.extend(severities.iter().map(|_| "-".to_string()));
            rows.push(row);
        }
        if let Some(k) = severities.iter().position(|s| s.to_string() == cells.text(2, r)) {
            rows.last_mut().expect("pushed")[3 + k] = format!("{:.3}", cells.number(3, r));
        }
    }
    let severity_headers: Vec<String> = severities.iter().map(|s| format!("severity {s}")).collect();
    let mut headers = vec!["corruption", "family", "set"];
    headers.extend(severity_headers.iter().map(String::as_str));
    let networks = cells.text(4, 0).to_string();
    let _ = writeln!(
        html,
        "<p>Mean accuracy over the networks ({networks}) and seeds, per corruption and severity (CIFAR-10-C's parameters; 16x16 images through 32x32).</p>"
    );
    html.push_str(&table(&headers, rows));

    // A few networks' curves over the severities, one plot per corruption.
    let by_arch = Rows::fetch(
        catalog,
        "SELECT arch_index, avg(accuracy) AS mean FROM corruption_evaluations GROUP BY arch_index ORDER BY mean DESC, arch_index",
    )?;
    let ranked: Vec<String> = (0..by_arch.len()).map(|r| by_arch.text(0, r).to_string()).collect();
    let followed = spread(&ranked, SEVERITY_NETWORKS);
    let curves = Rows::fetch(
        catalog,
        &format!(
            "SELECT corruption, arch_index, severity, avg(accuracy) FROM corruption_evaluations
             WHERE arch_index IN ({}) GROUP BY family, corruption, arch_index, severity
             ORDER BY family, corruption, arch_index, severity",
            followed.join(", ")
        ),
    )?;
    let mut plots: Vec<(String, Vec<Series>)> = Vec::new();
    for r in 0..curves.len() {
        let corruption = curves.text(0, r);
        if plots.last().is_none_or(|p| p.0 != corruption) {
            plots.push((corruption.to_string(), Vec::new()));
        }
        let series = &mut plots.last_mut().expect("pushed").1;
        let name = format!("arch {}", curves.text(1, r));
        if series.last().is_none_or(|s| s.name != name) {
            series.push(Series { name, points: Vec::new() });
        }
        series.last_mut().expect("pushed").points.push((curves.number(2, r), curves.number(3, r)));
    }
    // Legends list the networks from the best to the worst.
    let rank = |series: &Series| followed.iter().position(|a| series.name == format!("arch {a}"));
    for (_, series) in &mut plots {
        series.sort_by_key(rank);
    }
    let _ = writeln!(
        html,
        "<h3>Accuracy over the severities</h3>\n<p>{} of the {} networks, from the best to the worst mean corruption accuracy (averaged over seeds).</p>\n<div class=grid>",
        followed.len(),
        ranked.len()
    );
    for (corruption, series) in &plots {
        let all = || series.iter().flat_map(|s| s.points.iter());
        html.push_str(
            &Plot::new(
                corruption,
                Axis::linear("severity (1 mildest to 5)", all().map(|p| p.0), None),
                accuracy_axis(&format!("accuracy under {corruption}"), all().map(|p| p.1)),
            )
            .lines(series),
        );
    }
    html.push_str("</div>\n");
    html.push_str(&corruption_vs_attack(catalog)?);
    Ok(html)
}

/// Mean corruption accuracy against the strongest attack's accuracy, per
/// network, and the rank agreement of the run's accuracies with the
/// corruption summaries (from `correlations`, when the analysis ran).
fn corruption_vs_attack(catalog: &Arc<Catalog>) -> Result<String> {
    let attacks = Rows::fetch(
        catalog,
        &format!("SELECT DISTINCT attack, eps FROM evaluations WHERE attack NOT IN ('clean', '{SWEEP}')"),
    )?;
    let label = |eps: f64| if eps.fract() == 0.0 { format!("{eps:.0}") } else { format!("{eps}") };
    let names: Vec<String> =
        (0..attacks.len()).map(|r| format!("{}@{}", attacks.text(0, r), label(attacks.number(1, r)))).collect();
    let mut html = String::new();
    let strongest = strongest_metric(names.iter().map(String::as_str)).unwrap_or_else(|| "clean".to_string());
    let (attack, eps) = strongest.split_once('@').unwrap_or((strongest.as_str(), "0"));
    let points = Rows::fetch(
        catalog,
        &format!(
            "SELECT c.arch_index, c.acc, a.acc FROM
               (SELECT arch_index, avg(accuracy) AS acc FROM corruption_evaluations GROUP BY arch_index) c
             JOIN (SELECT arch_index, avg(accuracy) AS acc FROM evaluations WHERE attack = '{attack}' AND eps = {eps} GROUP BY arch_index) a
             USING (arch_index) ORDER BY c.arch_index"
        ),
    )?;
    let tau = Rows::fetch(
        catalog,
        &format!(
            "SELECT metric, max(CASE WHEN score = 'clean' THEN kendall_tau END),
                    max(CASE WHEN score = '{strongest}' THEN kendall_tau END) AS tau, max(n)
             FROM correlations WHERE source = 'robbench' AND metric LIKE 'corruption:%' AND metric NOT LIKE '%@%'
             GROUP BY metric ORDER BY metric"
        ),
    )?;
    let rounded = |rows: &Rows, c: usize, r: usize| {
        rows.columns[c][r].as_deref().map_or("n/a".into(), |_| format!("{:.3}", rows.number(c, r)))
    };
    let mean_tau = (0..tau.len()).find(|&r| tau.text(0, r) == "corruption:mean").map(|r| rounded(&tau, 2, r));
    if points.len() > 0 {
        let points: Vec<Point> = (0..points.len())
            .map(|r| Point {
                x: points.number(2, r),
                y: points.number(1, r),
                title: format!(
                    "{}: {strongest} {:.3}, mean corruption {:.3}",
                    arch_title(points.text(0, r)),
                    points.number(2, r),
                    points.number(1, r)
                ),
            })
            .collect();
        let title = match &mean_tau {
            Some(tau) => format!("mean corruption vs {strongest} accuracy: tau = {tau}"),
            None => format!("mean corruption vs {strongest} accuracy"),
        };
        html.push_str("<h3>Corruption vs adversarial accuracy</h3>\n");
        html.push_str(
            &Plot::new(
                &title,
                accuracy_axis(&format!("{strongest} accuracy"), points.iter().map(|p| p.x)),
                accuracy_axis("mean corruption accuracy", points.iter().map(|p| p.y)),
            )
            .scatter(&points),
        );
    }
    if tau.len() > 0 {
        let cells = (0..tau.len())
            .map(|r| {
                vec![tau.text(0, r).to_string(), rounded(&tau, 1, r), rounded(&tau, 2, r), tau.text(3, r).to_string()]
            })
            .collect();
        let strongest_tau = format!("Kendall tau with {strongest}");
        html.push_str(&table(
            &["corruption accuracy", "Kendall tau with clean", &strongest_tau, "architectures"],
            cells,
        ));
        html.push_str("<p>corruption:mean is the mean over every evaluated corruption and severity; corruption:robustbench (when all 15 standard corruptions were evaluated at severities 1-5) is RobustBench's corruption accuracy.</p>\n");
    }
    Ok(html)
}

/// (score, accuracy) per architecture for a `correlations` score name.
fn score_points(catalog: &Arc<Catalog>, score: &str, metric: &str) -> Result<Option<Vec<Point>>> {
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
    Ok(Some(
        (0..rows.len())
            .map(|r| Point {
                x: rows.number(1, r),
                y: rows.number(2, r),
                title: format!(
                    "{}: score {:.4}, accuracy {:.3}",
                    arch_title(rows.text(0, r)),
                    rows.number(1, r),
                    rows.number(2, r)
                ),
            })
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::{spread, strongest_metric};

    #[test]
    fn the_followed_networks_span_the_best_to_the_worst() {
        let ranked: Vec<u32> = (0..10).collect();
        assert_eq!(spread(&ranked, 4), [0, 3, 6, 9]);
        assert_eq!(spread(&ranked[..3], 4), [0, 1, 2]);
        assert_eq!(spread(&ranked[..5], 4), [0, 1, 3, 4]);
    }

    #[test]
    fn the_strongest_metric_is_the_strongest_attack_at_its_largest_eps() {
        let pick = |metrics: &[&str]| strongest_metric(metrics.iter().copied());
        // Numeric, not lexicographic: 16 > 3.
        assert_eq!(pick(&["clean", "pgd@3", "pgd@16", "fgsm@32"]).as_deref(), Some("pgd@16"));
        assert_eq!(pick(&["pgd@16", "autoattack@8", "clean"]).as_deref(), Some("autoattack@8"));
        assert_eq!(pick(&["clean"]).as_deref(), Some("clean"));
        assert_eq!(pick(&["pgd-sweep@255"]), None);
    }
}
