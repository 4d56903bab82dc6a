//! Table definitions. Column docs are what `robbench tables` and docs/src/reference/tables.md show.
//!
//! Conventions: indices and counts are Int64, so joins need no casts; `eps` is
//! in units of 1/255; accuracies are fractions in [0, 1]; `dataset` uses the
//! names `synthetic`, `cifar10`, `cifar100`, `imagenet16-120`.

use arrow::datatypes::{DataType, Field};

use crate::{Column, TableDef};

macro_rules! col {
    ($name:literal, $ty:expr, $doc:literal) => {
        Column { name: $name, data_type: || $ty, nullable: false, doc: $doc }
    };
    ($name:literal, $ty:expr, nullable, $doc:literal) => {
        Column { name: $name, data_type: || $ty, nullable: true, doc: $doc }
    };
}

use DataType::{Binary, Boolean, Float64, Int64, Utf8};

fn float_list() -> DataType {
    DataType::List(std::sync::Arc::new(Field::new("item", Float64, false)))
}

const ARCH_INDEX: Column = col!("arch_index", Int64, "NAS-Bench-201 index (0..15624)");
const DATASET: Column = col!("dataset", Utf8, "dataset name");
const SEED: Column = col!("seed", Int64, "training/initialisation seed");

pub static RUNS: TableDef = TableDef {
    name: "runs",
    version: 1,
    doc: "Every unit of every run the store has seen (built from the run records).",
    columns: &[
        col!("run_id", Utf8, "run identifier; sorts in time order"),
        col!("stage", Utf8, "stage name"),
        col!("unit", Utf8, "unit key (blake3, hex)"),
        col!("label", Utf8, "human-readable unit description"),
        col!("status", Utf8, "executed | reused | failed | skipped"),
        col!("seconds", Float64, "wall time of this run's work on the unit"),
        col!("error", Utf8, nullable, "why the unit failed"),
    ],
};

pub static ARCHITECTURES: TableDef = TableDef {
    name: "architectures",
    version: 1,
    doc: "The selected architectures with their cost at the configured skeleton.",
    columns: &[
        ARCH_INDEX,
        col!("arch", Utf8, "NAS-Bench-201 cell string"),
        col!("unique_index", Int64, "index of the isomorphism-class representative"),
        col!("channels", Int64, "C, channels of the first stage"),
        col!("cells", Int64, "N, cells per stage"),
        col!("classes", Int64, "classifier outputs"),
        col!("input_size", Int64, "input height = width"),
        col!("params", Int64, "trainable parameters"),
        col!("flops", Float64, "millions of multiply-accumulates per image"),
    ],
};

pub static DATASETS: TableDef = TableDef {
    name: "datasets",
    version: 1,
    doc: "One row per dataset split: size, shape and normalisation constants.",
    columns: &[
        DATASET,
        col!("split", Utf8, "train | test"),
        col!("n_samples", Int64, "images in the split"),
        col!("classes", Int64, "number of classes"),
        col!("channels", Int64, "image channels"),
        col!("height", Int64, "image height"),
        col!("width", Int64, "image width"),
        col!(
            "mean",
            float_list(),
            "per-channel mean of this split's pixels in [0,1] (the model normalises with the train row)"
        ),
        col!("std", float_list(), "per-channel population standard deviation of this split's pixels in [0,1]"),
    ],
};

pub static SAMPLES: TableDef = TableDef {
    name: "samples",
    version: 1,
    doc: "The prepared images, one row each.",
    columns: &[
        DATASET,
        col!("split", Utf8, "train | test"),
        col!("sample_index", Int64, "position in the prepared split"),
        col!("label", Int64, "class, 0-based"),
        col!("image", Binary, "uint8 pixels in CHW order"),
        col!("height", Int64, "image height"),
        col!("width", Int64, "image width"),
        col!("channels", Int64, "image channels"),
    ],
};

pub static TRAINING: TableDef = TableDef {
    name: "training",
    version: 2,
    doc: "Per-epoch adversarial-training log.",
    columns: &[
        ARCH_INDEX,
        DATASET,
        SEED,
        col!("epoch", Int64, "1-based epoch"),
        col!("lr", Float64, "learning rate at the end of the epoch"),
        col!("loss", Float64, "mean training loss (on adversarial examples)"),
        col!("train_clean_acc", Float64, "accuracy on the clean training batches"),
        col!("train_adv_acc", Float64, "accuracy on the PGD training examples"),
    ],
};

