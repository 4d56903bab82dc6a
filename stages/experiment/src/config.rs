//! The experiment configuration: every key, its default and its checks.
//!
//! `configs/default.toml` is embedded in the binary; any file may omit keys,
//! which then take the defaults below (the paper's recipe where one exists).
//! [`keys`] documents every key as data (docs/src/reference/config.md).

pub mod keys;

use std::path::Path;

use robbench_corruptions::Corruption;
use robbench_pipeline::{Config, ConfigError, ConfigSchema, invalid};
use robbench_published::Input;
use serde::{Deserialize, Serialize};

/// The embedded default experiment.
pub const DEFAULT_CONFIG: &str = include_str!("../../../configs/default.toml");

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
    pub name: DatasetName,
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
            name: DatasetName::Cifar10,
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
        self.name.shape(self.classes, self.image_size)
    }
}

/// The datasets robbench prepares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DatasetName {
    /// Generated from `dataset.seed`; reads no files.
    Synthetic,
    Cifar10,
    Cifar100,
    #[serde(rename = "imagenet16-120")]
    Imagenet16_120,
}

impl DatasetName {
    /// The name in configs, tables and unit parameters.
    pub fn as_str(self) -> &'static str {
        match self {
            DatasetName::Synthetic => "synthetic",
            DatasetName::Cifar10 => "cifar10",
            DatasetName::Cifar100 => "cifar100",
            DatasetName::Imagenet16_120 => "imagenet16-120",
        }
    }

    /// (classes, input size); the synthetic dataset's are configured.
    pub fn shape(self, synthetic_classes: usize, synthetic_size: usize) -> (usize, usize) {
        match self {
            DatasetName::Synthetic => (synthetic_classes, synthetic_size),
            DatasetName::Cifar10 => (10, 32),
            DatasetName::Cifar100 => (100, 32),
            DatasetName::Imagenet16_120 => (120, 16),
        }
    }
}

impl std::fmt::Display for DatasetName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ArchitecturesConfig {
    pub select: Selection,
    pub indices: Vec<usize>,
    pub strings: Vec<String>,
    pub sample_size: usize,
    pub sample_seed: u64,
}

impl Default for ArchitecturesConfig {
    fn default() -> Self {
        ArchitecturesConfig {
            select: Selection::Unique,
            indices: vec![],
            strings: vec![],
            sample_size: 0,
            sample_seed: 0,
        }
    }
}

