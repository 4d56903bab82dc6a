//! Auto-PGD (Croce & Hein, ICML 2020), L∞, as in AutoAttack.
//!
//! Step size starts at 2ε per sample; each step moves along the gradient
//! sign with momentum α = 0.75 (none at the first step). At the checkpoints
//! of [`checkpoints`] a sample's step size halves — and it restarts from its
//! best point so far — when (1) at most ρ of the steps since the last
//! checkpoint increased its loss, or (2) its step was not halved at the last
//! checkpoint and its best loss has not increased since. The loss is summed
//! over the batch for the gradient; only per-sample values matter.
//!
//! Detail of the reference code (fra31/auto-attack) kept here: condition 1
//! counts `≤ ρ·k`. Where that code compares the first step of the first
//! window with an unset (zero) loss, this one uses the starting point's loss,
//! as the paper defines it.

use robbench_rng::Rng;
use tch::{Kind, Tensor};

use crate::error::{AttackError, at_least_one, positive_or_zero};
use crate::{Classifier, attack_robust, correct, loss, per_sample, project, scaled_noise_start, validate};

/// The loss untargeted APGD maximises.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApgdLoss {
    /// Cross-entropy (APGD-CE).
    CrossEntropy,
    /// Untargeted difference-of-logits-ratio (APGD-DLR; needs ≥ 3 classes).
    Dlr,
}

/// Untargeted APGD settings; `Default` is AutoAttack's standard APGD-CE at ε = 8/255.
#[derive(Clone, Debug, PartialEq)]
pub struct ApgdConfig {
    /// L∞ radius (pixels in [0, 1]).
    pub eps: f64,
    /// Iterations per restart.
    pub steps: usize,
    /// Random restarts; later ones only attack points not yet fooled.
    pub restarts: usize,
    /// Step-size halving threshold ρ on the fraction of successful steps.
    pub rho: f64,
    /// Gradient samples averaged per step (EOT, for randomized models).
    pub eot_iter: usize,
    pub loss: ApgdLoss,
}

impl Default for ApgdConfig {
    fn default() -> Self {
        ApgdConfig { eps: 8.0 / 255.0, steps: 100, restarts: 1, rho: 0.75, eot_iter: 1, loss: ApgdLoss::CrossEntropy }
    }
}

/// Targeted APGD on the targeted DLR loss (APGD-T); `Default` is AutoAttack's standard setting.
#[derive(Clone, Debug, PartialEq)]
pub struct ApgdTargetedConfig {
    pub eps: f64,
    pub steps: usize,
    /// Restarts per target class.
    pub restarts: usize,
    /// Targets: the 2nd, 3rd, … highest-scoring classes at the clean point,
    /// at most `classes − 1` of them.
    pub target_classes: usize,
    pub rho: f64,
    pub eot_iter: usize,
}

impl Default for ApgdTargetedConfig {
    fn default() -> Self {
        ApgdTargetedConfig { eps: 8.0 / 255.0, steps: 100, restarts: 1, target_classes: 9, rho: 0.75, eot_iter: 1 }
    }
}

/// Window lengths between checkpoints, in iterations: starts at 22% of the
/// budget and shrinks by 3% per checkpoint down to 6% (each at least 1).
fn windows(steps: usize) -> (usize, usize, usize) {
    let frac = |f: f64| ((f * steps as f64) as usize).max(1);
    (frac(0.22), frac(0.03), frac(0.06))
}

/// The iterations after which APGD checks its step size: for 100 steps
/// 22, 41, 57, 70, 80, 87, 93, 99 (p_j·100 of the paper, p_0 = 0 excluded).
pub fn checkpoints(steps: usize) -> Vec<usize> {
    let (mut window, shrink, min_window) = windows(steps);
    let mut points = Vec::new();
    let mut at = window;
    while at <= steps {
        points.push(at);
        window = window.saturating_sub(shrink).max(min_window);
        at += window;
    }
    points
}

/// Untargeted APGD (CE or DLR loss). Returns, per sample, the first
/// restart's misclassified point it found, else `x` itself.
pub fn apgd(
    model: &Classifier<'_>,
    x: &Tensor,
    y: &Tensor,
    cfg: &ApgdConfig,
    rng: &mut Rng,
) -> Result<Tensor, AttackError> {
    let Some(classes) = check(model, x, y, cfg.eps, cfg.steps, cfg.eot_iter, cfg.rho)? else { return Ok(x.copy()) };
    if cfg.loss == ApgdLoss::Dlr && classes < 3 {
        return Err(AttackError::TooFewClasses { attack: "APGD-DLR", needed: 3, classes });
    }
    let mut robust = correct(model, x, y);
    let mut adv = x.copy();
    for _ in 0..cfg.restarts {
        attack_robust(x, y, &mut robust, &mut adv, |xs, ys| {
            let objective = |z: &Tensor| match cfg.loss {
                ApgdLoss::CrossEntropy => loss::cross_entropy(z, ys),
                ApgdLoss::Dlr => loss::dlr(z, ys),
            };
            let run = Run { model, eps: cfg.eps, steps: cfg.steps, rho: cfg.rho, eot_iter: cfg.eot_iter };
            run.single(xs, ys, &objective, rng)
        });
    }
    Ok(adv)
}

