//! Every config key as data: its type, the values [`Experiment::validate`]
//! accepts, and what it means.
//!
//! `robbench reference` renders this table as `docs/src/reference/config.md`,
//! adding what the code knows by itself: each key's value in
//! `configs/default.toml` and in [`Experiment::default`] (what a file that
//! omits the key gets), the names a choice accepts (from the serde enum), and
//! which stages read it (the `config_keys` of the units they plan).
//! `tests/reference_docs.rs` checks that the table names every key the
//! config has and no other, that each declared type matches the defaults, and
//! probes every range and list rule against the validation: a value just
//! outside is refused naming the key, the bounds themselves are accepted.
//!
//! [`Experiment::validate`]: super::Experiment::validate
//! [`Experiment::default`]: super::Experiment

use robbench_corruptions::Corruption;

use super::{AutoAttackVersion, DatasetName, NtkAttack, NtkOutputKind, NtkWeights, ReleasedDataset, Selection};
pub use crate::reads::variants;

/// One config key.
pub struct KeyDoc {
    /// Dotted path, e.g. `evaluation.pgd.steps`.
    pub key: &'static str,
    pub kind: Kind,
    /// What validation refuses, beyond the type.
    pub rules: &'static [Rule],
    /// What the key means (Markdown).
    pub doc: &'static str,
    /// For a key that may stay unset (absent from both defaults): `--set`
    /// assignments that give it a value the validation accepts.
    pub example: &'static [&'static str],
}

/// A key's type, as TOML writes it.
pub enum Kind {
    Bool,
    /// An integer ≥ 0.
    Unsigned,
    Integer,
    Float,
    String,
    /// One of the names of a serde enum.
    Choice(fn() -> &'static [&'static str]),
    /// A file path, or `shipped:<name>` for a copy inside the binary.
    Input,
    List(&'static Kind),
}

impl Kind {
    /// Whether values are TOML integers.
    pub fn is_integer(&self) -> bool {
        matches!(self, Kind::Unsigned | Kind::Integer)
    }
}

/// A check validation makes on a key, and when it applies.
pub struct Rule {
    pub check: Check,
    /// When the check applies, in words (Markdown); empty: always.
    pub when: &'static str,
    /// `--set` assignments that make it apply, for the tests' probes.
    pub setup: &'static [&'static str],
}

