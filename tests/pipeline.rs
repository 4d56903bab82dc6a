//! The default pipeline's promises, end to end through the binary, on a tiny
//! config: reuse, incremental reruns, SQL, verify, and resuming killed runs.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{robbench, run_tiny, sql_tiny, stage_counts, stderr, stdout};

#[test]
fn runs_reruns_incrementally_and_answers_sql() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path();
    let first = run_tiny(store, &[]);
    assert!(first.status.success(), "{}\n{}", stdout(&first), stderr(&first));
    assert_eq!(stage_counts(&first, "train"), (2, 0, 0));
    // Per model: clean, FGSM and PGD at 3 and 8, AutoAttack at 8, the sweep at 8 and 255.
    assert_eq!(stage_counts(&first, "evaluate"), (16, 0, 0));
    assert_eq!(stage_counts(&first, "checks"), (2, 0, 0));

    let again = run_tiny(store, &[]);
    for stage in ["prepare", "architectures", "train", "evaluate", "checks", "ntk", "bound"] {
        assert_eq!(stage_counts(&again, stage).0, 0, "{stage} re-executed on an unchanged config");
    }

    // An evaluation setting reruns only the PGD evaluations.
    let pgd = run_tiny(store, &["evaluation.pgd.steps=2"]);
    assert_eq!(stage_counts(&pgd, "train"), (0, 2, 0));
    assert_eq!(stage_counts(&pgd, "evaluate"), (4, 12, 0));
    assert_eq!(stage_counts(&pgd, "ntk").0, 0);
    // An AutoAttack budget reruns only AutoAttack (and the cheap checks).
    let square = run_tiny(store, &["evaluation.autoattack.square_queries=50"]);
    assert_eq!(stage_counts(&square, "evaluate"), (2, 14, 0));
    assert_eq!(stage_counts(&square, "checks"), (2, 0, 0));

    // Clean ≥ FGSM ≥ PGD ≥ AutoAttack per model, and AutoAttack's cascade
    // only ever lowers the accuracy, from SQL.
    let rows = sql_tiny(
        store,
        &[],
        "SELECT arch_index,
                max(CASE WHEN attack = 'clean' THEN accuracy END),
                max(CASE WHEN attack = 'fgsm' AND eps = 8 THEN accuracy END),
                max(CASE WHEN attack = 'pgd' AND eps = 8 THEN accuracy END),
                max(CASE WHEN attack = 'apgd-ce' THEN accuracy END),
                max(CASE WHEN attack = 'apgd-t' THEN accuracy END),
                max(CASE WHEN attack = 'fab-t' THEN accuracy END),
                max(CASE WHEN attack = 'square' THEN accuracy END),
                max(CASE WHEN attack = 'autoattack' THEN accuracy END)
         FROM evaluations GROUP BY arch_index ORDER BY arch_index",
    );
    assert_eq!(rows.len(), 2);
    for row in &rows {
        let v: Vec<f64> = row[1..].iter().map(|x| x.parse().unwrap()).collect();
        assert!(
            v.windows(2).all(|w| w[0] >= w[1]),
            "clean/fgsm/pgd/apgd-ce/apgd-t/fab-t/square/autoattack not ordered: {row:?}"
        );
        assert_eq!(v[6], v[7], "AutoAttack's result is what its last component left: {row:?}");
    }
    // 40 images per model: 5 attack units, AutoAttack's 5 rows, the 2 sweep points.
    let per_sample = sql_tiny(store, &[], "SELECT count(*) FROM evaluation_samples");
    assert_eq!(per_sample[0][0], "960");
    let ntk = sql_tiny(store, &[], "SELECT count(*) FROM ntk WHERE lambda_min > 0 AND kernel = 'robust_all'");
    assert_eq!(ntk[0][0], "6", "every robust_all kernel is positive definite");
    let bounds = sql_tiny(store, &[], "SELECT count(*) FROM bounds WHERE robust_bound > 0");
    assert_eq!(bounds[0][0], "6");
    let history = sql_tiny(store, &[], "SELECT count(DISTINCT run_id) FROM evaluations_history");
    assert_eq!(history[0][0], "4", "every run the store has seen");
    let o = robbench(store, &["sql", "--format", "json", "--set", "dataset.train_size=7", "SELECT 1"]);
    assert!(!o.status.success() && stderr(&o).contains("no complete run of this config"), "{}", stderr(&o));

    // The report plots the run: accuracy scatter, every attack on the same images, the best scores, training curves.
    let report = store.join("report.html");
    let mut args = vec!["report".to_string(), "--out".into(), report.display().to_string()];
    for set in common::TINY {
        args.push("--set".into());
        args.push(set.to_string());
    }
    let o = robbench(store, &args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(o.status.success(), "{}", stderr(&o));
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"));
    assert_eq!(html.matches("<svg").count(), html.matches("</svg>").count());
    assert!(html.matches("<svg").count() >= 10, "too few plots");
    assert!(html.contains("clean vs PGD") && html.contains("tau = ") && html.contains("training loss"));
    assert!(html.contains("Accuracy under each attack") && html.contains("<td>autoattack</td>"));
    assert!(html.contains("PGD accuracy over the eps sweep"));
    assert!(html.contains("Every attack on AutoAttack's images, eps = 8/255") && html.contains("<th>worst case</th>"));
    assert!(html.contains("<th>Kendall tau, autoattack@8</th>"), "scores are ranked against the strongest attack");

    // A sweep that stops at 1/255 cannot reach 0: the networks are flagged,
    // and only the checks and the new sweep point run.
    let short = run_tiny(store, &["evaluation.sweep.eps=[1.0]"]);
    assert_eq!(stage_counts(&short, "evaluate"), (2, 12, 0));
    let alerts = sql_tiny(
        store,
        &["evaluation.sweep.eps=[1.0]"],
        "SELECT arch_index, kind FROM alerts WHERE kind = 'sweep-not-zero'",
    );
    assert!(!alerts.is_empty(), "a sweep ending at 1/255 must be flagged");

    // verify finds a corrupted file; the next run recomputes just that unit.
    let o = robbench(store, &["verify"]);
    assert!(o.status.success(), "{}", stdout(&o));
    let evaluation = std::fs::read_dir(store.join("objects/evaluate")).unwrap().next().unwrap().unwrap().path();
    let table = evaluation.join("tables/evaluations.v1.parquet");
    let mut bytes = std::fs::read(&table).unwrap();
    bytes[20] ^= 0x55;
    std::fs::write(&table, bytes).unwrap();
    let o = robbench(store, &["verify"]);
    assert!(!o.status.success());
    assert!(stdout(&o).contains("evaluations.v1.parquet"), "{}", stdout(&o));
    let repaired = run_tiny(store, &[]);
    assert_eq!(stage_counts(&repaired, "evaluate").0, 1);
    assert!(robbench(store, &["verify"]).status.success());
}

