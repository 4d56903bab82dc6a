//! `robbench space` and config validation, end to end.

mod common;

use common::{robbench, stderr, stdout};

#[test]
fn space_lists_every_architecture_with_cost() {
    let dir = tempfile::tempdir().unwrap();
    let o = robbench(dir.path(), &["space", "--format", "csv"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("arch_index,arch,unique_index,params,flops"));
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 15_625);
    assert_eq!(
        rows[0],
        "0,|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|,0,129306,15.64737"
    );
    let o = robbench(dir.path(), &["space", "--classes", "120", "--input-size", "16", "--arch", "0"]);
    assert!(stdout(&o).contains(",136456,3.91948"), "{}", stdout(&o));
    let parquet = dir.path().join("space.parquet");
    let o = robbench(dir.path(), &["space", "--format", "parquet", "--out", parquet.to_str().unwrap()]);
    assert!(o.status.success() && parquet.exists(), "{}", stderr(&o));
}

#[test]
fn a_bad_architecture_string_is_refused_naming_the_edge() {
    let dir = tempfile::tempdir().unwrap();
    let o = robbench(
        dir.path(),
        &[
            "space",
            "--arch",
            "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~2|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|",
        ],
    );
    assert!(!o.status.success());
    assert!(stderr(&o).contains("avg_pool_3x3~2"), "{}", stderr(&o));
}

#[test]
fn bad_configs_are_refused_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    for (set, key) in [
        ("train.max_lr=-1", "train.max_lr"),
        ("train.learning_rate=0.1", "learning_rate"),
        ("evaluation.pgd.steps=\"many\"", "evaluation.pgd.steps"),
        ("architectures.indices=[15625]", "architectures.indices"),
        ("dataset.name=\"imagenet\"", "dataset.name"),
    ] {
        let o = robbench(dir.path(), &["run", "--device", "cpu", "--set", set]);
        assert!(!o.status.success(), "{set} was accepted");
        assert!(stderr(&o).contains(key), "{set}: {}", stderr(&o));
    }
    assert!(!dir.path().join("objects/prepare").exists(), "nothing ran");
    let bad_file = dir.path().join("bad.toml");
    std::fs::write(&bad_file, "[train\nepochs = 3\n").unwrap();
    let o = robbench(dir.path(), &["plan", "--config", bad_file.to_str().unwrap()]);
    assert!(!o.status.success() && stderr(&o).contains("bad.toml"), "{}", stderr(&o));
}
