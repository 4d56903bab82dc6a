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
    /// its value; a two-objective search ranks by λ·v̂₀ + (1−λ)·v̂₁ with `lambda`
    /// drawn afresh for each decision (ParEGO-style), so successive decisions
    /// pull towards different parts of the front. v̂ is v rescaled to [0, 1]
    /// over `ranges` (the values seen so far): objectives on different scales
    /// (accuracy and MFLOPs) then both count.
    pub fn guide(self, values: &[f64], lambda: f64, ranges: &[(f64, f64); 2]) -> f64 {
        match self.scalar(values) {
            Some(v) => v,
            None => {
                let unit = |v: f64, (lo, hi): (f64, f64)| if hi > lo { (v - lo) / (hi - lo) } else { 0.0 };
                lambda * unit(values[0], ranges[0]) + (1.0 - lambda) * unit(values[1], ranges[1])
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_objective_guidance_rescales_each_objective() {
        // Accuracy in [0.4, 0.5], MFLOPs (negated) in [-200, -10].
        let ranges = [(0.4, 0.5), (-200.0, -10.0)];
        let accurate = [0.5, -200.0];
        let small = [0.4, -10.0];
        let g = |v: &[f64], l| Objective::Pareto.guide(v, l, &ranges);
        let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
        assert!(close(g(&accurate, 0.7), 0.7) && close(g(&small, 0.7), 0.3));
        assert!(g(&accurate, 0.6) > g(&small, 0.6) && g(&accurate, 0.4) < g(&small, 0.4));
        // Scalar objectives ignore λ and the ranges.
        assert!(close(Objective::Weighted { beta: 0.25 }.guide(&[0.8, 0.4], 0.9, &ranges), 0.7));
    }
}
