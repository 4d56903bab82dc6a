//! Exact empirical NTKs from batched forward and backward passes, for
//! networks that expose their parametrised layers ([`robbench_nn::Trace`]):
//! the structured per-sample gradients of BackPACK and of Novak et al.,
//! "Fast Finite Width Neural Tangent Kernel" (ICML 2022).
//!
//! In eval mode the samples of a batch are independent, so the gradient of
//! `Σᵢ s(xᵢ)` with respect to a layer's output `yₗ` is, sample by sample, the
//! gradient of that sample's own scalar `s(xᵢ)`: one backward gives every
//! sample's output gradient `gₗ,ᵢ` (one backward per logit for
//! [`NtkOutput::PerLogit`]). Each layer's per-sample parameter gradient then
//! follows from `gₗ,ᵢ` and the layer's input `aₗ,ᵢ`:
//!
//! * convolution (no bias): `Gᵢ = Σₛ gᵢ[:, s] ⊗ patchᵢ[:, s]` over output
//!   positions `s`: for large outputs straight from the backward (the trace
//!   computed such a layer through one copy of its weight per sample, a
//!   grouped convolution), for other stride-1 convs from shifted windows of
//!   the padded input, else from the unfolded input (im2col);
//! * linear: `Gᵢ = gᵢ ⊗ (aᵢ, 1)` (weight and bias);
//! * eval-mode batch norm: `∂γ = Σₛ g·x̂`, `∂β = Σₛ g` per channel.
//!
//! A point set is processed in chunks of samples (forward, backward, per-layer
//! gradients written straight into the set's per-layer rows, then the chunk's
//! activations and graph are dropped), so memory is the set's gradient rows
//! (`rows × P`, in the network's precision) plus one chunk's activations.
//! Kernel blocks are summed layer by layer in float64 from float32 (or
//! float64) products `⟨Gᵢ, G'ⱼ⟩` of each layer's gradients. Forming a block straight from the factors `(g, a)` without `G`
//! would need `n²·S²·(C_in·k² + C_out)` multiply-adds instead of
//! `n²·C_out·C_in·k²`: fewer only for the classifier (`S = 1`), where both are
//! negligible, so every layer takes the explicit route.

use robbench_nn::{Trace, TracedLayer};
use tch::{Kind, Tensor};

use crate::jacobian::{NtkOutput, check_label_range, check_labels, logits_2d};
use crate::{NtkError, profile};

/// How a k×k convolution's per-sample weight gradients are formed. Only the
/// tests force one route, to check both against each other.
#[cfg_attr(not(test), allow(dead_code))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ConvRoute {
    /// The traced per-sample weight copies' gradients where the trace has them
    /// ([`robbench_nn::PER_SAMPLE_WEIGHT_MIN_POSITIONS`]), shifted windows of
    /// the input for other stride-1 k×k convs, im2col for the rest.
    Cheapest,
    /// Always im2col (or the 1×1 input) + batched matmul from the output gradients.
    Im2col,
}

/// Traced elements (layer inputs, normalised BN inputs and outputs) one chunk
/// may hold: 2²⁶ (256 MiB in float32). A chunk's real footprint is a small
/// multiple of it (autograd's saved tensors, the output gradients). A 32×32
/// NAS-Bench-201 network at C = 16, N = 5 traces ~3.3 M elements per sample,
/// so chunks of ~20 samples. Measured for arch 2581 at n = 64 (`bench ntk`,
/// two threads, wall seconds / peak memory): chunks of ~5 took 3.9 s /
/// 0.87 GB, of ~10 3.1 s / 0.99 GB, of ~20 2.6 s / 1.23 GB, of ~40 2.5 s /
/// 1.73 GB, one chunk 3.0 s / 2.15 GB.
const CHUNK_TRACED_ELEMENTS: i64 = 1 << 26;

/// Structured per-sample gradients of one input set: each traced layer's
/// slice of the Jacobian, `[samples·R, P_l]` (row `i·R + r`: sample `i`,
/// scalar `r`), in trace order.
pub struct StructuredGradients {
    layers: Vec<Tensor>,
    samples: i64,
    rows_per_sample: i64,
}

