//! L∞ adversarial attacks on tch classifiers.
//!
//! A classifier is any `Fn(&Tensor) -> Tensor` from pixels in [0, 1]
//! (N, C, H, W, float32) to logits; the caller puts the network in eval
//! mode. Every attack returns points inside the ε-ball around the input and
//! inside [0, 1], on the input's device. Randomness comes from a
//! [`robbench_rng::Rng`], never from libtorch's global generator.
//!
//! - [`fgsm`], [`pgd`]: the attacks used for adversarial training and the
//!   FGSM/PGD evaluations.
//! - [`apgd`], [`apgd_targeted`], [`fab_targeted`], [`square`] and
//!   [`autoattack`]: AutoAttack (Croce & Hein, ICML 2020), standard and
//!   "rand" versions.

mod apgd;
mod autoattack;
mod error;
mod fab;
mod fgsm;
pub mod loss;
mod pgd;
mod square;

pub use apgd::{ApgdConfig, ApgdLoss, ApgdTargetedConfig, apgd, apgd_targeted, checkpoints};
pub use autoattack::{AutoAttackConfig, AutoAttackReport, Stage, Version, autoattack};
pub use error::AttackError;
pub use fab::{FabConfig, fab_targeted};
pub use fgsm::fgsm;
pub use pgd::{PgdConfig, pgd};
pub use square::{SquareConfig, p_schedule, square};

use robbench_rng::Rng;
use tch::{Kind, Tensor};

/// A classifier: pixels in [0, 1] → logits.
pub type Classifier<'a> = dyn Fn(&Tensor) -> Tensor + 'a;

/// Validates an image batch, its labels and ε; returns the classifier's
/// number of classes, or `None` for an empty batch.
pub(crate) fn validate(model: &Classifier<'_>, x: &Tensor, y: &Tensor, eps: f64) -> Result<Option<i64>, AttackError> {
    error::check_batch(x, y)?;
    error::check_eps(eps)?;
    if x.size()[0] == 0 {
        return Ok(None);
    }
    let classes = tch::no_grad(|| model(&x.narrow(0, 0, 1))).size()[1];
    error::check_labels(y, classes)?;
    Ok(Some(classes))
}

/// Gradient of the mean cross-entropy loss with respect to the input.
pub(crate) fn input_gradient(model: &Classifier<'_>, x: &Tensor, y: &Tensor) -> Tensor {
    tch::with_grad(|| {
        let x = x.detach().set_requires_grad(true);
        let loss = model(&x).cross_entropy_for_logits(y);
        gradient(&loss, &x)
    })
}

/// d`scalar`/d`x`, contiguous (NCHW strides): a channels-last network hands
/// back input gradients with NHWC strides, which the attacks' flat views
/// (and the points they return) must not inherit.
pub(crate) fn gradient(scalar: &Tensor, x: &Tensor) -> Tensor {
    Tensor::run_backward(&[scalar], &[x], false, false).pop().expect("one input, one gradient").contiguous()
}

/// Projects `adv` onto the ε-ball around `x` intersected with [0, 1].
pub(crate) fn project(adv: &Tensor, x: &Tensor, eps: f64) -> Tensor {
    let delta = (adv - x).clamp(-eps, eps);
    (x + delta).clamp(0.0, 1.0)
}

/// Per-sample correctness of `model` on `x` (a bool tensor on `x`'s device).
pub fn correct(model: &Classifier<'_>, x: &Tensor, y: &Tensor) -> Tensor {
    tch::no_grad(|| model(x).argmax(1, false).eq_tensor(y))
}

/// A tensor shaped like `shape` with entries uniform in [lo, hi), drawn from `rng`.
pub(crate) fn uniform(rng: &mut Rng, shape: &[i64], lo: f32, hi: f32, like: &Tensor) -> Tensor {
    let n = shape.iter().product::<i64>() as usize;
    Tensor::from_slice(&rng.uniform_vec(n, lo, hi)).view(shape).to_device(like.device())
}

/// A tensor shaped like `shape` with entries ±1, drawn from `rng`.
pub(crate) fn random_signs(rng: &mut Rng, shape: &[i64], like: &Tensor) -> Tensor {
    let n = shape.iter().product::<i64>() as usize;
    let signs: Vec<f32> = (0..n).map(|_| if rng.next_u64() >> 63 == 1 { 1.0 } else { -1.0 }).collect();
    Tensor::from_slice(&signs).view(shape).to_device(like.device())
}

/// Per-sample L∞ norm of an (N, ...) tensor.
pub(crate) fn linf_norm(t: &Tensor) -> Tensor {
    t.flatten(1, -1).abs().amax([1].as_slice(), false)
}

/// A point uniformly "on the sphere" of the ε-ball used by AutoAttack's
/// starts: uniform noise rescaled so its largest coordinate has size `radius`.
pub(crate) fn scaled_noise_start(rng: &mut Rng, x: &Tensor, radius: f64) -> Tensor {
    let t = uniform(rng, &x.size(), -1.0, 1.0, x);
    let norm = linf_norm(&t).view([-1, 1, 1, 1]);
    (x + t / (norm + 1e-12) * radius).clamp(0.0, 1.0)
}

/// Broadcasts a per-sample bool mask (N) against an image batch (N, C, H, W).
pub(crate) fn per_sample(mask: &Tensor) -> Tensor {
    mask.view([-1, 1, 1, 1])
}

/// Indices (int64, on `mask`'s device) where a bool mask is true.
pub(crate) fn true_indices(mask: &Tensor) -> Tensor {
    mask.nonzero().view([-1]).to_kind(Kind::Int64)
}

/// One pass of an attack over the samples that `robust` (bool, N) still
/// marks correctly classified: `run(x_sub, y_sub)` returns candidate points
/// and a mask of the samples it fooled; those take their candidate in `adv`
/// and lose their `robust` flag. Does nothing once no sample is robust.
pub(crate) fn attack_robust(
    x: &Tensor,
    y: &Tensor,
    robust: &mut Tensor,
    adv: &mut Tensor,
    run: impl FnOnce(&Tensor, &Tensor) -> (Tensor, Tensor),
) {
    let idx = true_indices(robust);
    if idx.numel() == 0 {
        return;
    }
    let (candidates, fooled) = run(&x.index_select(0, &idx), &y.index_select(0, &idx));
    tch::no_grad(|| {
        let hit = true_indices(&fooled);
        let target = idx.index_select(0, &hit);
        *adv = adv.index_copy(0, &target, &candidates.index_select(0, &hit));
        *robust = robust.index_fill(0, &target, 0);
    });
}
