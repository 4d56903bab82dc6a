//! Attack invariants on a trained TinyNetwork, and agreement with an
//! independent PyTorch implementation (stages/reference/python/attacks_reference.py).

use robbench_attacks::{fgsm, pgd, PgdConfig};
use robbench_nn::{NetworkSpec, TinyNetwork};
use robbench_rng::Rng;
use robbench_space::Space;
use tch::{nn::OptimizerConfig, Device, Kind, Tensor};

/// A learnable toy: 4 classes, a faint bright square in one quadrant of a
/// noisy 16×16 image.
fn toy(n: usize, seed: u64) -> (Tensor, Tensor) {
    let mut rng = Rng::new(seed);
    let mut pixels = rng.uniform_vec(n * 3 * 16 * 16, 0.3, 0.6);
    let mut labels = Vec::with_capacity(n);
    for i in 0..n {
        let class = rng.below(4) as usize;
        labels.push(class as i64);
        let (oy, ox) = (4 * (class / 2) + 2, 4 * (class % 2) + 2);
        for c in 0..3 {
            for dy in 0..6 {
                for dx in 0..6 {
                    let (py, px) = ((oy + dy) * 16 / 12, (ox + dx) * 16 / 12);
                    pixels[((i * 3 + c) * 16 + py) * 16 + px] += 0.12;
                }
            }
        }
    }
    (Tensor::from_slice(&pixels).view([n as i64, 3, 16, 16]), Tensor::from_slice(&labels))
}

fn trained_model() -> TinyNetwork {
    let spec = NetworkSpec {
        arch: Space::nb201().arch(1462).unwrap(),
        channels: 8,
        cells_per_stage: 1,
        classes: 4,
        mean: vec![0.5; 3],
        std: vec![0.25; 3],
    };
    let net = TinyNetwork::new(&spec, Device::Cpu, 0).unwrap();
    let mut opt = tch::nn::Adam::default().build(net.var_store(), 3e-3).unwrap();
    let (x, y) = toy(512, 1);
    for step in 0..60 {
        let idx = Tensor::from_slice(&Rng::derive(2, "batch", step).permutation(512)[..64].iter().map(|&i| i as i64).collect::<Vec<_>>());
        let loss = net.forward_t(&x.index_select(0, &idx), true).cross_entropy_for_logits(&y.index_select(0, &idx));
        opt.backward_step(&loss);
    }
    net
}

fn accuracy(net: &TinyNetwork, x: &Tensor, y: &Tensor) -> f64 {
    tch::no_grad(|| net.forward_t(x, false).argmax(1, false).eq_tensor(y).to_kind(Kind::Float).mean(Kind::Float).double_value(&[]))
}

#[test]
fn attacks_stay_in_the_ball_and_order_clean_fgsm_pgd() {
    let net = trained_model();
    let model = |x: &Tensor| net.forward_t(x, false);
    let (x, y) = toy(256, 9);
    let eps = 8.0 / 255.0;
    let cfg = PgdConfig { eps, step_size: 2.0 / 255.0, steps: 10, random_start: true, restarts: 2 };
    let adv_fgsm = fgsm(&model, &x, &y, eps);
    let adv_pgd = pgd(&model, &x, &y, &cfg, &mut Rng::new(3));
    for adv in [&adv_fgsm, &adv_pgd] {
        assert!((adv - &x).abs().max().double_value(&[]) <= eps + 1e-6);
        assert!(adv.min().double_value(&[]) >= 0.0 && adv.max().double_value(&[]) <= 1.0);
    }
    let (clean, f, p) = (accuracy(&net, &x, &y), accuracy(&net, &adv_fgsm, &y), accuracy(&net, &adv_pgd, &y));
    assert!(clean > 0.8, "the toy model must learn (clean {clean})");
    assert!(p <= f && f <= clean, "clean {clean} fgsm {f} pgd {p}");
    assert!(p < clean - 0.1, "PGD must actually hurt: clean {clean} pgd {p}");
}

#[test]
fn pgd_restarts_never_lose_an_adversarial_point() {
    let net = trained_model();
    let model = |x: &Tensor| net.forward_t(x, false);
    let (x, y) = toy(128, 4);
    let base = PgdConfig { eps: 4.0 / 255.0, step_size: 1.0 / 255.0, steps: 5, random_start: true, restarts: 1 };
    let one = pgd(&model, &x, &y, &base, &mut Rng::new(5));
    let three = pgd(&model, &x, &y, &PgdConfig { restarts: 3, ..base }, &mut Rng::new(5));
    assert!(accuracy(&net, &three, &y) <= accuracy(&net, &one, &y));
}

#[test]
fn fgsm_and_pgd_agree_with_pytorch() {
    let Some(python) = robbench_reference::python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let net = trained_model();
    let checkpoint = dir.path().join("net.safetensors");
    net.save(&checkpoint).unwrap();
    let (x, y) = toy(200, 11);
    let inputs = dir.path().join("inputs.safetensors");
    Tensor::write_safetensors(&[("x", &x), ("y", &y)], &inputs).unwrap();
    let (eps, step, steps) = (8.0 / 255.0, 2.0 / 255.0, 10);
    let args = [checkpoint.to_str().unwrap(), inputs.to_str().unwrap(), &eps.to_string(), &step.to_string(), &steps.to_string()];
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
        assert!((ours_acc - theirs).abs() <= 1.0 / 200.0 + 1e-9, "{name}: robust accuracy {ours_acc} vs PyTorch {theirs}");
    }
    assert!((accuracy(&net, &x, &y) - out["clean"].as_f64().unwrap()).abs() < 1e-9);
}
