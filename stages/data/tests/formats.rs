//! Loaders on small files written in the official formats, and the
//! synthetic dataset's guarantees.

use std::path::Path;

use robbench_data::{DataError, SyntheticConfig, balanced_subset, channel_stats, load, synthetic};

/// Writes `n` CIFAR records: `label_bytes` labels then 3072 pixels whose
/// value encodes (record, position).
fn write_cifar(path: &Path, n: usize, labels: &dyn Fn(usize) -> Vec<u8>) {
    let mut bytes = Vec::new();
    for i in 0..n {
        bytes.extend(labels(i));
        bytes.extend((0..3072).map(|p| ((i * 7 + p) % 251) as u8));
    }
    std::fs::write(path, bytes).unwrap();
}

fn cifar10_dir(root: &Path) -> std::path::PathBuf {
    let dir = root.join("cifar-10-batches-bin");
    std::fs::create_dir_all(&dir).unwrap();
    for b in 1..=5 {
        write_cifar(&dir.join(format!("data_batch_{b}.bin")), 4, &|i| vec![((b + i) % 10) as u8]);
    }
    write_cifar(&dir.join("test_batch.bin"), 3, &|i| vec![i as u8]);
    dir
}

#[test]
fn cifar10_binary_is_read_record_by_record() {
    let root = tempfile::tempdir().unwrap();
    cifar10_dir(root.path());
    let d = load("cifar10", root.path()).unwrap();
    assert_eq!((d.classes, d.channels, d.height, d.width), (10, 3, 32, 32));
    assert_eq!(d.train.len(), 20);
    assert_eq!(d.test.len(), 3);
    assert_eq!(d.train.labels[..4], [1, 2, 3, 4]);
    assert_eq!(d.test.labels, vec![0, 1, 2]);
    // Record 2 of the test file: pixel p holds (2 * 7 + p) % 251, R plane first.
    assert_eq!(d.test.image(2)[0], 14);
    assert_eq!(d.test.image(2)[1024], ((14 + 1024) % 251) as u8);
}

#[test]
fn cifar100_uses_the_fine_label() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("cifar-100-binary");
    std::fs::create_dir_all(&dir).unwrap();
    write_cifar(&dir.join("train.bin"), 5, &|i| vec![(i % 20) as u8, (50 + i) as u8]);
    write_cifar(&dir.join("test.bin"), 2, &|i| vec![0, (99 - i) as u8]);
    let d = load("cifar100", root.path()).unwrap();
    assert_eq!(d.classes, 100);
    assert_eq!(d.train.labels, vec![50, 51, 52, 53, 54]);
    assert_eq!(d.test.labels, vec![99, 98]);
}

fn error_text(root: &Path) -> String {
    match load("cifar10", root) {
        Err(e @ DataError::File { .. }) => e.to_string(),
        other => panic!("expected a file error, got {other:?}"),
    }
}

#[test]
fn missing_truncated_and_mislabeled_files_are_named() {
    let root = tempfile::tempdir().unwrap();
    let dir = cifar10_dir(root.path());
    std::fs::remove_file(dir.join("data_batch_3.bin")).unwrap();
    assert!(error_text(root.path()).contains("data_batch_3.bin"));

    cifar10_dir(root.path());
    let bytes = std::fs::read(dir.join("test_batch.bin")).unwrap();
    std::fs::write(dir.join("test_batch.bin"), &bytes[..bytes.len() - 100]).unwrap();
    let e = error_text(root.path());
    assert!(e.contains("test_batch.bin") && e.contains("truncated"), "{e}");

    cifar10_dir(root.path());
    write_cifar(&dir.join("data_batch_2.bin"), 4, &|i| vec![if i == 3 { 10 } else { 0 }]);
    let e = error_text(root.path());
    assert!(e.contains("data_batch_2.bin") && e.contains("record 3") && e.contains("label 10"), "{e}");

    assert!(matches!(load("mnist", root.path()), Err(DataError::UnknownDataset(_))));
}

#[test]
fn synthetic_is_deterministic_balanced_and_in_range() {
    let cfg = SyntheticConfig { seed: 3, train: 50, test: 20, size: 16, classes: 10 };
    let a = synthetic(&cfg);
    assert_eq!(a, synthetic(&cfg));
    assert_ne!(a.train.images, synthetic(&SyntheticConfig { seed: 4, ..cfg.clone() }).train.images);
    // A larger dataset extends a smaller one.
    let bigger = synthetic(&SyntheticConfig { train: 60, ..cfg.clone() });
    assert_eq!(bigger.train.images[..a.train.images.len()], a.train.images[..]);
    assert_eq!((a.height, a.width, a.channels), (16, 16, 3));
    assert_eq!(a.train.images.len(), 50 * 3 * 16 * 16);
    for c in 0..10 {
        assert_eq!(a.train.labels.iter().filter(|&&l| l == c).count(), 5);
    }
    let (mean, std) = channel_stats(&a.train);
    assert!(
        mean.iter().all(|m| (0.2..0.8).contains(m)) && std.iter().all(|s| (0.02..0.4).contains(s)),
        "{mean:?} {std:?}"
    );
    let big = synthetic(&SyntheticConfig { size: 32, ..cfg });
    assert_eq!(big.train.image(0).len(), 3 * 32 * 32);
}

#[test]
fn class_mean_images_do_not_reveal_the_class() {
    // The class is in local orientation/frequency, not in where bright pixels
    // are: the mean images of two classes are nearly the same.
    let d = synthetic(&SyntheticConfig { seed: 0, train: 400, test: 0, size: 16, classes: 10 });
    let mean_of = |class: u16| -> Vec<f64> {
        let members: Vec<usize> = (0..d.train.len()).filter(|&i| d.train.labels[i] == class).collect();
        (0..768)
            .map(|p| members.iter().map(|&i| d.train.image(i)[p] as f64).sum::<f64>() / members.len() as f64)
            .collect()
    };
    let (a, b) = (mean_of(0), mean_of(2));
    let diff = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).sum::<f64>() / 768.0;
    assert!(diff < 12.0, "class means differ by {diff} grey levels on average");
}

#[test]
fn balanced_subsets_are_balanced_deterministic_and_checked() {
    let d = synthetic(&SyntheticConfig { seed: 1, train: 100, test: 0, size: 16, classes: 10 });
    let s = balanced_subset(&d.train, 23, 10, 5).unwrap();
    assert_eq!(s.len(), 23);
    let counts: Vec<usize> = (0..10).map(|c| s.labels.iter().filter(|&&l| l == c).count()).collect();
    assert!(counts.iter().all(|&c| c == 2 || c == 3), "{counts:?}");
    assert_eq!(s, balanced_subset(&d.train, 23, 10, 5).unwrap());
    assert_ne!(s.images, balanced_subset(&d.train, 23, 10, 6).unwrap().images);
    assert!(matches!(balanced_subset(&d.train, 101, 10, 0), Err(DataError::Subset(_))));
}
