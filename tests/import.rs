//! `robbench import`: the released benchmarks become queryable tables.

mod common;

use common::{robbench, stderr, stdout};

const SHARED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/benchmarks");

fn csv(store: &std::path::Path, query: &str) -> Vec<String> {
    let o = robbench(store, &["sql", "--format", "csv", query]);
    assert!(o.status.success(), "{}", stderr(&o));
    stdout(&o).lines().skip(1).map(str::to_string).collect()
}

#[test]
fn the_released_nas_robbench_201_table_is_imported_whole() {
    let dir = tempfile::tempdir().unwrap();
    let table = format!("{SHARED}/nas-robbench-201/NAS-RobBench-201_html.json");
    let ops = format!("{SHARED}/nas-robbench-201/ops.json");
    let o = robbench(dir.path(), &["import", "nasrobbench201-html", "--table", &table, "--ops", &ops]);
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
    let again = robbench(dir.path(), &["import", "nasrobbench201-html", "--table", &table, "--ops", &ops]);
    assert!(stdout(&again).contains("reused"), "{}", stdout(&again));
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
