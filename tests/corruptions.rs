//! Common-corruption robustness (CIFAR-10-C) in the pipeline: the `corrupt`
//! stage runs in the default pipeline, its rows answer SQL and agree with
//! their per-image rows, a unit is the same bytes in a fresh store, its keys
//! rerun only it, bad settings are refused before anything runs, and
//! `robbench corruptions` writes what a person or numpy can look at.

mod common;

use std::path::Path;

use common::{robbench, run_tiny, sql_tiny, stage_counts, stderr, stdout};

/// One network, no AutoAttack, NTK or sweep: the corruption stage is what is tested.
const SETS: &[&str] =
    &["architectures.indices=[1462]", "evaluation.autoattack.eps=[]", "evaluation.sweep.eps=[]", "ntk.enabled=false"];

/// The manifests of the store's `corrupt` units: key → listed files with their hashes.
fn corrupt_units(store: &Path) -> Vec<(String, serde_json::Value)> {
    let dir = store.join("objects/corrupt");
    let mut units: Vec<(String, serde_json::Value)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let manifest: serde_json::Value =
                serde_json::from_slice(&std::fs::read(e.path().join("manifest.json")).unwrap()).unwrap();
            (e.file_name().to_string_lossy().into_owned(), manifest["files"].clone())
        })
        .collect();
    units.sort_by(|a, b| a.0.cmp(&b.0));
    units
}

#[test]
fn the_corruption_stage_runs_in_the_default_pipeline_and_its_rows_agree() {
    let dir = tempfile::tempdir().unwrap();
    let o = run_tiny(dir.path(), SETS);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stage_counts(&o, "corrupt"), (1, 0, 0));

    // The embedded config's set: five corruptions at severities 1 and 5, on
    // the first min(200, evaluation.samples = 40) images.
    let rows = sql_tiny(
        dir.path(),
        SETS,
        "SELECT corruption, family, standard, severity, n_samples, n_correct, accuracy FROM corruption_evaluations \
         ORDER BY corruption, severity",
    );
    let names: Vec<(&str, &str)> = rows.iter().map(|r| (r[0].as_str(), r[3].as_str())).collect();
    let mut expected = Vec::new();
    for name in ["contrast", "defocus_blur", "fog", "gaussian_noise", "jpeg_compression"] {
        expected.extend([(name, "1"), (name, "5")]);
    }
    assert_eq!(names, expected);
    for r in &rows {
        let family = match r[0].as_str() {
            "gaussian_noise" => "noise",
            "defocus_blur" => "blur",
            "fog" => "weather",
            _ => "digital",
        };
        assert_eq!((r[1].as_str(), r[2].as_str(), r[4].as_str()), (family, "true", "40"), "{r:?}");
        let (correct, accuracy): (f64, f64) = (r[5].parse().unwrap(), r[6].parse().unwrap());
        assert!((accuracy - correct / 40.0).abs() < 1e-12, "{r:?}");
    }
    // Per-image rows add up to the summary, pair by pair.
    let disagreeing = sql_tiny(
        dir.path(),
        SETS,
        "SELECT e.corruption, e.severity FROM corruption_evaluations e JOIN \
         (SELECT corruption, severity, count(*) AS n, sum(CASE WHEN correct THEN 1 ELSE 0 END) AS k \
          FROM corruption_samples GROUP BY 1, 2) s USING (corruption, severity) \
         WHERE s.n <> e.n_samples OR s.k <> e.n_correct",
    );
    assert!(disagreeing.is_empty(), "{disagreeing:?}");
    // The per-family mean, as the README's query asks it.
    let families = sql_tiny(
        dir.path(),
        SETS,
        "SELECT family, avg(accuracy) FROM corruption_evaluations GROUP BY family ORDER BY family",
    );
    assert_eq!(families.iter().map(|r| r[0].as_str()).collect::<Vec<_>>(), ["blur", "digital", "noise", "weather"]);
}

#[test]
fn a_corruption_unit_is_the_same_bytes_in_a_fresh_store_and_only_its_keys_rerun_it() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    for store in [a.path(), b.path()] {
        let o = run_tiny(store, SETS);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let units = corrupt_units(a.path());
    assert_eq!(units.len(), 1);
    assert_eq!(units, corrupt_units(b.path()), "the same unit differs between two stores");

    // Another seed of the random corruptions reruns the corruption unit only.
    let reseeded = [SETS, &["evaluation.corruptions.seed=1"]].concat();
    let o = run_tiny(a.path(), &reseeded);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stage_counts(&o, "corrupt"), (1, 0, 0));
    for stage in ["train", "evaluate"] {
        assert_eq!(stage_counts(&o, stage).0, 0, "{stage} reran:\n{}", stdout(&o));
    }
    assert_eq!(corrupt_units(a.path()).len(), 2);

    // No corruption named: no unit.
    let off = [SETS, &["evaluation.corruptions.names=[]"]].concat();
    let o = run_tiny(a.path(), &off);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stdout(&o).lines().any(|l| l.starts_with("corrupt ")), "{}", stdout(&o));
}

#[test]
fn bad_corruption_settings_are_refused_before_anything_runs_naming_the_valid_values() {
    let dir = tempfile::tempdir().unwrap();
    for (set, expected) in [
        ("evaluation.corruptions.severities=[0]", "1 to 5"),
        ("evaluation.corruptions.severities=[1, 6]", "1 to 5"),
        ("evaluation.corruptions.severities=[5, 1]", "must increase"),
        ("evaluation.corruptions.names=[\"fogg\"]", "`gaussian_noise`"),
        ("evaluation.corruptions.names=[\"fog\", \"fog\"]", "twice"),
    ] {
        let o = robbench(dir.path(), &["plan", "--set", set]);
        assert!(!o.status.success(), "{set} was accepted");
        let e = stderr(&o);
        assert!(e.contains("evaluation.corruptions.") && e.contains(expected), "{set}: {e}");
    }
    assert!(!dir.path().join("objects/corrupt").exists());
}

#[test]
fn the_corruptions_command_writes_a_picture_and_numpy_arrays() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("grid.png");
    let o = robbench(dir.path(), &["corruptions", "--image", "3", "--out", png.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");

    let npy = dir.path().join("arrays");
    let o = robbench(dir.path(), &["corruptions", "--image", "3", "--format", "npy", "--out", npy.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let files: Vec<String> =
        std::fs::read_dir(&npy).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert_eq!(files.len(), 1 + 19 * 5, "{files:?}");
    // numpy's format: magic, version 1.0, a header padded to 64 bytes, then 16×16×3 bytes (the default 16×16 images).
    let fog = std::fs::read(npy.join("fog-5.npy")).unwrap();
    let clean = std::fs::read(npy.join("clean.npy")).unwrap();
    assert_eq!(&fog[..8], b"\x93NUMPY\x01\x00");
    let header = u16::from_le_bytes([fog[8], fog[9]]) as usize;
    assert_eq!((10 + header) % 64, 0);
    assert!(String::from_utf8_lossy(&fog[10..10 + header]).contains("'shape': (16, 16, 3)"));
    assert_eq!(fog.len() - 10 - header, 16 * 16 * 3);
    assert_ne!(fog[10 + header..], clean[10 + header..], "fog left the image as it was");

    let o = robbench(dir.path(), &["corruptions", "--image", "500", "--out", png.to_str().unwrap()]);
    assert!(!o.status.success() && stderr(&o).contains("--image 500"), "{}", stderr(&o));
}
