//! Exact empirical NTKs from one batched forward and one batched backward per
//! input set, for networks that expose their parametrised layers
//! ([`robbench_nn::Trace`]): the structured per-sample gradients of BackPACK
//! and of Novak et al., "Fast Finite Width Neural Tangent Kernel" (ICML 2022).
//!
//! In eval mode the samples of a batch are independent, so the gradient of
//! `Σᵢ s(xᵢ)` with respect to a layer's output `yₗ` is, sample by sample, the
//! gradient of that sample's own scalar `s(xᵢ)`: one backward gives every
//! sample's output gradient `gₗ,ᵢ` (one backward per logit for
//! [`NtkOutput::PerLogit`]). Each layer's per-sample parameter gradient then
//! follows from `gₗ,ᵢ` and the layer's input `aₗ,ᵢ`:
//!
//! * convolution (no bias): `Gᵢ = Σₛ gᵢ[:, s] ⊗ patchᵢ[:, s]` over output
//!   positions `s`, the patches being the unfolded input (im2col);
//! * linear: `Gᵢ = gᵢ ⊗ (aᵢ, 1)` (weight and bias);
//! * eval-mode batch norm: `∂γ = Σₛ g·x̂`, `∂β = Σₛ g` per channel.
//!
//! A layer's kernel contribution `⟨Gᵢ, G'ⱼ⟩` is summed over layers in float64.
//! For a dense layer (conv or linear) there are two exact ways to form it, and
//! each layer takes the one with fewer multiply-adds for its sizes: *explicit*,
//! materialising `G` (`rows × P_l`, the layer's slice of the Jacobian) and
//! multiplying, or *factored*, `Σₛ,ᵤ (gᵢ[:, s]·g'ⱼ[:, u]) (patchᵢ[:, s]·patch'ⱼ[:, u])`
//! without `G` (cheap when there are few positions, as for the classifier).
//! Between the backward and the kernels each layer keeps whichever of `G` and
//! its factors `(g, a)` is smaller, so nothing of size `n × P` is ever held for
//! the whole network at once and memory stays `O(n² + activations)`.

use robbench_nn::{Trace, TracedLayer};
use tch::{Kind, Tensor};

use crate::{NtkError, profile};
use crate::jacobian::{NtkOutput, check_label_range, check_labels, logits_2d};

/// Largest intermediate (elements) of one factored contraction; the rows of
/// the first set are taken in chunks to stay below it.
const FACTORED_CHUNK_ELEMENTS: i64 = 1 << 24;

/// How a dense layer's kernel contribution is formed. Only the tests force
/// one order, to check both against each other on every layer.
#[cfg_attr(not(test), allow(dead_code))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Contraction {
    /// Whichever needs fewer multiply-adds for the layer's sizes.
    Cheapest,
    /// Always through the materialised per-sample gradients.
    Explicit,
    /// Always from the factors, where a layer still has them.
    Factored,
}

/// A dense layer's factors: `G_(i,r) = Σₛ grad[i, r, :, s] ⊗ patches(input)[i, :, s]`.
struct DenseFactors {
    /// Output gradients `[n, R, C_out, S]` (R scalars per sample).
    grad: Tensor,
    /// The layer input: `[n, C_in, H, W]` for a conv, `[n, D, 1]` (already patches) for a linear layer.
    input: Tensor,
    kernel: i64,
    stride: i64,
    padding: i64,
    /// Output height and width (`S = height·width`).
    out_size: [i64; 2],
}

/// From this many output positions on, a k×k conv's per-sample weight
/// gradients come from libtorch's grouped-convolution weight gradient rather
/// than im2col + batched matmul: 4–10× faster on CPU at 16×16 and 32×32
/// outputs, slower at 8×8 (measured with n = 64, 16–64 channels).
const GROUPED_CONV_MIN_POSITIONS: i64 = 256;