impl StructuredGradients {
    /// Kernel rows: samples, or samples × logits for [`NtkOutput::PerLogit`].
    pub fn rows(&self) -> i64 {
        self.samples * self.rows_per_sample
    }

    /// Trainable parameters covered by the traced layers.
    pub fn parameters(&self) -> i64 {
        self.layers.iter().map(|g| g.size()[1]).sum()
    }

    fn widths(&self) -> Vec<i64> {
        self.layers.iter().map(|g| g.size()[1]).collect()
    }
}

/// The per-sample gradients of the scalar(s) chosen by `output` for the
/// samples of `x`, from traced eval-mode forwards (`trace`, e.g.
/// `|x| net.forward_traced(x)`) and one backward per scalar of `output`
/// (one, or `K` for [`NtkOutput::PerLogit`]), in chunks of samples sized by
/// [`CHUNK_TRACED_ELEMENTS`].
pub fn structured_gradients(
    trace: &dyn Fn(&Tensor) -> Trace,
    x: &Tensor,
    output: NtkOutput,
) -> Result<StructuredGradients, NtkError> {
    structured_gradients_with(trace, x, output, ConvRoute::Cheapest, None)
}

/// As [`structured_gradients`]; `chunk` fixes the samples per chunk (after
/// the first, which always holds one sample and measures the traced size).
pub(crate) fn structured_gradients_with(
    trace: &dyn Fn(&Tensor) -> Trace,
    x: &Tensor,
    output: NtkOutput,
    route: ConvRoute,
    chunk: Option<i64>,
) -> Result<StructuredGradients, NtkError> {
    let n = *x.size().first().ok_or(NtkError::BadShape {
        what: "input batch",
        shape: vec![],
        expected: "expected a leading batch dimension".into(),
    })?;
    if n == 0 {
        return Err(NtkError::EmptyBatch("input batch"));
    }
    let labels = match output {
        NtkOutput::Logit(labels) => Some(check_labels(labels, n)?.to_device(x.device())),
        _ => None,
    };
    let mut set = StructuredGradients { layers: Vec::new(), samples: n, rows_per_sample: 0 };
    let (mut start, mut len) = (0, 1);
    while start < n {
        let len_now = len.min(n - start);
        let labels = labels.as_ref().map(|l| l.narrow(0, start, len_now));
        let traced_elements =
            chunk_gradients(trace, &x.narrow(0, start, len_now), labels.as_ref(), output, route, &mut set, start)?;
        if start == 0 && n > 1 {
            // The rest in equal chunks of at most the cap (64 samples at a cap of 20: 16, 16, 16, 15).
            let cap = chunk.unwrap_or(CHUNK_TRACED_ELEMENTS / traced_elements.max(1)).clamp(1, n - 1);
            let chunks = (n - 1 + cap - 1) / cap;
            len = (n - 1 + chunks - 1) / chunks;
        }
        start += len_now;
    }
    Ok(set)
}

