//! Test support: the project's NAS-Bench-201 TinyNetwork (C = 8, N = 1,
//! 10 classes) trained on a learnable 16×16 toy. The PyTorch cross-checks
//! load its checkpoint with `stages/reference/python/nb201_model.py`.
#![allow(dead_code)] // each test binary uses a different part

use std::sync::OnceLock;

use robbench_nn::{NetworkSpec, TinyNetwork};
use robbench_rng::Rng;
use robbench_space::Space;
use tch::nn::OptimizerConfig;
use tch::{Device, Kind, Tensor};

pub const CLASSES: i64 = 10;

/// Class k brightens the k-th 4×4 block (row-major, of 16) of a noisy image
/// by a random amount: faint samples are easy to attack, strong ones not,
/// so robust accuracies land in an informative range.
pub fn toy(n: usize, seed: u64) -> (Tensor, Tensor) {
    let mut rng = Rng::new(seed);
    let mut pixels = rng.uniform_vec(n * 3 * 16 * 16, 0.25, 0.75);
    let mut labels = Vec::with_capacity(n);
    for i in 0..n {
        let class = rng.below(CLASSES as u64) as usize;
        labels.push(class as i64);
        let amp = 0.05 + 0.2 * rng.next_f32();
        let (oy, ox) = (4 * (class / 4), 4 * (class % 4));
        for c in 0..3 {
            for dy in 0..4 {
                for dx in 0..4 {
                    pixels[((i * 3 + c) * 16 + oy + dy) * 16 + ox + dx] += amp;
                }
            }
        }
    }
    let x = Tensor::from_slice(&pixels).view([n as i64, 3, 16, 16]).clamp(0.0, 1.0);
    (x, Tensor::from_slice(&labels))
}

fn spec() -> NetworkSpec {
    NetworkSpec {
        arch: Space::nb201().arch(1462).unwrap(),
        channels: 8,
        cells_per_stage: 1,
        classes: CLASSES,
        mean: vec![0.5; 3],
        std: vec![0.25; 3],
    }
}

/// The network after a short, seeded Adam training on the toy. Trained once
/// per test binary (tensors are not `Sync`, so the state is kept as numbers).
pub fn trained() -> TinyNetwork {
    static STATE: OnceLock<Vec<Vec<f64>>> = OnceLock::new();
    let state = STATE.get_or_init(|| {
        let net = TinyNetwork::new(&spec(), Device::Cpu, 0).unwrap();
        let mut opt = tch::nn::Adam::default().build(net.var_store(), 3e-3).unwrap();
        let (x, y) = toy(2048, 1);
        for step in 0..300 {
            let idx: Vec<i64> =
                Rng::derive(2, "batch", step).permutation(2048)[..64].iter().map(|&i| i as i64).collect();
            let idx = Tensor::from_slice(&idx);
            let loss = net.forward_t(&x.index_select(0, &idx), true).cross_entropy_for_logits(&y.index_select(0, &idx));
            opt.backward_step(&loss);
        }
        net.state().iter().map(|(_, t)| Vec::<f64>::try_from(t.to_kind(Kind::Double).flatten(0, -1)).unwrap()).collect()
    });
    let net = TinyNetwork::new(&spec(), Device::Cpu, 0).unwrap();
    for ((_, t), values) in net.state().iter().zip(state) {
        tch::no_grad(|| t.shallow_clone().copy_(&Tensor::from_slice(values).view_as(t)));
    }
    net
}

pub fn accuracy(net: &TinyNetwork, x: &Tensor, y: &Tensor) -> f64 {
    tch::no_grad(|| {
        net.forward_t(x, false).argmax(1, false).eq_tensor(y).to_kind(Kind::Float).mean(Kind::Float).double_value(&[])
    })
}

pub fn fraction(flags: &[bool]) -> f64 {
    flags.iter().filter(|&&c| c).count() as f64 / flags.len() as f64
}

/// Asserts what every attack promises: same shape, kind and device as `x`,
/// within ε of it (tolerance 1e-6) and inside [0, 1].
pub fn assert_valid(name: &str, adv: &Tensor, x: &Tensor, eps: f64) {
    assert_eq!(adv.size(), x.size(), "{name}: shape");
    assert_eq!(adv.kind(), x.kind(), "{name}: kind");
    assert_eq!(adv.device(), x.device(), "{name}: device");
    let distance = (adv - x).abs().max().double_value(&[]);
    assert!(distance <= eps + 1e-6, "{name}: L∞ distance {distance} > ε = {eps}");
    let (lo, hi) = (adv.min().double_value(&[]), adv.max().double_value(&[]));
    assert!(lo >= 0.0 && hi <= 1.0, "{name}: pixels in [{lo}, {hi}]");
}
