//! AutoAttack (Croce & Hein, ICML 2020): a fixed ensemble of parameter-free
//! attacks, each run only on the points that all earlier ones failed on.
//!
//! - standard: APGD-CE → APGD-T → FAB-T → Square (5,000 queries);
//! - rand (randomized defences): APGD-CE → APGD-DLR, both averaging 20
//!   gradient draws per step (EOT).

use robbench_rng::Rng;
use tch::{Device, Kind, Tensor};

use crate::apgd::{ApgdConfig, ApgdLoss, ApgdTargetedConfig, apgd, apgd_targeted};
use crate::error::{AttackError, at_least_one};
use crate::fab::{FabConfig, fab_targeted};
use crate::square::{SquareConfig, square};
use crate::{Classifier, correct, true_indices, validate};

/// Which attacks AutoAttack runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    /// APGD-CE, APGD-T, FAB-T, Square.
    Standard,
    /// APGD-CE and APGD-DLR with EOT, for randomized classifiers.
    Rand,
}

/// One attack of the ensemble.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    ApgdCe,
    ApgdT,
    FabT,
    Square,
    ApgdDlr,
}

impl Stage {
    /// The attack's name as in AutoAttack and the evaluation tables.
    pub fn name(self) -> &'static str {
        match self {
            Stage::ApgdCe => "apgd-ce",
            Stage::ApgdT => "apgd-t",
            Stage::FabT => "fab-t",
            Stage::Square => "square",
            Stage::ApgdDlr => "apgd-dlr",
        }
    }
}

/// AutoAttack settings; `Default` is the standard version at ε = 8/255 with
/// the reference budgets.
#[derive(Clone, Debug, PartialEq)]
pub struct AutoAttackConfig {
    pub eps: f64,
    pub version: Version,
    /// Seeds every stage's randomness (per stage and batch).
    pub seed: u64,
    /// Samples attacked together.
    pub batch_size: usize,
    /// Iterations of APGD-CE, APGD-T and APGD-DLR.
    pub apgd_steps: usize,
    /// Restarts of APGD-CE and APGD-DLR, and per target class of APGD-T.
    pub apgd_restarts: usize,
    /// Target classes of APGD-T and FAB-T (capped at classes − 1).
    pub target_classes: usize,
    pub fab_steps: usize,
    /// Restarts per target class of FAB-T.
    pub fab_restarts: usize,
    pub square_queries: usize,
    pub square_restarts: usize,
    /// Square's initial fraction of pixels changed per query.
    pub square_p_init: f64,
    /// Gradient draws per APGD step in the rand version.
    pub eot_iter: usize,
}

impl Default for AutoAttackConfig {
    fn default() -> Self {
        AutoAttackConfig {
            eps: 8.0 / 255.0,
            version: Version::Standard,
            seed: 0,
            batch_size: 250,
            apgd_steps: 100,
            apgd_restarts: 1,
            target_classes: 9,
            fab_steps: 100,
            fab_restarts: 1,
            square_queries: 5000,
            square_restarts: 1,
            square_p_init: 0.8,
            eot_iter: 20,
        }
    }
}

impl AutoAttackConfig {
    /// The attacks this version runs, in order.
    pub fn stages(&self) -> &'static [Stage] {
        match self.version {
            Version::Standard => &[Stage::ApgdCe, Stage::ApgdT, Stage::FabT, Stage::Square],
            Version::Rand => &[Stage::ApgdCe, Stage::ApgdDlr],
        }
    }
}

/// What AutoAttack found.
#[derive(Debug)]
pub struct AutoAttackReport {
    /// Per-sample correctness on the clean inputs.
    pub clean: Vec<bool>,
    /// After each stage, in order: per-sample correctness on the points
    /// found so far (robust accuracy of the ensemble up to that stage).
    pub stages: Vec<(Stage, Vec<bool>)>,
    /// Per-sample correctness after the whole ensemble.
    pub correct: Vec<bool>,
    /// Adversarial points: the first found per sample, else the input.
    pub adversarial: Tensor,
}

impl AutoAttackReport {
    /// Fraction of samples still correctly classified after every attack.
    pub fn robust_accuracy(&self) -> f64 {
        fraction(&self.correct)
    }
}

fn fraction(flags: &[bool]) -> f64 {
    flags.iter().filter(|&&c| c).count() as f64 / flags.len().max(1) as f64
}

