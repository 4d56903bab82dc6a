//! The parametrised layers of one eval-mode forward pass, recorded for
//! per-sample gradients without one backward pass per sample: each layer's
//! input (as the weight gradient needs it) and its output (still in the
//! autograd graph, so that one backward of a batch sum gives every sample's
//! output gradient at once, the samples being independent in eval mode).

use tch::Tensor;

/// One parametrised layer of a forward pass. `input` / `normalised` are
/// detached; `output` is attached to the graph. The parameters are shallow
/// clones of the network's own (same autograd leaves).
pub enum TracedLayer {
    /// `output = conv2d(input, weight)`, no bias, dilation 1, one group.
    Conv2d { input: Tensor, output: Tensor, weight: Tensor, stride: i64, padding: i64 },
    /// Eval-mode batch norm `output = weight·normalised + bias` (per channel),
    /// `normalised = (z − running_mean) / √(running_var + ε)` of its input `z`.
    BatchNorm { normalised: Tensor, output: Tensor, weight: Tensor, bias: Tensor },
    /// `output = input·weightᵀ + bias`.
    Linear { input: Tensor, output: Tensor, weight: Tensor, bias: Tensor },
}

impl TracedLayer {
    /// The tensor whose gradient gives this layer's parameter gradients.
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

/// `conv2d` without bias, recorded on `tape` when it records.
pub(crate) fn conv2d(input: &Tensor, weight: &Tensor, stride: i64, padding: i64, tape: &mut Tape) -> Tensor {
    let output = input.conv2d(weight, None::<Tensor>, [stride], [padding], [1], 1);
    if let Some(layers) = tape {
        layers.push(TracedLayer::Conv2d {
            input: input.detach(),
            output: output.shallow_clone(),
            weight: weight.shallow_clone(),
            stride,
            padding,
        });
    }
    output
}