impl DenseFactors {
    fn samples(&self) -> i64 {
        self.grad.size()[0]
    }
    fn rows_per_sample(&self) -> i64 {
        self.grad.size()[1]
    }
    fn out_channels(&self) -> i64 {
        self.grad.size()[2]
    }
    fn positions(&self) -> i64 {
        self.grad.size()[3]
    }
    /// Length of one patch: `C_in·k²` (or `D` for a linear layer).
    fn patch_len(&self) -> i64 {
        if self.input.dim() == 3 { self.input.size()[1] } else { self.input.size()[1] * self.kernel * self.kernel }
    }

    /// The unfolded input `[n, patch_len, S]`.
    fn patches(&self) -> Tensor {
        if self.input.dim() == 3 {
            self.input.shallow_clone()
        } else if self.kernel == 1 && self.stride == 1 && self.padding == 0 {
            self.input.flatten(2, -1)
        } else {
            self.input.im2col(
                [self.kernel, self.kernel],
                [1, 1],
                [self.padding, self.padding],
                [self.stride, self.stride],
            )
        }
    }

    /// The per-sample gradients `[n·R, C_out·patch_len]` (the explicit form).
    fn explicit(&self) -> Tensor {
        let (n, r, c, s) = (self.samples(), self.rows_per_sample(), self.out_channels(), self.positions());
        if self.input.dim() == 4 && self.kernel > 1 && s >= GROUPED_CONV_MIN_POSITIONS {
            profile::count("weight grads: grouped conv", || (n * r * c * s * self.patch_len()) as f64);
            return profile::time("weight grads: grouped conv", || self.explicit_by_grouped_conv());
        }
        let route = if self.input.dim() == 3 {
            "weight grads: linear"
        } else if self.kernel == 1 {
            "weight grads: 1x1 bmm"
        } else {
            "weight grads: im2col bmm"
        };
        profile::count(route, || (n * r * c * s * self.patch_len()) as f64);
        profile::time(route, || {
            self.grad.reshape([n, r * c, s]).bmm(&self.patches().transpose(1, 2)).reshape([n * r, -1])
        })
    }

    /// The same gradients as the weight gradient of one grouped convolution
    /// with a separate copy of the weight per sample (groups = n): the
    /// gradient of `⟨g, conv(x, W)⟩` with respect to `W` does not depend on
    /// `W`, so the copies are zeros.
    fn explicit_by_grouped_conv(&self) -> Tensor {
        let (n, r, c) = (self.samples(), self.rows_per_sample(), self.out_channels());
        let [_, c_in, h, w] = self.input.size()[..] else { unreachable!("conv inputs are 4-d") };
        let k = self.kernel;
        let weight =
            Tensor::zeros([n * c, c_in, k, k], (self.input.kind(), self.input.device())).set_requires_grad(true);
        let output = tch::with_grad(|| {
            self.input.reshape([1, n * c_in, h, w]).conv2d(
                &weight,
                None::<Tensor>,
                [self.stride],
                [self.padding],
                [1],
                n,
            )
        });
        let [ho, wo] = self.out_size;
        let rows: Vec<Tensor> = (0..r)
            .map(|row| {
                let seed = tch::with_grad(|| {
                    (&output * self.grad.select(1, row).reshape([1, n * c, ho, wo])).sum(output.kind())
                });
                Tensor::run_backward(&[seed], &[&weight], row + 1 < r, false)[0].reshape([n, -1])
            })
            .collect();
        Tensor::stack(&rows, 1).reshape([n * r, -1])
    }
}

/// Multiply-adds of forming `⟨G, G'⟩` for `n₁` and `n₂` samples explicitly
/// (materialising both sides) and from the factors.
fn costs(n1: i64, n2: i64, rows: i64, out_channels: i64, patch_len: i64, positions: i64) -> (f64, f64) {
    let [n1, n2, r, c, d, s] = [n1, n2, rows, out_channels, patch_len, positions].map(|v| v as f64);
    let explicit = (n1 + n2) * r * c * d * s + n1 * n2 * r * r * c * d;
    let factored = n1 * n2 * s * s * (d + r * r * c + r * r);
    (explicit, factored)
}

/// One layer's per-sample gradients in the smaller of the two forms.
enum LayerGradients {
    /// `[rows, P_l]`.
    Explicit(Tensor),
    Factored(DenseFactors),
}

