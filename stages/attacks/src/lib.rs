//! L∞ adversarial attacks on tch classifiers.
//!
//! A classifier is any `Fn(&Tensor) -> Tensor` from pixels in [0, 1]
//! (N, C, H, W, float32) to logits; the caller puts the network in eval
//! mode. Every attack returns points inside the ε-ball around the input and
//! inside [0, 1]. Randomness comes from a [`robbench_rng::Rng`], never from
//! libtorch's global generator.

mod fgsm;
mod pgd;

pub use fgsm::fgsm;
pub use pgd::{pgd, PgdConfig};

use tch::Tensor;

/// A classifier: pixels in [0, 1] → logits.
pub type Classifier<'a> = dyn Fn(&Tensor) -> Tensor + 'a;

/// Gradient of the mean cross-entropy loss with respect to the input.
pub(crate) fn input_gradient(model: &Classifier<'_>, x: &Tensor, y: &Tensor) -> Tensor {
    let x = x.detach().set_requires_grad(true);
    let loss = model(&x).cross_entropy_for_logits(y);
    Tensor::run_backward(&[loss], &[&x], false, false).pop().expect("one input, one gradient")
}

/// Projects `adv` onto the ε-ball around `x` intersected with [0, 1].
pub(crate) fn project(adv: &Tensor, x: &Tensor, eps: f64) -> Tensor {
    let delta = (adv - x).clamp(-eps, eps);
    (x + delta).clamp(0.0, 1.0)
}

/// Per-sample correctness of `model` on `x`.
pub fn correct(model: &Classifier<'_>, x: &Tensor, y: &Tensor) -> Tensor {
    tch::no_grad(|| model(x).argmax(1, false).eq_tensor(y))
}
