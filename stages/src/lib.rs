//! The robbench pipeline stages, in order:
//!
//! | stage | one unit per | reads | emits |
//! |---|---|---|---|
//! | `prepare` | dataset | `[dataset]` | `samples`, `datasets` |
//! | `architectures` | experiment | `[model]`, dataset shape | `architectures` |
//! | `train` | architecture × seed | `[model]`, `[train]` | `training`, `models`, checkpoint |
//! | `evaluate` | trained model × attack × ε | `[evaluation.*]` | `evaluations`, `evaluation_samples` |
//! | `corrupt` | trained model | `[evaluation.corruptions]` | `corruption_evaluations`, `corruption_samples` |
//! | `checks` | trained model | `[checks]` | `alerts` |
//! | `ntk` | architecture × seed × weights | `[ntk]`, `[model]` | `ntk`, the kernel matrices |
//! | `bound` | NTK unit | `[bound]`, `ntk.betas` | `bounds` |
//! | `analysis` | experiment | — | `correlations` |
//!
//! `robbench search` runs a pipeline of its own ([`search`]): tabular
//! architecture search on `benchmark` or `evaluations`, into `search_steps`
//! and `search_results`; a live search ([`live_search`]) runs this pipeline
//! for each batch of proposals and records its trials the same way.
//!
//! Each stage declares the config keys each unit reads, so changing e.g.
//! `evaluation.pgd.steps` reruns only the PGD evaluations.

mod analysis;
mod bound;
mod checks;
mod corrupt;
mod data;
mod evaluate;
pub mod import;
pub mod live_search;
mod ntk;
mod prepare;
pub mod report;
pub mod search;
pub mod search_keys;
pub mod svg;
pub mod train;

use robbench_experiment::{reads, select};
use robbench_pipeline::Pipeline;

pub use robbench_experiment::{config, planner};

pub use checks::training_warnings;
pub use config::{DEFAULT_CONFIG, Experiment, ExperimentSchema};
pub use evaluate::{AutoAttackTiming, benchmark_autoattack};
pub use ntk::{KernelMethod, time_kernels, time_unit};
pub use robbench_experiment::select::select_architectures;

/// The robbench pipeline, running its tensor work on `device`; it plans as
/// [`planner`] does.
pub fn pipeline(device: tch::Device) -> anyhow::Result<Pipeline> {
    Pipeline::new(
        Box::new(ExperimentSchema),
        vec![
            Box::new(prepare::Prepare),
            Box::new(select::Architectures),
            Box::new(train::Train { device }),
            Box::new(evaluate::Evaluate { device }),
            Box::new(corrupt::Corrupt { device }),
            Box::new(checks::Checks),
            Box::new(ntk::Ntk { device }),
            Box::new(bound::Bound),
            Box::new(analysis::Analysis),
        ],
    )
}
