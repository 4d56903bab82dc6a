//! Search from Python: `robbench.Oracle`, a benchmark as the oracle of a NAS
//! method (queries and simulated cost counted, trajectory recorded), and
//! `robbench.search`, the built-in algorithms of robbench-search on the same
//! oracle, so a new method and the built-in ones compare on equal budgets.
//! Both count queries as `robbench search` does: in distinct isomorphism
//! classes, and both report rows of the `search_steps` table.

use std::collections::HashSet;

use arrow::compute::concat_batches;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyString, PyTuple};
use robbench_search::{
    Algorithm, Budget, CostModel, Objective, Optimum, Settings, Step, Table as SearchTable, Trace, TraceNames,
    hypervolume, pareto_front,
};
use robbench_space::Space;

use crate::bench::{NasRobBench201, ObjectiveRows, arch_index};
use crate::store::closest;
use crate::table::Table;
use crate::{Kind, error, guard};

/// An objective as Python names it: one metric, or two (weighted with
/// `beta`, else a Pareto pair).
struct ObjectiveSpec {
    metrics: Vec<String>,
    objective: Objective,
    name: String,
}

fn objective_spec(objective: &Bound<'_, PyAny>, beta: Option<f64>) -> PyResult<ObjectiveSpec> {
    if let Ok(metric) = objective.cast::<PyString>() {
        if beta.is_some() {
            return Err(error(Kind::NotFound, "beta weights two metrics: pass objective=(clean, robust)"));
        }
        let metric = metric.to_str()?.to_string();
        return Ok(ObjectiveSpec { name: metric.clone(), metrics: vec![metric], objective: Objective::Single });
    }
    let pair: Vec<String> = if objective.is_instance_of::<PyTuple>() || objective.is_instance_of::<PyList>() {
        objective.extract()?
    } else {
        Vec::new()
    };
    let [first, second] = pair.as_slice() else {
        return Err(pyo3::exceptions::PyTypeError::new_err(
            "objective is a metric name, or a pair of them: (clean, robust) with beta= for (1-beta)*clean + \
             beta*robust, without beta for their Pareto front",
        ));
    };
    Ok(match beta {
        Some(beta) if (0.0..=1.0).contains(&beta) => ObjectiveSpec {
            name: format!("weighted({first},{second},beta={beta})"),
            metrics: pair.clone(),
            objective: Objective::Weighted { beta },
        },
        Some(beta) => return Err(error(Kind::NotFound, format!("beta {beta} is outside [0, 1]"))),
        None => ObjectiveSpec {
            name: format!("pareto({first},{second})"),
            metrics: pair.clone(),
            objective: Objective::Pareto,
        },
    })
}

fn search_error(e: robbench_search::SearchError) -> PyErr {
    error(Kind::Error, e.to_string())
}

/// The oracle's table and its optimum.
fn oracle_table(rows: ObjectiveRows, spec: &ObjectiveSpec, reference: [f64; 2]) -> PyResult<(SearchTable, Optimum)> {
    if rows.rows.is_empty() {
        return Err(error(
            Kind::NotFound,
            format!("no architecture has every metric of `{}` on {}", spec.name, rows.dataset),
        ));
    }
    let table = SearchTable::from_rows(rows.rows).map_err(search_error)?;
    let optimum = Optimum::of(table.entries().map(|(c, e)| (c, e.values.as_slice())), spec.objective, reference)
        .ok_or_else(|| search_error(robbench_search::SearchError::EmptyTable))?;
    Ok((table, optimum))
}

/// A benchmark as the oracle of a NAS method.
///
/// ``query(arch)`` answers the objective of an architecture (an index or a
/// cell string): a float for one metric or a weighted pair, a tuple for a
/// Pareto pair. Each new isomorphism class is one query and costs its
/// simulated training time (GPU-hours of NAS-RobBench-201's recipe from the
/// cell's FLOPs, as ``robbench search``); asking again for a class already
/// queried (or an isomorphic cell) is free. ``trajectory()`` returns the
/// queries as ``search_steps`` rows, with regret against the benchmark's
/// optimum, comparable row for row with ``robbench.search``.
///
/// >>> import robbench
/// >>> bench = robbench.NasRobBench201()
/// >>> oracle = robbench.Oracle(bench, "cifar10", "val_pgd_8.0_acc", name="my-method")
/// >>> round(oracle.query(2581), 4), oracle.queries
/// (0.4811, 1)
/// >>> oracle.regret
/// 0.0
#[pyclass(module = "robbench", name = "Oracle")]
pub struct Oracle {
    names: TraceNames,
    objective: Objective,
    reference: [f64; 2],
    table: SearchTable,
    optimum: Optimum,
    steps: Vec<Step>,
    seen: HashSet<usize>,
    calls: u64,
    cost: f64,
    budget: Option<usize>,
}