pub static MODELS: TableDef = TableDef {
    name: "models",
    version: 1,
    doc: "Trained checkpoints (safetensors, PyTorch state_dict names).",
    columns: &[
        ARCH_INDEX,
        DATASET,
        SEED,
        col!("checkpoint", Utf8, "path of the safetensors file, relative to the store"),
        col!("params", Int64, "trainable parameters"),
    ],
};

pub static EVALUATIONS: TableDef = TableDef {
    name: "evaluations",
    version: 1,
    doc: "Clean and robust accuracy of each trained network under each attack.",
    columns: &[
        ARCH_INDEX,
        DATASET,
        SEED,
        col!(
            "attack",
            Utf8,
            "clean | fgsm | pgd | autoattack, its components apgd-ce | apgd-t | fab-t | square (rand: apgd-ce | apgd-dlr), each the accuracy left after it in AutoAttack's cascade | pgd-sweep (the gradient-masking eps sweep)"
        ),
        col!("eps", Float64, "L-inf radius in units of 1/255 (0 for clean)"),
        col!(
            "steps",
            Int64,
            "attack iterations (0 for clean, 1 for FGSM, queries for Square, APGD iterations for autoattack)"
        ),
        col!("n_samples", Int64, "test images attacked"),
        col!("n_correct", Int64, "images still classified correctly"),
        col!("accuracy", Float64, "n_correct / n_samples"),
    ],
};

pub static EVALUATION_SAMPLES: TableDef = TableDef {
    name: "evaluation_samples",
    version: 1,
    doc: "Per-image outcome of every attack, for worst-case-over-attacks queries.",
    columns: &[
        ARCH_INDEX,
        DATASET,
        SEED,
        col!("sample_index", Int64, "index into the test split of `samples`"),
        col!("attack", Utf8, "attack name as in `evaluations`"),
        col!("eps", Float64, "L-inf radius in units of 1/255"),
        col!("correct", Boolean, "still classified correctly"),
    ],
};

pub static CORRUPTION_EVALUATIONS: TableDef = TableDef {
    name: "corruption_evaluations",
    version: 1,
    doc: "Accuracy of each trained network on the test images under each common corruption of CIFAR-10-C (Hendrycks & Dietterich, ICLR 2019; make_cifar_c.py's parameters) and severity. The mean over the 15 standard corruptions × 5 severities is RobustBench's corruption accuracy.",
    columns: &[
        ARCH_INDEX,
        DATASET,
        SEED,
        col!(
            "corruption",
            Utf8,
            "gaussian_noise | shot_noise | impulse_noise | defocus_blur | glass_blur | motion_blur | zoom_blur | snow | frost | fog | brightness | contrast | elastic_transform | pixelate | jpeg_compression, or an extra: speckle_noise | gaussian_blur | spatter | saturate"
        ),
        col!("family", Utf8, "noise | blur | weather | digital"),
        col!("standard", Boolean, "one of the 15 standard corruptions (false: an extra)"),
        col!("severity", Int64, "1 (mildest) to 5"),
        col!("n_samples", Int64, "test images corrupted and classified"),
        col!("n_correct", Int64, "images classified correctly"),
        col!("accuracy", Float64, "n_correct / n_samples"),
        col!("loss", Float64, "mean cross-entropy"),
        col!("confidence", Float64, "mean softmax probability of the predicted class"),
    ],
};

pub static CORRUPTION_SAMPLES: TableDef = TableDef {
    name: "corruption_samples",
    version: 1,
    doc: "Per-image outcome under every corruption and severity, as `evaluation_samples` has it for attacks.",
    columns: &[
        ARCH_INDEX,
        DATASET,
        SEED,
        col!("sample_index", Int64, "index into the test split of `samples`"),
        col!("corruption", Utf8, "corruption name as in `corruption_evaluations`"),
        col!("severity", Int64, "1 to 5"),
        col!("predicted", Int64, "predicted class"),
        col!("correct", Boolean, "classified correctly"),
    ],
};

