//! Per-sample attack losses on logits `z` (N, K) and labels `y` (N, int64).
//! Each returns an (N) tensor and is differentiable in `z`.

use tch::{Kind, Tensor};

/// Cross-entropy per sample, −log softmax(z)_y.
pub fn cross_entropy(z: &Tensor, y: &Tensor) -> Tensor {
    -z.log_softmax(1, Kind::Float).gather(1, &y.view([-1, 1]), false).view([-1])
}

/// Largest logit among the classes other than `y`.
fn max_other(z: &Tensor, y: &Tensor) -> Tensor {
    let is_label = y.one_hot(z.size()[1]).to_kind(Kind::Bool);
    z.masked_fill(&is_label, f64::NEG_INFINITY).amax([1].as_slice(), false)
}

fn label_logit(z: &Tensor, y: &Tensor) -> Tensor {
    z.gather(1, &y.view([-1, 1]), false).view([-1])
}

/// Margin z_y − max_{i≠y} z_i: negative exactly when the sample is misclassified.
pub fn margin(z: &Tensor, y: &Tensor) -> Tensor {
    label_logit(z, y) - max_other(z, y)
}

/// Untargeted DLR loss (Croce & Hein, 2020):
/// −(z_y − max_{i≠y} z_i) / (z_π1 − z_π3 + 1e-12), π the descending order.
/// Needs at least 3 classes.
pub fn dlr(z: &Tensor, y: &Tensor) -> Tensor {
    let sorted = z.sort(1, true).0;
    let scale = sorted.select(1, 0) - sorted.select(1, 2) + 1e-12;
    -margin(z, y) / scale
}

/// Targeted DLR loss towards class `t`:
/// −(z_y − z_t) / (z_π1 − (z_π3 + z_π4)/2 + 1e-12). Needs at least 4 classes.
pub fn dlr_targeted(z: &Tensor, y: &Tensor, t: &Tensor) -> Tensor {
    let sorted = z.sort(1, true).0;
    let scale = sorted.select(1, 0) - (sorted.select(1, 2) + sorted.select(1, 3)) * 0.5 + 1e-12;
    -(label_logit(z, y) - label_logit(z, t)) / scale
}