#[pymethods]
impl Oracle {
    /// An oracle over ``bench`` on ``dataset`` for ``objective`` (a metric
    /// name, or a pair: weighted with ``beta``, else Pareto with hypervolume
    /// above ``reference``), at ``seed`` (default as ``get_result``).
    /// ``budget`` caps the distinct queries (one past it raises
    /// ``robbench.Error``). ``name`` labels the trajectory's ``algorithm``
    /// column.
    #[new]
    #[pyo3(signature = (bench, dataset, objective, *, beta=None, seed=None, budget=None, reference=(0.0, 0.0), name="user"))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        bench: PyRef<'_, NasRobBench201>,
        dataset: &str,
        objective: &Bound<'_, PyAny>,
        beta: Option<f64>,
        seed: Option<&Bound<'_, PyAny>>,
        budget: Option<usize>,
        reference: (f64, f64),
        name: &str,
    ) -> PyResult<Oracle> {
        guard(|| {
            let spec = objective_spec(objective, beta)?;
            let reference = [reference.0, reference.1];
            let rows = bench.objective_rows(dataset, &spec.metrics, seed, &CostModel::default())?;
            let names = TraceNames {
                algorithm: name.to_string(),
                objective: spec.name.clone(),
                source: rows.source.clone(),
                dataset: rows.dataset.clone(),
                trial: 0,
            };
            let (table, optimum) = oracle_table(rows, &spec, reference)?;
            Ok(Oracle {
                names,
                objective: spec.objective,
                reference,
                table,
                optimum,
                steps: Vec::new(),
                seen: HashSet::new(),
                calls: 0,
                cost: 0.0,
                budget,
            })
        })
    }

    /// The objective of ``arch`` (an index or a cell string).
    fn query<'py>(&mut self, py: Python<'py>, arch: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        guard(|| {
            let index = arch_index(arch)?;
            let class = Space::nb201().unique_index(index).map_err(|e| error(Kind::NotFound, e.to_string()))?;
            let Some(entry) = self.table.get(class).cloned() else {
                return Err(error(
                    Kind::NotFound,
                    format!(
                        "architecture {index} (class {class}) has no value of `{}` on {}",
                        self.names.objective, self.names.dataset
                    ),
                ));
            };
            self.calls += 1;
            if self.seen.insert(class) {
                if self.budget.is_some_and(|b| self.steps.len() >= b) {
                    self.seen.remove(&class);
                    return Err(error(
                        Kind::Error,
                        format!("the oracle's budget of {} queries is spent", self.budget.unwrap_or(0)),
                    ));
                }
                self.cost += entry.cost;
                let best_so_far = match self.objective.scalar(&entry.values) {
                    Some(v) => self.steps.last().map_or(v, |s| s.best_so_far.max(v)),
                    None => {
                        let mut points: Vec<(usize, [f64; 2])> =
                            self.steps.iter().map(|s| (s.class, [s.values[0], s.values[1]])).collect();
                        points.push((class, [entry.values[0], entry.values[1]]));
                        let front: Vec<[f64; 2]> = pareto_front(&points).into_iter().map(|p| p.1).collect();
                        hypervolume(&front, self.reference)
                    }
                };
                self.steps.push(Step {
                    step: self.steps.len() + 1,
                    class,
                    regret: self.optimum.value() - best_so_far,
                    values: entry.values.clone(),
                    best_so_far,
                    cost: self.cost,
                });
            }
            match self.objective.scalar(&entry.values) {
                Some(v) => Ok(v.into_pyobject(py)?.into_any()),
                None => Ok((entry.values[0], entry.values[1]).into_pyobject(py)?.into_any()),
            }
        })
    }

    /// Distinct classes queried so far (what budgets count).
    #[getter]
    fn queries(&self) -> usize {
        self.steps.len()
    }

    /// Every ``query`` call, repeats included.
    #[getter]
    fn calls(&self) -> u64 {
        self.calls
    }

    /// Simulated GPU-hours spent so far.
    #[getter]
    fn cost(&self) -> f64 {
        self.cost
    }

    /// The benchmark's best objective value (Pareto: its front's hypervolume).
    #[getter]
    fn optimum(&self) -> f64 {
        self.optimum.value()
    }

    /// Optimum minus the best found so far (the optimum before any query).
    #[getter]
    fn regret(&self) -> f64 {
        self.steps.last().map_or(self.optimum.value(), |s| s.regret)
    }

    /// The queries so far as ``search_steps`` rows.
    fn trajectory(&self) -> PyResult<Table> {
        guard(|| {
            let trace = Trace {
                steps: self.steps.clone(),
                optimum: self.optimum.clone(),
                objective: self.objective,
                reference: self.reference,
            };
            let (steps, _) =
                robbench_search::trace_batches(&self.names, &trace).map_err(|e| error(Kind::Error, e.to_string()))?;
            Table::from_batch(steps)
        })
    }

    fn __repr__(&self) -> String {
        format!(
            "robbench.Oracle({} on {}/{}: {} queries, {} calls, {:.2} GPU-hours, regret {:.4})",
            self.names.objective,
            self.names.source,
            self.names.dataset,
            self.steps.len(),
            self.calls,
            self.cost,
            self.regret()
        )
    }
}

