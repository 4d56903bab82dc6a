//! BatchNorm2d with PyTorch's semantics and state: affine weight and bias
//! (trainable), running mean and variance (not trainable; updated in train
//! mode by libtorch's own kernel with momentum 0.1, or 1 to calibrate, and the unbiased batch
//! variance), and `num_batches_tracked`.

use tch::nn::Path;
use tch::{Kind, Tensor};

use crate::state::State;
use crate::trace::{Tape, TracedLayer};

const MOMENTUM: f64 = 0.1;
const EPS: f64 = 1e-5;

/// What a forward pass does with batch norm.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum BnMode {
    /// PyTorch's eval mode: normalise with the running statistics.
    Eval,
    /// PyTorch's train mode: normalise with the batch statistics and fold
    /// them into the running ones with momentum 0.1.
    Train,
    /// Train mode with momentum 1: the running statistics become this
    /// batch's own (mean and unbiased variance).
    Calibrate,
}

pub struct BatchNorm {
    weight: Tensor,
    bias: Tensor,
    running_mean: Tensor,
    running_var: Tensor,
    /// Outside the var store: an int64 counter that no optimizer may touch.
    num_batches_tracked: Tensor,
}

impl BatchNorm {
    pub fn new(path: &Path, channels: i64) -> BatchNorm {
        BatchNorm {
            weight: path.ones("weight", &[channels]),
            bias: path.zeros("bias", &[channels]),
            running_mean: path.zeros_no_train("running_mean", &[channels]),
            running_var: path.ones_no_train("running_var", &[channels]),
            num_batches_tracked: Tensor::zeros([], (Kind::Int64, path.device())),
        }
    }

    pub(crate) fn forward_t(&self, x: &Tensor, mode: BnMode, tape: &mut Tape) -> Tensor {
        let train = mode != BnMode::Eval;
        if train {
            tch::no_grad(|| {
                let _ = self.num_batches_tracked.shallow_clone().g_add_scalar_(1);
            });
        }
        let momentum = if mode == BnMode::Calibrate { 1.0 } else { MOMENTUM };
        let output = Tensor::batch_norm(
            x,
            Some(&self.weight),
            Some(&self.bias),
            Some(&self.running_mean),
            Some(&self.running_var),
            train,
            momentum,
            EPS,
            false,
        );
        if let Some(layers) = tape {
            assert_eq!(mode, BnMode::Eval, "only eval-mode forwards are traced");
            let per_channel = |t: &Tensor| t.view([1, -1, 1, 1]);
            let normalised =
                tch::no_grad(|| (x - per_channel(&self.running_mean)) / per_channel(&(&self.running_var + EPS)).sqrt());
            layers.push(TracedLayer::BatchNorm {
                normalised,
                output: output.shallow_clone(),
                weight: self.weight.shallow_clone(),
                bias: self.bias.shallow_clone(),
            });
        }
        output
    }

    /// Appends `{prefix}.weight`, `.bias`, `.running_mean`, `.running_var`,
    /// `.num_batches_tracked`, in `state_dict()` order.
    pub fn push_state(&self, prefix: &str, out: &mut State) {
        for (suffix, t) in [
            ("weight", &self.weight),
            ("bias", &self.bias),
            ("running_mean", &self.running_mean),
            ("running_var", &self.running_var),
            ("num_batches_tracked", &self.num_batches_tracked),
        ] {
            out.push((format!("{prefix}.{suffix}"), t.shallow_clone()));
        }
    }
}