pub static ALERTS: TableDef = TableDef {
    name: "alerts",
    version: 1,
    doc: "Signs of gradient masking, unsound evaluations or failed training, one row per sign per trained network (none: no sign found).",
    columns: &[
        ARCH_INDEX,
        DATASET,
        SEED,
        col!(
            "kind",
            Utf8,
            "sweep-not-zero | sweep-not-monotone | fgsm-beats-pgd | square-beats-white-box | pgd-beats-autoattack | training-at-chance"
        ),
        col!("detail", Utf8, "the numbers behind it"),
    ],
};

pub static NTK: TableDef = TableDef {
    name: "ntk",
    version: 1,
    doc: "Spectral summaries of the empirical NTKs of each network.",
    columns: &[
        ARCH_INDEX,
        DATASET,
        SEED,
        col!("weights", Utf8, "init | trained"),
        col!("kernel", Utf8, "clean K | robust K~ | all K_all(beta) | robust_all K~_all(beta)"),
        col!("beta", Float64, "robust weight of the mixed kernels all / robust_all (0 for clean, robust)"),
        col!("n_samples", Int64, "kernel size"),
        col!("lambda_min", Float64, "smallest eigenvalue"),
        col!("lambda_max", Float64, "largest eigenvalue"),
        col!("trace", Float64, "trace"),
        col!("condition", Float64, "lambda_max / lambda_min"),
    ],
};

pub static BOUNDS: TableDef = TableDef {
    name: "bounds",
    version: 1,
    doc: "NTK generalization-bound terms (Cao & Gu form) for the clean and robust error of multi-objective adversarial training.",
    columns: &[
        ARCH_INDEX,
        DATASET,
        SEED,
        col!("weights", Utf8, "init | trained"),
        col!("beta", Float64, "robust weight of the objective (1-beta)*clean + beta*robust"),
        col!("n_samples", Int64, "samples in the kernel"),
        col!("clean_quadratic", Float64, "y^T K_all^-1 y (mean over one-vs-rest encodings)"),
        col!("robust_quadratic", Float64, "y^T K~_all^-1 y"),
        col!("clean_lambda_min", Float64, "lambda_min(K_all)"),
        col!("robust_lambda_min", Float64, "lambda_min(K~_all)"),
        col!("clean_complexity", Float64, "sqrt(y^T K_all^-1 y / n)"),
        col!("robust_complexity", Float64, "sqrt(y^T K~_all^-1 y / n)"),
        col!("confidence_term", Float64, "sqrt(log(1/delta) / n)"),
        col!("clean_bound", Float64, "depth_factor * clean_complexity + confidence_term"),
        col!("robust_bound", Float64, "depth_factor * robust_complexity + confidence_term"),
        col!(
            "clean_lambda_bound",
            Float64,
            "the same with sqrt(|y|^2 / (n lambda_min(K_all))) (infinite if lambda_min <= 0)"
        ),
        col!("robust_lambda_bound", Float64, "the same with lambda_min(K~_all)"),
        col!("jitter", Float64, "largest diagonal jitter needed to factor a kernel (0 = none)"),
    ],
};

pub static CORRELATIONS: TableDef = TableDef {
    name: "correlations",
    version: 1,
    doc: "Rank agreement of every ranking score with every measured metric, over the architectures both cover (values averaged over seeds first): a training-free score against an accuracy, or one accuracy against another (an import's metrics pairwise; a run's clean and adversarial accuracies against its corruption accuracies).",
    columns: &[
        col!("source", Utf8, "robbench (this run) or an imported benchmark"),
        col!(
            "score",
            Utf8,
            "the ranking score: training-free (ntk.trained.robust_all.lambda_min@beta=0.5, bound.…, zero-cost:…) or an accuracy (clean, pgd@8, autoattack@8, …)"
        ),
        col!(
            "metric",
            Utf8,
            "the measured metric, e.g. pgd@8, nas-robbench-201/cifar10:pgd@8, or a corruption accuracy: corruption:fog@5 (one corruption at one severity), corruption:weather (a family's mean: noise | blur | weather | digital), corruption:mean (mean over every evaluated corruption × severity), corruption:robustbench (mean over exactly the 15 standard corruptions × severities 1-5: RobustBench's)"
        ),
        DATASET,
        col!("n", Int64, "architectures compared"),
        col!("kendall_tau", Float64, nullable, "Kendall tau-b"),
        col!("spearman", Float64, nullable, "Spearman rho"),
        col!("pearson", Float64, nullable, "Pearson r"),
    ],
};

