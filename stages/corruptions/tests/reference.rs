//! Cross-check against the published corruptions: `make_cifar_c.py`
//! (shipped unmodified in data/cifar10-c-frost/) run by
//! `python/reference_driver.py` on the same 32×32 images, with NumPy's random
//! functions replaying the draws robbench made, so outputs compare byte by
//! byte. Needs the reference python (ROBBENCH_PYTHON) with NumPy, SciPy,
//! scikit-image, OpenCV, Pillow and Wand, and ImageMagick's MagickWand
//! library (`make setup`; CI installs the library): under CI a missing one
//! fails the test, elsewhere it is skipped visibly.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use robbench_corruptions::{Corruption, Image, Severity, corrupt_with_draws, synthetic_images};
use serde_json::json;

/// What may differ, per corruption and severity: the largest difference
/// in any byte, the share of bytes that differ at all, and the mean
/// absolute difference. Zero where every step is re-done in the reference's
/// own arithmetic; where a step is not bit-reproducible, the reason.
struct Tolerance {
    max: u8,
    share: f64,
    mean: f64,
    why: &'static str,
}

fn tolerance(corruption: Corruption) -> Tolerance {
    let exact = Tolerance { max: 0, share: 0.0, mean: 0.0, why: "the same float64 and integer operations" };
    // Gaussian weights, motion-blur kernels and angles go through exp, sin
    // and cos: NumPy's SIMD exp (AVX-512) and other libm builds may round
    // them differently in the last bit, which can move a value sitting
    // exactly on an integer to the one below once truncated.
    let last_bit = |why| Tolerance { max: 1, share: 0.005, mean: 0.005, why };
    match corruption {
        Corruption::GaussianNoise
        | Corruption::ShotNoise
        | Corruption::ImpulseNoise
        | Corruption::SpeckleNoise
        | Corruption::Contrast
        | Corruption::Brightness
        | Corruption::Saturate
        | Corruption::Fog
        | Corruption::Pixelate => exact,
        Corruption::GaussianBlur | Corruption::GlassBlur | Corruption::Spatter | Corruption::ElasticTransform => {
            last_bit("exp in the Gaussian weights")
        }
        // OpenCV convolves the 17×17 kernel by DFT (errors ~1e-16), robbench directly.
        Corruption::DefocusBlur => last_bit("OpenCV's DFT convolution"),
        Corruption::ZoomBlur => last_bit("float32 sums of SciPy's float64 interpolation"),
        Corruption::MotionBlur | Corruption::Snow => last_bit("exp and sin/cos in ImageMagick's kernel"),
        // frost4.jpg and frost5.jpg are decoded by zune-jpeg, not
        // libjpeg-turbo: some texels differ by a level or two, weighted by ≤ 0.45.
        Corruption::Frost => Tolerance { max: 2, share: 0.01, mean: 0.02, why: "the JPEG textures' decoder" },
        // jpeg-encoder quantises with a coarser fixed-point reciprocal than
        // libjpeg-turbo, so now and then a DCT coefficient lands one step off
        // and its 8x8 block shifts by up to ~35 levels; zune-jpeg's IDCT,
        // upsampling and colour conversion round differently (±3).
        Corruption::JpegCompression => {
            Tolerance { max: 40, share: 0.4, mean: 1.0, why: "JPEG quantiser and decoder rounding" }
        }
    }
}

fn manifest() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn reference_dir() -> PathBuf {
    manifest().join("../../data/cifar10-c-frost")
}

/// The reference python with every package the reference imports, and a
/// working MagickWand library (Wand finds it only when imported).
fn reference_python() -> Option<PathBuf> {
    let python = robbench_reference::python(&["numpy", "scipy", "skimage", "cv2", "PIL", "wand"])?;
    let probe = Command::new(&python).args(["-c", "import wand.image"]).output().expect("the python starts");
    if !probe.status.success() {
        robbench_reference::unavailable(
            "ImageMagick's MagickWand library",
            &format!(
                "`import wand.image` fails: {}; install libmagickwand-6.q16-6 (Debian)",
                String::from_utf8_lossy(&probe.stderr).trim().lines().last().unwrap_or("")
            ),
        );
        return None;
    }
    Some(python)
}

