//! The parametrised layers of one eval-mode forward pass, recorded for
//! per-sample gradients without one backward pass per sample: each layer's
//! input (as the weight gradient needs it) and its output (still in the
//! autograd graph, so that one backward of a batch sum gives every sample's
//! output gradient at once, the samples being independent in eval mode).

use tch::Tensor;

/// From this many output positions on, a k×k convolution (k > 1) is traced
/// through one copy of its weight per sample ([`TracedLayer::Conv2d`]'s
/// `per_sample_weight`), so that the one backward of a batch sum yields every
/// sample's weight gradient: on CPU that beats forming them afterwards from
/// the output gradients (a grouped convolution's extra forward and weight
/// gradient) by ~1.6× at 16×16 and 32×32 outputs (10 samples, 16–32
/// channels). From 64 positions on, one NTK unit (arch 2581, C=16, N=5)
/// took 2.9–3.0 s against 2.6 s from 256 on, which leaves 8×8 outputs to
/// the structured path's shifted-window products.
pub const PER_SAMPLE_WEIGHT_MIN_POSITIONS: i64 = 256;

/// One parametrised layer of a forward pass. `input` / `normalised` are
/// detached; `output` is attached to the graph. The parameters are shallow
/// clones of the network's own (same autograd leaves).
pub enum TracedLayer {
    /// `output = conv2d(input, weight)`, no bias, dilation 1, one group.
    /// With `per_sample_weight` (a leaf `[n·C_out, C_in, k, k]`: `weight`
    /// copied once per sample), the output was computed as the grouped
    /// convolution (groups = n) of the samples with their own copies, so the
    /// gradient of that leaf is the per-sample weight gradient.
    Conv2d {
        input: Tensor,
        output: Tensor,
        weight: Tensor,
        per_sample_weight: Option<Tensor>,
        stride: i64,
        padding: i64,
    },
    /// Eval-mode batch norm `output = weight·normalised + bias` (per channel),
    /// `normalised = (z − running_mean) / √(running_var + ε)` of its input `z`.
    BatchNorm { normalised: Tensor, output: Tensor, weight: Tensor, bias: Tensor },
    /// `output = input·weightᵀ + bias`.
    Linear { input: Tensor, output: Tensor, weight: Tensor, bias: Tensor },
}

impl TracedLayer {
    /// The per-sample weight copies the layer was computed through, if any:
    /// their gradient is every sample's weight gradient.
    pub fn per_sample_weight(&self) -> Option<&Tensor> {
        match self {
            TracedLayer::Conv2d { per_sample_weight, .. } => per_sample_weight.as_ref(),
            _ => None,
        }
    }

    /// The layer's output, attached to the graph: its gradient gives the
    /// layer's parameter gradients.
    pub fn output(&self) -> &Tensor {
        match self {
            TracedLayer::Conv2d { output, .. }
            | TracedLayer::BatchNorm { output, .. }
            | TracedLayer::Linear { output, .. } => output,
        }
    }

    /// The layer's trainable parameters.
    pub fn parameters(&self) -> Vec<&Tensor> {
        match self {
            TracedLayer::Conv2d { weight, .. } => vec![weight],
            TracedLayer::BatchNorm { weight, bias, .. } | TracedLayer::Linear { weight, bias, .. } => {
                vec![weight, bias]
            }
        }
    }
}

/// The logits of an eval-mode forward and its parametrised layers in forward order.
pub struct Trace {
    pub logits: Tensor,
    pub layers: Vec<TracedLayer>,
}

/// Where forward passes record layers: `None` in ordinary forwards.
pub(crate) type Tape = Option<Vec<TracedLayer>>;

/// `conv2d` without bias, recorded on `tape` when it records (through
/// per-sample weight copies from [`PER_SAMPLE_WEIGHT_MIN_POSITIONS`] on).
pub(crate) fn conv2d(input: &Tensor, weight: &Tensor, stride: i64, padding: i64, tape: &mut Tape) -> Tensor {
    let plain = || input.conv2d(weight, None::<Tensor>, [stride], [padding], [1], 1);
    let Some(layers) = tape else { return plain() };
    let [n, c_in, h, w] = input.size()[..] else { panic!("conv2d inputs are 4-d, got {:?}", input.size()) };
    let [c_out, _, k, _] = weight.size()[..] else { panic!("conv2d weights are 4-d, got {:?}", weight.size()) };
    let out_size = |size: i64| (size + 2 * padding - k) / stride + 1;
    let (ho, wo) = (out_size(h), out_size(w));
    let (output, per_sample_weight) = if k > 1 && ho * wo >= PER_SAMPLE_WEIGHT_MIN_POSITIONS {
        let copies = weight.detach().repeat([n, 1, 1, 1]).set_requires_grad(true);
        let output = input
            .reshape([1, n * c_in, h, w])
            .conv2d(&copies, None::<Tensor>, [stride], [padding], [1], n)
            .reshape([n, c_out, ho, wo]);
        (output, Some(copies))
    } else {
        (plain(), None)
    };
    layers.push(TracedLayer::Conv2d {
        input: input.detach(),
        output: output.shallow_clone(),
        weight: weight.shallow_clone(),
        per_sample_weight,
        stride,
        padding,
    });
    output
}
