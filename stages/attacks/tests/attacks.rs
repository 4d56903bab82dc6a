//! FGSM and PGD on a trained TinyNetwork: invariants, and agreement with an
//! independent PyTorch implementation (stages/reference/python/attacks_reference.py).

mod common;

use common::{accuracy, assert_valid, toy, trained};
use robbench_attacks::{PgdConfig, fgsm, pgd};
use robbench_rng::Rng;
use tch::{Kind, Tensor};

#[test]
fn attacks_stay_in_the_ball_and_order_clean_fgsm_pgd() {
    let net = trained();
    let model = |x: &Tensor| net.forward_t(x, false);
    let (x, y) = toy(256, 9);
    let eps = 8.0 / 255.0;
    let cfg = PgdConfig { eps, step_size: 2.0 / 255.0, steps: 10, random_start: true, restarts: 2 };
    let adv_fgsm = fgsm(&model, &x, &y, eps);
    let adv_pgd = pgd(&model, &x, &y, &cfg, &mut Rng::new(3));
    assert_valid("fgsm", &adv_fgsm, &x, eps);
    assert_valid("pgd", &adv_pgd, &x, eps);
    let (clean, f, p) = (accuracy(&net, &x, &y), accuracy(&net, &adv_fgsm, &y), accuracy(&net, &adv_pgd, &y));
    assert!(clean > 0.8, "the toy model must learn (clean {clean})");
    assert!(p <= f && f <= clean, "clean {clean} fgsm {f} pgd {p}");
    assert!(p < clean - 0.1, "PGD must actually hurt: clean {clean} pgd {p}");
}

#[test]
fn pgd_restarts_never_lose_an_adversarial_point() {
    let net = trained();
    let model = |x: &Tensor| net.forward_t(x, false);
    let (x, y) = toy(128, 4);
    let base = PgdConfig { eps: 4.0 / 255.0, step_size: 1.0 / 255.0, steps: 5, random_start: true, restarts: 1 };
    let one = pgd(&model, &x, &y, &base, &mut Rng::new(5));
    let three = pgd(&model, &x, &y, &PgdConfig { restarts: 3, ..base }, &mut Rng::new(5));
    assert!(accuracy(&net, &three, &y) <= accuracy(&net, &one, &y));
}

#[test]
fn fgsm_and_pgd_agree_with_pytorch() {
    let Some(python) = robbench_reference::python(&["torch", "safetensors"]) else { return };
    let dir = tempfile::tempdir().unwrap();
    let net = trained();
    let checkpoint = dir.path().join("net.safetensors");
    net.save(&checkpoint).unwrap();
    let (x, y) = toy(200, 11);
    let inputs = dir.path().join("inputs.safetensors");
    Tensor::write_safetensors(&[("x", &x), ("y", &y)], &inputs).unwrap();
    let (eps, step, steps) = (8.0 / 255.0, 2.0 / 255.0, 10);
    let args = [
        checkpoint.to_str().unwrap(),
        inputs.to_str().unwrap(),
        &eps.to_string(),
        &step.to_string(),
        &steps.to_string(),
    ];
    let out = robbench_reference::run_json(&python, "attacks_reference.py", &args);
    let reference: std::collections::HashMap<String, Tensor> =
        Tensor::read_safetensors(dir.path().join("inputs.safetensors.adv")).unwrap().into_iter().collect();

    let model = |x: &Tensor| net.forward_t(x, false);
    let ours_fgsm = fgsm(&model, &x, &y, eps);
    let cfg = PgdConfig { eps, step_size: step, steps, random_start: false, restarts: 1 };
    let ours_pgd = pgd(&model, &x, &y, &cfg, &mut Rng::new(0));
    for (name, ours) in [("fgsm", &ours_fgsm), ("pgd", &ours_pgd)] {
        // Pixels agree except where a gradient component is ~0 and its sign
        // flips with float rounding.
        let same = (ours - &reference[name]).abs().le(1e-5).to_kind(Kind::Float).mean(Kind::Float).double_value(&[]);
        assert!(same >= 0.99, "{name}: only {same:.4} of pixels agree with PyTorch");
        let ours_acc = accuracy(&net, ours, &y);
        let theirs = out[name].as_f64().unwrap();
        assert!(
            (ours_acc - theirs).abs() <= 1.0 / 200.0 + 1e-9,
            "{name}: robust accuracy {ours_acc} vs PyTorch {theirs}"
        );
    }
    assert!((accuracy(&net, &x, &y) - out["clean"].as_f64().unwrap()).abs() < 1e-9);
}
