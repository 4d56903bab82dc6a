//! PGD (Madry et al., 2018): from a uniform random start in the ε-ball,
//! `steps` signed-gradient steps of the cross-entropy (mean over the batch;
//! only its sign matters), each projected back onto the ε-ball and [0, 1].
//! With restarts, a sample keeps the first adversarial point any restart
//! finds (otherwise the last restart's point).

use robbench_rng::Rng;
use tch::{Kind, Tensor};

use crate::{Classifier, correct, input_gradient, project};

#[derive(Clone, Debug, PartialEq)]
pub struct PgdConfig {
    /// L∞ radius (pixels in [0, 1]).
    pub eps: f64,
    pub step_size: f64,
    pub steps: usize,
    pub random_start: bool,
    pub restarts: usize,
}

impl Default for PgdConfig {
    /// NAS-RobBench-201's evaluation PGD at ε = 8/255: 20 steps of 2.5·ε/20.
    fn default() -> Self {
        PgdConfig { eps: 8.0 / 255.0, step_size: 2.5 * 8.0 / 255.0 / 20.0, steps: 20, random_start: true, restarts: 1 }
    }
}

pub fn pgd(model: &Classifier<'_>, x: &Tensor, y: &Tensor, cfg: &PgdConfig, rng: &mut Rng) -> Tensor {
    let mut best = x.shallow_clone();
    for restart in 0..cfg.restarts.max(1) {
        let adv = single_run(model, x, y, cfg, rng);
        if restart == 0 {
            best = adv;
            continue;
        }
        // Replace only points not yet adversarial.
        let still_correct = correct(model, &best, y).to_kind(Kind::Bool).view([-1, 1, 1, 1]);
        best = tch::no_grad(|| best.where_self(&still_correct.logical_not(), &adv));
    }
    best
}

fn single_run(model: &Classifier<'_>, x: &Tensor, y: &Tensor, cfg: &PgdConfig, rng: &mut Rng) -> Tensor {
    let mut adv = if cfg.random_start {
        let noise = Tensor::from_slice(&rng.uniform_vec(x.numel(), -cfg.eps as f32, cfg.eps as f32))
            .view(x.size().as_slice())
            .to_device(x.device());
        tch::no_grad(|| (x + noise).clamp(0.0, 1.0))
    } else {
        x.shallow_clone()
    };
    for _ in 0..cfg.steps {
        let grad = input_gradient(model, &adv, y);
        adv = tch::no_grad(|| project(&(&adv + grad.sign() * cfg.step_size), x, cfg.eps));
    }
    adv
}
