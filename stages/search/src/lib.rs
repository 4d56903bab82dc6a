//! Neural architecture search over a tabular oracle on the NAS-Bench-201 space.
//!
//! The oracle ([`Oracle`]) gives, for each isomorphism class of cells, the
//! objective's components (one value, or two for weighted and two-objective
//! searches) and the cost of training one network of that class: a [`Table`]
//! of known values (simulated cost), or the pipeline training and attacking
//! each proposed architecture (measured cost).
//! A search proposes *cells*, but what it queries is the cell's class: two
//! isomorphic cells compute the same function, so a cell equivalent to one
//! already evaluated is answered from what the search already knows, at no
//! cost and without counting as a query. Budgets, steps and regret are all
//! counted in distinct classes. Algorithms therefore never spend a query on a
//! known class: mutation and neighbourhoods only ever propose new classes.
//!
//! Algorithms ([`Algorithm`]): random search; regularized evolution (Real et
//! al., 2019); local search with best improvement and random restarts (White
//! et al., 2020); Bayesian optimisation with a Gaussian process over the path
//! encoding; and a training-free warm start that ranks a random sample by a
//! free score (NTK, zero-cost proxy) and hands the best to evolution.

mod algorithms;
mod cost;
mod encoding;
mod gp;
mod moves;
mod objective;
mod oracle;
mod pareto;
mod rows;
mod table;

pub use algorithms::{Algorithm, Budget, Exploration, Optimum, Settings, Step, Trace, Visit, explore, search};
pub use cost::CostModel;
pub use encoding::path_encoding;
pub use gp::GaussianProcess;
pub use moves::{mutate, neighbours};
pub use objective::Objective;
pub use oracle::Oracle;
pub use pareto::{hypervolume, pareto_front};
pub use rows::{TraceNames, trace_batches};
pub use table::{Entry, Table};

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error(transparent)]
    Space(#[from] robbench_space::SpaceError),
    #[error("table row for cell {cell}: {reason}")]
    BadRow { cell: usize, reason: String },
    #[error("the table is empty")]
    EmptyTable,
    #[error("objective `{objective}` needs {needed} value(s) per architecture, the table holds {held}")]
    Arity { objective: String, needed: usize, held: usize },
    #[error("{0}")]
    BadSettings(String),
    #[error("warm start needs a training-free score, but no architecture of the oracle has one")]
    NoScores,
    /// An oracle that measures architectures failed to.
    #[error(transparent)]
    Oracle(Box<dyn std::error::Error + Send + Sync>),
}