/// Runs the reference on `cases`; returns its outputs and library versions.
fn run_reference(python: &Path, cases: &[serde_json::Value]) -> (Vec<Vec<u8>>, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("cases.json");
    let output = dir.path().join("out.json");
    std::fs::write(&input, serde_json::to_vec(&json!({ "cases": cases })).unwrap()).unwrap();
    let run = Command::new(python)
        .arg(manifest().join("python/reference_driver.py"))
        .args([
            "replay".as_ref(),
            reference_dir().join("make_cifar_c.py").as_os_str(),
            input.as_os_str(),
            output.as_os_str(),
        ])
        .current_dir(reference_dir())
        .output()
        .expect("the reference python starts");
    assert!(run.status.success(), "the reference driver failed:\n{}", String::from_utf8_lossy(&run.stderr));
    let answer: serde_json::Value = serde_json::from_slice(&std::fs::read(&output).unwrap()).unwrap();
    let results = answer["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as u8).collect())
        .collect();
    (results, answer["versions"].clone())
}

/// Natural-ish 32×32 test images: gradients, flat shapes with hard edges,
/// some with pixel noise, plus one nearly black and one nearly white. Four
/// synthetic ones unless ROBBENCH_CORRUPTIONS_TEST_IMAGES asks for more
/// (a longer check after changing a corruption).
fn test_images() -> Vec<Image> {
    let n = std::env::var("ROBBENCH_CORRUPTIONS_TEST_IMAGES").map_or(4, |v| v.parse().expect("a number of images"));
    let mut images = synthetic_images(n, 32, 29);
    let dark: Vec<u8> = (0..32 * 32 * 3).map(|i| ((i * 7) % 11) as u8).collect();
    let bright: Vec<u8> = (0..32 * 32 * 3).map(|i| 250 - ((i * 5) % 9) as u8).collect();
    images.push(Image::new(32, 32, dark).unwrap());
    images.push(Image::new(32, 32, bright).unwrap());
    images
}

#[derive(Default)]
struct Agreement {
    max: u8,
    differing: usize,
    sum: u64,
    total: usize,
}

#[test]
fn every_corruption_agrees_with_the_published_code() {
    let Some(python) = reference_python() else { return };
    let images = test_images();
    let mut cases = Vec::new();
    let mut ours = Vec::new();
    for (i, image) in images.iter().enumerate() {
        for corruption in Corruption::ALL {
            for severity in Severity::ALL {
                let (out, draws) = corrupt_with_draws(image, corruption, severity, 1000 + i as u64).unwrap();
                cases.push(json!({
                    "height": 32, "width": 32, "pixels": image.pixels(),
                    "corruption": corruption.name(), "severity": severity.get(), "draws": draws,
                }));
                ours.push((corruption, severity, out));
            }
        }
    }
    let (theirs, versions) = run_reference(&python, &cases);

    let mut agreements: BTreeMap<(Corruption, Severity), Agreement> = BTreeMap::new();
    for ((corruption, severity, out), reference) in ours.iter().zip(&theirs) {
        let agreement = agreements.entry((*corruption, *severity)).or_default();
        for (&a, &b) in out.pixels().iter().zip(reference) {
            let d = a.abs_diff(b);
            agreement.max = agreement.max.max(d);
            agreement.differing += usize::from(d > 0);
            agreement.sum += u64::from(d);
            agreement.total += 1;
        }
    }
    let mut report = format!(
        "reference: {versions}\nper severity 1-5: max |diff|, % of bytes differing, mean |diff|; then the tolerance\n"
    );
    let mut failures = Vec::new();
    for corruption in Corruption::ALL {
        let t = tolerance(corruption);
        let mut cells = Vec::new();
        for severity in Severity::ALL {
            let a = &agreements[&(corruption, severity)];
            let (share, mean) = (a.differing as f64 / a.total as f64, a.sum as f64 / a.total as f64);
            cells.push(format!("{} {:.2}% {:.3}", a.max, 100.0 * share, mean));
            if a.max > t.max || share > t.share || mean > t.mean {
                failures.push(format!("{corruption} {severity}"));
            }
        }
        report += &format!(
            "  {:18} {} | <= {} {:.1}% {:.3} ({})\n",
            corruption.name(),
            cells.join(" | "),
            t.max,
            100.0 * t.share,
            t.mean,
            t.why
        );
    }
    robbench_reference::ran(&report);
    assert!(failures.is_empty(), "outside tolerance: {failures:?}\n{report}");
}

/// Without the reference python nothing can be compared: the check fails
/// under CI and is skipped, visibly, elsewhere.
#[test]
fn without_the_reference_python_the_check_fails_in_ci_and_is_skipped_visibly_outside() {
    robbench_reference::assert_fails_in_ci_and_skips_visibly_outside(
        "every_corruption_agrees_with_the_published_code",
        &[("ROBBENCH_PYTHON", "/nonexistent/python")],
        "cannot start /nonexistent/python",
    );
}
