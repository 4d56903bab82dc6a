//! `evaluate`: one unit per trained model × attack × ε.

use anyhow::Result;
use robbench_pipeline::{Config, Stage, UnitSpec, Upstream};
use robbench_schemas::{EVALUATION_SAMPLES, EVALUATIONS, TableDef};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::prepare::prepared_for;
use crate::config::{AutoAttackVersion, EvaluationConfig};
use crate::reads::paths;

pub struct Evaluate;

/// Attack name of the gradient-masking ε sweep in `evaluations`.
pub const SWEEP: &str = "pgd-sweep";

/// The attacks an evaluation unit runs; the names are those of `evaluations`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Method {
    #[serde(rename = "clean")]
    Clean,
    #[serde(rename = "fgsm")]
    Fgsm,
    #[serde(rename = "pgd")]
    Pgd,
    #[serde(rename = "autoattack")]
    AutoAttack,
    #[serde(rename = "pgd-sweep")]
    Sweep,
}

impl Method {
    pub fn name(self) -> &'static str {
        match self {
            Method::Clean => "clean",
            Method::Fgsm => "fgsm",
            Method::Pgd => "pgd",
            Method::AutoAttack => "autoattack",
            Method::Sweep => SWEEP,
        }
    }

    /// The config keys a unit of this attack reads, from its views.
    pub fn config_keys(self) -> Vec<&'static str> {
        let mut keys = paths::<Images>();
        keys.extend(match self {
            Method::Clean | Method::Fgsm => Vec::new(),
            Method::Pgd => paths::<PgdReads>(),
            Method::AutoAttack => paths::<AutoAttackReads>(),
            Method::Sweep => paths::<SweepReads>(),
        });
        keys
    }
}

/// What every evaluation unit reads: which images, in which batches.
#[derive(Deserialize)]
pub struct Images {
    /// 0 = the whole prepared test split.
    #[serde(rename = "evaluation.samples")]
    pub samples: usize,
    #[serde(rename = "evaluation.batch_size")]
    pub batch_size: usize,
}

/// What a PGD unit reads besides [`Images`] (ε is a unit parameter).
#[derive(Deserialize)]
pub struct PgdReads {
    #[serde(rename = "evaluation.pgd.steps")]
    pub steps: usize,
    /// In units of 1/255; 0 means 2.5·ε/steps.
    #[serde(rename = "evaluation.pgd.step_size")]
    pub step_size: f64,
    #[serde(rename = "evaluation.pgd.restarts")]
    pub restarts: usize,
    #[serde(rename = "evaluation.pgd.random_start")]
    pub random_start: bool,
}

/// What an AutoAttack unit reads besides [`Images`]: every AutoAttack key
/// but the ε list, so adding an ε reruns nothing else.
#[derive(Deserialize)]
pub struct AutoAttackReads {
    #[serde(rename = "evaluation.autoattack.version")]
    pub version: AutoAttackVersion,
    /// The first `samples` evaluated images (0 = all).
    #[serde(rename = "evaluation.autoattack.samples")]
    pub samples: usize,
    #[serde(rename = "evaluation.autoattack.seed")]
    pub seed: u64,
    #[serde(rename = "evaluation.autoattack.apgd_steps")]
    pub apgd_steps: usize,
    #[serde(rename = "evaluation.autoattack.apgd_restarts")]
    pub apgd_restarts: usize,
    #[serde(rename = "evaluation.autoattack.target_classes")]
    pub target_classes: usize,
    #[serde(rename = "evaluation.autoattack.fab_steps")]
    pub fab_steps: usize,
    #[serde(rename = "evaluation.autoattack.fab_restarts")]
    pub fab_restarts: usize,
    #[serde(rename = "evaluation.autoattack.square_queries")]
    pub square_queries: usize,
    #[serde(rename = "evaluation.autoattack.square_restarts")]
    pub square_restarts: usize,
    #[serde(rename = "evaluation.autoattack.square_p_init")]
    pub square_p_init: f64,
    #[serde(rename = "evaluation.autoattack.eot_iter")]
    pub eot_iter: usize,
}

/// What a sweep unit reads besides [`Images`].
#[derive(Deserialize)]
pub struct SweepReads {
    /// The first `samples` evaluated images (0 = all).
    #[serde(rename = "evaluation.sweep.samples")]
    pub samples: usize,
    /// PGD iterations; the step is 2.5·ε/steps with a random start.
    #[serde(rename = "evaluation.sweep.steps")]
    pub steps: usize,
}

/// The attacks a config asks for, with their ε (in 1/255).
fn attacks(cfg: &EvaluationConfig) -> Vec<(Method, f64)> {
    let mut out = Vec::new();
    if cfg.clean.enabled {
        out.push((Method::Clean, 0.0));
    }
    out.extend(cfg.fgsm.eps.iter().map(|&eps| (Method::Fgsm, eps)));
    out.extend(cfg.pgd.eps.iter().map(|&eps| (Method::Pgd, eps)));
    out.extend(cfg.autoattack.eps.iter().map(|&eps| (Method::AutoAttack, eps)));
    out.extend(cfg.sweep.eps.iter().map(|&eps| (Method::Sweep, eps)));
    out
}

impl Stage for Evaluate {
    fn name(&self) -> &'static str {
        "evaluate"
    }
    fn version(&self) -> u32 {
        1
    }
    fn upstream(&self) -> &'static [&'static str] {
        &["prepare", "train"]
    }
    fn tables(&self) -> Vec<&'static TableDef> {
        vec![&EVALUATIONS, &EVALUATION_SAMPLES]
    }

    fn plan(&self, config: &Config, up: &Upstream<'_>) -> Result<Vec<UnitSpec>> {
        let cfg: EvaluationConfig = config.typed("evaluation")?;
        // Per attack once, not per unit (hundreds of thousands at the benchmark's size).
        let attacks: Vec<_> = attacks(&cfg).into_iter().map(|(a, eps)| (a, eps, a.config_keys())).collect();
        let mut units = Vec::new();
        for model in up.units("train") {
            let data = prepared_for(up, model)?;
            let (arch_index, dataset, seed) =
                (&model.params["arch_index"], &model.params["dataset"], &model.params["seed"]);
            let shard_group = format!("arch {arch_index}");
            for (attack, eps, config_keys) in &attacks {
                units.push(UnitSpec {
                    label: format!("{} · {}@{eps}", model.label, attack.name()),
                    params: json!({
                        "arch_index": arch_index,
                        "dataset": dataset,
                        "seed": seed,
                        "attack": attack,
                        "eps": eps,
                    }),
                    config_keys: config_keys.clone(),
                    inputs: vec![data.unit, model.unit],
                    shard_group: Some(shard_group.clone()),
                });
            }
        }
        Ok(units)
    }
}
