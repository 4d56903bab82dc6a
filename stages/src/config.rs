//! The experiment configuration: every key, its default and its checks.
//!
//! `configs/default.toml` is embedded in the binary; any file may omit keys,
//! which then take the defaults below (the paper's recipe where one exists).

use robbench_pipeline::{Config, ConfigError, ConfigSchema, invalid};
use robbench_published::Input;
use serde::{Deserialize, Serialize};

/// The embedded default experiment.
pub const DEFAULT_CONFIG: &str = include_str!("../../configs/default.toml");

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Experiment {
    pub dataset: DatasetConfig,
    pub architectures: ArchitecturesConfig,
    pub model: ModelConfig,
    pub train: TrainConfig,
    pub evaluation: EvaluationConfig,
    pub ntk: NtkConfig,
    pub bound: BoundConfig,
    pub checks: ChecksConfig,
    pub analysis: AnalysisConfig,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatasetConfig {
    pub name: String,
    pub root: String,
    pub seed: u64,
    pub classes: usize,
    pub image_size: usize,
    pub train_size: usize,
    pub test_size: usize,
}

impl Default for DatasetConfig {
    fn default() -> Self {
        DatasetConfig {
            name: "cifar10".into(),
            root: String::new(),
            seed: 0,
            classes: 10,
            image_size: 32,
            train_size: 0,
            test_size: 0,
        }
    }
}

impl DatasetConfig {
    /// (classes, input size) of the configured dataset.
    pub fn shape(&self) -> (usize, usize) {
        match self.name.as_str() {
            "cifar10" => (10, 32),
            "cifar100" => (100, 32),
            "imagenet16-120" => (120, 16),
            _ => (self.classes, self.image_size),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ArchitecturesConfig {
    pub select: String,
    pub indices: Vec<usize>,
    pub strings: Vec<String>,
    pub sample_size: usize,
    pub sample_seed: u64,
}

impl Default for ArchitecturesConfig {
    fn default() -> Self {
        ArchitecturesConfig {
            select: "unique".into(),
            indices: vec![],
            strings: vec![],
            sample_size: 0,
            sample_seed: 0,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelConfig {
    pub channels: i64,
    pub cells: i64,
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig { channels: 16, cells: 5 }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainConfig {
    /// Off for training-free studies (NTK at initialisation only).
    pub enabled: bool,
    pub seeds: Vec<u64>,
    pub epochs: usize,
    pub batch_size: usize,
    pub max_lr: f64,
    pub weight_decay: f64,
    pub augment: bool,
    pub attack: TrainAttackConfig,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            enabled: true,
            seeds: vec![0],
            epochs: 50,
            batch_size: 256,
            max_lr: 0.1,
            weight_decay: 5e-4,
            augment: true,
            attack: TrainAttackConfig::default(),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainAttackConfig {
    pub eps: f64,
    pub step_size: f64,
    pub steps: usize,
    pub random_start: bool,
}

impl Default for TrainAttackConfig {
    fn default() -> Self {
        TrainAttackConfig { eps: 8.0, step_size: 2.0, steps: 7, random_start: true }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EvaluationConfig {
    pub samples: usize,
    pub batch_size: usize,
    pub clean: CleanConfig,
    pub fgsm: FgsmConfig,
    pub pgd: PgdConfig,
    pub autoattack: AutoAttackConfig,
    pub sweep: SweepConfig,
}

impl Default for EvaluationConfig {
    fn default() -> Self {
        EvaluationConfig {
            samples: 0,
            batch_size: 256,
            clean: CleanConfig::default(),
            fgsm: FgsmConfig::default(),
            pgd: PgdConfig::default(),
            autoattack: AutoAttackConfig::default(),
            sweep: SweepConfig::default(),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CleanConfig {
    pub enabled: bool,
}

impl Default for CleanConfig {
    fn default() -> Self {
        CleanConfig { enabled: true }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FgsmConfig {
    pub eps: Vec<f64>,
}

impl Default for FgsmConfig {
    fn default() -> Self {
        FgsmConfig { eps: vec![3.0, 8.0] }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PgdConfig {
    pub eps: Vec<f64>,
    pub steps: usize,
    /// In units of 1/255; 0 means 2.5·eps/steps.
    pub step_size: f64,
    pub restarts: usize,
    pub random_start: bool,
}

impl Default for PgdConfig {
    fn default() -> Self {
        PgdConfig { eps: vec![3.0, 8.0], steps: 20, step_size: 0.0, restarts: 1, random_start: true }
    }
}

/// AutoAttack (Croce & Hein, 2020); defaults are the reference budgets of
/// its "standard" version.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AutoAttackConfig {
    pub eps: Vec<f64>,
    /// `standard` (APGD-CE, APGD-T, FAB-T, Square) or `rand` (APGD-CE, APGD-DLR with EOT).
    pub version: String,
    /// Attack the first `samples` evaluated images (0 = all of `evaluation.samples`).
    pub samples: usize,
    pub seed: u64,
    pub apgd_steps: usize,
    pub apgd_restarts: usize,
    pub target_classes: usize,
    pub fab_steps: usize,
    pub fab_restarts: usize,
    pub square_queries: usize,
    pub square_restarts: usize,
    pub square_p_init: f64,
    pub eot_iter: usize,
}

impl Default for AutoAttackConfig {
    /// The attack library's reference budgets, so they are stated once.
    fn default() -> Self {
        let reference = robbench_attacks::AutoAttackConfig::default();
        AutoAttackConfig {
            eps: vec![reference.eps * 255.0],
            version: "standard".into(),
            samples: 0,
            seed: reference.seed,
            apgd_steps: reference.apgd_steps,
            apgd_restarts: reference.apgd_restarts,
            target_classes: reference.target_classes,
            fab_steps: reference.fab_steps,
            fab_restarts: reference.fab_restarts,
            square_queries: reference.square_queries,
            square_restarts: reference.square_restarts,
            square_p_init: reference.square_p_init,
            eot_iter: reference.eot_iter,
        }
    }
}

/// The gradient-masking ε sweep: PGD whose accuracy must reach 0 at large ε.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SweepConfig {
    pub eps: Vec<f64>,
    /// Attack the first `samples` evaluated images (0 = all of `evaluation.samples`).
    pub samples: usize,
    /// PGD iterations; the step is 2.5·ε/steps with a random start.
    pub steps: usize,
}

impl Default for SweepConfig {
    fn default() -> Self {
        SweepConfig { eps: vec![3.0, 8.0, 16.0, 32.0, 64.0, 128.0, 255.0], samples: 0, steps: 20 }
    }
}

/// Thresholds of the gradient-masking checks that fill the `alerts` table.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChecksConfig {
    /// Largest PGD accuracy tolerated at the sweep's largest ε.
    pub sweep_max_accuracy: f64,
    /// Slack before "a larger ε or a stronger attack did better" is flagged.
    pub tolerance: f64,
    /// Largest fraction of points that Square may break after every
    /// white-box attack failed on them.
    pub square_max_gain: f64,
}

impl Default for ChecksConfig {
    fn default() -> Self {
        ChecksConfig { sweep_max_accuracy: 0.0, tolerance: 0.02, square_max_gain: 0.0 }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NtkConfig {
    pub enabled: bool,
    /// Kernel size: the first `samples` images of the prepared train split.
    pub samples: usize,
    /// `init` (the training seed's initialisation) and/or `trained`.
    pub weights: Vec<String>,
    /// `sum` (sum of logits), `label` (each sample's label logit) or `per-logit`.
    pub output: String,
    /// The attack A_ε applied to the network itself: `fgsm` or `pgd`.
    pub attack: String,
    pub eps: f64,
    pub steps: usize,
    pub step_size: f64,
    /// β values of the mixtures K_all(β), K̃_all(β).
    pub betas: Vec<f64>,
    /// Initialised networks only: BN running statistics are set from the
    /// first N training images before the kernels (0 = keep the fresh mean 0
    /// and variance 1, which make eval-mode BN the identity).
    pub bn_calibration: usize,
}

impl Default for NtkConfig {
    fn default() -> Self {
        NtkConfig {
            enabled: true,
            samples: 64,
            weights: vec!["init".into()],
            output: "sum".into(),
            attack: "pgd".into(),
            eps: 8.0,
            steps: 10,
            step_size: 2.0,
            betas: vec![0.0, 0.25, 0.5, 0.75, 1.0],
            bn_calibration: 256,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BoundConfig {
    /// δ of the confidence term √(log(1/δ)/n).
    pub delta: f64,
    /// Factor of the complexity term (Cao & Gu: Õ(L) for depth L).
    pub depth_factor: f64,
}

impl Default for BoundConfig {
    fn default() -> Self {
        BoundConfig { delta: 0.05, depth_factor: 1.0 }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AnalysisConfig {
    /// The released NAS-RobBench-201 table (the project page's JSON, a path
    /// or `shipped:nas-robbench-201/NAS-RobBench-201_html.json`); when set,
    /// every score is also correlated with its accuracies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<Input>,
    /// Its `ops.json` (optional; cell strings).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference_ops: Option<Input>,
    /// Which of its datasets to compare with: cifar10 | cifar100 | imagenet16-120.
    pub reference_dataset: String,
    /// NAS-Bench-Suite-Zero proxy scores (CSV) for `reference_dataset`, added
    /// as scores `zero-cost:<proxy>` for the same architectures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zero_cost: Option<Input>,
}

impl Default for AnalysisConfig {
    fn default() -> Self {
        AnalysisConfig { reference: None, reference_ops: None, reference_dataset: "cifar10".into(), zero_cost: None }
    }
}

/// Validates and normalises configs for the robbench stages.
pub struct ExperimentSchema;

impl ConfigSchema for ExperimentSchema {
    fn normalize(&self, raw: &Config) -> Result<Config, ConfigError> {
        let experiment: Experiment = raw.typed("")?;
        experiment.validate()?;
        Config::from_serialize(&experiment)
    }
}

const DATASETS: &[&str] = &["synthetic", "cifar10", "cifar100", "imagenet16-120"];
const SELECTIONS: &[&str] = &["indices", "strings", "unique", "sample"];

impl Experiment {
    /// Checks values serde cannot: ranges, names, combinations.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let d = &self.dataset;
        if !DATASETS.contains(&d.name.as_str()) {
            return Err(invalid("dataset.name", &format!("`{}` is not one of {}", d.name, DATASETS.join(", "))));
        }
        if d.name != "synthetic" && d.root.is_empty() {
            return Err(invalid("dataset.root", &format!("dataset `{}` needs the directory of its files", d.name)));
        }
        if d.name == "synthetic" {
            if ![16, 32].contains(&d.image_size) {
                return Err(invalid("dataset.image_size", "must be 16 or 32"));
            }
            if !(2..=1000).contains(&d.classes) {
                return Err(invalid("dataset.classes", "must be between 2 and 1000"));
            }
            if d.train_size == 0 || d.test_size == 0 {
                return Err(invalid(
                    "dataset.train_size",
                    "the synthetic dataset needs explicit train_size and test_size",
                ));
            }
        }
        let a = &self.architectures;
        if !SELECTIONS.contains(&a.select.as_str()) {
            return Err(invalid(
                "architectures.select",
                &format!("`{}` is not one of {}", a.select, SELECTIONS.join(", ")),
            ));
        }
        if let Some(bad) = a.indices.iter().find(|&&i| i >= 15_625) {
            return Err(invalid("architectures.indices", &format!("{bad} is not a NAS-Bench-201 index (0..15624)")));
        }
        match a.select.as_str() {
            "indices" if a.indices.is_empty() => return Err(invalid("architectures.indices", "is empty")),
            "strings" if a.strings.is_empty() => return Err(invalid("architectures.strings", "is empty")),
            "sample" if !(1..=6466).contains(&a.sample_size) => {
                return Err(invalid("architectures.sample_size", "must be between 1 and 6466"));
            }
            _ => {}
        }
        for s in &a.strings {
            s.parse::<robbench_space::Arch>().map_err(|e| invalid("architectures.strings", &e.to_string()))?;
        }
        if self.model.channels < 1 || self.model.cells < 1 {
            return Err(invalid("model", "channels and cells must be at least 1"));
        }
        let t = &self.train;
        if t.seeds.is_empty() {
            return Err(invalid("train.seeds", "is empty"));
        }
        if t.batch_size == 0 {
            return Err(invalid("train.batch_size", "must be positive"));
        }
        if !(t.max_lr > 0.0 && t.max_lr.is_finite()) {
            return Err(invalid("train.max_lr", "must be a positive number"));
        }
        if !(t.weight_decay >= 0.0) {
            return Err(invalid("train.weight_decay", "must be non-negative"));
        }
        check_eps("train.attack.eps", &[t.attack.eps])?;
        if !(t.attack.step_size > 0.0) && t.attack.steps > 0 {
            return Err(invalid("train.attack.step_size", "must be positive"));
        }
        let e = &self.evaluation;
        if e.batch_size == 0 {
            return Err(invalid("evaluation.batch_size", "must be positive"));
        }
        check_eps("evaluation.fgsm.eps", &e.fgsm.eps)?;
        check_eps("evaluation.pgd.eps", &e.pgd.eps)?;
        if e.pgd.steps == 0 && !e.pgd.eps.is_empty() {
            return Err(invalid("evaluation.pgd.steps", "must be positive"));
        }
        if e.pgd.restarts == 0 {
            return Err(invalid("evaluation.pgd.restarts", "must be at least 1"));
        }
        if e.pgd.step_size < 0.0 {
            return Err(invalid("evaluation.pgd.step_size", "must be non-negative (0 = 2.5*eps/steps)"));
        }
        let a = &e.autoattack;
        check_eps("evaluation.autoattack.eps", &a.eps)?;
        if !["standard", "rand"].contains(&a.version.as_str()) {
            return Err(invalid("evaluation.autoattack.version", &format!("`{}` is not standard or rand", a.version)));
        }
        for (key, value) in [
            ("evaluation.autoattack.apgd_steps", a.apgd_steps),
            ("evaluation.autoattack.apgd_restarts", a.apgd_restarts),
            ("evaluation.autoattack.target_classes", a.target_classes),
            ("evaluation.autoattack.fab_steps", a.fab_steps),
            ("evaluation.autoattack.fab_restarts", a.fab_restarts),
            ("evaluation.autoattack.square_queries", a.square_queries),
            ("evaluation.autoattack.square_restarts", a.square_restarts),
            ("evaluation.autoattack.eot_iter", a.eot_iter),
            ("evaluation.sweep.steps", e.sweep.steps),
        ] {
            if value == 0 {
                return Err(invalid(key, "must be at least 1"));
            }
        }
        if !(a.square_p_init > 0.0 && a.square_p_init <= 1.0) {
            return Err(invalid("evaluation.autoattack.square_p_init", "must be in (0, 1]"));
        }
        let needed = if a.version == "standard" { 4 } else { 3 };
        if !a.eps.is_empty() && self.dataset.shape().0 < needed {
            return Err(invalid(
                "evaluation.autoattack.version",
                &format!("{} needs at least {needed} classes, the dataset has {}", a.version, self.dataset.shape().0),
            ));
        }
        check_eps("evaluation.sweep.eps", &e.sweep.eps)?;
        let c = &self.checks;
        for (key, value) in [
            ("checks.sweep_max_accuracy", c.sweep_max_accuracy),
            ("checks.tolerance", c.tolerance),
            ("checks.square_max_gain", c.square_max_gain),
        ] {
            if !(0.0..=1.0).contains(&value) {
                return Err(invalid(key, "must be a fraction in [0, 1]"));
            }
        }
        let k = &self.ntk;
        if k.enabled {
            if k.samples < 2 {
                return Err(invalid("ntk.samples", "must be at least 2"));
            }
            if let Some(w) = k.weights.iter().find(|w| !["init", "trained"].contains(&w.as_str())) {
                return Err(invalid("ntk.weights", &format!("`{w}` is not init or trained")));
            }
            if !["sum", "label", "per-logit"].contains(&k.output.as_str()) {
                return Err(invalid("ntk.output", &format!("`{}` is not sum, label or per-logit", k.output)));
            }
            if !["fgsm", "pgd"].contains(&k.attack.as_str()) {
                return Err(invalid("ntk.attack", &format!("`{}` is not fgsm or pgd", k.attack)));
            }
            check_eps("ntk.eps", &[k.eps])?;
            if !t.enabled && k.weights.iter().any(|w| w == "trained") {
                return Err(invalid("ntk.weights", "`trained` needs train.enabled = true"));
            }
            if let Some(b) = k.betas.iter().find(|b| !(0.0..=1.0).contains(*b)) {
                return Err(invalid("ntk.betas", &format!("{b} is outside [0, 1]")));
            }
            if k.bn_calibration == 1 {
                return Err(invalid(
                    "ntk.bn_calibration",
                    "must be 0 (off) or at least 2 images: one image has no batch variance",
                ));
            }
        }
        for (key, input) in [
            ("analysis.reference", &self.analysis.reference),
            ("analysis.reference_ops", &self.analysis.reference_ops),
            ("analysis.zero_cost", &self.analysis.zero_cost),
        ] {
            if let Some(Input::File(path)) = input
                && !path.is_file()
            {
                return Err(invalid(key, &format!("{} is not a file", path.display())));
            }
        }
        if !["cifar10", "cifar100", "imagenet16-120"].contains(&self.analysis.reference_dataset.as_str()) {
            return Err(invalid("analysis.reference_dataset", "must be cifar10, cifar100 or imagenet16-120"));
        }
        if !(self.bound.delta > 0.0 && self.bound.delta < 1.0) {
            return Err(invalid("bound.delta", "must be in (0, 1)"));
        }
        if !(self.bound.depth_factor > 0.0) {
            return Err(invalid("bound.depth_factor", "must be positive"));
        }
        Ok(())
    }
}

fn check_eps(key: &str, eps: &[f64]) -> Result<(), ConfigError> {
    match eps.iter().find(|e| !(**e >= 0.0 && **e <= 255.0)) {
        Some(bad) => Err(invalid(key, &format!("{bad} is outside 0..=255 (units of 1/255)"))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn normalize(sets: &[&str]) -> Result<Config, ConfigError> {
        let mut c = Config::from_toml_str(DEFAULT_CONFIG, "default").unwrap();
        for s in sets {
            c.set(s).unwrap();
        }
        ExperimentSchema.normalize(&c)
    }

    #[test]
    fn the_default_config_is_valid_and_complete() {
        let c = normalize(&[]).unwrap();
        assert_eq!(c.get("train.attack.steps").and_then(|v| v.as_integer()), Some(3));
        assert_eq!(c.get("evaluation.pgd.steps").and_then(|v| v.as_integer()), Some(20));
    }

    #[test]
    fn bad_values_name_their_key() {
        for (set, key) in [
            ("dataset.name=\"mnist\"", "dataset.name"),
            ("architectures.indices=[99999]", "architectures.indices"),
            ("train.max_lr=-1", "train.max_lr"),
            ("train.epochs=\"many\"", "train.epochs"),
            ("train.bogus=1", "bogus"),
            ("evaluation.pgd.eps=[300.0]", "evaluation.pgd.eps"),
            ("dataset.name=\"cifar10\"", "dataset.root"),
            ("evaluation.autoattack.version=\"fast\"", "evaluation.autoattack.version"),
            ("evaluation.autoattack.square_queries=0", "evaluation.autoattack.square_queries"),
            ("ntk.betas=[1.5]", "ntk.betas"),
            ("ntk.bn_calibration=1", "ntk.bn_calibration"),
        ] {
            let e = normalize(&[set]).unwrap_err().to_string();
            assert!(e.contains(key), "{set}: {e}");
        }
        let e = normalize(&["architectures.select=\"strings\"", "architectures.strings=[\"|bad~0|\"]"]).unwrap_err();
        assert!(e.to_string().contains("architectures.strings"), "{e}");
    }
}
