//! Common-corruption accuracy in the analysis, the report and the imports:
//! `correlations` ranks it against every accuracy and score with the values
//! SQL averages, the report plots it (or says there is none), and the
//! robustness dataset's corruption files meet the run's rows per cell in SQL.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{TINY, robbench, run_tiny, sql_tiny, stage_counts, stderr};

/// Three networks, no AutoAttack or sweep: PGD@8 is the strongest attack.
const SETS: &[&str] =
    &["architectures.indices=[1462, 7581, 0]", "evaluation.autoattack.eps=[]", "evaluation.sweep.eps=[]"];

/// Kendall's τ-b by its definition, over every pair (an independent check
/// of the analysis' O(n log n) version); `None` when either side is constant.
fn tau_b(x: &[f64], y: &[f64]) -> Option<f64> {
    let (mut concordant, mut discordant, mut tied_x, mut tied_y) = (0.0, 0.0, 0.0, 0.0);
    for i in 0..x.len() {
        for j in i + 1..x.len() {
            let (dx, dy) = (x[i] - x[j], y[i] - y[j]);
            match (dx == 0.0, dy == 0.0) {
                (true, true) => {}
                (true, false) => tied_x += 1.0,
                (false, true) => tied_y += 1.0,
                _ if dx * dy > 0.0 => concordant += 1.0,
                _ => discordant += 1.0,
            }
        }
    }
    let denominator = f64::sqrt((concordant + discordant + tied_x) * (concordant + discordant + tied_y));
    (denominator > 0.0).then(|| (concordant - discordant) / denominator)
}

fn sql(store: &Path, query: &str) -> Vec<Vec<String>> {
    sql_tiny(store, SETS, query)
}

/// Per network, the seed-averaged values of two queries giving (arch_index, value).
fn paired(store: &Path, x: &str, y: &str) -> (Vec<f64>, Vec<f64>) {
    let rows = sql(store, &format!("SELECT x.arch_index, x.v, y.v FROM ({x}) x JOIN ({y}) y USING (arch_index)"));
    rows.iter().map(|r| (r[1].parse::<f64>().unwrap(), r[2].parse::<f64>().unwrap())).unzip()
}

/// The stored (n, τ) of a `correlations` row of this run.
fn stored(store: &Path, score: &str, metric: &str) -> (usize, Option<f64>) {
    let rows = sql(
        store,
        &format!(
            "SELECT n, kendall_tau FROM correlations WHERE source = 'robbench' AND score = '{score}' AND metric = '{metric}'"
        ),
    );
    assert_eq!(rows.len(), 1, "{score} vs {metric}: {rows:?}");
    (rows[0][0].parse().unwrap(), rows[0][1].parse().ok())
}