/// Which NAS-Bench-201 cells an experiment uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Selection {
    /// `architectures.indices`.
    Indices,
    /// `architectures.strings`.
    Strings,
    /// The 6,466 isomorphism-class representatives.
    Unique,
    /// `architectures.sample_size` of those, drawn with `architectures.sample_seed`.
    Sample,
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
    pub corruptions: CorruptionsConfig,
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
            corruptions: CorruptionsConfig::default(),
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
    pub version: AutoAttackVersion,
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
    /// The reference budgets of Croce & Hein's AutoAttack, as
    /// `robbench_attacks::AutoAttackConfig::default` has them (a test in
    /// robbench-stages keeps the two equal; this crate links no tensor code).
    fn default() -> Self {
        AutoAttackConfig {
            eps: vec![8.0],
            version: AutoAttackVersion::Standard,
            samples: 0,
            seed: 0,
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

/// Which attacks AutoAttack runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AutoAttackVersion {
    /// APGD-CE, APGD-T, FAB-T, Square.
    Standard,
    /// APGD-CE and APGD-DLR with EOT, for randomized classifiers.
    Rand,
}

impl AutoAttackVersion {
    /// Fewest classes the version's targeted and DLR losses need.
    fn min_classes(self) -> usize {
        match self {
            AutoAttackVersion::Standard => 4,
            AutoAttackVersion::Rand => 3,
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

/// Common-corruption accuracy (CIFAR-10-C's corruptions and parameters,
/// Hendrycks & Dietterich 2019): each trained network classifies the first
/// `samples` test images under every corruption × severity.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CorruptionsConfig {
    /// `[]` turns the evaluation off.
    pub names: Vec<Corruption>,
    /// Each 1 (mildest) to 5.
    pub severities: Vec<u64>,
    /// The first N evaluated images (0 = all of `evaluation.samples`).
    pub samples: usize,
    /// Seed of the random corruptions (noise, glass blur, snow, spatter, ...).
    pub seed: u64,
}

impl Default for CorruptionsConfig {
    /// RobustBench's corruption accuracy: the 15 standard corruptions at every severity.
    fn default() -> Self {
        CorruptionsConfig { names: Corruption::STANDARD.to_vec(), severities: vec![1, 2, 3, 4, 5], samples: 0, seed: 0 }
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
    /// Training health: after this fraction of the epochs, a network whose
    /// clean training accuracy never exceeds chance (1/classes) by more than
    /// `chance_margin` is flagged `training-at-chance`.
    pub chance_after: f64,
    pub chance_margin: f64,
}

impl Default for ChecksConfig {
    fn default() -> Self {
        ChecksConfig {
            sweep_max_accuracy: 0.0,
            tolerance: 0.02,
            square_max_gain: 0.0,
            chance_after: 0.5,
            chance_margin: 0.05,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NtkConfig {
    pub enabled: bool,
    /// Kernel size: the first `samples` images of the prepared train split.
    pub samples: usize,
    /// `init` (the training seed's initialisation) and/or `trained`.
    pub weights: Vec<NtkWeights>,
    /// `sum` (sum of logits), `label` (each sample's label logit) or `per-logit`.
    pub output: NtkOutputKind,
    /// The attack A_ε applied to the network itself: `fgsm` or `pgd`.
    pub attack: NtkAttack,
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
            weights: vec![NtkWeights::Init],
            output: NtkOutputKind::Sum,
            attack: NtkAttack::Pgd,
            eps: 8.0,
            steps: 10,
            step_size: 2.0,
            betas: vec![0.0, 0.25, 0.5, 0.75, 1.0],
            bn_calibration: 256,
        }
    }
}

/// Which weights an NTK unit differentiates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NtkWeights {
    /// The training seed's initialisation.
    Init,
    /// The trained checkpoint.
    Trained,
}

impl NtkWeights {
    pub fn as_str(self) -> &'static str {
        match self {
            NtkWeights::Init => "init",
            NtkWeights::Trained => "trained",
        }
    }
}

/// Which scalar(s) of the network output the NTK differentiates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NtkOutputKind {
    /// The sum of the logits.
    Sum,
    /// Each sample's label logit.
    Label,
    /// Every logit (a kernel of size samples × classes).
    PerLogit,
}

/// The attack A_ε an NTK unit applies to the network itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NtkAttack {
    Fgsm,
    Pgd,
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
    pub reference_dataset: ReleasedDataset,
    /// NAS-Bench-Suite-Zero proxy scores (CSV) for `reference_dataset`, added
    /// as scores `zero-cost:<proxy>` for the same architectures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zero_cost: Option<Input>,
}

impl Default for AnalysisConfig {
    fn default() -> Self {
        AnalysisConfig {
            reference: None,
            reference_ops: None,
            reference_dataset: ReleasedDataset::Cifar10,
            zero_cost: None,
        }
    }
}

/// The datasets NAS-RobBench-201 and NAS-Bench-Suite-Zero released results for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReleasedDataset {
    Cifar10,
    Cifar100,
    #[serde(rename = "imagenet16-120")]
    Imagenet16_120,
}

impl ReleasedDataset {
    /// The name the released files use.
    pub fn as_str(self) -> &'static str {
        match self {
            ReleasedDataset::Cifar10 => "cifar10",
            ReleasedDataset::Cifar100 => "cifar100",
            ReleasedDataset::Imagenet16_120 => "imagenet16-120",
        }
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

impl Experiment {
    /// Checks values serde cannot: ranges, orderings, files, combinations.
    /// Every refusal names its key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.validate_dataset()?;
        self.validate_architectures()?;
        positive("model.channels", self.model.channels)?;
        positive("model.cells", self.model.cells)?;
        self.validate_train()?;
        self.validate_evaluation()?;
        self.validate_checks()?;
        self.validate_ntk()?;
        let b = &self.bound;
        if !(b.delta > 0.0 && b.delta < 1.0) {
            return Err(invalid("bound.delta", "must be in (0, 1)"));
        }
        if !(b.depth_factor > 0.0 && b.depth_factor.is_finite()) {
            return Err(invalid("bound.depth_factor", "must be a positive number"));
        }
        let a = &self.analysis;
        for (key, input) in [
            ("analysis.reference", &a.reference),
            ("analysis.reference_ops", &a.reference_ops),
            ("analysis.zero_cost", &a.zero_cost),
        ] {
            if let Some(Input::File(path)) = input
                && !path.is_file()
            {
                return Err(invalid(key, &format!("{} is not a file", path.display())));
            }
        }
        if a.reference_ops.is_some() && a.reference.is_none() {
            return Err(invalid("analysis.reference_ops", "is the ops file of analysis.reference, which is not set"));
        }
        Ok(())
    }