/// Runs AutoAttack on `(x, y)`, on `x`'s device.
pub fn autoattack(
    model: &Classifier<'_>,
    x: &Tensor,
    y: &Tensor,
    cfg: &AutoAttackConfig,
) -> Result<AutoAttackReport, AttackError> {
    at_least_one("batch_size", cfg.batch_size)?;
    at_least_one("eot_iter", cfg.eot_iter)?;
    let classes = validate(model, x, y, cfg.eps)?.unwrap_or(i64::MAX);
    let needed = match cfg.version {
        Version::Standard => ("APGD-T", 4),
        Version::Rand => ("APGD-DLR", 3),
    };
    if classes < needed.1 {
        return Err(AttackError::TooFewClasses { attack: needed.0, needed: needed.1, classes });
    }
    let n = x.size()[0];
    let mut robust = Tensor::zeros([n], (Kind::Bool, x.device()));
    for start in (0..n).step_by(cfg.batch_size) {
        let len = (cfg.batch_size as i64).min(n - start);
        let hits = correct(model, &x.narrow(0, start, len), &y.narrow(0, start, len));
        robust = robust.slice_scatter(&hits, 0, start, start + len, 1);
    }
    let clean = to_vec(&robust);
    let mut adversarial = x.copy();
    let mut stages = Vec::new();
    for &stage in cfg.stages() {
        let remaining = true_indices(&robust);
        for (batch, start) in (0..remaining.numel() as i64).step_by(cfg.batch_size).enumerate() {
            let idx = remaining.narrow(0, start, (cfg.batch_size as i64).min(remaining.numel() as i64 - start));
            let (xb, yb) = (x.index_select(0, &idx), y.index_select(0, &idx));
            let mut rng = Rng::derive(cfg.seed, stage.name(), batch as u64);
            let adv = run_stage(stage, model, &xb, &yb, cfg, &mut rng)?;
            let fooled = correct(model, &adv, &yb).logical_not();
            let hit = true_indices(&fooled);
            let target = idx.index_select(0, &hit);
            adversarial = adversarial.index_copy(0, &target, &adv.index_select(0, &hit));
            robust = robust.index_fill(0, &target, 0);
        }
        stages.push((stage, to_vec(&robust)));
    }
    Ok(AutoAttackReport { clean, stages, correct: to_vec(&robust), adversarial })
}

fn run_stage(
    stage: Stage,
    model: &Classifier<'_>,
    x: &Tensor,
    y: &Tensor,
    cfg: &AutoAttackConfig,
    rng: &mut Rng,
) -> Result<Tensor, AttackError> {
    let eot_iter = if cfg.version == Version::Rand { cfg.eot_iter } else { 1 };
    let apgd_cfg = |loss| ApgdConfig {
        eps: cfg.eps,
        steps: cfg.apgd_steps,
        restarts: cfg.apgd_restarts,
        eot_iter,
        loss,
        ..ApgdConfig::default()
    };
    match stage {
        Stage::ApgdCe => apgd(model, x, y, &apgd_cfg(ApgdLoss::CrossEntropy), rng),
        Stage::ApgdDlr => apgd(model, x, y, &apgd_cfg(ApgdLoss::Dlr), rng),
        Stage::ApgdT => {
            let t = ApgdTargetedConfig {
                eps: cfg.eps,
                steps: cfg.apgd_steps,
                restarts: cfg.apgd_restarts,
                target_classes: cfg.target_classes,
                ..ApgdTargetedConfig::default()
            };
            apgd_targeted(model, x, y, &t, rng)
        }
        Stage::FabT => {
            let f = FabConfig {
                eps: cfg.eps,
                steps: cfg.fab_steps,
                restarts: cfg.fab_restarts,
                target_classes: cfg.target_classes,
                ..FabConfig::default()
            };
            fab_targeted(model, x, y, &f, rng)
        }
        Stage::Square => {
            let s = SquareConfig {
                eps: cfg.eps,
                queries: cfg.square_queries,
                restarts: cfg.square_restarts,
                p_init: cfg.square_p_init,
                ..SquareConfig::default()
            };
            square(model, x, y, &s, rng)
        }
    }
}

fn to_vec(flags: &Tensor) -> Vec<bool> {
    Vec::<bool>::try_from(flags.to_device(Device::Cpu)).expect("a bool vector")
}