pub static BENCHMARK: TableDef = TableDef {
    name: "benchmark",
    version: 1,
    doc: "Published benchmark results imported with `robbench import`.",
    columns: &[
        col!("source", Utf8, "nasrobbench201 | robustness-dataset | nas-bench-201"),
        ARCH_INDEX,
        col!("arch", Utf8, "NAS-Bench-201 cell string"),
        DATASET,
        col!(
            "metric",
            Utf8,
            "clean | fgsm | pgd | autoattack | apgd-ce | square | ... | corruption:<name>@<severity> (robustness-dataset's CIFAR-10-C accuracies, e.g. corruption:fog@5)"
        ),
        col!("eps", Float64, nullable, "L-inf radius in units of 1/255"),
        col!("seed", Int64, nullable, "seed; null for a mean over seeds"),
        col!("value", Float64, "the value; accuracies as fractions"),
    ],
};

const ALGORITHM: Column =
    col!("algorithm", Utf8, "random | regularized-evolution | local-search | gp-bayesopt | warm-start-evolution");
const OBJECTIVE: Column = col!(
    "objective",
    Utf8,
    "what is maximised: a metric (pgd@8), weighted(clean,pgd@8,beta=0.5), or pareto(clean,pgd@8)"
);
const SEARCH_SOURCE: Column = col!(
    "source",
    Utf8,
    "the oracle: a `benchmark` source (e.g. nas-robbench-201), evaluations, or live:<recipe hash> (the pipeline trained each query)"
);
const TRIAL: Column = col!("trial", Int64, "trial number (seeds the search)");

pub static SEARCH_STEPS: TableDef = TableDef {
    name: "search_steps",
    version: 1,
    doc: "Every query of every search, tabular or live: one row per architecture class evaluated for the first time (an architecture isomorphic to one already evaluated is no new query).",
    columns: &[
        ALGORITHM,
        OBJECTIVE,
        SEARCH_SOURCE,
        DATASET,
        TRIAL,
        col!("step", Int64, "1-based query count"),
        col!("arch_index", Int64, "the class representative evaluated"),
        col!("arch", Utf8, "its cell string"),
        col!("value", Float64, "its objective value (two objectives: the first)"),
        col!("value2", Float64, nullable, "its second objective value (two-objective searches only)"),
        col!("best_so_far", Float64, "best value so far (two objectives: hypervolume of the front so far)"),
        col!(
            "regret",
            Float64,
            "optimum of the table (live: the best any trial of the same search measured) minus best_so_far (two objectives: hypervolume gap)"
        ),
        col!(
            "cost",
            Float64,
            "simulated GPU-hours spent so far (live: measured hours of the units the queries needed)"
        ),
    ],
};

pub static SEARCH_RESULTS: TableDef = TableDef {
    name: "search_results",
    version: 1,
    doc: "Outcome of every search trial: the best architecture found, the Pareto front, and the table's optimum (live: the best the search measured).",
    columns: &[
        ALGORITHM,
        OBJECTIVE,
        SEARCH_SOURCE,
        DATASET,
        TRIAL,
        col!(
            "role",
            Utf8,
            "final (best found; two objectives: the front's hypervolume) | optimum (the table's best; two objectives: its front's hypervolume) | front (a member of the front found) | optimum-front (a member of the table's front)"
        ),
        col!("arch_index", Int64, nullable, "the architecture (class representative); null for hypervolume rows"),
        col!("arch", Utf8, nullable, "its cell string"),
        col!("value", Float64, "objective value (two objectives: the first, or the hypervolume in final/optimum rows)"),
        col!("value2", Float64, nullable, "second objective value (front rows)"),
        col!("queries", Int64, "queries the trial made"),
        col!("cost", Float64, "simulated GPU-hours the trial spent (live: measured hours)"),
        col!("regret", Float64, "the trial's final regret"),
    ],
};

pub(crate) static ALL_TABLES: &[&TableDef] = &[
    &RUNS,
    &ARCHITECTURES,
    &DATASETS,
    &SAMPLES,
    &TRAINING,
    &MODELS,
    &EVALUATIONS,
    &EVALUATION_SAMPLES,
    &CORRUPTION_EVALUATIONS,
    &CORRUPTION_SAMPLES,
    &ALERTS,
    &NTK,
    &BOUNDS,
    &CORRELATIONS,
    &BENCHMARK,
    &SEARCH_STEPS,
    &SEARCH_RESULTS,
];