/// Writes the gradient rows of the chunk `x` (samples `first..` of `set`)
/// into `set`, allocating its layers on the first chunk. Returns the elements
/// the chunk's trace held per sample.
fn chunk_gradients(
    trace: &dyn Fn(&Tensor) -> Trace,
    x: &Tensor,
    labels: Option<&Tensor>,
    output: NtkOutput,
    route: ConvRoute,
    set: &mut StructuredGradients,
    first: i64,
) -> Result<i64, NtkError> {
    let n = x.size()[0];
    let Trace { logits, layers } = profile::time("forward (traced)", || trace(x));
    profile::count("forward (traced)", || layers.iter().map(forward_macs).sum());
    // The backward's input gradients cost a forward, less the first layer's (the images need none).
    profile::count("backward", || layers.iter().skip(1).map(forward_macs).sum());
    let logits = logits_2d(logits, n)?;
    if !logits.requires_grad() {
        return Err(NtkError::OutputWithoutGrad);
    }
    if layers.is_empty() {
        return Err(NtkError::NoTrainableParameters(0));
    }
    let traced_elements = layers.iter().map(traced_elements).sum::<i64>() / n;
    let classes = logits.size()[1];
    let scalars: Vec<Tensor> = match output {
        NtkOutput::SumOfLogits => vec![logits.sum(logits.kind())],
        NtkOutput::Logit(_) => {
            let labels = labels.expect("labels checked by the caller");
            check_label_range(labels, classes)?;
            vec![logits.gather(1, &labels.view([-1, 1]), false).sum(logits.kind())]
        }
        NtkOutput::PerLogit => (0..classes).map(|k| logits.select(1, k).sum(logits.kind())).collect(),
    };
    // The forced im2col route needs every conv's output gradient.
    let copies: Vec<Option<&Tensor>> =
        layers.iter().map(|layer| layer.per_sample_weight().filter(|_| route == ConvRoute::Cheapest)).collect();
    let via_copies: Vec<bool> = copies.iter().map(Option::is_some).collect();
    let targets: Vec<&Tensor> = layers.iter().zip(&copies).map(|(layer, c)| c.unwrap_or(layer.output())).collect();
    // grads[r][l]: the gradient of scalar r with respect to layer l's target
    // (its per-sample weight copies, or its output).
    let mut grads = Vec::with_capacity(scalars.len());
    for (r, scalar) in scalars.iter().enumerate() {
        let g =
            profile::time("backward", || Tensor::f_run_backward(&[scalar], &targets, r + 1 < scalars.len(), false))?;
        // Undefined: the target does not reach the scalar, so its gradient is zero.
        let g: Vec<Tensor> =
            g.into_iter().zip(&targets).map(|(g, y)| if g.defined() { g } else { y.zeros_like() }).collect();
        grads.push(g);
    }
    let r = scalars.len() as i64;
    drop(scalars);
    drop(targets);
    if set.layers.is_empty() {
        set.rows_per_sample = r;
        set.layers = profile::time("gradient rows: allocation", || {
            layers
                .iter()
                .map(|layer| {
                    let width = layer.parameters().iter().map(|p| p.numel() as i64).sum::<i64>();
                    let output = layer.output();
                    // Zeroed up front: the kernel faults the pages in at once, ~4× cheaper than
                    // the weight-gradient products touching them first from two threads.
                    Tensor::zeros([set.samples * r, width], (output.kind(), output.device()))
                })
                .collect()
        });
    }
    for (l, layer) in layers.into_iter().enumerate() {
        // [n, R, ...] gradients of this layer's target (copies: [n·C_out, …] → [n, C_out, …]).
        let mut per_scalar: Vec<Tensor> = grads
            .iter_mut()
            .map(|g| std::mem::replace(&mut g[l], Tensor::new()))
            .map(|g| if via_copies[l] { g.unflatten(0, [n, -1]) } else { g })
            .collect();
        // One scalar: a view of the output gradient, not a copy.
        let grad = if per_scalar.len() == 1 {
            per_scalar.pop().expect("one scalar").unsqueeze(1)
        } else {
            Tensor::stack(&per_scalar, 1)
        };
        layer_gradients(layer, grad, route, via_copies[l], set.layers[l].narrow(0, first * r, n * r));
    }
    Ok(traced_elements)
}

/// Elements a traced layer holds besides its parameters.
fn traced_elements(layer: &TracedLayer) -> i64 {
    (match layer {
        TracedLayer::Conv2d { input, output, .. } | TracedLayer::Linear { input, output, .. } => {
            input.numel() + output.numel()
        }
        TracedLayer::BatchNorm { normalised, output, .. } => normalised.numel() + output.numel(),
    }) as i64
}

/// Multiply-adds of the structured kernel work, from the layers of a
/// one-sample trace: per gradient set of `samples` samples, a traced forward,
/// one backward per scalar (less the first layer's input gradient: the
/// images need none) and the weight gradients (a forward's worth per
/// scalar); then `(samples·R)²·P` per kernel block. What an exact method
/// computes whatever its route, so with a machine's GEMM rate it gives the
/// floor of the work's time. Batch norm is counted as none.
pub fn structured_kernel_macs(
    one_sample: &[TracedLayer],
    samples: i64,
    sets: i64,
    rows_per_sample: i64,
    blocks: i64,
) -> f64 {
    let forward: f64 = one_sample.iter().map(forward_macs).sum();
    let first = one_sample.first().map_or(0.0, forward_macs);
    let parameters: i64 = one_sample.iter().flat_map(|l| l.parameters()).map(|p| p.numel() as i64).sum();
    let r = rows_per_sample as f64;
    let per_set = samples as f64 * (forward + r * (forward - first) + r * forward);
    let rows = (samples * rows_per_sample) as f64;
    sets as f64 * per_set + blocks as f64 * rows * rows * parameters as f64
}

