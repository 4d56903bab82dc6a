//! The traced eval-mode forward (`TinyNetwork::forward_traced`) that the
//! structured NTK builds on: the logits of an ordinary eval forward, and
//! layers whose recorded inputs reproduce their outputs and whose parameters
//! are exactly the trainable variables.

use std::collections::HashSet;

use robbench_nn::{NetworkSpec, PER_SAMPLE_WEIGHT_MIN_POSITIONS, TinyNetwork, TracedLayer};
use robbench_rng::Rng;
use robbench_space::Space;
use tch::{Device, Kind, Tensor};

fn network(index: usize) -> TinyNetwork {
    let spec = NetworkSpec {
        arch: Space::nb201().arch(index).unwrap(),
        channels: 4,
        cells_per_stage: 1,
        classes: 5,
        mean: vec![0.49, 0.48, 0.45],
        std: vec![0.25, 0.24, 0.26],
    };
    let net = TinyNetwork::new(&spec, Device::Cpu, 3).unwrap();
    net.calibrate_batch_norm(&input(16, 7));
    net
}

/// 16×16 images: the first stage's k×k convs are traced through per-sample copies.
fn input(n: i64, seed: u64) -> Tensor {
    let mut rng = Rng::new(seed);
    Tensor::from_slice(&rng.uniform_vec((n * 3 * 16 * 16) as usize, 0.0, 1.0)).view([n, 3, 16, 16])
}

fn max_rel(a: &Tensor, b: &Tensor) -> f64 {
    (a - b).abs().max().double_value(&[]) / b.abs().max().double_value(&[]).max(1e-30)
}

#[test]
fn traced_layers_reproduce_their_outputs_and_cover_every_parameter() {
    // Arch 2581 has 1×1 and 3×3 convs; every network has two reductions.
    for index in [2581, 0, 1000] {
        let net = network(index);
        let x = input(3, 9);
        let trace = net.forward_traced(&x);
        let plain = tch::no_grad(|| net.forward_t(&x, false));
        // Float32 rounding only: the grouped convolutions of the per-sample
        // copies sum in another order (float64 agrees to 1e-12 below).
        assert!(
            max_rel(&trace.logits, &plain) < 1e-5,
            "arch {index}: traced logits differ: {:e}",
            max_rel(&trace.logits, &plain)
        );
        assert!(trace.logits.requires_grad());

        let mut traced = HashSet::new();
        for layer in &trace.layers {
            let output = layer.output().detach();
            let recomputed = match layer {
                TracedLayer::Conv2d { input, weight, per_sample_weight, stride, padding, output } => {
                    assert!(!input.requires_grad(), "conv inputs are recorded detached");
                    let k = weight.size()[2];
                    let large = k > 1 && output.size()[2] * output.size()[3] >= PER_SAMPLE_WEIGHT_MIN_POSITIONS;
                    assert_eq!(per_sample_weight.is_some(), large, "arch {index}: copies exactly for large k×k convs");
                    if let Some(copies) = per_sample_weight {
                        assert!(copies.requires_grad() && copies.is_leaf(), "the copies are the gradient's leaf");
                        assert!(max_rel(copies, &weight.repeat([3, 1, 1, 1])) == 0.0, "one exact copy per sample");
                    }
                    input.conv2d(weight, None::<Tensor>, [*stride], [*padding], [1], 1)
                }
                TracedLayer::BatchNorm { normalised, weight, bias, .. } => {
                    normalised * weight.view([1, -1, 1, 1]) + bias.view([1, -1, 1, 1])
                }
                TracedLayer::Linear { input, weight, bias, .. } => input.linear(weight, Some(bias)),
            };
            assert!(max_rel(&recomputed.detach(), &output) < 1e-5, "arch {index}: a layer does not reproduce");
            for p in layer.parameters() {
                assert!(traced.insert(p.data_ptr() as usize), "arch {index}: a parameter is traced twice");
            }
        }
        let trainable: HashSet<usize> =
            net.var_store().trainable_variables().iter().map(|t| t.data_ptr() as usize).collect();
        assert_eq!(traced, trainable, "arch {index}: traced parameters are not the trainable variables");
    }
}

#[test]
fn to_kind_gives_the_same_network_in_float64() {
    let net = network(2581);
    let x = input(3, 11);
    let double = net.to_kind(Kind::Double);
    assert!(double.var_store().trainable_variables().iter().all(|t| t.kind() == Kind::Double));
    let a = tch::no_grad(|| net.forward_t(&x, false));
    let b = tch::no_grad(|| double.forward_t(&x.to_kind(Kind::Double), false));
    assert_eq!(b.kind(), Kind::Double);
    assert!(max_rel(&a.to_kind(Kind::Double), &b) < 1e-5);
    let traced = double.forward_traced(&x.to_kind(Kind::Double));
    assert!(max_rel(&traced.logits, &b) < 1e-12);
}
