//! The importers on the real published files, as shipped in `data/`.

use std::collections::{BTreeSet, HashMap};
use std::time::Instant;

use robbench_analysis::{
    Meta, Record, accuracy_files, import_nasrobbench201_html, import_nb201_cifar10, import_robustness_dataset,
    import_zero_cost, read_ops_json,
};
use robbench_published::{self as published, Input};

const ARCH_1000: &str = "|skip_connect~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|none~0|skip_connect~1|nor_conv_3x3~2|";

fn nb201_archs() -> Vec<String> {
    published::NB201_ARCHS.text().lines().map(str::to_owned).collect()
}

fn shipped(file: &'static published::Shipped) -> Input {
    Input::Shipped(file)
}

/// The shipped Jung et al. accuracy files of one dataset folder.
fn robustness_files(dataset: &str) -> Vec<Input> {
    let folder = format!("robustness-dataset/{dataset}/");
    published::ROBUSTNESS_ACCURACIES.iter().filter(|f| f.name.starts_with(&folder)).map(Input::Shipped).collect()
}

fn nrb_html() -> Vec<Record> {
    import_nasrobbench201_html(
        &shipped(&published::NASROBBENCH201_HTML),
        Some(&shipped(&published::NASROBBENCH201_OPS)),
    )
    .unwrap()
}

fn value(records: &[Record], index: u32, dataset: &str, metric: &str, eps: Option<f64>) -> f64 {
    let hits: Vec<f64> = records
        .iter()
        .filter(|r| r.arch_index == index && r.dataset == dataset && r.metric == metric && r.eps == eps)
        .map(|r| r.value)
        .collect();
    assert_eq!(hits.len(), 1, "{index} {dataset} {metric} {eps:?}");
    hits[0]
}

#[test]
fn ops_json_lists_the_nb201_cells_in_index_order() {
    let ops = read_ops_json(&shipped(&published::NASROBBENCH201_OPS)).unwrap();
    let archs = nb201_archs();
    assert_eq!(ops.len(), 15_625);
    assert_eq!(ops, archs);
    assert_eq!(ops[1000], ARCH_1000);
}

#[test]
fn project_page_table_imports_whole() {
    let start = Instant::now();
    let records = nrb_html();
    eprintln!("NAS-RobBench-201 html + ops import: {:?}", start.elapsed());
    assert_eq!(records.len(), 6_466 * 18);

    // Exactly meta.json's representatives, each with every (dataset, metric, eps).
    let meta = Meta::load(&shipped(&published::ROBUSTNESS_META)).unwrap();
    let indices: BTreeSet<u32> = records.iter().map(|r| r.arch_index).collect();
    assert_eq!(indices.into_iter().collect::<Vec<_>>(), meta.representatives());
    let mut columns: HashMap<(String, String, Option<u64>), usize> = HashMap::new();
    for r in &records {
        *columns.entry((r.dataset.clone(), r.metric.clone(), r.eps.map(f64::to_bits))).or_default() += 1;
        assert!((0.0..=1.0).contains(&r.value) && r.seed.is_none() && r.source == "nas-robbench-201");
        assert_eq!(r.arch, meta.arch(r.arch_index as usize));
    }
    assert_eq!(columns.len(), 18);
    assert!(columns.values().all(|&n| n == 6_466));
    for dataset in ["cifar10", "cifar100", "imagenet16-120"] {
        for (metric, eps) in [("clean", None), ("fgsm", Some(3.0)), ("pgd", Some(8.0)), ("autoattack", Some(8.0))] {
            assert!(columns.contains_key(&(dataset.into(), metric.into(), eps.map(f64::to_bits))));
        }
    }

    // Architecture 1000: the mean over seeds lies near the release's seed-1
    // values (0.6730 FGSM, 0.6681 PGD at 3/255), and robust < clean.
    let r1000: Vec<&Record> = records.iter().filter(|r| r.arch_index == 1000).collect();
    assert!(r1000.iter().all(|r| r.arch == ARCH_1000));
    let fgsm3 = value(&records, 1000, "cifar10", "fgsm", Some(3.0));
    let pgd3 = value(&records, 1000, "cifar10", "pgd", Some(3.0));
    assert_eq!(fgsm3, 0.6716000040372213);
    assert!((fgsm3 - 0.6729999780654907).abs() < 0.01 && (pgd3 - 0.6680999994277954).abs() < 0.01);
    let clean = value(&records, 1000, "cifar10", "clean", None);
    let pgd8 = value(&records, 1000, "cifar10", "pgd", Some(8.0));
    assert!(clean > fgsm3 && fgsm3 > pgd3 && pgd3 > pgd8);
}

#[test]
fn robustness_dataset_imports_whole() {
    let files = [robustness_files("cifar10"), robustness_files("cifar100")].concat();
    let start = Instant::now();
    let records = import_robustness_dataset(&shipped(&published::ROBUSTNESS_META), &files).unwrap();
    eprintln!("robustness dataset import: {:?}", start.elapsed());
    // Per dataset and representative: clean + 7 PGD + 7 APGD-CE + 7 Square + 11 FGSM ε.
    assert_eq!(records.len(), 2 * 6_466 * 33);
    let metrics: BTreeSet<&str> = records.iter().map(|r| r.metric.as_str()).collect();
    assert_eq!(metrics, BTreeSet::from(["apgd-ce", "clean", "fgsm", "pgd", "square"]));
    let datasets: BTreeSet<&str> = records.iter().map(|r| r.dataset.as_str()).collect();
    assert_eq!(datasets, BTreeSet::from(["cifar10", "cifar100"]));
    let pgd_eps: Vec<f64> = records
        .iter()
        .filter(|r| r.arch_index == 0 && r.dataset == "cifar10" && r.metric == "pgd")
        .map(|r| r.eps.unwrap())
        .collect();
    assert_eq!(pgd_eps, [0.1, 0.5, 1.0, 2.0, 3.0, 4.0, 8.0]);
    // Spot checks against the JSON files.
    assert_eq!(value(&records, 0, "cifar10", "clean", None), 0.856);
    assert_eq!(value(&records, 1, "cifar10", "fgsm", Some(0.1)), 0.887);
    assert_eq!(value(&records, 2, "cifar10", "square", Some(2.0)), 0.4);
    assert_eq!(value(&records, 2, "cifar10", "square", Some(3.0)), 0.199);
    assert_eq!(value(&records, 0, "cifar100", "apgd-ce", Some(0.5)), 0.182);
    assert_eq!(value(&records, 0, "cifar10", "fgsm", Some(255.0)), 0.102);
    assert!(records.iter().all(|r| r.source == "robustness-dataset" && r.seed.is_none()));
}