/// Multiply-adds of a layer's forward (batch norm counted as none).
fn forward_macs(layer: &TracedLayer) -> f64 {
    match layer {
        TracedLayer::Conv2d { output, weight, .. } => {
            (output.numel() as i64 * weight.size()[1..].iter().product::<i64>()) as f64
        }
        TracedLayer::Linear { output, weight, .. } => (output.numel() as i64 * weight.size()[1]) as f64,
        TracedLayer::BatchNorm { .. } => 0.0,
    }
}

/// Writes one layer's per-sample gradient rows into `out` (`[n·R, P_l]`,
/// contiguous) from its output gradients `grad` (`[n, R, ...output shape]`),
/// or, `via_copies`, its per-sample weight copies' gradients (`[n, R, ...weight shape]`).
fn layer_gradients(layer: TracedLayer, grad: Tensor, route: ConvRoute, via_copies: bool, mut out: Tensor) {
    let (n, r) = (grad.size()[0], grad.size()[1]);
    match layer {
        TracedLayer::BatchNorm { normalised, .. } => profile::time("weight grads: batch norm", || {
            let g = grad.flatten(3, -1);
            let gamma = (&g * normalised.flatten(2, -1).unsqueeze(1)).sum_dim_intlist(-1, false, None);
            let beta = g.sum_dim_intlist(-1, false, None);
            out.copy_(&Tensor::cat(&[gamma, beta], -1).reshape([n * r, -1]));
        }),
        TracedLayer::Conv2d { input, weight, stride, padding, output, .. } => {
            let [c_out, c_in, k, _] = weight.size()[..] else { unreachable!("conv weights are 4-d") };
            if via_copies {
                // The backward gave each sample's own copy's gradient: [n, R, C_out, C_in, k, k].
                return profile::time("weight grads: per-sample copies", || out.copy_(&grad.reshape([n * r, -1])));
            }
            let [ho, wo] = [output.size()[2], output.size()[3]];
            let s = ho * wo;
            let macs = (n * r * c_out * c_in * k * k * s) as f64;
            if route == ConvRoute::Cheapest && k > 1 && stride == 1 {
                profile::count("weight grads: shifted bmm", || macs);
                return profile::time("weight grads: shifted bmm", || {
                    let grad = grad.reshape([n, r * c_out, ho, wo]);
                    shifted_weight_gradients(&input, &grad, k, padding, out.view([n, r * c_out, c_in, k * k]));
                });
            }
            let grad = grad.reshape([n, r, c_out, s]);
            let pointwise = k == 1 && stride == 1 && padding == 0;
            let name = if pointwise { "weight grads: 1x1 bmm" } else { "weight grads: im2col bmm" };
            profile::count(name, || macs);
            profile::time(name, || {
                let patches = if pointwise {
                    input.flatten(2, -1)
                } else {
                    input.im2col([k, k], [1, 1], [padding, padding], [stride, stride])
                };
                let _ =
                    grad.reshape([n, r * c_out, s]).bmm_out(&out.view([n, r * c_out, -1]), &patches.transpose(1, 2));
            })
        }
        // The bias is the weight of a constant input 1.
        TracedLayer::Linear { input, .. } => profile::time("weight grads: linear", || {
            let features = Tensor::cat(&[&input, &input.ones_like().narrow(1, 0, 1)], 1);
            // [n, R, K, 1] × [n, 1, 1, D + 1]: each sample's outer products.
            out.copy_(&grad.unsqueeze(-1).matmul(&features.view([n, 1, 1, -1])).reshape([n * r, -1]));
        }),
    }
}