fn algorithms(algorithm: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<Algorithm>> {
    let names: Vec<String> = match algorithm {
        None => return Ok(Algorithm::ALL.to_vec()),
        Some(a) if a.is_none() => return Ok(Algorithm::ALL.to_vec()),
        Some(a) => match a.extract::<String>() {
            Ok(one) => vec![one],
            Err(_) => a.extract()?,
        },
    };
    let known: Vec<&str> = Algorithm::ALL.iter().map(|a| a.name()).collect();
    names
        .iter()
        .map(|n| {
            Algorithm::ALL.iter().copied().find(|a| a.name() == n).ok_or_else(|| {
                error(
                    Kind::NotFound,
                    format!("unknown algorithm `{n}` ({}algorithms: {})", closest(n, known.clone()), known.join(", ")),
                )
            })
        })
        .collect()
}

/// Runs robbench's search algorithms on ``bench`` (a ``NasRobBench201``,
/// the released benchmark or a run's via ``Store.benchmark``), as
/// ``robbench search`` does on a table: ``algorithm`` is one name or a list
/// (default: all of ``random``, ``regularized-evolution``, ``local-search``,
/// ``gp-bayesopt``, ``warm-start-evolution``); each runs ``trials`` times
/// with seeds ``seed``, ``seed + 1``, …, for ``queries`` distinct classes
/// (or ``gpu_hours`` of simulated cost). Returns every query as
/// ``search_steps`` rows (algorithm, objective, source, dataset, trial,
/// step, arch_index, arch, value, value2, best_so_far, regret, cost).
///
/// The warm start ranks ``warm_pool`` random cells by the shipped
/// NAS-Bench-Suite-Zero proxy ``warm_start`` (cifar10 and imagenet).
///
/// >>> import robbench
/// >>> steps = robbench.search(robbench.NasRobBench201(), "cifar10", "val_pgd_8.0_acc", "random", queries=50)
/// >>> steps.num_rows, steps.column_names[5:8]
/// (50, ['step', 'arch_index', 'arch'])
#[pyfunction]
#[pyo3(signature = (
    bench, dataset, objective, algorithm=None, *, beta=None, queries=150, trials=1, seed=0, gpu_hours=None,
    warm_start="nwot", warm_start_higher_is_better=true, population=20, sample=5, initial=10, candidates=100,
    warm_pool=500, reference=(0.0, 0.0), benchmark_seed=None
))]
#[allow(clippy::too_many_arguments)]
pub fn search(
    py: Python<'_>,
    bench: PyRef<'_, NasRobBench201>,
    dataset: &str,
    objective: &Bound<'_, PyAny>,
    algorithm: Option<&Bound<'_, PyAny>>,
    beta: Option<f64>,
    queries: usize,
    trials: u64,
    seed: u64,
    gpu_hours: Option<f64>,
    warm_start: &str,
    warm_start_higher_is_better: bool,
    population: usize,
    sample: usize,
    initial: usize,
    candidates: usize,
    warm_pool: usize,
    reference: (f64, f64),
    benchmark_seed: Option<&Bound<'_, PyAny>>,
) -> PyResult<Table> {
    guard(|| {
        let spec = objective_spec(objective, beta)?;
        let algorithms = algorithms(algorithm)?;
        let reference = [reference.0, reference.1];
        let settings = Settings { population, sample, initial, candidates, warm_pool };
        settings.check().map_err(|e| error(Kind::NotFound, e.to_string()))?;
        let rows = bench.objective_rows(dataset, &spec.metrics, benchmark_seed, &CostModel::default())?;
        let (source, dataset) = (rows.source.clone(), rows.dataset.clone());
        let (mut table, _) = oracle_table(rows, &spec, reference)?;
        if algorithms.contains(&Algorithm::WarmStartEvolution) {
            let scores = bench.proxy_scores(py, &dataset, warm_start, warm_start_higher_is_better)?;
            table = table.with_scores(scores).map_err(search_error)?;
        }
        let budget = Budget { queries, cost: gpu_hours.filter(|h| *h > 0.0) };
        let batches = py.detach(|| {
            let mut batches = Vec::new();
            for &algorithm in &algorithms {
                for trial in 0..trials {
                    let trace = robbench_search::search(
                        &table,
                        spec.objective,
                        algorithm,
                        &settings,
                        budget,
                        seed + trial,
                        reference,
                    )
                    .map_err(|e| e.to_string())?;
                    let names = TraceNames {
                        algorithm: algorithm.name().to_string(),
                        objective: spec.name.clone(),
                        source: source.clone(),
                        dataset: dataset.clone(),
                        trial,
                    };
                    let (steps, _) = robbench_search::trace_batches(&names, &trace).map_err(|e| e.to_string())?;
                    batches.push(steps);
                }
            }
            Ok::<_, String>(batches)
        });
        let batches = batches.map_err(|e| error(Kind::Error, e))?;
        let schema = robbench_schemas::SEARCH_STEPS.schema();
        let batch = concat_batches(&schema, &batches).map_err(|e| error(Kind::Error, e.to_string()))?;
        Table::from_batch(batch)
    })
}
