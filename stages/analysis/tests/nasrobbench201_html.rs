//! `import_nasrobbench201_html` on small project-page files: arch strings
//! without `ops.json`, and malformed tables.

use std::path::Path;

use robbench_analysis::import_nasrobbench201_html;
use robbench_published::Input;

const HEADER: &str = r#""": ["cifar10#val_acc", "cifar10#val_pgd_8_acc", "imagenet#autoattack"]"#;

fn write(dir: &Path, name: &str, text: &str) -> Input {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    Input::File(path)
}

#[test]
fn small_table_with_and_without_ops() {
    let dir = tempfile::tempdir().unwrap();
    let acc = write(dir.path(), "acc.json", &format!(r#"acc={{{HEADER}, "2": "0", "0": [0.8, 0.4, 0.03]}};"#));
    let ops = write(dir.path(), "ops.json", r#"arch=["134013", "000000", "444444"]"#);
    let records = import_nasrobbench201_html(&acc, Some(&ops)).unwrap();
    assert_eq!(records.len(), 3);
    let arch = "|skip_connect~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|none~0|skip_connect~1|nor_conv_3x3~2|";
    assert!(records.iter().all(|r| r.arch_index == 0 && r.arch == arch && r.seed.is_none()));
    let got: Vec<(&str, &str, Option<f64>, f64)> =
        records.iter().map(|r| (r.dataset.as_str(), r.metric.as_str(), r.eps, r.value)).collect();
    assert_eq!(
        got,
        [
            ("cifar10", "clean", None, 0.8),
            ("cifar10", "pgd", Some(8.0), 0.4),
            ("imagenet16-120", "autoattack", Some(8.0), 0.03)
        ]
    );
    // Without ops.json the index alone identifies the cell.
    let bare = import_nasrobbench201_html(&acc, None).unwrap();
    assert!(bare.iter().all(|r| r.arch.is_empty()));
    assert_eq!(bare.iter().map(|r| r.value).collect::<Vec<_>>(), [0.8, 0.4, 0.03]);
}

#[test]
fn malformed_tables_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (format!(r#"acc={{{HEADER}, "0": [0.8, 0.4]}}"#), "0: has 2 values for 3 columns"),
        (format!(r#"acc={{{HEADER}, "0": [0.8, 40.0, 0.03]}}"#), "0.cifar10#pgd: accuracy 40 is not a fraction"),
        (format!(r#"acc={{{HEADER}, "1": "2", "0": [0.8, 0.4, 0.03]}}"#), "1: representative `2` has no row"),
        (format!(r#"acc={{{HEADER}, "x": [0.8, 0.4, 0.03]}}"#), "x: key is not an index"),
        (format!(r#"acc={{{HEADER}, "7": [0.8, 0.4, 0.03]}}"#), "7: index beyond the 3 cells"),
        (r#"acc={"": ["mnist#val_acc"]}"#.to_string(), "unknown dataset"),
        (r#"acc={"0": [0.1]}"#.to_string(), "missing column list"),
        (r#"var acc = {}"#.to_string(), "JavaScript assignment"),
    ];
    let ops = write(dir.path(), "ops.json", r#"arch=["134013", "000000", "444444"]"#);
    for (text, culprit) in cases {
        let acc = write(dir.path(), "acc.json", &text);
        let err = import_nasrobbench201_html(&acc, Some(&ops)).unwrap_err().to_string();
        assert!(err.contains(culprit) && err.contains(&acc.to_string()), "{text}: {err}");
    }
    let acc = write(dir.path(), "acc.json", &format!(r#"acc={{{HEADER}}}"#));
    let bad_ops = write(dir.path(), "ops.json", r#"arch=["134013", "00000"]"#);
    let err = import_nasrobbench201_html(&acc, Some(&bad_ops)).unwrap_err().to_string();
    assert!(err.contains("arch[1]") && err.contains("`00000` is not six digits"), "{err}");
}