/// Per-sample weight gradients of a stride-1 k×k convolution without
/// im2col's copy of the patches: with the input zero-padded (and one more
/// zero row below) and flattened, the patches of tap `(dy, dx)` at every
/// output position form one strided window of it, when each output row is
/// taken over the padded width `W_p` (the extra columns get a zero output
/// gradient). So `k²` batched products `[C_out, H_o·W_p] × [H_o·W_p, C_in]`
/// read the input in place: 1.3–2.9× faster than im2col + one product at
/// 8×8 to 32×32 outputs (16 samples, 16–64 channels), for `W_p / W_o`
/// (≤ 1.25 here) times its multiply-adds.
/// `grad` is `[n, R·C_out, H_o, W_o]`, `out` `[n, R·C_out, C_in, k²]`.
fn shifted_weight_gradients(input: &Tensor, grad: &Tensor, k: i64, padding: i64, mut out: Tensor) {
    let (ho, wo) = (grad.size()[2], grad.size()[3]);
    let wp = input.size()[3] + 2 * padding;
    let input = input.constant_pad_nd([padding, padding, padding, padding + 1]).flatten(2, -1);
    let grad = grad.constant_pad_nd([0, wp - wo]).flatten(2, -1);
    let taps: Vec<Tensor> =
        (0..k * k).map(|t| grad.bmm(&input.narrow(2, (t / k) * wp + t % k, ho * wp).transpose(1, 2))).collect();
    out.copy_(&Tensor::stack(&taps, -1));
}

/// Kernel blocks `K_ab = ⟨G_a, G_b⟩` (float64, `rows_a × rows_b`) for each
/// pair `(a, b)` of indices into `sets`, all from the same network: per
/// layer, the product of its gradients in their precision, summed over
/// layers in float64. Blocks with `a == b` are exactly symmetric.
pub fn structured_kernel_blocks(
    sets: &[&StructuredGradients],
    pairs: &[(usize, usize)],
) -> Result<Vec<Tensor>, NtkError> {
    let first = sets.first().ok_or(NtkError::EmptyBatch("list of gradient sets"))?;
    for set in sets {
        if set.widths() != first.widths() || set.rows_per_sample != first.rows_per_sample {
            return Err(NtkError::BadShape {
                what: "structured gradients",
                shape: vec![set.layers.len() as i64, set.parameters(), set.rows_per_sample],
                expected: format!(
                    "all sets must come from one network and output: expected [layers, parameters, rows per sample] = {:?}",
                    [first.layers.len() as i64, first.parameters(), first.rows_per_sample]
                ),
            });
        }
    }
    if let Some(&(a, b)) = pairs.iter().find(|&&(a, b)| a >= sets.len() || b >= sets.len()) {
        return Err(NtkError::BadShape {
            what: "kernel block pair",
            shape: vec![a as i64, b as i64],
            expected: format!("expected indices below {}", sets.len()),
        });
    }
    let device = first.layers[0].device();
    let mut blocks: Vec<Tensor> =
        pairs.iter().map(|&(a, b)| Tensor::zeros([sets[a].rows(), sets[b].rows()], (Kind::Double, device))).collect();
    for l in 0..first.layers.len() {
        for (block, &(a, b)) in blocks.iter_mut().zip(pairs) {
            let (ga, gb) = (&sets[a].layers[l], &sets[b].layers[l]);
            profile::count("gram: matmul", || (ga.size()[0] * gb.size()[0] * ga.size()[1]) as f64);
            let product = profile::time("gram: matmul", || ga.matmul(&gb.tr()));
            profile::time("gram: float64 sum", || *block += product.to_kind(Kind::Double));
        }
    }
    for (block, &(a, b)) in blocks.iter_mut().zip(pairs) {
        if a == b {
            *block = (&*block + block.tr()) * 0.5;
        }
        if !bool::try_from(block.isfinite().all())? {
            return Err(NtkError::NonFinite("kernel"));
        }
    }
    Ok(blocks)
}