/// APGD-T: APGD on the targeted DLR loss, once per target class (the 2nd,
/// 3rd, … most likely class at the clean point), each run only on points no
/// earlier run has fooled. Needs ≥ 4 classes.
pub fn apgd_targeted(
    model: &Classifier<'_>,
    x: &Tensor,
    y: &Tensor,
    cfg: &ApgdTargetedConfig,
    rng: &mut Rng,
) -> Result<Tensor, AttackError> {
    let Some(classes) = check(model, x, y, cfg.eps, cfg.steps, cfg.eot_iter, cfg.rho)? else { return Ok(x.copy()) };
    if classes < 4 {
        return Err(AttackError::TooFewClasses { attack: "APGD-T", needed: 4, classes });
    }
    let mut robust = correct(model, x, y);
    let mut adv = x.copy();
    for rank in 1..=cfg.target_classes.min(classes as usize - 1) as i64 {
        for _ in 0..cfg.restarts {
            attack_robust(x, y, &mut robust, &mut adv, |xs, ys| {
                let target = tch::no_grad(|| model(xs).argsort(1, true).select(1, rank));
                let objective = |z: &Tensor| loss::dlr_targeted(z, ys, &target);
                let run = Run { model, eps: cfg.eps, steps: cfg.steps, rho: cfg.rho, eot_iter: cfg.eot_iter };
                run.single(xs, ys, &objective, rng)
            });
        }
    }
    Ok(adv)
}

/// Validates inputs; returns the number of classes, or `None` for an empty batch.
fn check(
    model: &Classifier<'_>,
    x: &Tensor,
    y: &Tensor,
    eps: f64,
    steps: usize,
    eot: usize,
    rho: f64,
) -> Result<Option<i64>, AttackError> {
    at_least_one("steps", steps)?;
    at_least_one("eot_iter", eot)?;
    positive_or_zero("rho", rho)?;
    validate(model, x, y, eps)
}

struct Run<'a, 'm> {
    model: &'a Classifier<'m>,
    eps: f64,
    steps: usize,
    rho: f64,
    eot_iter: usize,
}

impl Run<'_, '_> {
    /// Per-sample loss, the logits of the last EOT draw, and the input
    /// gradient of the summed loss averaged over the EOT draws.
    fn loss_and_grad(&self, x_adv: &Tensor, objective: &dyn Fn(&Tensor) -> Tensor) -> (Tensor, Tensor, Tensor) {
        let mut grad = x_adv.zeros_like();
        let mut last = None;
        for _ in 0..self.eot_iter {
            let (per_sample, logits, g) = tch::with_grad(|| {
                let xa = x_adv.detach().set_requires_grad(true);
                let logits = (self.model)(&xa);
                let per_sample = objective(&logits);
                let g = crate::gradient(&per_sample.sum(Kind::Float), &xa);
                (per_sample.detach(), logits.detach(), g)
            });
            grad += g;
            last = Some((per_sample, logits));
        }
        let (loss, logits) = last.expect("eot_iter >= 1");
        (loss, logits, grad / self.eot_iter as f64)
    }

    /// One APGD run from a random start. Returns (last misclassified iterate
    /// per sample, else the start; mask of samples misclassified at some iterate).
    fn single(&self, x: &Tensor, y: &Tensor, objective: &dyn Fn(&Tensor) -> Tensor, rng: &mut Rng) -> (Tensor, Tensor) {
        let mut x_adv = scaled_noise_start(rng, x, self.eps);
        let (mut loss, logits, mut grad) = self.loss_and_grad(&x_adv, objective);
        let mut fooled = logits.argmax(1, false).ne_tensor(y);
        let mut x_fooled = x_adv.copy();
        let (mut x_best, mut grad_best, mut loss_best) = (x_adv.copy(), grad.copy(), loss.copy());
        let mut step = Tensor::full([x.size()[0], 1, 1, 1], 2.0 * self.eps, (Kind::Float, x.device()));
        let mut x_prev = x_adv.copy();

        let (mut window, shrink, min_window) = windows(self.steps);
        let mut since_check = 0usize;
        let mut increases = loss.zeros_like();
        let mut loss_best_at_check = loss_best.copy();
        let mut halved_at_check = loss.ones_like().to_kind(Kind::Bool);
        for i in 0..self.steps {
            tch::no_grad(|| {
                let momentum = if i == 0 { 1.0 } else { 0.75 };
                let last_move = &x_adv - &x_prev;
                x_prev = x_adv.copy();
                let z = project(&(&x_adv + &step * grad.sign()), x, self.eps);
                x_adv = project(&(&x_adv + (z - &x_adv) * momentum + last_move * (1.0 - momentum)), x, self.eps);
            });
            let loss_prev = loss;
            let logits;
            (loss, logits, grad) = self.loss_and_grad(&x_adv, objective);
            tch::no_grad(|| {
                let wrong = logits.argmax(1, false).ne_tensor(y);
                fooled = fooled.logical_or(&wrong);
                x_fooled = x_adv.where_self(&per_sample(&wrong), &x_fooled);
                increases += loss.gt_tensor(&loss_prev).to_kind(Kind::Float);
                let better = loss.gt_tensor(&loss_best);
                x_best = x_adv.where_self(&per_sample(&better), &x_best);
                grad_best = grad.where_self(&per_sample(&better), &grad_best);
                loss_best = loss.where_self(&better, &loss_best);
                since_check += 1;
                if since_check == window {
                    let oscillating = increases.le(window as f64 * self.rho);
                    let stalled = halved_at_check.logical_not().logical_and(&loss_best_at_check.ge_tensor(&loss_best));
                    let halve = oscillating.logical_or(&stalled);
                    let h = per_sample(&halve);
                    step = (&step * 0.5).where_self(&h, &step);
                    x_adv = x_best.where_self(&h, &x_adv);
                    grad = grad_best.where_self(&h, &grad);
                    halved_at_check = halve;
                    loss_best_at_check = loss_best.copy();
                    increases = increases.zeros_like();
                    since_check = 0;
                    window = window.saturating_sub(shrink).max(min_window);
                }
            });
        }
        (x_fooled, fooled)
    }
}