#[test]
fn a_killed_training_run_leaves_no_partial_unit_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path();
    let long = ["architectures.indices=[1462]", "train.epochs=6", "dataset.train_size=600"];
    // Kill it once the first epoch checkpoint exists.
    run_tiny_until(store, &long, |scratch| scratch.join("latest").exists());
    assert!(!store.join("objects/train").exists(), "a killed unit must leave no object");

    let resumed = run_tiny(store, &long);
    assert!(resumed.status.success(), "{}", stderr(&resumed));
    assert_eq!(stage_counts(&resumed, "train"), (1, 0, 0));
    let unit = std::fs::read_dir(store.join("objects/train")).unwrap().next().unwrap().unwrap().path();
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(unit.join("manifest.json")).unwrap()).unwrap();
    assert!(manifest["notes"]["resumed_after_epoch"].as_u64().unwrap() >= 1, "{manifest}");
    let epochs = sql_tiny(store, &long, "SELECT count(*) FROM training");
    assert_eq!(epochs[0][0], "6", "the log covers every epoch, before and after the kill");
}

#[test]
fn a_killed_autoattack_evaluation_resumes_at_its_next_batch_with_the_same_result() {
    let dir = tempfile::tempdir().unwrap();
    let (killed, reference) = (dir.path().join("killed"), dir.path().join("reference"));
    let base = ["architectures.indices=[1462]", "evaluation.batch_size=4"];
    let trained = run_tiny(&killed, &[&base[..], &["evaluation.autoattack.eps=[]"]].concat());
    assert!(trained.status.success(), "{}", stderr(&trained));
    let copied = std::process::Command::new("cp").arg("-r").arg(&killed).arg(&reference).status().unwrap();
    assert!(copied.success());

    // Only the AutoAttack unit is new (about 4 s): kill it after its first batch of 10.
    let with_autoattack =
        [&base[..], &["evaluation.autoattack.eps=[2.0]", "evaluation.autoattack.square_queries=2000"]].concat();
    let evaluations = || std::fs::read_dir(killed.join("objects/evaluate")).unwrap().count();
    let before = evaluations();
    run_tiny_until(&killed, &with_autoattack, |scratch| scratch.join("batch-0.json").exists());
    assert_eq!(evaluations(), before, "a killed unit must leave no object");
    let resumed = run_tiny(&killed, &with_autoattack);
    assert!(resumed.status.success(), "{}", stderr(&resumed));
    assert_eq!(stage_counts(&resumed, "evaluate").0, 1);
    let uninterrupted = run_tiny(&reference, &with_autoattack);
    assert!(uninterrupted.status.success(), "{}", stderr(&uninterrupted));

    let query =
        "SELECT attack, sample_index, correct FROM evaluation_samples WHERE eps = 2 ORDER BY attack, sample_index";
    let got = sql_tiny(&killed, &with_autoattack, query);
    assert_eq!(got.len(), 5 * 40, "AutoAttack and its four components, 40 images each");
    assert_eq!(got, sql_tiny(&reference, &with_autoattack, query), "resuming must not change a single verdict");
    let unit = std::fs::read_dir(killed.join("objects/evaluate"))
        .unwrap()
        .flatten()
        .map(|e| e.path().join("manifest.json"))
        .find(|m| std::fs::read_to_string(m).unwrap().contains("resumed_batches"));
    assert!(unit.is_some(), "the AutoAttack unit records that it resumed");
}