fn report(store: &Path, extra: &[&str]) -> String {
    let out = store.join("report.html");
    let mut args = vec!["report".to_string(), "--out".into(), out.display().to_string()];
    for set in TINY.iter().chain(SETS).chain(extra) {
        args.extend(["--set".to_string(), set.to_string()]);
    }
    let o = robbench(store, &args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(o.status.success(), "{}", stderr(&o));
    std::fs::read_to_string(&out).unwrap()
}

/// A dataset folder in the robustness dataset's layout: `<key>_accuracy.json`
/// holding `{dataset: {key: {"accuracy": {index: value(s)}}}}`.
fn write_robustness_folder(dir: &Path, files: &[(&str, serde_json::Value)]) {
    std::fs::create_dir_all(dir).unwrap();
    for (key, accuracy) in files {
        let json = serde_json::json!({ "cifar10": { *key: { "accuracy": accuracy } } });
        std::fs::write(dir.join(format!("{key}_accuracy.json")), json.to_string()).unwrap();
    }
}

#[test]
fn corruption_accuracy_is_ranked_plotted_and_compared_with_standard_training_per_cell() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path();
    let o = run_tiny(store, SETS);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stage_counts(&o, "corrupt"), (3, 0, 0));
    assert_eq!(stage_counts(&o, "analysis"), (1, 0, 0));

    // The default config's 5 corruptions at severities 1 and 5: 10 cells, the
    // 4 families, the mean; not RobustBench's 15 × 5.
    let metrics: Vec<String> = sql(
        store,
        "SELECT DISTINCT metric FROM correlations WHERE metric LIKE 'corruption:%' AND metric NOT LIKE '%@%' ORDER BY 1",
    )
    .into_iter()
    .map(|r| r[0].clone())
    .collect();
    assert_eq!(
        metrics,
        ["corruption:blur", "corruption:digital", "corruption:mean", "corruption:noise", "corruption:weather"]
    );
    let cells = sql(store, "SELECT count(DISTINCT metric) FROM correlations WHERE metric LIKE 'corruption:%@%'");
    assert_eq!(cells[0][0], "10");

    // τ from the values SQL averages over seeds is the stored τ: accuracy vs
    // corruption accuracy, and a training-free score vs corruption accuracy.
    let corruption = |filter: &str| {
        format!("SELECT arch_index, avg(accuracy) AS v FROM corruption_evaluations WHERE {filter} GROUP BY arch_index")
    };
    let evaluation = |attack: &str, eps: &str| {
        format!(
            "SELECT arch_index, avg(accuracy) AS v FROM evaluations WHERE attack = '{attack}' AND eps = {eps} GROUP BY arch_index"
        )
    };
    let ntk = sql(store, "SELECT min(score) FROM correlations WHERE score LIKE 'ntk.%.robust.lambda_min'");
    let ntk = ntk[0][0].clone();
    let weights = ntk.split('.').nth(1).unwrap();
    let ntk_values = format!(
        "SELECT arch_index, avg(lambda_min) AS v FROM ntk WHERE weights = '{weights}' AND kernel = 'robust' GROUP BY arch_index"
    );
    for (score, score_sql, metric, metric_sql) in [
        ("pgd@8", evaluation("pgd", "8"), "corruption:mean", corruption("true")),
        ("clean", evaluation("clean", "0"), "corruption:weather", corruption("family = 'weather'")),
        ("fgsm@3", evaluation("fgsm", "3"), "corruption:fog@5", corruption("corruption = 'fog' AND severity = 5")),
        (ntk.as_str(), ntk_values, "corruption:mean", corruption("true")),
    ] {
        let (x, y) = paired(store, &score_sql, &metric_sql);
        assert_eq!(x.len(), 3);
        let (n, tau) = stored(store, score, metric);
        assert_eq!(n, 3, "{score} vs {metric}");
        match (tau, tau_b(&x, &y)) {
            (Some(a), Some(b)) => assert!((a - b).abs() < 1e-9, "{score} vs {metric}: stored {a}, from SQL {b}"),
            (a, b) => assert_eq!(a, b, "{score} vs {metric}: {x:?} {y:?}"),
        }
    }

    // The report: a severity plot per corruption, the scatter against PGD@8, no NaN.
    let html = report(store, &[]);
    assert!(html.contains("<h2>Common corruptions</h2>"), "no corruption section");
    for corruption in ["gaussian_noise", "defocus_blur", "fog", "contrast", "jpeg_compression"] {
        assert!(html.contains(&format!("<title>{corruption}</title>")), "no severity plot of {corruption}");
    }
    assert!(html.contains("mean corruption vs pgd@8 accuracy"), "no corruption vs PGD scatter");
    assert!(html.contains("<th>severity 5</th>") && html.contains("<td>corruption:mean</td>"));
    assert_eq!(html.matches("<svg").count(), html.matches("</svg>").count());
    assert!(!html.contains("NaN"), "the report shows a NaN");

    // Jung et al.'s standard-trained networks, imported from files in the
    // official layout (clean and fog only: a missing corruption file is no
    // error), meet the adversarially trained ones per cell.
    let classes: BTreeMap<i64, i64> = sql(store, "SELECT arch_index, unique_index FROM architectures")
        .iter()
        .map(|r| (r[0].parse().unwrap(), r[1].parse().unwrap()))
        .collect();
    let fog = |class: i64, severity: i64| 0.9 - 0.1 * severity as f64 - 0.00001 * class as f64;
    let folder = dir.path().join("robustness/cifar10");
    write_robustness_folder(
        &folder,
        &[
            ("clean", classes.values().map(|c| (c.to_string(), serde_json::json!(0.9))).collect()),
            (
                "fog",
                classes.values().map(|&c| (c.to_string(), (1..=5).map(|s| fog(c, s)).collect::<Vec<_>>())).collect(),
            ),
        ],
    );
    let o = robbench(store, &["import", "robustness-dataset", folder.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let imported = sql(store, "SELECT DISTINCT metric FROM benchmark WHERE metric LIKE 'corruption:%' ORDER BY 1");
    let expected: Vec<Vec<String>> = (1..=5).map(|s| vec![format!("corruption:fog@{s}")]).collect();
    assert_eq!(imported, expected);
    let per_cell = sql(
        store,
        "SELECT c.arch_index, c.severity, max(b.value) FROM corruption_evaluations c
         JOIN architectures a ON a.arch_index = c.arch_index
         JOIN benchmark b ON b.source = 'robustness-dataset' AND b.arch_index = a.unique_index
              AND b.metric = 'corruption:' || c.corruption || '@' || CAST(c.severity AS VARCHAR)
         GROUP BY c.arch_index, c.severity ORDER BY 1, 2",
    );
    let want: Vec<(i64, i64)> = classes.keys().flat_map(|&a| [(a, 1), (a, 5)]).collect();
    let got: Vec<(i64, i64)> = per_cell.iter().map(|r| (r[0].parse().unwrap(), r[1].parse().unwrap())).collect();
    assert_eq!(got, want);
    for r in &per_cell {
        let (arch, severity, value): (i64, i64, f64) =
            (r[0].parse().unwrap(), r[1].parse().unwrap(), r[2].parse().unwrap());
        assert!((value - fog(classes[&arch], severity)).abs() < 1e-12, "{r:?}");
    }
    // The import ranks its own networks by their corruption summary too.
    let tau = sql(
        store,
        "SELECT n FROM correlations WHERE source = 'robustness-dataset' AND score = 'clean' AND metric = 'corruption:mean'",
    );
    assert_eq!(tau, [vec![classes.len().to_string()]]);

    // A run without corruptions: the report says so instead of plotting.
    let off = ["evaluation.corruptions.names=[]"];
    let o = run_tiny(store, &[SETS, &off].concat());
    assert!(o.status.success(), "{}", stderr(&o));
    let html = report(store, &off);
    assert!(html.contains("No corruption evaluations in this run"), "no notice of missing corruptions");
    assert!(!html.contains("Accuracy over the severities"));
}

#[test]
fn a_malformed_corruption_file_fails_the_import_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("cifar10");
    // Four values where the dataset has one per severity 1 to 5.
    write_robustness_folder(&folder, &[("fog", serde_json::json!({ "0": [0.6, 0.5, 0.4, 0.3] }))]);
    let o = robbench(dir.path(), &["import", "robustness-dataset", folder.to_str().unwrap()]);
    assert!(!o.status.success());
    let file = folder.join("fog_accuracy.json").display().to_string();
    assert!(stderr(&o).contains(&file) && stderr(&o).contains("cifar10.fog.accuracy.0"), "{}", stderr(&o));
}
