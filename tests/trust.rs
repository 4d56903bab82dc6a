//! Results a user can trust: the same unit key gives the same bytes, a
//! network that never learned is flagged, and impossible configs are refused
//! before anything runs.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{robbench, run_tiny, stderr, stdout};

/// Training only (one network), then its checks.
const TRAIN_ONLY: &[&str] = &[
    "architectures.indices=[1462]",
    "evaluation.clean.enabled=false",
    "evaluation.fgsm.eps=[]",
    "evaluation.pgd.eps=[]",
    "evaluation.autoattack.eps=[]",
    "evaluation.sweep.eps=[]",
    "ntk.enabled=false",
];

/// blake3 of every file of every stored unit but its manifest (which records
/// timings), by path relative to the store.
fn object_hashes(store: &Path) -> BTreeMap<String, String> {
    fn walk(dir: &Path, root: &Path, out: &mut BTreeMap<String, String>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, root, out);
            } else if path.file_name().unwrap() != "manifest.json" {
                let hash = blake3::hash(&std::fs::read(&path).unwrap()).to_hex().to_string();
                out.insert(path.strip_prefix(root).unwrap().display().to_string(), hash);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(&store.join("objects"), store, &mut out);
    out
}

#[test]
fn a_unit_run_twice_gives_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    for store in [&a, &b] {
        let o = run_tiny(store, TRAIN_ONLY);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let (left, right) = (object_hashes(&a), object_hashes(&b));
    assert!(left.keys().any(|p| p.ends_with("model.safetensors")), "{left:?}");
    assert!(left.keys().any(|p| p.ends_with(".parquet") && p.contains("/train/")), "{left:?}");
    let differing: Vec<&String> = left.iter().filter(|(p, h)| right.get(*p) != Some(*h)).map(|(p, _)| p).collect();
    assert!(differing.is_empty(), "same unit keys, different bytes: {differing:?}");
    assert_eq!(left.len(), right.len());
}

#[test]
fn a_network_trained_to_chance_is_flagged_and_a_healthy_one_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path();
    // The default experiment's recipe, on one network; first with a learning rate 100 times too high.
    let default_recipe = TRAIN_ONLY;
    let run = |extra: &[&str]| {
        let mut args = vec!["run", "--device", "cpu"];
        for set in default_recipe.iter().chain(extra) {
            args.extend(["--set", set]);
        }
        robbench(store, &args)
    };
    let hot = run(&["train.max_lr=10"]);
    assert!(hot.status.success(), "{}", stderr(&hot));
    let warning = stdout(&hot).lines().find(|l| l.starts_with("warning:")).map(str::to_string);
    assert!(
        warning.as_deref().is_some_and(|w| w.contains("arch 1462") && w.contains("training-at-chance")),
        "no training-health warning in the run summary:\n{}",
        stdout(&hot)
    );
    let healthy = run(&[]);
    assert!(healthy.status.success(), "{}", stderr(&healthy));
    assert!(!stdout(&healthy).contains("warning:"), "{}", stdout(&healthy));

    let query = |extra: &[&str], sql: &str| {
        let mut args = vec!["sql", "--format", "csv"];
        for set in default_recipe.iter().chain(extra) {
            args.extend(["--set", set]);
        }
        args.push(sql);
        let o = robbench(store, &args);
        assert!(o.status.success(), "{}", stderr(&o));
        stdout(&o).lines().skip(1).map(str::to_string).collect::<Vec<_>>()
    };
    let alerts = query(&["train.max_lr=10"], "SELECT arch_index, kind FROM alerts");
    assert_eq!(alerts, ["1462,training-at-chance"]);
    assert!(query(&[], "SELECT kind FROM alerts").is_empty());
}

#[test]
fn impossible_values_are_refused_naming_the_key_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path();
    let no_files = dir.path().join("empty");
    std::fs::create_dir(&no_files).unwrap();
    let root = format!("dataset.root=\"{}\"", no_files.display());
    for (sets, key) in [
        (vec!["train.epochs=0"], "train.epochs"),
        (vec!["train.batch_size=0"], "train.batch_size"),
        (vec!["train.seeds=[0, 0]"], "train.seeds"),
        (vec!["model.cells=0"], "model.cells"),
        (vec!["evaluation.pgd.eps=[8.0, 3.0]"], "evaluation.pgd.eps"),
        (vec!["evaluation.sweep.eps=[8.0, 8.0]"], "evaluation.sweep.eps"),
        (vec!["evaluation.fgsm.eps=[-1.0]"], "evaluation.fgsm.eps"),
        (vec!["evaluation.pgd.steps=0"], "evaluation.pgd.steps"),
        (vec!["ntk.betas=[0.5, 0.0]"], "ntk.betas"),
        (vec!["ntk.weights=[]"], "ntk.weights"),
        (vec!["ntk.weights=[\"final\"]"], "ntk.weights"),
        (vec!["ntk.output=\"mean\""], "ntk.output"),
        (vec!["ntk.steps=0"], "ntk.steps"),
        (vec!["architectures.select=\"all\""], "architectures.select"),
        (vec!["checks.chance_after=0"], "checks.chance_after"),
        (vec!["dataset.root=\"/tmp\""], "dataset.root"),
        (vec!["dataset.name=\"cifar10\"", "dataset.root=\"/nonexistent/cifar\""], "dataset.root"),
        (vec!["dataset.name=\"cifar100\"", &root], "dataset.root"),
        (vec!["dataset.name=\"imagenet16-120\"", &root], "dataset.root"),
        (vec!["analysis.reference_ops=\"/nonexistent.json\""], "analysis.reference_ops"),
        (vec!["analysis.reference_dataset=\"synthetic\""], "analysis.reference_dataset"),
    ] {
        let mut args = vec!["run", "--device", "cpu"];
        for set in &sets {
            args.extend(["--set", set]);
        }
        let o = robbench(store, &args);
        assert!(!o.status.success(), "{sets:?} was accepted");
        assert!(stderr(&o).contains(&format!("`{key}`")), "{sets:?}: {}", stderr(&o));
    }
    assert!(!store.join("objects").exists(), "nothing ran");
    // The refusal of a root without the files names one of them.
    let o = robbench(store, &["plan", "--set", "dataset.name=\"cifar10\"", "--set", &root]);
    assert!(stderr(&o).contains("data_batch_1.bin"), "{}", stderr(&o));
    // The default config still plans.
    let o = robbench(store, &["plan"]);
    assert!(o.status.success(), "{}", stderr(&o));
}
