//! `robbench import`: the released benchmarks become queryable tables.

mod common;

use common::{robbench, stderr, stdout};

/// The project's own copy of the published data (see data/README.md).
const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data");

fn csv(store: &std::path::Path, query: &str) -> Vec<String> {
    let o = robbench(store, &["sql", "--format", "csv", query]);
    assert!(o.status.success(), "{}", stderr(&o));
    stdout(&o).lines().skip(1).map(str::to_string).collect()
}

#[test]
fn the_released_nas_robbench_201_table_is_imported_whole_from_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    // No path: the copy shipped inside the binary.
    let o = robbench(dir.path(), &["import", "nasrobbench201-html"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let counts = csv(
        dir.path(),
        "SELECT dataset, count(DISTINCT arch_index), count(*) FROM benchmark GROUP BY dataset ORDER BY dataset",
    );
    assert_eq!(counts, ["cifar10,6466,38796", "cifar100,6466,38796", "imagenet16-120,6466,38796"]);
    let arch = csv(dir.path(), "SELECT DISTINCT arch FROM benchmark WHERE arch_index = 1000");
    assert_eq!(arch, ["|skip_connect~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|none~0|skip_connect~1|nor_conv_3x3~2|"]);
    // The paper's ranking consistency: clean and PGD@8 rankings agree strongly.
    let tau = csv(
        dir.path(),
        "SELECT kendall_tau FROM correlations WHERE dataset = 'cifar10' AND score = 'clean' AND metric = 'pgd@8'",
    );
    let tau: f64 = tau[0].parse().unwrap();
    assert!(tau > 0.8, "tau {tau}");
    // Unchanged files are not imported twice.
    let again = robbench(dir.path(), &["import", "nasrobbench201-html"]);
    assert!(stdout(&again).contains("reused"), "{}", stdout(&again));
}

#[test]
fn a_path_on_the_command_line_wins_over_the_shipped_copy() {
    let dir = tempfile::tempdir().unwrap();
    assert!(robbench(dir.path(), &["import", "nasrobbench201-html"]).status.success());
    // A user's own (here: edited) table replaces the shipped one in SQL.
    let table = dir.path().join("mine.json");
    let ops = format!("{DATA}/nas-robbench-201/ops.json");
    std::fs::write(&table, r#"acc={"": ["cifar10#val_acc", "cifar10#val_pgd_8_acc"], "1000": [0.5, 0.25]};"#).unwrap();
    let o = robbench(dir.path(), &["import", "nasrobbench201-html", "--table", table.to_str().unwrap(), "--ops", &ops]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(csv(dir.path(), "SELECT count(*) FROM benchmark"), ["2"]);
    assert_eq!(csv(dir.path(), "SELECT value FROM benchmark WHERE metric = 'pgd'"), ["0.25"]);
}

#[test]
fn every_source_imports_from_the_shipped_copy() {
    let dir = tempfile::tempdir().unwrap();
    for source in [&["robustness-dataset"][..], &["nas-bench-201"], &["zero-cost", "--dataset", "imagenet16-120"]] {
        let o = robbench(dir.path(), &[&["import"][..], source].concat());
        assert!(o.status.success(), "{source:?}: {}", stderr(&o));
    }
    let sources = csv(dir.path(), "SELECT source, dataset, count(*) FROM benchmark GROUP BY 1, 2 ORDER BY 1, 2");
    assert_eq!(
        sources,
        [
            "nas-bench-201,cifar10,93750",
            "nas-bench-suite-zero,imagenet16-120,122785",
            "robustness-dataset,cifar10,213378",
            "robustness-dataset,cifar100,213378"
        ]
    );
    // No proxies for CIFAR-100 are shipped: the user is told to pass a file.
    let o = robbench(dir.path(), &["import", "zero-cost", "--dataset", "cifar100"]);
    assert!(!o.status.success() && stderr(&o).contains("--csv"), "{}", stderr(&o));
}

#[test]
fn a_malformed_file_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("broken.json");
    std::fs::write(&bad, "acc={\"\": [\"cifar10#val_acc\"], \"0\": [0.5, 0.6]").unwrap();
    let o = robbench(dir.path(), &["import", "nasrobbench201-html", "--table", bad.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("broken.json"), "{}", stderr(&o));
}
