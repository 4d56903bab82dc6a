//! `import_nasrobbench201` on small files in the released `_all.json` format
//! (the real file is not in the repository), with the real `meta.json`.

use std::path::PathBuf;

use robbench_analysis::{AnalysisError, Record, import_nasrobbench201};
use robbench_published::{Input, ROBUSTNESS_META};

const ARCH_1000: &str = "|skip_connect~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|none~0|skip_connect~1|nor_conv_3x3~2|";

fn import(json: &str) -> (Result<Vec<Record>, AnalysisError>, PathBuf, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("NAS-RobBench-201_all.json");
    std::fs::write(&path, json).unwrap();
    (import_nasrobbench201(&Input::Shipped(&ROBUSTNESS_META), &Input::File(path.clone())), path, dir)
}

fn find<'a>(records: &'a [Record], dataset: &str, metric: &str, eps: Option<f64>, seed: Option<i64>) -> &'a Record {
    let hits: Vec<&Record> = records
        .iter()
        .filter(|r| r.dataset == dataset && r.metric == metric && r.eps == eps && r.seed == seed)
        .collect();
    assert_eq!(hits.len(), 1, "{dataset} {metric} {eps:?} {seed:?}: {hits:?}");
    hits[0]
}

#[test]
fn imports_seeds_means_and_resolves_isomorphs() {
    // 9743 is isomorphic to 1000, so its entries land on representative 1000.
    let (records, _, _dir) = import(
        r#"{"cifar10": {"9743": {"val_fgsm_3.0_acc": {"1": 0.6729999780654907, "2": 0.67, "threeseed": 0.6716},
                                  "val_pgd_3.0_acc": {"1": 0.6680999994277954},
                                  "autoattack": 0.43},
                        "3": {"val_acc": {"1": 0.5}}},
            "imagenet": {"1000": {"val_pgd_8.0_acc": {"3": 0.07}, "train_acc": {"1": 0.2}}}}"#,
    );
    let records = records.unwrap();
    assert_eq!(records.len(), 8);
    let fgsm = find(&records, "cifar10", "fgsm", Some(3.0), Some(1));
    assert_eq!((fgsm.arch_index, fgsm.arch.as_str(), fgsm.value), (1000, ARCH_1000, 0.6729999780654907));
    assert_eq!(fgsm.source, "nas-robbench-201");
    assert_eq!(find(&records, "cifar10", "fgsm", Some(3.0), None).value, 0.6716);
    assert_eq!(find(&records, "cifar10", "pgd", Some(3.0), Some(1)).value, 0.6680999994277954);
    assert_eq!(find(&records, "cifar10", "autoattack", Some(8.0), None).value, 0.43);
    assert_eq!(find(&records, "cifar10", "clean", None, Some(1)).arch_index, 3);
    assert_eq!(find(&records, "imagenet16-120", "pgd", Some(8.0), Some(3)).value, 0.07);
    assert_eq!(find(&records, "imagenet16-120", "train_acc", None, Some(1)).arch_index, 1000);
}

#[test]
fn isomorphic_entries_must_agree() {
    let (agree, _, _d1) = import(r#"{"cifar10": {"1000": {"val_acc": {"1": 0.7}}, "1906": {"val_acc": {"1": 0.7}}}}"#);
    assert_eq!(agree.unwrap().len(), 1);
    let (err, path, _d2) = import(r#"{"cifar10": {"1000": {"val_acc": {"1": 0.7}}, "1906": {"val_acc": {"1": 0.6}}}}"#);
    let err = err.unwrap_err().to_string();
    assert!(
        err.contains(&path.display().to_string()) && err.contains("cifar10.1906.val_acc.1") && err.contains("1000"),
        "{err}"
    );
}

#[test]
fn malformed_entries_are_named() {
    let cases = [
        (r#"{"mnist": {}}"#, "mnist"),
        (r#"{"cifar10": {"15625": {"val_acc": {"1": 0.5}}}}"#, "cifar10.15625"),
        (r#"{"cifar10": {"3": {"val_acc": {"first": 0.5}}}}"#, "cifar10.3.val_acc.first"),
        (r#"{"cifar10": {"3": {"val_acc": {"1": 85.2}}}}"#, "not a fraction"),
        (r#"{"cifar10": {"3": {"val_acc": {"1": "0.5"}}}}"#, "cifar10.3.val_acc.1"),
        (r#"{"cifar10": {"3": {"val_pgd_x_acc": {"1": 0.5}}}}"#, "val_pgd_x_acc"),
        (r#"{"cifar10": [1, 2]}"#, "cifar10"),
    ];
    for (json, culprit) in cases {
        let (result, path, _dir) = import(json);
        let err = result.unwrap_err().to_string();
        assert!(err.contains(culprit) && err.contains(&path.display().to_string()), "{json}: {err}");
    }
    let (result, _, _dir) = import("{\"cifar10\": ");
    assert!(matches!(result, Err(AnalysisError::Json { .. })));
}