#[test]
fn robustness_dataset_names_the_malformed_file_and_entry() {
    let meta = shipped(&published::ROBUSTNESS_META);
    let cases = [
        // Six values where meta.json lists seven ε.
        (
            r#"{"cifar10": {"pgd@Linf": {"accuracy": {"0": [0.8, 0.5, 0.2, 0.0, 0.0, 0.0]}}}}"#,
            "cifar10.pgd@Linf.accuracy.0",
        ),
        // 25 is isomorphic to 3, not a representative.
        (r#"{"cifar10": {"clean": {"accuracy": {"25": 0.5}}}}"#, "cifar10.clean.accuracy.25"),
        (r#"{"cifar10": {"clean": {"accuracy": {"0": 85.6}}}}"#, "not a fraction"),
        (r#"{"cifar10": {"clean": {"accuracies": {}}}}"#, "cifar10.clean"),
        (r#"{"cifar10": {"pgd@L2": {"accuracy": {}}}}"#, "cifar10.pgd@L2"),
        (r#"{"cifar10": {"cw@Linf": {"accuracy": {}}}}"#, "ε list"),
        (r#"{"svhn": {}}"#, "svhn"),
    ];
    for (json, culprit) in cases {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("x_accuracy.json");
        std::fs::write(&file, json).unwrap();
        // Files not named *_accuracy.json are ignored.
        std::fs::write(dir.path().join("notes.json"), "not json").unwrap();
        let files = accuracy_files(dir.path()).unwrap();
        let err = import_robustness_dataset(&meta, &files).unwrap_err().to_string();
        assert!(err.contains(culprit) && err.contains(&file.display().to_string()), "{json}: {err}");
    }
    // The same table from two folders would duplicate every record.
    let c10 = robustness_files("cifar10");
    let err = import_robustness_dataset(&meta, &[c10.clone(), c10].concat()).unwrap_err().to_string();
    assert!(err.contains("is also in"), "{err}");

    // ImageNet16-120 under its original name maps to the canonical one.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("clean_accuracy.json"),
        r#"{"ImageNet16-120": {"clean": {"accuracy": {"3": 0.25}}}}"#,
    )
    .unwrap();
    let records = import_robustness_dataset(&meta, &accuracy_files(dir.path()).unwrap()).unwrap();
    assert_eq!((records[0].dataset.as_str(), records[0].arch_index, records[0].value), ("imagenet16-120", 3, 0.25));
}

#[test]
fn nb201_cifar10_csv_imports_whole() {
    let archs = nb201_archs();
    let csv = shipped(&published::NB201_CIFAR10);
    let records = import_nb201_cifar10(&csv, |i| archs.get(i).cloned()).unwrap();
    assert_eq!(records.len(), 15_625 * 6);
    // Row of index 0: test-accuracy 81.52 %, train-loss 0.319028123.
    assert!((value(&records, 0, "cifar10", "test_acc", None) - 0.8152).abs() < 1e-12);
    assert_eq!(value(&records, 0, "cifar10", "train_loss", None), 0.319028123);
    assert!(records.iter().filter(|r| r.metric.ends_with("_acc")).all(|r| (0.0..=1.0).contains(&r.value)));
    // An index → cell map that is off by one is caught on the first row.
    let err = import_nb201_cifar10(&csv, |i| archs.get(i + 1).cloned()).unwrap_err().to_string();
    assert!(err.contains("line 2") && err.contains("arch_str"), "{err}");
}

#[test]
fn zero_cost_proxies_import_for_both_datasets() {
    let c10_csv = shipped(&published::ZERO_COST_CIFAR10);
    let c10 = import_zero_cost(&c10_csv, "cifar10").unwrap();
    // This file has no net_str: cells come from decoding NASLib's tuples,
    // which the cifar10 file (with net_str) checked on every row.
    let inet = import_zero_cost(&shipped(&published::ZERO_COST_IMAGENET16), "ImageNet16-120").unwrap();
    assert_eq!(c10.len(), 9_445 * 13);
    assert_eq!(inet.len(), 9_445 * 13);
    let proxies: BTreeSet<&str> = c10.iter().map(|s| s.proxy.as_str()).collect();
    assert!(proxies.contains("synflow") && proxies.contains("flops") && !proxies.contains("net_str"));
    let cells =
        |scores: &[robbench_analysis::ProxyScore]| scores.iter().map(|s| s.arch.clone()).collect::<BTreeSet<_>>();
    let archs: BTreeSet<String> = nb201_archs().into_iter().collect();
    assert_eq!(cells(&c10), cells(&inet));
    assert!(cells(&c10).is_subset(&archs));
    assert!(inet.iter().all(|s| s.dataset == "imagenet16-120"));
    assert!(import_zero_cost(&c10_csv, "svhn").is_err());
}
