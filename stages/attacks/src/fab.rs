//! Targeted FAB (Croce & Hein, ICML 2020), L∞, as AutoAttack's FAB-T.
//!
//! FAB looks for a minimal-norm adversarial point: it linearises the
//! decision boundary between the label and the target class at the current
//! iterate, projects both the iterate and the original point onto that
//! hyperplane (inside the [0, 1] box), steps to a convex combination of the
//! two projections (weight α ≤ α_max on the original point's, overshoot η),
//! and after every success moves back towards the original point (factor β).
//! Points found farther than ε from `x` are discarded.

use robbench_rng::Rng;
use tch::{Kind, Tensor};

use crate::error::{AttackError, at_least_one, positive_or_zero};
use crate::{Classifier, attack_robust, correct, linf_norm, per_sample, scaled_noise_start, validate};

/// FAB-T settings; `Default` is AutoAttack's standard FAB-T at ε = 8/255.
#[derive(Clone, Debug, PartialEq)]
pub struct FabConfig {
    /// L∞ radius: found points farther away are dropped; also sets the
    /// random-start radius (ε/2) of restarts after the first.
    pub eps: f64,
    pub steps: usize,
    /// Restarts per target class; the first starts at `x`, later ones at random.
    pub restarts: usize,
    /// Targets: the 2nd, 3rd, … highest-scoring classes at the clean point.
    pub target_classes: usize,
    pub alpha_max: f64,
    /// Overshoot of the step past the hyperplane.
    pub eta: f64,
    /// Backward step towards `x` after a success.
    pub beta: f64,
}

impl Default for FabConfig {
    fn default() -> Self {
        FabConfig { eps: 8.0 / 255.0, steps: 100, restarts: 1, target_classes: 9, alpha_max: 0.1, eta: 1.05, beta: 0.9 }
    }
}

/// FAB-T: one FAB run per target class on the points still correctly
/// classified; returns found adversarial points within ε, else `x`.
pub fn fab_targeted(
    model: &Classifier<'_>,
    x: &Tensor,
    y: &Tensor,
    cfg: &FabConfig,
    rng: &mut Rng,
) -> Result<Tensor, AttackError> {
    at_least_one("steps", cfg.steps)?;
    for (name, value) in [("alpha_max", cfg.alpha_max), ("eta", cfg.eta), ("beta", cfg.beta)] {
        positive_or_zero(name, value)?;
    }
    let Some(classes) = validate(model, x, y, cfg.eps)? else { return Ok(x.copy()) };
    if classes < 2 {
        return Err(AttackError::TooFewClasses { attack: "FAB-T", needed: 2, classes });
    }
    let mut robust = correct(model, x, y);
    let mut adv = x.copy();
    for rank in 1..=cfg.target_classes.min(classes as usize - 1) as i64 {
        for restart in 0..cfg.restarts {
            attack_robust(x, y, &mut robust, &mut adv, |xs, ys| {
                let target = tch::no_grad(|| model(xs).argsort(1, true).select(1, rank));
                let start = if restart == 0 { xs.copy() } else { scaled_noise_start(rng, xs, cfg.eps / 2.0) };
                let found = single_run(model, xs, ys, &target, start, cfg);
                let fooled = tch::no_grad(|| {
                    correct(model, &found, ys).logical_not().logical_and(&linf_norm(&(&found - xs)).le(cfg.eps))
                });
                (found, fooled)
            });
        }
    }
    Ok(adv)
}

/// The logit difference z_t − z_y at `x1` and its input gradient.
fn difference_and_grad(model: &Classifier<'_>, x1: &Tensor, y: &Tensor, target: &Tensor) -> (Tensor, Tensor) {
    tch::with_grad(|| {
        let xa = x1.detach().set_requires_grad(true);
        let z = model(&xa);
        let diff = z.gather(1, &target.view([-1, 1]), false) - z.gather(1, &y.view([-1, 1]), false);
        let diff = diff.view([-1]);
        let g = crate::gradient(&diff.sum(Kind::Float), &xa);
        (diff.detach(), g)
    })
}

