//! What a search maximises.

use serde::{Deserialize, Serialize};

/// How the table's values of an architecture become what a search maximises.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Objective {
    /// One measured metric (one value per architecture).
    Single,
    /// NAS-RobBench-201's multi-objective target (1−β)·clean + β·robust over
    /// `[clean, robust]`.
    Weighted { beta: f64 },
    /// Both of two values, maximised jointly: the result is a Pareto front.
    Pareto,
}

impl Objective {
    /// Values per architecture the objective needs.
    pub fn arity(self) -> usize {
        match self {
            Objective::Single => 1,
            Objective::Weighted { .. } | Objective::Pareto => 2,
        }
    }

    /// The scalar value of an architecture; `None` for a two-objective search.
    pub fn scalar(self, values: &[f64]) -> Option<f64> {
        match self {
            Objective::Single => Some(values[0]),
            Objective::Weighted { beta } => Some((1.0 - beta) * values[0] + beta * values[1]),
            Objective::Pareto => None,
        }
    }

    /// What an algorithm ranks by at one decision. A scalar objective ranks by
    /// its value; a two-objective search ranks by λ·v₀ + (1−λ)·v₁ with `lambda`
    /// drawn afresh for each decision (ParEGO-style), so successive decisions
    /// pull towards different parts of the front.
    pub fn guide(self, values: &[f64], lambda: f64) -> f64 {
        match self.scalar(values) {
            Some(v) => v,
            None => lambda * values[0] + (1.0 - lambda) * values[1],
        }
    }
}