/// Structured per-sample gradients of one input set: per layer, the explicit
/// gradient rows or the factors they are made from.
pub struct StructuredGradients {
    layers: Vec<LayerGradients>,
    samples: i64,
    rows_per_sample: i64,
    parameters: i64,
}

impl StructuredGradients {
    /// Kernel rows: samples, or samples × logits for [`NtkOutput::PerLogit`].
    pub fn rows(&self) -> i64 {
        self.samples * self.rows_per_sample
    }

    /// Trainable parameters covered by the traced layers.
    pub fn parameters(&self) -> i64 {
        self.parameters
    }
}

/// The per-sample gradients of the scalar(s) chosen by `output` for the
/// samples of `x`, from one traced eval-mode forward (`trace`, e.g.
/// `|x| net.forward_traced(x)`) and one backward per scalar of `output`
/// (one, or `K` for [`NtkOutput::PerLogit`]).
pub fn structured_gradients(
    trace: &dyn Fn(&Tensor) -> Trace,
    x: &Tensor,
    output: NtkOutput,
) -> Result<StructuredGradients, NtkError> {
    structured_gradients_with(trace, x, output, Contraction::Cheapest)
}

pub(crate) fn structured_gradients_with(
    trace: &dyn Fn(&Tensor) -> Trace,
    x: &Tensor,
    output: NtkOutput,
    contraction: Contraction,
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
    let classes = logits.size()[1];
    let scalars: Vec<Tensor> = match output {
        NtkOutput::SumOfLogits => vec![logits.sum(logits.kind())],
        NtkOutput::Logit(_) => {
            let labels = labels.expect("labels checked above");
            check_label_range(&labels, classes)?;
            vec![logits.gather(1, &labels.view([-1, 1]), false).sum(logits.kind())]
        }
        NtkOutput::PerLogit => (0..classes).map(|k| logits.select(1, k).sum(logits.kind())).collect(),
    };
    let outputs: Vec<&Tensor> = layers.iter().map(TracedLayer::output).collect();
    // grads[r][l]: the gradient of scalar r with respect to layer l's output.
    let mut grads = Vec::with_capacity(scalars.len());
    for (r, scalar) in scalars.iter().enumerate() {
        let g = profile::time("backward", || Tensor::f_run_backward(&[scalar], &outputs, r + 1 < scalars.len(), false))?;
        // Undefined: the output does not reach the scalar, so its gradient is zero.
        let g: Vec<Tensor> =
            g.into_iter().zip(&outputs).map(|(g, y)| if g.defined() { g } else { y.zeros_like() }).collect();
        grads.push(g);
    }
    let rows_per_sample = scalars.len() as i64;
    drop(scalars);
    drop(outputs);
    let mut parameters = 0;
    let mut out = Vec::with_capacity(layers.len());
    for (l, layer) in layers.into_iter().enumerate() {
        parameters += layer.parameters().iter().map(|p| p.numel() as i64).sum::<i64>();
        // [n, R, ...] output gradients of this layer.
        let mut per_scalar: Vec<Tensor> =
            grads.iter_mut().map(|g| std::mem::replace(&mut g[l], Tensor::new())).collect();
        // One scalar: a view of the output gradient, not a copy.
        let grad = if per_scalar.len() == 1 {
            per_scalar.pop().expect("one scalar").unsqueeze(1)
        } else {
            Tensor::stack(&per_scalar, 1)
        };
        out.push(layer_gradients(layer, grad, contraction));
    }
    Ok(StructuredGradients { layers: out, samples: n, rows_per_sample, parameters })
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

fn layer_gradients(layer: TracedLayer, grad: Tensor, contraction: Contraction) -> LayerGradients {
    let (n, r) = (grad.size()[0], grad.size()[1]);
    let dense = match layer {
        TracedLayer::BatchNorm { normalised, .. } => {
            return profile::time("weight grads: batch norm", || {
                let g = grad.flatten(3, -1);
                let gamma = (&g * normalised.flatten(2, -1).unsqueeze(1)).sum_dim_intlist(-1, false, None);
                let beta = g.sum_dim_intlist(-1, false, None);
                LayerGradients::Explicit(Tensor::cat(&[gamma, beta], -1).reshape([n * r, -1]))
            });
        }
        TracedLayer::Conv2d { input, weight, stride, padding, output } => DenseFactors {
            grad: grad.flatten(3, -1),
            input,
            kernel: weight.size()[2],
            stride,
            padding,
            out_size: [output.size()[2], output.size()[3]],
        },
        // The bias is the weight of a constant input 1.
        TracedLayer::Linear { input, .. } => DenseFactors {
            grad: grad.unsqueeze(-1),
            input: Tensor::cat(&[&input, &input.ones_like().narrow(1, 0, 1)], 1).unsqueeze(-1),
            kernel: 1,
            stride: 1,
            padding: 0,
            out_size: [1, 1],
        },
    };
    let (c, d, s) = (dense.out_channels(), dense.patch_len(), dense.positions());
    let (explicit_cost, factored_cost) = costs(n, n, r, c, d, s);
    let keep_factors = match contraction {
        Contraction::Explicit => false,
        Contraction::Factored => true,
        Contraction::Cheapest => {
            factored_cost < explicit_cost || dense.grad.numel() + dense.input.numel() < (n * r * c * d) as usize
        }
    };
    if keep_factors { LayerGradients::Factored(dense) } else { LayerGradients::Explicit(dense.explicit()) }
}

/// Kernel blocks `K_ab = ⟨G_a, G_b⟩` (float64, `rows_a × rows_b`) for each
/// pair `(a, b)` of indices into `sets`, all from the same network. Each
/// layer's gradients are formed at most once per set, shared by every block
/// that uses the set; blocks with `a == b` are exactly symmetric.
pub fn structured_kernel_blocks(
    sets: &[&StructuredGradients],
    pairs: &[(usize, usize)],
) -> Result<Vec<Tensor>, NtkError> {
    kernel_blocks_with(sets, pairs, Contraction::Cheapest)
}

pub(crate) fn kernel_blocks_with(
    sets: &[&StructuredGradients],
    pairs: &[(usize, usize)],
    contraction: Contraction,
) -> Result<Vec<Tensor>, NtkError> {
    let first = sets.first().ok_or(NtkError::EmptyBatch("list of gradient sets"))?;
    for set in sets {
        if set.layers.len() != first.layers.len()
            || set.parameters != first.parameters
            || set.rows_per_sample != first.rows_per_sample
        {
            return Err(NtkError::BadShape {
                what: "structured gradients",
                shape: vec![set.layers.len() as i64, set.parameters, set.rows_per_sample],
                expected: format!(
                    "all sets must come from one network and output: expected [layers, parameters, rows per sample] = {:?}",
                    [first.layers.len() as i64, first.parameters, first.rows_per_sample]
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
    let device = match &first.layers[0] {
        LayerGradients::Explicit(g) => g.device(),
        LayerGradients::Factored(f) => f.grad.device(),
    };
    let mut blocks: Vec<Tensor> =
        pairs.iter().map(|&(a, b)| Tensor::zeros([sets[a].rows(), sets[b].rows()], (Kind::Double, device))).collect();
    for l in 0..first.layers.len() {
        // Explicit gradients of this layer, formed on first use per set.
        let mut explicit: Vec<Option<Tensor>> = (0..sets.len()).map(|_| None).collect();
        for (block, &(a, b)) in blocks.iter_mut().zip(pairs) {
            let contribution = match (&sets[a].layers[l], &sets[b].layers[l]) {
                (LayerGradients::Factored(fa), LayerGradients::Factored(fb))
                    if factored_is_chosen(fa, fb, contraction) =>
                {
                    profile::time("gram: factored", || factored_kernel(fa, fb))
                }
                _ => {
                    for i in [a, b] {
                        if explicit[i].is_none() {
                            explicit[i] = Some(match &sets[i].layers[l] {
                                LayerGradients::Explicit(g) => g.shallow_clone(),
                                LayerGradients::Factored(f) => f.explicit(),
                            });
                        }
                    }
                    let (ga, gb) = (explicit[a].as_ref().expect("formed"), explicit[b].as_ref().expect("formed"));
                    profile::count("gram: matmul", || (ga.size()[0] * gb.size()[0] * ga.size()[1]) as f64);
                    profile::time("gram: matmul", || ga.matmul(&gb.tr()))
                }
            };
            profile::time("gram: float64 sum", || *block += contribution.to_kind(Kind::Double));
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

fn factored_is_chosen(fa: &DenseFactors, fb: &DenseFactors, contraction: Contraction) -> bool {
    match contraction {
        Contraction::Explicit => false,
        Contraction::Factored => true,
        Contraction::Cheapest => {
            let (explicit, factored) = costs(
                fa.samples(),
                fb.samples(),
                fa.rows_per_sample(),
                fa.out_channels(),
                fa.patch_len(),
                fa.positions(),
            );
            factored < explicit
        }
    }
}

/// `⟨G_(i,r), G'_(j,t)⟩ = Σₛ,ᵤ (g[i,r,:,s]·g'[j,t,:,u]) (p[i,:,s]·p'[j,:,u])`,
/// `[n₁·R, n₂·R]`, without forming `G`.
fn factored_kernel(fa: &DenseFactors, fb: &DenseFactors) -> Tensor {
    let (n1, n2, r, s) = (fa.samples(), fb.samples(), fa.rows_per_sample(), fa.positions());
    let (pa, pb) = (fa.patches(), fb.patches());
    // Elements of the largest intermediate per row sample.
    let per_sample = r * n2 * r * s * s;
    let chunk = (FACTORED_CHUNK_ELEMENTS / per_sample).clamp(1, n1);
    let mut parts = Vec::new();
    let mut start = 0;
    while start < n1 {
        let len = chunk.min(n1 - start);
        let patch_products =
            Tensor::einsum("ids,jdu->ijsu", &[pa.narrow(0, start, len), pb.shallow_clone()], None::<&[i64]>);
        let grad_products = Tensor::einsum(
            "ircs,jtcu->irjtsu",
            &[fa.grad.narrow(0, start, len), fb.grad.shallow_clone()],
            None::<&[i64]>,
        );
        let k = (grad_products * patch_products.view([len, 1, n2, 1, s, s])).sum_dim_intlist(
            [4, 5].as_slice(),
            false,
            None,
        );
        parts.push(k.reshape([len * r, n2 * r]));
        start += len;
    }
    Tensor::cat(&parts, 0)
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

    /// Both contraction orders, whatever the cost model picks, give the same
    /// kernel: the factored order is otherwise only taken by the classifier,
    /// and the explicit one forms conv gradients by im2col or grouped conv.
    #[test]
    fn explicit_and_factored_contractions_agree_on_every_layer() {
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
        // 16×16 images: the first stage's 3×3 convs take the grouped-convolution route.
        let pixels = |rng: &mut Rng, n: i64| {
            Tensor::from_slice(&rng.uniform_vec((n * 3 * 16 * 16) as usize, 0.0, 1.0)).view([n, 3, 16, 16])
        };
        net.calibrate_batch_norm(&pixels(&mut rng, 8));
        let net = net.to_kind(Kind::Double);
        let trace = |x: &Tensor| net.forward_traced(x);
        let (x1, x2) = (pixels(&mut rng, 3).to_kind(Kind::Double), pixels(&mut rng, 2).to_kind(Kind::Double));
        for output in [NtkOutput::SumOfLogits, NtkOutput::PerLogit] {
            let kernels: Vec<Vec<Tensor>> = [Contraction::Cheapest, Contraction::Explicit, Contraction::Factored]
                .into_iter()
                .map(|c| {
                    let g1 = structured_gradients_with(&trace, &x1, output, c).unwrap();
                    let g2 = structured_gradients_with(&trace, &x2, output, c).unwrap();
                    assert_eq!(g1.parameters(), net.parameter_count());
                    kernel_blocks_with(&[&g1, &g2], &[(0, 0), (0, 1), (1, 1)], c).unwrap()
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