/// One FAB run from `start`; returns per sample the smallest-norm
/// adversarial iterate found, else the original point.
fn single_run(
    model: &Classifier<'_>,
    x0: &Tensor,
    y: &Tensor,
    target: &Tensor,
    start: Tensor,
    cfg: &FabConfig,
) -> Tensor {
    let n = x0.size()[0];
    let flat0 = x0.view([n, -1]);
    let mut x1 = start;
    let mut best = x0.copy();
    let mut best_norm = Tensor::full([n], 1e10, (Kind::Float, x0.device()));
    for _ in 0..cfg.steps {
        let (df, dg) = difference_and_grad(model, &x1, y, target);
        tch::no_grad(|| {
            // Linearised boundary {z : w·z = b} with w = ∇(z_t − z_y), through the first-order zero.
            let w = dg.view([n, -1]);
            let b = -&df + (&w * x1.view([n, -1])).sum_dim_intlist([1].as_slice(), false, Kind::Float);
            let d = project_linf_hyperplane(
                &Tensor::cat(&[x1.view([n, -1]), flat0.shallow_clone()], 0),
                &Tensor::cat(&[&w, &w], 0),
                &Tensor::cat(&[&b, &b], 0),
            );
            let norms = d.abs().amax([1].as_slice(), true).clamp_min(1e-8);
            let (d1, d2) = (d.narrow(0, 0, n).view_as(x0), d.narrow(0, n, n).view_as(x0));
            let (a1, a2) = (norms.narrow(0, 0, n).view([n, 1, 1, 1]), norms.narrow(0, n, n).view([n, 1, 1, 1]));
            let alpha = (&a1 / (&a1 + &a2)).clamp(0.0, cfg.alpha_max);
            x1 = ((&x1 + &d1 * cfg.eta) * (-&alpha + 1.0) + (x0 + &d2 * cfg.eta) * &alpha).clamp(0.0, 1.0);
            let is_adv = correct(model, &x1, y).logical_not();
            let norm = linf_norm(&(&x1 - x0));
            let better = is_adv.logical_and(&norm.lt_tensor(&best_norm));
            best = x1.where_self(&per_sample(&better), &best);
            best_norm = norm.where_self(&better, &best_norm);
            x1 = (x0 + (&x1 - x0) * cfg.beta).where_self(&per_sample(&is_adv), &x1);
        });
    }
    best
}

/// Minimal-L∞ displacement `d` (rows) with w·(t + d) = b and t + d in [0, 1].
/// Where the box cannot reach the hyperplane, `d` moves to the box corner
/// that gets closest. With budget λ, the best each coordinate can do is
/// min(λ, room_i) towards the side that moves w·z towards b, so w·d is
/// piecewise linear in λ with breakpoints at the sorted rooms; we find the
/// piece where it meets b.
pub(crate) fn project_linf_hyperplane(t: &Tensor, w: &Tensor, b: &Tensor) -> Tensor {
    // Orient each row so that w·t ≥ b: the displacement must decrease w·z by c ≥ 0.
    let above = (w * t).sum_dim_intlist([1].as_slice(), false, Kind::Float).ge_tensor(b);
    let sign = above.to_kind(Kind::Float) * 2.0 - 1.0;
    let w = w * sign.view([-1, 1]);
    let c = (&w * t).sum_dim_intlist([1].as_slice(), false, Kind::Float) - b * &sign;
    // Decreasing w·z: coordinates with w < 0 move up (room 1 − t), others down (room t).
    let up = w.lt(0.0);
    let room = (-t + 1.0).where_self(&up, t);
    let direction = up.to_kind(Kind::Float) * 2.0 - 1.0;
    let direction = direction * w.ne(0.0).to_kind(Kind::Float);
    let aw = w.abs();
    // Decrease achieved with budget λ: G(λ) = Σ |w_i| min(λ, room_i).
    let (rooms, order) = room.sort(1, false);
    let aws = aw.gather(1, &order, false);
    let width = rooms.size()[1];
    let before = |s: &Tensor| Tensor::cat(&[s.zeros_like().narrow(1, 0, 1), s.narrow(1, 0, width - 1)], 1);
    let used = before(&(&aws * &rooms).cumsum(1, Kind::Float)); // Σ_{j<k} |w_j| room_j
    let weight = aws.sum_dim_intlist([1].as_slice(), true, Kind::Float) - before(&aws.cumsum(1, Kind::Float)); // Σ_{j≥k} |w_j|
    let decrease = &used + &rooms * &weight; // G at λ = room_k, increasing in k
    // First breakpoint reaching c; none means the hyperplane is out of the box's reach.
    let k = decrease.lt_tensor(&c.view([-1, 1])).sum_dim_intlist([1].as_slice(), true, Kind::Int64);
    let reachable = k.lt(width);
    let k = k.clamp_max(width - 1);
    let lambda =
        ((c.view([-1, 1]) - used.gather(1, &k, false)) / weight.gather(1, &k, false).clamp_min(1e-30)).clamp_min(0.0);
    let lambda = lambda.where_self(&reachable, &Tensor::full([1, 1], f64::INFINITY, (Kind::Float, t.device())));
    direction * room.minimum(&lambda)
}
