//! `robbench bench corruptions`: generating every common corruption (19 ×
//! 5 severities) of N images, side by side with the reference generator
//! (`make_cifar_c.py`'s functions, in the venv's Python, with the libraries
//! it imports) on the first M of the same images; then what a corruption
//! unit costs next to a PGD unit in one run of the pipeline.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, ensure};
use robbench_corruptions::{Corruption, Severity, synthetic_images, throughput};

use super::bench_process::python;
use super::bench_results::BenchResults;

pub fn bench_corruptions(images: usize, reference_images: usize, out: &mut BenchResults) -> Result<()> {
    ensure!(images > 0, "--images must be at least 1");
    let pairs = Corruption::ALL.len() * Severity::ALL.len();
    // Photograph-like 32×32 images (gradients, hard-edged shapes, mild noise).
    let set = synthetic_images(images, 32, 0);
    let ours = throughput(&set, 0)?;
    let per_image = ours.seconds / images as f64;
    println!(
        "robbench: {} corrupted images ({images} images × {pairs}) in {:.2} s, one thread: {:.2} ms per image for all {pairs}",
        ours.outputs,
        ours.seconds,
        per_image * 1e3
    );
    let figure = format!("all {pairs} corruptions × severities of {images} 32×32 images, one thread");
    let ours_figure = out.figure(figure.clone(), ours.seconds, "s");
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let driver = manifest.join("stages/corruptions/python/reference_driver.py");
    let data = manifest.join("data/cifar10-c-frost");
    let m = reference_images.min(images);
    if m > 0 {
        let dir = tempfile::tempdir()?;
        let raw: Vec<u8> = set[..m].iter().flat_map(|i| i.pixels().iter().copied()).collect();
        std::fs::write(dir.path().join("images.bin"), raw)?;
        let result = dir.path().join("reference.json");
        let o = Command::new(python())
            .arg(&driver)
            .arg("bench")
            .arg(data.join("make_cifar_c.py"))
            .arg(dir.path().join("images.bin"))
            .arg(m.to_string())
            .arg(&result)
            .current_dir(&data)
            .output()
            .context("cannot start the reference python (ROBBENCH_PYTHON; `make setup` installs its packages)")?;
        ensure!(o.status.success(), "the reference generator failed: {}", String::from_utf8_lossy(&o.stderr));
        let theirs: serde_json::Value = serde_json::from_slice(&std::fs::read(&result)?)?;
        let their_seconds = theirs["seconds"].as_f64().context("the reference's seconds")?;
        let their_per_image = their_seconds / m as f64;
        let speedup = their_per_image / per_image;
        println!(
            "make_cifar_c.py ({}): {m} images in {their_seconds:.2} s: {:.1} ms per image; robbench is {speedup:.1}× faster per image",
            theirs["versions"],
            their_per_image * 1e3
        );
        ours_figure.compared_with(
            format!(
                "make_cifar_c.py per image, timed on the first {m} images ({:.1} ms per image)",
                their_per_image * 1e3
            ),
            per_image / their_per_image,
        );
        ours_figure.headline();
        out.figure(format!("make_cifar_c.py: all {pairs} of {m} of the same images"), their_seconds, "s");
        out.note(format!("reference libraries: {}", theirs["versions"]));
        for (corruption, s) in &ours.per_corruption {
            let t = theirs["per_corruption"][corruption.name()]
                .as_f64()
                .context("a corruption the reference did not time")?;
            let (ms_ours, ms_theirs) = (s / images as f64 * 1e3, t / m as f64 * 1e3);
            out.figure(format!("{corruption}, 5 severities, per image"), ms_ours, "ms")
                .compared_with(format!("make_cifar_c.py ({ms_theirs:.2} ms)"), ms_ours / ms_theirs);
        }
    }
    unit_costs(out)?;
    out.note(format!(
        "ratio = robbench's time per image over the reference's (below 1: robbench is faster); robbench corrupted \
         {images} images, the reference the first {m} of them (its glass blur alone takes seconds per image)"
    ));
    Ok(())
}

/// One network trained briefly, then its corruption unit (the 15 standard
/// corruptions × 5 severities) and its PGD-20 unit on the same 200 images:
/// their wall times from the run's record.
fn unit_costs(out: &mut BenchResults) -> Result<()> {
    let mut config = robbench_pipeline::Config::from_toml_str(robbench_stages::DEFAULT_CONFIG, "configs/default.toml")?;
    for set in [
        "architectures.indices=[2581]",
        "dataset.image_size=32",
        "train.epochs=1",
        "evaluation.samples=200",
        "evaluation.clean.enabled=false",
        "evaluation.fgsm.eps=[]",
        "evaluation.pgd.eps=[8.0]",
        "evaluation.autoattack.eps=[]",
        "evaluation.sweep.eps=[]",
        "evaluation.corruptions.names=[\"gaussian_noise\", \"shot_noise\", \"impulse_noise\", \"defocus_blur\", \"glass_blur\", \"motion_blur\", \"zoom_blur\", \"snow\", \"frost\", \"fog\", \"brightness\", \"contrast\", \"elastic_transform\", \"pixelate\", \"jpeg_compression\"]",
        "evaluation.corruptions.severities=[1, 2, 3, 4, 5]",
        "evaluation.corruptions.samples=0",
        "ntk.enabled=false",
    ] {
        config.set(set)?;
    }
    let pipeline = robbench_stages::pipeline(tch::Device::Cpu)?;
    let plan = pipeline.plan(&config)?;
    let dir = tempfile::tempdir()?;
    let store = robbench_pipeline::Store::open(dir.path())?;
    let options = robbench_pipeline::RunOptions {
        jobs: 1,
        shard: None,
        device: None,
        kind: robbench_pipeline::RunKind::Experiment,
    };
    let report = robbench_pipeline::execute(&pipeline, &plan, &store, &options)?;
    ensure!(report.failed().is_empty(), "the unit-cost run failed");
    let seconds = |stage: &str| report.record.units.iter().filter(|u| u.stage == stage).map(|u| u.seconds).sum::<f64>();
    let (corrupt, pgd) = (seconds("corrupt"), seconds("evaluate"));
    println!(
        "one network (arch 2581, C=8, N=1, 32×32): corruption unit (15 × 5 on 200 images) {corrupt:.2} s, \
         PGD-20 unit (200 images) {pgd:.2} s"
    );
    out.figure("a corruption unit: 15 standard corruptions × 5 severities, 200 images", corrupt, "s")
        .compared_with(format!("a PGD-20 unit on the same 200 images ({pgd:.2} s)"), corrupt / pgd)
        .headline();
    Ok(())
}
