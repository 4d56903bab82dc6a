//! ImageNet16-120 pickles written by Python (numpy arrays, protocols 2 and 5).

use std::path::Path;

use robbench_data::{DataError, load, load_imagenet16};

fn write(python: &Path, dir: &Path, protocol: u8, n: usize) {
    robbench_reference::run_json(
        python,
        "write_imagenet16.py",
        &[dir.to_str().unwrap(), &protocol.to_string(), &n.to_string()],
    );
}

#[test]
fn pickles_of_every_protocol_load_with_the_120_class_filter() {
    let Some(python) = robbench_reference::python(&["numpy"]) else { return };
    for protocol in [2u8, 4, 5] {
        let dir = tempfile::tempdir().unwrap();
        write(&python, dir.path(), protocol, 30);
        let d = load("imagenet16-120", dir.path()).unwrap();
        assert_eq!((d.classes, d.height, d.width), (120, 16, 16));
        // Labels 1..=130 cycle; 121..=130 are dropped and the rest shifted to 0-based.
        let expected_train: Vec<u16> = (0..10 * 30).map(|k| (k % 130) as u16).filter(|&l| l < 120).collect();
        assert_eq!(d.train.labels, expected_train, "protocol {protocol}");
        assert!(d.test.labels.iter().all(|&l| l < 120));
        // File 0 (train_data_batch_1), image 2, pixel 5: (0 * 31 + 2 * 7 + 5) % 251.
        assert_eq!(d.train.image(2)[5], 19);
        assert_eq!(d.train.image(2).len(), 768);
    }
}

#[test]
fn broken_files_are_named() {
    let Some(python) = robbench_reference::python(&["numpy"]) else { return };
    let dir = tempfile::tempdir().unwrap();
    write(&python, dir.path(), 2, 4);
    std::fs::remove_file(dir.path().join("val_data")).unwrap();
    let e = load_imagenet16(dir.path()).unwrap_err().to_string();
    assert!(e.contains("val_data"), "{e}");

    let bytes = std::fs::read(dir.path().join("train_data_batch_3")).unwrap();
    std::fs::write(dir.path().join("train_data_batch_3"), &bytes[..bytes.len() / 2]).unwrap();
    let e = load_imagenet16(dir.path()).unwrap_err();
    assert!(matches!(e, DataError::File { .. }) && e.to_string().contains("train_data_batch_3"), "{e}");

    // A pickle that would call an arbitrary function is refused, not run.
    std::fs::write(dir.path().join("train_data_batch_1"), b"cos\nsystem\n(S'echo hi'\ntR.").unwrap();
    let e = load_imagenet16(dir.path()).unwrap_err().to_string();
    assert!(e.contains("refusing to call os.system") && e.contains("train_data_batch_1"), "{e}");
}

/// Without the reference python the pickles cannot be written: the check
/// fails under CI and is skipped, visibly, elsewhere.
#[test]
fn without_the_reference_python_the_check_fails_in_ci_and_is_skipped_visibly_outside() {
    robbench_reference::assert_fails_in_ci_and_skips_visibly_outside(
        "broken_files_are_named",
        &[("ROBBENCH_PYTHON", "/nonexistent/python")],
        "cannot start /nonexistent/python",
    );
}