    fn validate_dataset(&self) -> Result<(), ConfigError> {
        let d = &self.dataset;
        if d.name == DatasetName::Synthetic {
            if !d.root.is_empty() {
                return Err(invalid(
                    "dataset.root",
                    "the synthetic dataset is generated and reads no files: leave it empty",
                ));
            }
            if ![16, 32].contains(&d.image_size) {
                return Err(invalid("dataset.image_size", "must be 16 or 32"));
            }
            if !(2..=1000).contains(&d.classes) {
                return Err(invalid("dataset.classes", "must be between 2 and 1000"));
            }
            positive("dataset.train_size", d.train_size).map_err(|_| {
                invalid("dataset.train_size", "the synthetic dataset needs an explicit size (at least 1)")
            })?;
            positive("dataset.test_size", d.test_size).map_err(|_| {
                invalid("dataset.test_size", "the synthetic dataset needs an explicit size (at least 1)")
            })?;
            return Ok(());
        }
        if d.root.is_empty() {
            return Err(invalid("dataset.root", &format!("dataset `{}` needs the directory of its files", d.name)));
        }
        robbench_data::check_files(d.name.as_str(), Path::new(&d.root))
            .map_err(|e| invalid("dataset.root", &e.to_string()))?;
        // A subset smaller than the class count is legitimate (one image each of the first classes).
        Ok(())
    }

    fn validate_architectures(&self) -> Result<(), ConfigError> {
        let a = &self.architectures;
        if let Some(bad) = a.indices.iter().find(|&&i| i >= 15_625) {
            return Err(invalid("architectures.indices", &format!("{bad} is not a NAS-Bench-201 index (0..15624)")));
        }
        match a.select {
            Selection::Indices if a.indices.is_empty() => return Err(invalid("architectures.indices", "is empty")),
            Selection::Strings if a.strings.is_empty() => return Err(invalid("architectures.strings", "is empty")),
            Selection::Sample if !(1..=6466).contains(&a.sample_size) => {
                return Err(invalid("architectures.sample_size", "must be between 1 and 6466"));
            }
            _ => {}
        }
        for s in &a.strings {
            s.parse::<robbench_space::Arch>().map_err(|e| invalid("architectures.strings", &e.to_string()))?;
        }
        Ok(())
    }

    fn validate_train(&self) -> Result<(), ConfigError> {
        let t = &self.train;
        if t.seeds.is_empty() {
            return Err(invalid("train.seeds", "is empty"));
        }
        if let Some(seed) = duplicate(&t.seeds) {
            return Err(invalid("train.seeds", &format!("seed {seed} appears twice")));
        }
        positive("train.epochs", t.epochs)?;
        positive("train.batch_size", t.batch_size)?;
        if !(t.max_lr > 0.0 && t.max_lr.is_finite()) {
            return Err(invalid("train.max_lr", "must be a positive number"));
        }
        if !(t.weight_decay >= 0.0 && t.weight_decay.is_finite()) {
            return Err(invalid("train.weight_decay", "must be a non-negative number"));
        }
        check_eps("train.attack.eps", &[t.attack.eps])?;
        if t.attack.steps > 0 && !(t.attack.step_size > 0.0 && t.attack.step_size <= 255.0) {
            return Err(invalid("train.attack.step_size", "must be in (0, 255] (units of 1/255)"));
        }
        Ok(())
    }

