//! A search's trace as rows of the `search_steps` and `search_results`
//! tables (robbench-schemas), for the pipeline's search units and the Python
//! package alike.

use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow::error::ArrowError;
use robbench_schemas::{SEARCH_RESULTS, SEARCH_STEPS};
use robbench_space::Space;

#[cfg(doc)]
use crate::Algorithm;
use crate::{Objective, Optimum, Trace};

/// What the rows of one trace are labelled with.
#[derive(Clone, Debug, PartialEq)]
pub struct TraceNames {
    /// An [`Algorithm`]'s name, or a method of the user's (Python's `Oracle`).
    pub algorithm: String,
    /// The objective's name in the tables (`pgd@8`, `weighted(clean,pgd@8,beta=0.5)`, …).
    pub objective: String,
    /// The oracle: a benchmark source, `evaluations`, or `live`.
    pub source: String,
    pub dataset: String,
    pub trial: u64,
}

fn arch_string(class: usize) -> String {
    Space::nb201().archs()[class].to_string()
}

/// The trace's `search_steps` and `search_results` rows.
pub fn trace_batches(p: &TraceNames, trace: &Trace) -> Result<(RecordBatch, RecordBatch), ArrowError> {
    let objective = &p.objective;
    let constant = |n: usize, s: &str| -> ArrayRef { Arc::new(StringArray::from(vec![s; n])) };
    let n = trace.steps.len();
    let steps = SEARCH_STEPS.batch(vec![
        constant(n, &p.algorithm),
        constant(n, objective),
        constant(n, &p.source),
        constant(n, &p.dataset),
        Arc::new(Int64Array::from(vec![p.trial as i64; n])),
        Arc::new(Int64Array::from_iter_values(trace.steps.iter().map(|s| s.step as i64))),
        Arc::new(Int64Array::from_iter_values(trace.steps.iter().map(|s| s.class as i64))),
        Arc::new(StringArray::from_iter_values(trace.steps.iter().map(|s| arch_string(s.class)))),
        Arc::new(Float64Array::from_iter_values(
            trace.steps.iter().map(|s| trace.objective.scalar(&s.values).unwrap_or(s.values[0])),
        )),
        Arc::new(Float64Array::from_iter(
            trace.steps.iter().map(|s| (trace.objective == Objective::Pareto).then(|| s.values[1])),
        )),
        Arc::new(Float64Array::from_iter_values(trace.steps.iter().map(|s| s.best_so_far))),
        Arc::new(Float64Array::from_iter_values(trace.steps.iter().map(|s| s.regret))),
        Arc::new(Float64Array::from_iter_values(trace.steps.iter().map(|s| s.cost))),
    ])?;

    // (role, arch, value, value2)
    let mut rows: Vec<(&str, Option<usize>, f64, Option<f64>)> = Vec::new();
    let last = trace.steps.last();
    match &trace.optimum {
        Optimum::Scalar { class, value } => {
            if let Some(best) = trace.best() {
                rows.push(("final", Some(best.class), trace.objective.scalar(&best.values).expect("scalar"), None));
            }
            rows.push(("optimum", Some(*class), *value, None));
        }
        Optimum::Front { front, hypervolume } => {
            rows.push(("final", None, last.map_or(0.0, |s| s.best_so_far), None));
            rows.push(("optimum", None, *hypervolume, None));
            rows.extend(trace.front().into_iter().map(|(c, [a, b])| ("front", Some(c), a, Some(b))));
            rows.extend(front.iter().map(|&(c, [a, b])| ("optimum-front", Some(c), a, Some(b))));
        }
    }
    let m = rows.len();
    let results = SEARCH_RESULTS.batch(vec![
        constant(m, &p.algorithm),
        constant(m, objective),
        constant(m, &p.source),
        constant(m, &p.dataset),
        Arc::new(Int64Array::from(vec![p.trial as i64; m])),
        Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.0))),
        Arc::new(Int64Array::from_iter(rows.iter().map(|r| r.1.map(|c| c as i64)))),
        Arc::new(StringArray::from_iter(rows.iter().map(|r| r.1.map(arch_string)))),
        Arc::new(Float64Array::from_iter_values(rows.iter().map(|r| r.2))),
        Arc::new(Float64Array::from_iter(rows.iter().map(|r| r.3))),
        Arc::new(Int64Array::from(vec![n as i64; m])),
        Arc::new(Float64Array::from(vec![last.map_or(0.0, |s| s.cost); m])),
        Arc::new(Float64Array::from(vec![trace.final_regret().unwrap_or(trace.optimum.value()); m])),
    ])?;
    Ok((steps, results))
}