/// What a rule refuses.
pub enum Check {
    /// A number between `min` and `max` (`f64::INFINITY`: no upper bound).
    Range { min: f64, min_inclusive: bool, max: f64, max_inclusive: bool },
    /// One of these numbers.
    OneOf(&'static [f64]),
    /// 0, or at least this.
    ZeroOrAtLeast(f64),
    /// A list whose every element lies in [`min`, `max`], increasing without
    /// repeats when `increasing`.
    Each { min: f64, max: f64, increasing: bool },
    /// A list that is not empty.
    NonEmpty,
    /// A list without repeats.
    Distinct,
    /// A check that is no range (files, combinations of keys), in words.
    Text(&'static str),
}

const fn always(check: Check) -> Rule {
    Rule { check, when: "", setup: &[] }
}

const fn at_least(min: f64) -> Rule {
    always(Check::Range { min, min_inclusive: true, max: f64::INFINITY, max_inclusive: false })
}

const fn positive() -> Rule {
    always(Check::Range { min: 0.0, min_inclusive: false, max: f64::INFINITY, max_inclusive: false })
}

const fn closed(min: f64, max: f64) -> Check {
    Check::Range { min, min_inclusive: true, max, max_inclusive: true }
}

const fn open_closed(min: f64, max: f64) -> Check {
    Check::Range { min, min_inclusive: false, max, max_inclusive: true }
}

const fn eps_grid() -> Rule {
    always(Check::Each { min: 0.0, max: 255.0, increasing: true })
}

const COUNT: &[Rule] = &[at_least(1.0)];
const FRACTION: &[Rule] = &[always(closed(0.0, 1.0))];
const SYNTHETIC: &str = "`dataset.name = \"synthetic\"`";
const SET_SYNTHETIC: &[&str] = &["dataset.name=\"synthetic\"", "dataset.root=\"\""];
const NTK_PGD: &str = "`ntk.enabled` and `ntk.attack = \"pgd\"`";
const SET_NTK_PGD: &[&str] = &["ntk.enabled=true", "ntk.attack=\"pgd\""];
const NTK_ON: &str = "`ntk.enabled`";
const SET_NTK_ON: &[&str] = &["ntk.enabled=true"];

/// Every key of the experiment config, in the order of `configs/default.toml`.
pub static KEYS: &[KeyDoc] = &[
    // [dataset]
    KeyDoc {
        key: "dataset.name",
        kind: Kind::Choice(variants::<DatasetName>),
        rules: &[],
        doc: "The dataset to prepare; `synthetic` is generated from `dataset.seed` and reads no files.",
        example: &[],
    },
    KeyDoc {
        key: "dataset.root",
        kind: Kind::String,
        rules: &[always(Check::Text(
            "empty for `synthetic`; otherwise the directory of the dataset's files, which are checked before anything runs",
        ))],
        doc: "Directory of the official files: `cifar-10-batches-bin/`, `cifar-100-binary/`, or the ImageNet16 pickles (`train_data_batch_1..10`, `val_data`; classes 1..120 kept).",
        example: &[],
    },
    KeyDoc {
        key: "dataset.seed",
        kind: Kind::Unsigned,
        rules: &[],
        doc: "Generator seed of the synthetic dataset, and the seed of the class-balanced subsets.",
        example: &[],
    },
    KeyDoc {
        key: "dataset.classes",
        kind: Kind::Unsigned,
        rules: &[Rule { check: closed(2.0, 1000.0), when: SYNTHETIC, setup: SET_SYNTHETIC }],
        doc: "Synthetic only: number of classes (the real datasets have their own).",
        example: &[],
    },
    KeyDoc {
        key: "dataset.image_size",
        kind: Kind::Unsigned,
        rules: &[Rule { check: Check::OneOf(&[16.0, 32.0]), when: SYNTHETIC, setup: SET_SYNTHETIC }],
        doc: "Synthetic only: image side in pixels.",
        example: &[],
    },
    KeyDoc {
        key: "dataset.train_size",
        kind: Kind::Unsigned,
        rules: &[Rule { check: closed(1.0, f64::INFINITY), when: SYNTHETIC, setup: SET_SYNTHETIC }],
        doc: "Class-balanced subset of the train split (0 = the whole split; the synthetic set needs a size).",
        example: &[],
    },
    KeyDoc {
        key: "dataset.test_size",
        kind: Kind::Unsigned,
        rules: &[Rule { check: closed(1.0, f64::INFINITY), when: SYNTHETIC, setup: SET_SYNTHETIC }],
        doc: "Class-balanced subset of the test split (0 = the whole split; the synthetic set needs a size).",
        example: &[],
    },
    // [architectures]
    KeyDoc {
        key: "architectures.select",
        kind: Kind::Choice(variants::<Selection>),
        rules: &[],
        doc: "Which NAS-Bench-201 cells: `indices`, `strings`, `unique` (the 6,466 isomorphism-class representatives) or `sample` (a seeded sample of those).",
        example: &[],
    },
    KeyDoc {
        key: "architectures.indices",
        kind: Kind::List(&Kind::Unsigned),
        rules: &[
            always(Check::Each { min: 0.0, max: 15624.0, increasing: false }),
            Rule {
                check: Check::NonEmpty,
                when: "`architectures.select = \"indices\"`",
                setup: &["architectures.select=\"indices\""],
            },
        ],
        doc: "NAS-Bench-201 indices (with `select = \"indices\"`).",
        example: &[],
    },
    KeyDoc {
        key: "architectures.strings",
        kind: Kind::List(&Kind::String),
        rules: &[
            always(Check::Text(
                "each a NAS-Bench-201 cell string, e.g. `|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|`",
            )),
            Rule {
                check: Check::NonEmpty,
                when: "`architectures.select = \"strings\"`",
                setup: &["architectures.select=\"strings\""],
            },
        ],
        doc: "Cell strings (with `select = \"strings\"`).",
        example: &[],
    },
    KeyDoc {
        key: "architectures.sample_size",
        kind: Kind::Unsigned,
        rules: &[Rule {
            check: closed(1.0, 6466.0),
            when: "`architectures.select = \"sample\"`",
            setup: &["architectures.select=\"sample\""],
        }],
        doc: "How many isomorphism-class representatives to sample (with `select = \"sample\"`).",
        example: &[],
    },
    KeyDoc {
        key: "architectures.sample_seed",
        kind: Kind::Unsigned,
        rules: &[],
        doc: "Seed of that sample.",
        example: &[],
    },
    // [model]
    KeyDoc {
        key: "model.channels",
        kind: Kind::Integer,
        rules: COUNT,
        doc: "C, the channels of the first stage of the TinyNetwork skeleton (NAS-Bench-201: 16).",
        example: &[],
    },
    KeyDoc {
        key: "model.cells",
        kind: Kind::Integer,
        rules: COUNT,
        doc: "N, the cells per stage (NAS-Bench-201: 5).",
        example: &[],
    },
    // [train]
    KeyDoc {
        key: "train.enabled",
        kind: Kind::Bool,
        rules: &[],
        doc: "`false` for training-free studies (NTK at initialisation only).",
        example: &[],
    },
    KeyDoc {
        key: "train.seeds",
        kind: Kind::List(&Kind::Unsigned),
        rules: &[always(Check::NonEmpty), always(Check::Distinct)],
        doc: "One training unit per seed (and the initialisation seed of the NTK units).",
        example: &[],
    },
    KeyDoc {
        key: "train.epochs",
        kind: Kind::Unsigned,
        rules: COUNT,
        doc: "Training epochs (NAS-RobBench-201: 50).",
        example: &[],
    },
    KeyDoc {
        key: "train.batch_size",
        kind: Kind::Unsigned,
        rules: COUNT,
        doc: "Training batch size (NAS-RobBench-201: 256).",
        example: &[],
    },
    KeyDoc {
        key: "train.max_lr",
        kind: Kind::Float,
        rules: &[positive()],
        doc: "Peak of PyTorch's `OneCycleLR` (cosine, 30% warm-up, div 25, final div 1e4, momentum cycled 0.95→0.85→0.95).",
        example: &[],
    },
    KeyDoc {
        key: "train.weight_decay",
        kind: Kind::Float,
        rules: &[at_least(0.0)],
        doc: "SGD weight decay (all parameters).",
        example: &[],
    },
    KeyDoc {
        key: "train.augment",
        kind: Kind::Bool,
        rules: &[],
        doc: "Random crop (zero padding 4, or 2 at 16×16) and horizontal flip.",
        example: &[],
    },
    KeyDoc {
        key: "train.attack.eps",
        kind: Kind::Float,
        rules: &[always(closed(0.0, 255.0))],
        doc: "ε of the PGD that makes the training examples (network in eval mode), in units of 1/255 (NAS-RobBench-201: 8).",
        example: &[],
    },
    KeyDoc {
        key: "train.attack.step_size",
        kind: Kind::Float,
        rules: &[Rule {
            check: open_closed(0.0, 255.0),
            when: "`train.attack.steps` ≥ 1",
            setup: &["train.attack.steps=1"],
        }],
        doc: "Its step, in units of 1/255 (NAS-RobBench-201: 2).",
        example: &[],
    },
    KeyDoc {
        key: "train.attack.steps",
        kind: Kind::Unsigned,
        rules: &[],
        doc: "Its iterations (NAS-RobBench-201: 7); 0 trains on the clean images.",
        example: &[],
    },
    KeyDoc {
        key: "train.attack.random_start",
        kind: Kind::Bool,
        rules: &[],
        doc: "Start from a uniform point in the ε-ball.",
        example: &[],
    },
    // [evaluation]
    KeyDoc {
        key: "evaluation.samples",
        kind: Kind::Unsigned,
        rules: &[],
        doc: "The first N images of the prepared test split (0 = all).",
        example: &[],
    },
    KeyDoc {
        key: "evaluation.batch_size",
        kind: Kind::Unsigned,
        rules: COUNT,
        doc: "Images per attack batch.",
        example: &[],
    },
    KeyDoc {
        key: "evaluation.clean.enabled",
        kind: Kind::Bool,
        rules: &[],
        doc: "Evaluate the clean accuracy.",
        example: &[],
    },
    KeyDoc {
        key: "evaluation.fgsm.eps",
        kind: Kind::List(&Kind::Float),
        rules: &[eps_grid()],
        doc: "FGSM radii, in units of 1/255 (one unit each; `[]` = no FGSM).",
        example: &[],
    },
    KeyDoc {
        key: "evaluation.pgd.eps",
        kind: Kind::List(&Kind::Float),
        rules: &[eps_grid()],
        doc: "PGD radii, in units of 1/255 (one unit each; `[]` = no PGD).",
        example: &[],
    },
    KeyDoc { key: "evaluation.pgd.steps", kind: Kind::Unsigned, rules: COUNT, doc: "PGD iterations.", example: &[] },
    KeyDoc {
        key: "evaluation.pgd.step_size",
        kind: Kind::Float,
        rules: &[always(closed(0.0, 255.0))],
        doc: "PGD step in units of 1/255; 0 = 2.5·ε/steps (NAS-RobBench-201).",
        example: &[],
    },
    KeyDoc {
        key: "evaluation.pgd.restarts",
        kind: Kind::Unsigned,
        rules: COUNT,
        doc: "Random restarts; a point counts as robust only if it survives all.",
        example: &[],
    },
    KeyDoc {
        key: "evaluation.pgd.random_start",
        kind: Kind::Bool,
        rules: &[],
        doc: "Start from a uniform point in the ε-ball.",
        example: &[],
    },
    KeyDoc {
        key: "evaluation.autoattack.eps",
        kind: Kind::List(&Kind::Float),
        rules: &[eps_grid()],
        doc: "AutoAttack radii, in units of 1/255 (`[]` = no AutoAttack).",
        example: &[],
    },
    KeyDoc {
        key: "evaluation.autoattack.version",
        kind: Kind::Choice(variants::<AutoAttackVersion>),
        rules: &[always(Check::Text(
            "`standard` needs at least 4 classes, `rand` 3 (when `evaluation.autoattack.eps` is not empty)",
        ))],
        doc: "`standard`: APGD-CE → APGD-T → FAB-T → Square; `rand` (randomized defences): APGD-CE → APGD-DLR, both with EOT.",
        example: &[],
    },
    KeyDoc {
        key: "evaluation.autoattack.samples",
        kind: Kind::Unsigned,
        rules: &[],
        doc: "The first N evaluated images (0 = all of `evaluation.samples`).",
        example: &[],
    },
    KeyDoc {
        key: "evaluation.autoattack.seed",
        kind: Kind::Unsigned,
        rules: &[],
        doc: "Shifts every component's randomness (per batch; 0 = the stream derived from the training seed).",
        example: &[],
    },
    KeyDoc {
        key: "evaluation.autoattack.apgd_steps",
        kind: Kind::Unsigned,
        rules: COUNT,
        doc: "APGD-CE / APGD-T / APGD-DLR iterations.",
        example: &[],
    },
    KeyDoc {
        key: "evaluation.autoattack.apgd_restarts",
        kind: Kind::Unsigned,
        rules: COUNT,
        doc: "APGD restarts (per target for APGD-T).",
        example: &[],
    },
    KeyDoc {
        key: "evaluation.autoattack.target_classes",
        kind: Kind::Unsigned,
        rules: COUNT,
        doc: "Targets of APGD-T and FAB-T: the 2nd, 3rd, … most likely classes (at most classes − 1 are used).",
        example: &[],
    },
    KeyDoc {
        key: "evaluation.autoattack.fab_steps",
        kind: Kind::Unsigned,
        rules: COUNT,
        doc: "FAB-T iterations.",
        example: &[],
    },
    KeyDoc {
        key: "evaluation.autoattack.fab_restarts",
        kind: Kind::Unsigned,
        rules: COUNT,
        doc: "FAB-T restarts per target.",
        example: &[],
    },
    KeyDoc {
        key: "evaluation.autoattack.square_queries",
        kind: Kind::Unsigned,
        rules: COUNT,
        doc: "Square's query budget.",
        example: &[],
    },
    KeyDoc {
        key: "evaluation.autoattack.square_restarts",
        kind: Kind::Unsigned,
        rules: COUNT,
        doc: "Square's restarts.",
        example: &[],
    },
    KeyDoc {
        key: "evaluation.autoattack.square_p_init",
        kind: Kind::Float,
        rules: &[always(open_closed(0.0, 1.0))],
        doc: "Square's initial fraction of pixels changed.",
        example: &[],
    },
    KeyDoc {
        key: "evaluation.autoattack.eot_iter",
        kind: Kind::Unsigned,
        rules: COUNT,
        doc: "`rand` only: gradient draws averaged per APGD step (expectation over transformation).",
        example: &[],
    },
    KeyDoc {
        key: "evaluation.sweep.eps",
        kind: Kind::List(&Kind::Float),
        rules: &[eps_grid()],
        doc: "Radii of the gradient-masking ε sweep of PGD (attack `pgd-sweep`), as the NAS-RobBench-201 authors ran it; its accuracy must fall to 0 (`[]` = no sweep).",
        example: &[],
    },
    KeyDoc {
        key: "evaluation.sweep.samples",
        kind: Kind::Unsigned,
        rules: &[],
        doc: "The first N evaluated images (0 = all of `evaluation.samples`).",
        example: &[],
    },
    KeyDoc {
        key: "evaluation.sweep.steps",
        kind: Kind::Unsigned,
        rules: COUNT,
        doc: "PGD iterations of the sweep (step 2.5·ε/steps, random start).",
        example: &[],
    },
    // [evaluation.corruptions]
    KeyDoc {
        key: "evaluation.corruptions.names",
        kind: Kind::List(&Kind::Choice(variants::<Corruption>)),
        rules: &[
            always(Check::Distinct),
            always(Check::Text("each must handle the dataset's image size (all do at 32×32 and 16×16)")),
        ],
        doc: "Common corruptions of CIFAR-10-C (Hendrycks & Dietterich 2019; `make_cifar_c.py`'s parameters, scaled at 16×16) each trained network is evaluated under (`corruption_evaluations`); the built-in default is the 15 standard ones, RobustBench's corruption accuracy (`[]` = none).",
        example: &[],
    },
    KeyDoc {
        key: "evaluation.corruptions.severities",
        kind: Kind::List(&Kind::Unsigned),
        rules: &[always(Check::Each { min: 1.0, max: 5.0, increasing: true })],
        doc: "Severities of every corruption, 1 (mildest) to 5.",
        example: &[],
    },
    KeyDoc {
        key: "evaluation.corruptions.samples",
        kind: Kind::Unsigned,
        rules: &[],
        doc: "The first N evaluated images (0 = all of `evaluation.samples`).",
        example: &[],
    },
    KeyDoc {
        key: "evaluation.corruptions.seed",
        kind: Kind::Unsigned,
        rules: &[],
        doc: "Seed of the random corruptions: each corrupted image is a function of (image, corruption, severity, seed) only.",
        example: &[],
    },
    // [checks]
    KeyDoc {
        key: "checks.sweep_max_accuracy",
        kind: Kind::Float,
        rules: FRACTION,
        doc: "PGD accuracy tolerated at the sweep's largest ε before `sweep-not-zero` is raised.",
        example: &[],
    },
    KeyDoc {
        key: "checks.tolerance",
        kind: Kind::Float,
        rules: FRACTION,
        doc: "Slack before \"a larger ε or a stronger attack did better\" is flagged (`sweep-not-monotone`, `fgsm-beats-pgd`, `pgd-beats-autoattack`).",
        example: &[],
    },
    KeyDoc {
        key: "checks.square_max_gain",
        kind: Kind::Float,
        rules: FRACTION,
        doc: "Fraction of points Square may break after every white-box attack failed on them, before `square-beats-white-box`.",
        example: &[],
    },
    KeyDoc {
        key: "checks.chance_after",
        kind: Kind::Float,
        rules: &[always(open_closed(0.0, 1.0))],
        doc: "Training health: the fraction of the epochs after which clean training accuracy must exceed chance (1/classes) by more than `checks.chance_margin`, else `training-at-chance`.",
        example: &[],
    },
    KeyDoc {
        key: "checks.chance_margin",
        kind: Kind::Float,
        rules: FRACTION,
        doc: "That margin above chance.",
        example: &[],
    },
    // [ntk]
    KeyDoc {
        key: "ntk.enabled",
        kind: Kind::Bool,
        rules: &[],
        doc: "Compute the empirical NTKs (and their bounds and correlations).",
        example: &[],
    },
    KeyDoc {
        key: "ntk.samples",
        kind: Kind::Unsigned,
        rules: &[Rule { check: closed(2.0, f64::INFINITY), when: NTK_ON, setup: SET_NTK_ON }],
        doc: "Kernel size: the first N images of the prepared train split.",
        example: &[],
    },
    KeyDoc {
        key: "ntk.weights",
        kind: Kind::List(&Kind::Choice(variants::<NtkWeights>)),
        rules: &[
            Rule { check: Check::NonEmpty, when: NTK_ON, setup: SET_NTK_ON },
            Rule { check: Check::Distinct, when: NTK_ON, setup: SET_NTK_ON },
            Rule { check: Check::Text("`trained` needs `train.enabled = true`"), when: NTK_ON, setup: SET_NTK_ON },
        ],
        doc: "`init` (the training seed's initialisation; needs no training) and/or `trained` (the trained checkpoint).",
        example: &[],
    },
    KeyDoc {
        key: "ntk.output",
        kind: Kind::Choice(variants::<NtkOutputKind>),
        rules: &[],
        doc: "What the kernel differentiates: the `sum` of the logits, each sample's `label` logit, or every logit (`per-logit`: a kernel of samples × classes).",
        example: &[],
    },
    KeyDoc {
        key: "ntk.attack",
        kind: Kind::Choice(variants::<NtkAttack>),
        rules: &[],
        doc: "The attack A applied to the network itself, for x̃ = A(x) and A(A(x)).",
        example: &[],
    },
    KeyDoc {
        key: "ntk.eps",
        kind: Kind::Float,
        rules: &[Rule { check: closed(0.0, 255.0), when: NTK_ON, setup: SET_NTK_ON }],
        doc: "Its ε, in units of 1/255.",
        example: &[],
    },
    KeyDoc {
        key: "ntk.steps",
        kind: Kind::Unsigned,
        rules: &[Rule { check: closed(1.0, f64::INFINITY), when: NTK_PGD, setup: SET_NTK_PGD }],
        doc: "Its iterations (PGD).",
        example: &[],
    },
    KeyDoc {
        key: "ntk.step_size",
        kind: Kind::Float,
        rules: &[Rule { check: open_closed(0.0, 255.0), when: NTK_PGD, setup: SET_NTK_PGD }],
        doc: "Its step, in units of 1/255 (PGD).",
        example: &[],
    },
    KeyDoc {
        key: "ntk.betas",
        kind: Kind::List(&Kind::Float),
        rules: &[Rule { check: Check::Each { min: 0.0, max: 1.0, increasing: true }, when: NTK_ON, setup: SET_NTK_ON }],
        doc: "β of the mixtures K_all(β) and K̃_all(β).",
        example: &[],
    },
    KeyDoc {
        key: "ntk.bn_calibration",
        kind: Kind::Unsigned,
        rules: &[Rule { check: Check::ZeroOrAtLeast(2.0), when: NTK_ON, setup: SET_NTK_ON }],
        doc: "Initialised networks: BN running statistics are set (train-mode pass, momentum 1) from the first N training images; 0 keeps the fresh ones (BN is the identity in eval mode).",
        example: &[],
    },
    // [bound]
    KeyDoc {
        key: "bound.delta",
        kind: Kind::Float,
        rules: &[always(Check::Range { min: 0.0, min_inclusive: false, max: 1.0, max_inclusive: false })],
        doc: "δ of the confidence term √(log(1/δ)/n).",
        example: &[],
    },
    KeyDoc {
        key: "bound.depth_factor",
        kind: Kind::Float,
        rules: &[positive()],
        doc: "Factor of the complexity term (Cao & Gu: Õ(L) for depth L).",
        example: &[],
    },
    // [analysis]
    KeyDoc {
        key: "analysis.reference",
        kind: Kind::Input,
        rules: &[always(Check::Text("an existing file, or `shipped:<name>`"))],
        doc: "The released NAS-RobBench-201 table (the project page's JSON, e.g. `shipped:nas-robbench-201/NAS-RobBench-201_html.json`); when set, every score is also correlated with its accuracies.",
        example: &["analysis.reference=\"shipped:nas-robbench-201/NAS-RobBench-201_html.json\""],
    },
    KeyDoc {
        key: "analysis.reference_ops",
        kind: Kind::Input,
        rules: &[always(Check::Text("an existing file, or `shipped:<name>`; needs `analysis.reference`"))],
        doc: "Its `ops.json`, for cell strings (optional).",
        example: &[
            "analysis.reference=\"shipped:nas-robbench-201/NAS-RobBench-201_html.json\"",
            "analysis.reference_ops=\"shipped:nas-robbench-201/ops.json\"",
        ],
    },
    KeyDoc {
        key: "analysis.reference_dataset",
        kind: Kind::Choice(variants::<ReleasedDataset>),
        rules: &[],
        doc: "Which of the released datasets to compare with.",
        example: &[],
    },
    KeyDoc {
        key: "analysis.zero_cost",
        kind: Kind::Input,
        rules: &[always(Check::Text("an existing file, or `shipped:<name>`"))],
        doc: "NAS-Bench-Suite-Zero proxy scores (CSV) for `analysis.reference_dataset`, added as scores `zero-cost:<proxy>` of the same architectures.",
        example: &["analysis.zero_cost=\"shipped:zero-cost/nb201_cifar10_zc_proxies.csv\""],
    },
];

/// The documentation of `key`, if it is a config key.
pub fn by_key(key: &str) -> Option<&'static KeyDoc> {
    KEYS.iter().find(|k| k.key == key)
}