/// Empirical NTK as [`crate::empirical_ntk`] computes it, from structured
/// per-sample gradients: `x2 = None` means `x2 = x1` (exactly symmetric).
pub fn empirical_ntk_structured(
    trace: &dyn Fn(&Tensor) -> Trace,
    x1: &Tensor,
    x2: Option<&Tensor>,
    output: NtkOutput,
) -> Result<Tensor, NtkError> {
    crate::kernel::check_shared_labels(output, x1, x2)?;
    let g1 = structured_gradients(trace, x1, output)?;
    let mut blocks = match x2 {
        None => structured_kernel_blocks(&[&g1], &[(0, 0)])?,
        Some(x2) => {
            let g2 = structured_gradients(trace, x2, output)?;
            structured_kernel_blocks(&[&g1, &g2], &[(0, 1)])?
        }
    };
    Ok(blocks.pop().expect("one block"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_common::rel_diff;
    use robbench_nn::{NetworkSpec, TinyNetwork};
    use robbench_rng::Rng;
    use tch::Device;

    /// Both conv routes and every chunking give the same kernels: the
    /// default takes the per-sample copies only at ≥ 256 output positions and
    /// one chunk for a small set.
    #[test]
    fn conv_routes_and_chunk_sizes_agree() {
        let spec = NetworkSpec {
            arch: "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|none~1|nor_conv_3x3~2|"
                .parse()
                .unwrap(),
            channels: 4,
            cells_per_stage: 1,
            classes: 3,
            mean: vec![0.5; 3],
            std: vec![0.25; 3],
        };
        let net = TinyNetwork::new(&spec, Device::Cpu, 5).unwrap();
        let mut rng = Rng::new(6);
        // 16×16 images: the first stage's 3×3 convs are traced through per-sample copies.
        let pixels = |rng: &mut Rng, n: i64| {
            Tensor::from_slice(&rng.uniform_vec((n * 3 * 16 * 16) as usize, 0.0, 1.0)).view([n, 3, 16, 16])
        };
        net.calibrate_batch_norm(&pixels(&mut rng, 8));
        let net = net.to_kind(Kind::Double);
        let trace = |x: &Tensor| net.forward_traced(x);
        let (x1, x2) = (pixels(&mut rng, 5).to_kind(Kind::Double), pixels(&mut rng, 2).to_kind(Kind::Double));
        for output in [NtkOutput::SumOfLogits, NtkOutput::PerLogit] {
            let kernels: Vec<Vec<Tensor>> = [
                (ConvRoute::Cheapest, None),
                (ConvRoute::Im2col, Some(5)),
                (ConvRoute::Cheapest, Some(2)),
                (ConvRoute::Im2col, Some(3)),
            ]
            .into_iter()
            .map(|(route, chunk)| {
                let g1 = structured_gradients_with(&trace, &x1, output, route, chunk).unwrap();
                let g2 = structured_gradients_with(&trace, &x2, output, route, chunk).unwrap();
                assert_eq!(g1.parameters(), net.parameter_count());
                structured_kernel_blocks(&[&g1, &g2], &[(0, 0), (0, 1), (1, 1)]).unwrap()
            })
            .collect();
            for other in &kernels[1..] {
                for (a, b) in other.iter().zip(&kernels[0]) {
                    assert!(rel_diff(a, b) < 1e-12, "{output:?}: {:e}", rel_diff(a, b));
                }
            }
        }
    }

    #[test]
    fn sets_from_different_networks_are_rejected() {
        let spec = |channels| NetworkSpec {
            arch: "|nor_conv_1x1~0|+|none~0|none~1|+|none~0|none~1|skip_connect~2|".parse().unwrap(),
            channels,
            cells_per_stage: 1,
            classes: 3,
            mean: vec![0.5; 3],
            std: vec![0.25; 3],
        };
        let x = Tensor::zeros([2, 3, 8, 8], (Kind::Float, Device::Cpu));
        let a = TinyNetwork::new(&spec(4), Device::Cpu, 1).unwrap();
        let b = TinyNetwork::new(&spec(6), Device::Cpu, 1).unwrap();
        let ga = structured_gradients(&|x| a.forward_traced(x), &x, NtkOutput::SumOfLogits).unwrap();
        let gb = structured_gradients(&|x| b.forward_traced(x), &x, NtkOutput::SumOfLogits).unwrap();
        let err = structured_kernel_blocks(&[&ga, &gb], &[(0, 1)]).unwrap_err();
        assert!(err.to_string().contains("one network"), "{err}");
        let err = structured_kernel_blocks(&[&ga], &[(0, 1)]).unwrap_err();
        assert!(err.to_string().contains("indices below 1"), "{err}");
    }
}