/// Starts `robbench run` (tiny config plus `extra`) and kills it as soon as
/// some unit's scratch directory satisfies `ready`.
fn run_tiny_until(store: &Path, extra: &[&str], ready: impl Fn(&Path) -> bool) {
    let mut args =
        vec!["--store".to_string(), store.display().to_string(), "run".into(), "--device".into(), common::device()];
    for set in common::TINY.iter().chain(extra) {
        args.push("--set".into());
        args.push(set.to_string());
    }
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_robbench"))
        .args(&args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let scratch = store.join("scratch");
    loop {
        let reached = std::fs::read_dir(&scratch).map(|d| d.flatten().any(|e| ready(&e.path()))).unwrap_or(false);
        if reached {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(300), "the awaited scratch state never appeared");
        assert!(child.try_wait().unwrap().is_none(), "the run finished before it could be killed");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn the_proxy_study_scores_untrained_networks_against_the_released_benchmark() {
    let dir = tempfile::tempdir().unwrap();
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/configs/proxy-study.toml");
    let sets = ["architectures.sample_size=4", "ntk.samples=4", "model.cells=1", "dataset.train_size=20"];
    let device = common::device();
    let mut args = vec!["run", "--device", &device, "--config", config];
    for set in &sets {
        args.extend(["--set", set]);
    }
    let o = robbench(dir.path(), &args);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stage_counts(&o, "ntk"), (4, 0, 0));
    assert!(!stdout(&o).lines().any(|l| l.starts_with("train ")), "no training in a training-free study");
    // The README's cost breakdown of a unit reads these notes.
    for unit in std::fs::read_dir(dir.path().join("objects/ntk")).unwrap().flatten() {
        let manifest: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(unit.path().join("manifest.json")).unwrap()).unwrap();
        for note in ["calibration_seconds", "attack_seconds", "kernel_seconds"] {
            assert!(manifest["notes"][note].as_f64().is_some_and(|s| s > 0.0), "{note}: {manifest}");
        }
    }
    let mut query = vec!["sql", "--format", "csv", "--config", config];
    for set in &sets {
        query.extend(["--set", set]);
    }
    query.push("SELECT count(*), min(n) FROM correlations WHERE metric = 'nas-robbench-201/cifar10:pgd@8'");
    let o = robbench(dir.path(), &query);
    let row = stdout(&o).lines().nth(1).unwrap_or_default().to_string();
    let fields: Vec<i64> = row.split(',').map(|x| x.parse().unwrap()).collect();
    assert!(fields[0] > 10, "every score is correlated with the released PGD@8: {row}");
    assert_eq!(fields[1], 4, "over the 4 sampled architectures");
}

#[test]
fn imagenet16_pickles_run_through_the_whole_pipeline() {
    let Some(python) = robbench_reference::python(&["numpy"]) else { return };
    let data = tempfile::tempdir().unwrap();
    robbench_reference::run_json(&python, "write_imagenet16.py", &[data.path().to_str().unwrap(), "2", "30"]);
    let store = tempfile::tempdir().unwrap();
    let root = format!("dataset.root=\"{}\"", data.path().display());
    let o = run_tiny(
        store.path(),
        &["dataset.name=\"imagenet16-120\"", &root, "dataset.train_size=120", "dataset.test_size=24"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let rows = sql_tiny(
        store.path(),
        &["dataset.name=\"imagenet16-120\"", &root, "dataset.train_size=120", "dataset.test_size=24"],
        "SELECT d.classes, d.height, a.classes, a.input_size FROM datasets d CROSS JOIN architectures a WHERE d.split = 'train' LIMIT 1",
    );
    assert_eq!(rows, vec![vec!["120", "16", "120", "16"]]);
}