    fn validate_evaluation(&self) -> Result<(), ConfigError> {
        let e = &self.evaluation;
        positive("evaluation.batch_size", e.batch_size)?;
        check_eps("evaluation.fgsm.eps", &e.fgsm.eps)?;
        check_eps("evaluation.pgd.eps", &e.pgd.eps)?;
        positive("evaluation.pgd.steps", e.pgd.steps)?;
        positive("evaluation.pgd.restarts", e.pgd.restarts)?;
        if !(e.pgd.step_size >= 0.0 && e.pgd.step_size <= 255.0) {
            return Err(invalid("evaluation.pgd.step_size", "must be in [0, 255] (units of 1/255; 0 = 2.5*eps/steps)"));
        }
        let a = &e.autoattack;
        check_eps("evaluation.autoattack.eps", &a.eps)?;
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
            positive(key, value)?;
        }
        if !(a.square_p_init > 0.0 && a.square_p_init <= 1.0) {
            return Err(invalid("evaluation.autoattack.square_p_init", "must be in (0, 1]"));
        }
        let classes = self.dataset.shape().0;
        if !a.eps.is_empty() {
            let needed = a.version.min_classes();
            if classes < needed {
                return Err(invalid(
                    "evaluation.autoattack.version",
                    &format!("{:?} needs at least {needed} classes, the dataset has {classes}", a.version),
                ));
            }
        }
        check_eps("evaluation.sweep.eps", &e.sweep.eps)?;
        self.validate_corruptions()
    }

    fn validate_corruptions(&self) -> Result<(), ConfigError> {
        let c = &self.evaluation.corruptions;
        for &level in &c.severities {
            robbench_corruptions::Severity::new(i64::try_from(level).unwrap_or(i64::MAX))
                .map_err(|e| invalid("evaluation.corruptions.severities", &e.to_string()))?;
        }
        if c.severities.windows(2).any(|w| w[0] >= w[1]) {
            return Err(invalid("evaluation.corruptions.severities", "must increase, without repeats"));
        }
        if let Some(name) = duplicate(&c.names) {
            return Err(invalid("evaluation.corruptions.names", &format!("`{name}` is listed twice")));
        }
        if !c.names.is_empty() && c.severities.is_empty() {
            return Err(invalid("evaluation.corruptions.severities", "is empty while corruptions are named"));
        }
        let side = self.dataset.shape().1;
        for &name in &c.names {
            robbench_corruptions::check_size(name, side, side)
                .map_err(|e| invalid("evaluation.corruptions.names", &e.to_string()))?;
        }
        Ok(())
    }

    fn validate_checks(&self) -> Result<(), ConfigError> {
        let c = &self.checks;
        for (key, value) in [
            ("checks.sweep_max_accuracy", c.sweep_max_accuracy),
            ("checks.tolerance", c.tolerance),
            ("checks.square_max_gain", c.square_max_gain),
            ("checks.chance_margin", c.chance_margin),
        ] {
            if !(0.0..=1.0).contains(&value) {
                return Err(invalid(key, "must be a fraction in [0, 1]"));
            }
        }
        if !(c.chance_after > 0.0 && c.chance_after <= 1.0) {
            return Err(invalid("checks.chance_after", "must be a fraction of the epochs in (0, 1]"));
        }
        Ok(())
    }

    fn validate_ntk(&self) -> Result<(), ConfigError> {
        let k = &self.ntk;
        if !k.enabled {
            return Ok(());
        }
        if k.samples < 2 {
            return Err(invalid("ntk.samples", "must be at least 2"));
        }
        if k.weights.is_empty() {
            return Err(invalid("ntk.weights", "is empty (set ntk.enabled = false to compute no kernels)"));
        }
        if let Some(w) = duplicate(&k.weights) {
            return Err(invalid("ntk.weights", &format!("`{}` appears twice", w.as_str())));
        }
        if !self.train.enabled && k.weights.contains(&NtkWeights::Trained) {
            return Err(invalid("ntk.weights", "`trained` needs train.enabled = true"));
        }
        check_eps("ntk.eps", &[k.eps])?;
        if k.attack == NtkAttack::Pgd {
            positive("ntk.steps", k.steps)?;
            if !(k.step_size > 0.0 && k.step_size <= 255.0) {
                return Err(invalid("ntk.step_size", "must be in (0, 255] (units of 1/255)"));
            }
        }
        if let Some(b) = k.betas.iter().find(|b| !(0.0..=1.0).contains(*b)) {
            return Err(invalid("ntk.betas", &format!("{b} is outside [0, 1]")));
        }
        if let Some(pair) = k.betas.windows(2).find(|w| w[0] >= w[1]) {
            return Err(invalid(
                "ntk.betas",
                &format!("must be increasing, without repeats: {} then {}", pair[0], pair[1]),
            ));
        }
        if k.bn_calibration == 1 {
            return Err(invalid(
                "ntk.bn_calibration",
                "must be 0 (off) or at least 2 images: one image has no batch variance",
            ));
        }
        Ok(())
    }
}

/// Refuses 0 for a count that must be at least 1.
fn positive<T: PartialOrd + Default + Copy>(key: &str, value: T) -> Result<(), ConfigError> {
    if value > T::default() { Ok(()) } else { Err(invalid(key, "must be at least 1")) }
}

/// The first value that appears twice.
fn duplicate<T: PartialEq>(values: &[T]) -> Option<&T> {
    values.iter().enumerate().find(|(i, v)| values[..*i].contains(v)).map(|(_, v)| v)
}

/// An ε grid: each in [0, 255] (units of 1/255), increasing, without repeats.
fn check_eps(key: &str, eps: &[f64]) -> Result<(), ConfigError> {
    if let Some(bad) = eps.iter().find(|e| !(**e >= 0.0 && **e <= 255.0)) {
        return Err(invalid(key, &format!("{bad} is outside 0..=255 (units of 1/255)")));
    }
    if let Some(pair) = eps.windows(2).find(|w| w[0] >= w[1]) {
        return Err(invalid(key, &format!("must be increasing, without repeats: {} then {}", pair[0], pair[1])));
    }
    Ok(())
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
