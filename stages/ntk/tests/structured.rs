//! The structured NTK (batched forwards and backwards over chunks of each input set) equals
//! the per-sample reference (one backward per sample) on TinyNetworks: every
//! op of the space, reduction blocks, all three outputs, clean / attacked /
//! cross blocks, in float32 and float64. The 16×16 images take every route of
//! the conv weight gradients: per-sample weight copies (16×16 outputs),
//! shifted windows (8×8, 4×4) and im2col (the stride-2 convs).

mod common;

use common::rel_diff;
use robbench_nn::{NetworkSpec, TinyNetwork};
use robbench_ntk::{NtkError, NtkOutput, RobustKernels, empirical_ntk, empirical_ntk_structured};
use robbench_rng::Rng;
use robbench_space::{Arch, Op};
use tch::{Device, Kind, Tensor};

const CLASSES: i64 = 5;

fn network(arch: Arch, seed: u64) -> TinyNetwork {
    let spec = NetworkSpec {
        arch,
        channels: 4,
        cells_per_stage: 1,
        classes: CLASSES,
        mean: vec![0.49, 0.48, 0.45],
        std: vec![0.25, 0.24, 0.26],
    };
    let net = TinyNetwork::new(&spec, Device::Cpu, seed).unwrap();
    // Calibrated BN statistics, so eval-mode BN is not the identity.
    net.calibrate_batch_norm(&pixels(&mut Rng::new(seed + 1), 16));
    net
}

fn pixels(rng: &mut Rng, n: i64) -> Tensor {
    Tensor::from_slice(&rng.uniform_vec((n * 3 * 16 * 16) as usize, 0.0, 1.0)).view([n, 3, 16, 16])
}

/// Clean points and two perturbations of them (stand-ins for A(x), A(A(x))).
fn point_sets(seed: u64, n: i64) -> [Tensor; 3] {
    let mut rng = Rng::new(seed);
    let x = pixels(&mut rng, n);
    let x_adv = (&x + (pixels(&mut rng, n) - 0.5) * 0.1).clamp(0.0, 1.0);
    let x_adv2 = (&x_adv + (pixels(&mut rng, n) - 0.5) * 0.1).clamp(0.0, 1.0);
    [x, x_adv, x_adv2]
}

/// Random cells whose ops together cover the whole space.
fn random_archs(count: usize) -> Vec<Arch> {
    let mut rng = Rng::new(2024);
    let archs: Vec<Arch> = (0..count).map(|_| Arch::from_generation_index(rng.below(15_625) as usize)).collect();
    for op in Op::ALL {
        assert!(archs.iter().any(|a| a.edges().contains(&op)), "no sampled cell uses {op:?}");
    }
    archs
}

fn assert_blocks_match(structured: &RobustKernels, reference: &RobustKernels, tolerance: f64, what: &str) {
    for (name, a, b) in [
        ("clean", &structured.clean, &reference.clean),
        ("robust", &structured.robust, &reference.robust),
        ("cross", &structured.cross, &reference.cross),
        ("cross2", &structured.cross2, &reference.cross2),
        ("robust2", &structured.robust2, &reference.robust2),
    ] {
        assert_eq!(a.size(), b.size(), "{what} {name}");
        assert_eq!(a.kind(), Kind::Double);
        let err = rel_diff(a, b);
        assert!(err < tolerance, "{what} {name}: relative difference {err:e}");
    }
}

fn compare_all_outputs(net: &TinyNetwork, sets: &[Tensor; 3], labels: &Tensor, tolerance: f64, what: &str) {
    let params = net.var_store().trainable_variables();
    let forward = |x: &Tensor| net.forward_t(x, false);
    let trace = |x: &Tensor| net.forward_traced(x);
    let [x, x_adv, x_adv2] = sets;
    for (name, output) in
        [("sum", NtkOutput::SumOfLogits), ("label", NtkOutput::Logit(labels)), ("per-logit", NtkOutput::PerLogit)]
    {
        let reference = RobustKernels::compute(&forward, &params, x, x_adv, x_adv2, output).unwrap();
        let structured = RobustKernels::compute_structured(&trace, x, x_adv, x_adv2, output).unwrap();
        assert_blocks_match(&structured, &reference, tolerance, &format!("{what}, {name}"));
    }
}

#[test]
fn structured_blocks_equal_the_per_sample_reference_in_float32() {
    let labels = Tensor::from_slice(&[3i64, 0, 4]);
    for (i, arch) in random_archs(6).into_iter().enumerate() {
        let net = network(arch, 10 + i as u64);
        let sets = point_sets(20 + i as u64, 3);
        compare_all_outputs(&net, &sets, &labels, 1e-5, &format!("float32 arch {arch}"));
    }
}

#[test]
fn structured_blocks_equal_the_per_sample_reference_in_float64() {
    let labels = Tensor::from_slice(&[1i64, 4, 2]);
    for (i, arch) in random_archs(6).into_iter().enumerate().take(3) {
        let net = network(arch, 30 + i as u64).to_kind(Kind::Double);
        let sets = point_sets(40 + i as u64, 3).map(|t| t.to_kind(Kind::Double));
        compare_all_outputs(&net, &sets, &labels, 1e-10, &format!("float64 arch {arch}"));
    }
}

#[test]
fn kernels_between_sets_of_different_sizes_match_the_reference() {
    let net = network(
        "|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|".parse().unwrap(),
        50,
    )
    .to_kind(Kind::Double);
    let params = net.var_store().trainable_variables();
    let forward = |x: &Tensor| net.forward_t(x, false);
    let trace = |x: &Tensor| net.forward_traced(x);
    let mut rng = Rng::new(51);
    let x1 = pixels(&mut rng, 2).to_kind(Kind::Double);
    let x2 = pixels(&mut rng, 4).to_kind(Kind::Double);
    for output in [NtkOutput::SumOfLogits, NtkOutput::PerLogit] {
        let reference = empirical_ntk(&forward, &params, &x1, Some(&x2), output).unwrap();
        let structured = empirical_ntk_structured(&trace, &x1, Some(&x2), output).unwrap();
        assert_eq!(structured.size(), reference.size());
        assert!(rel_diff(&structured, &reference) < 1e-10, "{output:?}");
    }
    let symmetric = empirical_ntk_structured(&trace, &x2, None, NtkOutput::SumOfLogits).unwrap();
    assert_eq!(symmetric.size(), [4, 4]);
    assert!(bool::try_from(symmetric.eq_tensor(&symmetric.tr()).all()).unwrap(), "Gram block is exactly symmetric");
    let labels = Tensor::from_slice(&[0i64, 1]);
    let err = empirical_ntk_structured(&trace, &x1, Some(&x2), NtkOutput::Logit(&labels)).unwrap_err();
    assert!(matches!(err, NtkError::BadLabels(_)), "{err}");
    let bad = Tensor::from_slice(&[0i64, CLASSES]);
    let err = empirical_ntk_structured(&trace, &x1, None, NtkOutput::Logit(&bad)).unwrap_err();
    assert!(err.to_string().contains(&format!("outside the model's {CLASSES} outputs")), "{err}");
}
