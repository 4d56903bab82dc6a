//! Square Attack (Andriushchenko et al., ECCV 2020), L∞, as in AutoAttack.
//!
//! A score-based black-box random search on the margin loss z_y − max_{i≠y} z_i:
//! start at x plus ±ε vertical stripes (one sign per column and channel);
//! each query sets one random s×s window to a random ±ε per channel
//! (relative to x, via a ±2ε shift then projection) and keeps the change for
//! every sample whose margin dropped or turned negative. As in AutoAttack's
//! code, the window and its signs are shared by the batch in one query.
//! The window side follows p, the fraction of pixels changed, which shrinks
//! by the schedule [`p_schedule`].

use robbench_rng::Rng;
use tch::{Kind, Tensor};

use crate::error::{AttackError, at_least_one, positive_or_zero};
use crate::{Classifier, attack_robust, correct, loss, per_sample, project, random_signs, true_indices, validate};

/// Square Attack settings; `Default` is AutoAttack's standard setting at ε = 8/255.
#[derive(Clone, Debug, PartialEq)]
pub struct SquareConfig {
    pub eps: f64,
    /// Queries per restart (besides the one at the start).
    pub queries: usize,
    /// Initial fraction of pixels changed per query.
    pub p_init: f64,
    pub restarts: usize,
    /// Stretch the 10,000-query schedule of p over `queries`; AutoAttack
    /// keeps it unstretched (false).
    pub rescale_schedule: bool,
}

impl Default for SquareConfig {
    fn default() -> Self {
        SquareConfig { eps: 8.0 / 255.0, queries: 5000, p_init: 0.8, restarts: 1, rescale_schedule: false }
    }
}

/// p at query `iter` (0-based): p_init halved at queries 10, 50, 200, 500,
/// 1000, 2000, 4000, 6000 and 8000 of a 10,000-query budget (with
/// `rescale`, `iter` is first mapped onto that budget).
pub fn p_schedule(iter: usize, queries: usize, p_init: f64, rescale: bool) -> f64 {
    let it = if rescale { (iter as f64 / queries as f64 * 10_000.0) as usize } else { iter };
    let halvings = [10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000].iter().filter(|&&t| it > t).count();
    p_init / (1u32 << halvings) as f64
}

/// Square Attack: returns per sample a misclassified point it found, else `x`.
pub fn square(
    model: &Classifier<'_>,
    x: &Tensor,
    y: &Tensor,
    cfg: &SquareConfig,
    rng: &mut Rng,
) -> Result<Tensor, AttackError> {
    at_least_one("queries", cfg.queries)?;
    positive_or_zero("p_init", cfg.p_init)?;
    let Some(classes) = validate(model, x, y, cfg.eps)? else { return Ok(x.copy()) };
    if classes < 2 {
        return Err(AttackError::TooFewClasses { attack: "Square", needed: 2, classes });
    }
    let mut robust = correct(model, x, y);
    let mut adv = x.copy();
    for _ in 0..cfg.restarts {
        attack_robust(x, y, &mut robust, &mut adv, |xs, ys| {
            let found = tch::no_grad(|| single_run(model, xs, ys, cfg, rng));
            let fooled = correct(model, &found, ys).logical_not();
            (found, fooled)
        });
    }
    Ok(adv)
}

fn single_run(model: &Classifier<'_>, x: &Tensor, y: &Tensor, cfg: &SquareConfig, rng: &mut Rng) -> Tensor {
    let (c, h, w) = (x.size()[1], x.size()[2], x.size()[3]);
    let stripes = random_signs(rng, &[x.size()[0], c, 1, w], x);
    let mut x_best = (x + stripes * cfg.eps).clamp(0.0, 1.0);
    let mut margin_min = loss::margin(&model(&x_best), y);
    // The margin is the loss too, so "improved" and "margin_min" move together.
    for i in 0..cfg.queries {
        let active = true_indices(&margin_min.gt(0.0));
        if active.numel() == 0 {
            break;
        }
        let p = p_schedule(i, cfg.queries, cfg.p_init, cfg.rescale_schedule);
        // As in the reference: at most one pixel short of the image, so the
        // window always has room to move.
        let side = ((p * (h * w) as f64).sqrt().round_ties_even() as i64).min(h.min(w) - 1).max(1);
        let top = if h > side { rng.below((h - side) as u64) as i64 } else { 0 };
        let left = if w > side { rng.below((w - side) as u64) as i64 } else { 0 };
        let signs = random_signs(rng, &[1, c, 1, 1], x);
        let window = Tensor::zeros([1, c, h, w], (Kind::Float, x.device()));
        window
            .narrow(2, top, side)
            .narrow(3, left, side)
            .copy_(&(signs * (2.0 * cfg.eps)).expand([1, c, side, side], false));

        let (xs, best_s, margin_s) =
            (x.index_select(0, &active), x_best.index_select(0, &active), margin_min.index_select(0, &active));
        let candidate = project(&(&best_s + window), &xs, cfg.eps);
        let margin = loss::margin(&model(&candidate), &y.index_select(0, &active));
        let improved = margin.lt_tensor(&margin_s).logical_or(&margin.le(0.0));
        margin_min = margin_min.index_copy(0, &active, &margin.where_self(&improved, &margin_s));
        x_best = x_best.index_copy(0, &active, &candidate.where_self(&per_sample(&improved), &best_s));
    }
    x_best
}
