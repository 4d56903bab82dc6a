//! The search algorithms and the bookkeeping they share: queries counted in
//! distinct classes, budgets, best-so-far and regret.

use std::collections::{HashMap, HashSet, VecDeque};

use robbench_rng::Rng;
use robbench_space::Space;
use serde::{Deserialize, Serialize};

use crate::{
    Entry, GaussianProcess, Objective, Oracle, SearchError, Table, hypervolume, mutate, neighbours, pareto_front,
    path_encoding,
};

/// A search algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Algorithm {
    /// Uniformly random cells.
    Random,
    /// Real et al. (2019): tournament of `sample` from a `population`, mutate
    /// the winner's one edge, drop the oldest member.
    RegularizedEvolution,
    /// White et al. (2020): evaluate the whole one-edge neighbourhood, move to
    /// its best if it improves, otherwise restart from a random cell.
    LocalSearch,
    /// Bayesian optimisation: a GP over path encodings, expected improvement
    /// over mutations of the best cells and random cells.
    GpBayesopt,
    /// Regularized evolution whose first population is the best `population`
    /// of `warm_pool` random cells ranked by a training-free score.
    WarmStartEvolution,
}

impl Algorithm {
    pub const ALL: [Algorithm; 5] = [
        Algorithm::Random,
        Algorithm::RegularizedEvolution,
        Algorithm::LocalSearch,
        Algorithm::GpBayesopt,
        Algorithm::WarmStartEvolution,
    ];

    /// The kebab-case name (as in configs and tables).
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Random => "random",
            Algorithm::RegularizedEvolution => "regularized-evolution",
            Algorithm::LocalSearch => "local-search",
            Algorithm::GpBayesopt => "gp-bayesopt",
            Algorithm::WarmStartEvolution => "warm-start-evolution",
        }
    }
}

/// Algorithm settings (those an algorithm does not use are ignored).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Evolution: population size.
    pub population: usize,
    /// Evolution: tournament size.
    pub sample: usize,
    /// GP: random queries before the first model.
    pub initial: usize,
    /// GP: random unseen cells scored per iteration (besides the neighbours of the best five).
    pub candidates: usize,
    /// Warm start: random cells ranked by the training-free score.
    pub warm_pool: usize,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings { population: 20, sample: 5, initial: 10, candidates: 100, warm_pool: 500 }
    }
}

impl Settings {
    /// Rejects settings no algorithm can run with.
    pub fn check(&self) -> Result<(), SearchError> {
        let bad = |m: &str| Err(SearchError::BadSettings(m.into()));
        if self.population == 0 {
            return bad("population must be at least 1");
        }
        if self.sample == 0 || self.sample > self.population {
            return bad("sample must be between 1 and population");
        }
        if self.initial == 0 {
            return bad("initial must be at least 1");
        }
        Ok(())
    }
}

/// When a search stops: after `queries` distinct classes, or once the
/// simulated cost reaches `cost` (GPU-hours), whichever comes first.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Budget {
    pub queries: usize,
    pub cost: Option<f64>,
}

/// One query before it is compared with an optimum (see [`Exploration::against`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Visit {
    /// 1-based query count.
    pub step: usize,
    /// Class representative evaluated.
    pub class: usize,
    pub values: Vec<f64>,
    /// Best objective value so far (two objectives: hypervolume so far).
    pub best_so_far: f64,
    /// Cumulative cost.
    pub cost: f64,
}

/// One query: a class evaluated for the first time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// 1-based query count.
    pub step: usize,
    /// Class representative evaluated.
    pub class: usize,
    pub values: Vec<f64>,
    /// Best objective value so far (two objectives: hypervolume so far).
    pub best_so_far: f64,
    /// Optimum minus `best_so_far` (two objectives: hypervolume gap).
    pub regret: f64,
    /// Cumulative simulated cost (GPU-hours).
    pub cost: f64,
}

/// The best the table allows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Optimum {
    /// The class with the highest value (the smallest index among ties).
    Scalar { class: usize, value: f64 },
    /// The table's own Pareto front and its hypervolume.
    Front { front: Vec<(usize, [f64; 2])>, hypervolume: f64 },
}

impl Optimum {
    /// The best of `points` (class, values) for `objective`; `None` without points.
    pub fn of<'a>(
        points: impl IntoIterator<Item = (usize, &'a [f64])>,
        objective: Objective,
        reference: [f64; 2],
    ) -> Option<Optimum> {
        let mut points: Vec<(usize, &[f64])> = points.into_iter().collect();
        // Ties go to the smallest index, whatever order the points came in.
        points.sort_by_key(|p| p.0);
        points.dedup_by_key(|p| p.0);
        if points.is_empty() {
            return None;
        }
        Some(match objective {
            Objective::Pareto => {
                let points: Vec<(usize, [f64; 2])> = points.iter().map(|&(c, v)| (c, [v[0], v[1]])).collect();
                let front = pareto_front(&points);
                let hv = hypervolume(&front.iter().map(|p| p.1).collect::<Vec<_>>(), reference);
                Optimum::Front { front, hypervolume: hv }
            }
            _ => {
                let mut best: Option<(usize, f64)> = None;
                for (class, values) in points {
                    let v = objective.scalar(values).expect("scalar objective");
                    if best.is_none_or(|(_, b)| v > b) {
                        best = Some((class, v));
                    }
                }
                let (class, value) = best.expect("points are not empty");
                Optimum::Scalar { class, value }
            }
        })
    }

    /// The optimal value (two objectives: the front's hypervolume).
    pub fn value(&self) -> f64 {
        match self {
            Optimum::Scalar { value, .. } => *value,
            Optimum::Front { hypervolume, .. } => *hypervolume,
        }
    }
}

/// What one search did, with its regret against an optimum.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Trace {
    pub steps: Vec<Step>,
    pub optimum: Optimum,
    pub objective: Objective,
    pub reference: [f64; 2],
}

impl Trace {
    /// The first query reaching the best value found (scalar objectives).
    pub fn best(&self) -> Option<&Step> {
        let value = |s: &Step| self.objective.scalar(&s.values);
        let mut best: Option<&Step> = None;
        for s in &self.steps {
            if best.is_none_or(|b| value(s) > value(b)) {
                best = Some(s);
            }
        }
        best.filter(|_| self.objective != Objective::Pareto)
    }

    /// The Pareto front of the evaluated classes (two objectives).
    pub fn front(&self) -> Vec<(usize, [f64; 2])> {
        let points: Vec<(usize, [f64; 2])> = self.steps.iter().map(|s| (s.class, [s.values[0], s.values[1]])).collect();
        pareto_front(&points)
    }

    pub fn final_regret(&self) -> Option<f64> {
        self.steps.last().map(|s| s.regret)
    }
}

/// What one search did, before it is compared with an optimum: an oracle
/// that measures architectures on demand does not know the best one.
#[derive(Clone, Debug, PartialEq)]
pub struct Exploration {
    pub visits: Vec<Visit>,
    pub objective: Objective,
    pub reference: [f64; 2],
}

impl Exploration {
    /// The trace with each step's regret: `optimum`'s value minus the best so far.
    pub fn against(self, optimum: Optimum) -> Trace {
        let steps = self
            .visits
            .into_iter()
            .map(|v| Step {
                step: v.step,
                class: v.class,
                regret: optimum.value() - v.best_so_far,
                values: v.values,
                best_so_far: v.best_so_far,
                cost: v.cost,
            })
            .collect();
        Trace { steps, optimum, objective: self.objective, reference: self.reference }
    }
}

/// Runs `algorithm` on `table` for `objective` until `budget` is spent (or
/// every class of the table is known), seeded by `seed`. `reference` is the
/// hypervolume reference point of two-objective searches. Regret is measured
/// against the table's own optimum.
pub fn search(
    table: &Table,
    objective: Objective,
    algorithm: Algorithm,
    settings: &Settings,
    budget: Budget,
    seed: u64,
    reference: [f64; 2],
) -> Result<Trace, SearchError> {
    let exploration = explore(&mut &*table, objective, algorithm, settings, budget, seed, reference)?;
    let entries = table.entries().map(|(c, e)| (c, e.values.as_slice()));
    let optimum = Optimum::of(entries, objective, reference).ok_or(SearchError::EmptyTable)?;
    Ok(exploration.against(optimum))
}

/// Runs `algorithm` against any [`Oracle`] (see [`search`]).
pub fn explore(
    oracle: &mut dyn Oracle,
    objective: Objective,
    algorithm: Algorithm,
    settings: &Settings,
    budget: Budget,
    seed: u64,
    reference: [f64; 2],
) -> Result<Exploration, SearchError> {
    if oracle.arity() != objective.arity() {
        return Err(SearchError::Arity {
            objective: format!("{objective:?}"),
            needed: objective.arity(),
            held: oracle.arity(),
        });
    }
    settings.check()?;
    let mut state = State {
        oracle,
        objective,
        budget,
        rng: Rng::derive(seed, algorithm.name(), 0),
        known: HashMap::new(),
        pending: HashMap::new(),
        drawn: HashSet::new(),
        error: None,
        visits: Vec::new(),
        cost: 0.0,
        best: f64::NEG_INFINITY,
        reference,
        ranges: [(f64::INFINITY, f64::NEG_INFINITY); 2],
    };
    match algorithm {
        Algorithm::Random => random(&mut state),
        Algorithm::RegularizedEvolution => evolution(&mut state, settings, Vec::new()),
        Algorithm::LocalSearch => local_search(&mut state),
        Algorithm::GpBayesopt => gp_bayesopt(&mut state, settings),
        Algorithm::WarmStartEvolution => {
            let start = warm_start(&mut state, settings)?;
            evolution(&mut state, settings, start)
        }
    }
    match state.error {
        Some(e) => Err(e),
        None => Ok(Exploration { visits: state.visits, objective, reference }),
    }
}

struct State<'a> {
    oracle: &'a mut dyn Oracle,
    objective: Objective,
    budget: Budget,
    rng: Rng,
    /// Classes evaluated so far, with their values.
    known: HashMap<usize, Vec<f64>>,
    /// Classes the oracle answered in a batch, not yet taken as queries.
    pending: HashMap<usize, Entry>,
    /// Classes drawn for the batch being drawn: no longer new.
    drawn: HashSet<usize>,
    /// The oracle's first failure: the search stops there and returns it.
    error: Option<SearchError>,
    visits: Vec<Visit>,
    cost: f64,
    best: f64,
    reference: [f64; 2],
    /// (min, max) of each of two objectives over the evaluated classes.
    ranges: [(f64, f64); 2],
}

fn class_of(cell: usize) -> usize {
    Space::nb201().unique_index(cell).expect("cell index in range")
}

impl State<'_> {
    fn done(&self) -> bool {
        self.visits.len() >= self.budget.queries
            || self.budget.cost.is_some_and(|c| self.cost >= c)
            || self.known.len() == self.oracle.classes()
            || self.error.is_some()
    }

    /// Answered by the oracle and not evaluated (or drawn) yet: a proposal worth a query.
    fn is_new_class(&self, class: usize) -> bool {
        self.oracle.answers(class) && !self.known.contains_key(&class) && !self.drawn.contains(&class)
    }

    /// How many new classes may be asked for ahead of their queries: the
    /// queries left, or one at a time under a cost budget (whose end no batch
    /// can foresee).
    fn lookahead(&self) -> usize {
        match (self.done(), self.budget.cost) {
            (true, _) => 0,
            (false, Some(_)) => 1,
            (false, None) => self.budget.queries - self.visits.len(),
        }
    }

    /// Asks the oracle for the new classes among `cells` in one batch (at
    /// most [`Self::lookahead`]), ahead of the queries that will take them in
    /// order. It changes nothing a search sees, only when the oracle works.
    fn prefetch(&mut self, cells: &[usize]) {
        let mut batch: Vec<usize> = Vec::new();
        for &cell in cells {
            let class = class_of(cell);
            if self.is_new_class(class) && !self.pending.contains_key(&class) && !batch.contains(&class) {
                batch.push(class);
            }
        }
        batch.truncate(self.lookahead());
        if batch.len() < 2 {
            return;
        }
        match self.oracle.evaluate(&batch) {
            Ok(entries) => self.pending.extend(batch.into_iter().zip(entries)),
            Err(e) => self.error = Some(e),
        }
    }

    /// The values of `cell`'s class. A known class is answered at no cost; a
    /// new one costs a query, or gives `None` once the budget is spent (and
    /// for cells the oracle does not answer).
    fn evaluate(&mut self, cell: usize) -> Option<Vec<f64>> {
        let class = class_of(cell);
        if let Some(v) = self.known.get(&class) {
            return Some(v.clone());
        }
        if !self.oracle.answers(class) || self.done() {
            return None;
        }
        let entry = match self.pending.remove(&class) {
            Some(entry) => entry,
            None => match self.oracle.evaluate(&[class]) {
                Ok(mut entries) if entries.len() == 1 => entries.remove(0),
                Ok(entries) => {
                    let reason = format!("the oracle answered {} entries for one class", entries.len());
                    self.error = Some(SearchError::BadRow { cell: class, reason });
                    return None;
                }
                Err(e) => {
                    self.error = Some(e);
                    return None;
                }
            },
        };
        self.known.insert(class, entry.values.clone());
        self.cost += entry.cost;
        for (range, &v) in self.ranges.iter_mut().zip(&entry.values) {
            *range = (range.0.min(v), range.1.max(v));
        }
        let best_so_far = match self.objective.scalar(&entry.values) {
            Some(v) => {
                self.best = self.best.max(v);
                self.best
            }
            None => {
                let points: Vec<[f64; 2]> = self.known.values().map(|v| [v[0], v[1]]).collect();
                hypervolume(&points, self.reference)
            }
        };
        self.visits.push(Visit {
            step: self.visits.len() + 1,
            class,
            values: entry.values.clone(),
            best_so_far,
            cost: self.cost,
        });
        Some(entry.values)
    }

    /// A uniformly random cell among those whose class is new (`None` when the
    /// oracle has no unknown class left).
    fn random_new_cell(&mut self) -> Option<usize> {
        let cells = self.oracle.cells();
        for _ in 0..64 {
            let cell = cells[self.rng.below(cells.len() as u64) as usize];
            if self.is_new_class(class_of(cell)) {
                return Some(cell);
            }
        }
        let rest: Vec<usize> = cells.iter().copied().filter(|&c| self.is_new_class(class_of(c))).collect();
        (!rest.is_empty()).then(|| rest[self.rng.below(rest.len() as u64) as usize])
    }

    /// Up to `n` random cells of distinct new classes, asked for in one batch:
    /// the same draws as `n` rounds of [`Self::random_new_cell`] each followed
    /// by its query (evaluating draws no random numbers).
    fn random_new_cells(&mut self, n: usize) -> Vec<usize> {
        let mut cells = Vec::new();
        while cells.len() < n.min(self.lookahead()) {
            let Some(cell) = self.random_new_cell() else { break };
            self.drawn.insert(class_of(cell));
            cells.push(cell);
        }
        self.drawn.clear();
        self.prefetch(&cells);
        cells
    }

    /// A fresh weight for two-objective guidance (drawn for every objective,
    /// so the random stream does not depend on the objective's kind).
    fn lambda(&mut self) -> f64 {
        self.rng.next_f64()
    }

    fn guide(&self, values: &[f64], lambda: f64) -> f64 {
        self.objective.guide(values, lambda, &self.ranges)
    }
}

fn random(s: &mut State) {
    while !s.done() {
        let cells = s.random_new_cells(usize::MAX);
        if cells.is_empty() {
            return;
        }
        for cell in cells {
            s.evaluate(cell);
        }
    }
}

/// Regularized evolution from `start` (topped up with random cells).
fn evolution(s: &mut State, settings: &Settings, start: Vec<(usize, Vec<f64>)>) {
    let mut population: VecDeque<(usize, Vec<f64>)> = start.into();
    while population.len() < settings.population && !s.done() {
        let cells = s.random_new_cells(settings.population - population.len());
        if cells.is_empty() {
            return;
        }
        for cell in cells {
            if let Some(v) = s.evaluate(cell) {
                population.push_back((cell, v));
            }
        }
    }
    while !s.done() && !population.is_empty() {
        let lambda = s.lambda();
        // A child must be a new class: re-evaluating a known one is no query
        // and teaches nothing. Retry the tournament when the winner has no
        // new neighbour; fall back to a random cell if none has.
        let mut child = None;
        for _ in 0..20 {
            let picks = s.rng.permutation(population.len());
            let parent = picks
                .iter()
                .take(settings.sample)
                .map(|&i| &population[i])
                .max_by(|a, b| s.guide(&a.1, lambda).total_cmp(&s.guide(&b.1, lambda)))
                .expect("sample >= 1")
                .0;
            let (oracle, known) = (&*s.oracle, &s.known);
            child = mutate(parent, &mut s.rng, |class| oracle.answers(class) && !known.contains_key(&class));
            if child.is_some() {
                break;
            }
        }
        let Some(child) = child.or_else(|| s.random_new_cell()) else { return };
        let Some(v) = s.evaluate(child) else { return };
        population.push_back((child, v));
        if population.len() > settings.population {
            population.pop_front();
        }
    }
}

fn local_search(s: &mut State) {
    while !s.done() {
        let lambda = s.lambda();
        let Some(mut current) = s.random_new_cell() else { return };
        let Some(mut current_values) = s.evaluate(current) else { return };
        loop {
            let mut around: Vec<usize> =
                neighbours(current).into_iter().filter(|&c| s.oracle.answers(class_of(c))).collect();
            // Random order, so a budget that ends mid-neighbourhood cuts it fairly.
            s.rng.shuffle(&mut around);
            s.prefetch(&around);
            let mut evaluated = Vec::with_capacity(around.len());
            for cell in around {
                let Some(v) = s.evaluate(cell) else { return };
                evaluated.push((cell, v));
            }
            // Compared once all are known (two objectives rescale as values arrive).
            let mut best = (current, s.guide(&current_values, lambda));
            let mut best_values = None;
            for (cell, v) in evaluated {
                let score = s.guide(&v, lambda);
                if score > best.1 {
                    best = (cell, score);
                    best_values = Some(v);
                }
            }
            let Some(v) = best_values else { break }; // local optimum: restart
            (current, current_values) = (best.0, v);
        }
    }
}

fn gp_bayesopt(s: &mut State, settings: &Settings) {
    while s.visits.len() < settings.initial && !s.done() {
        let cells = s.random_new_cells(settings.initial - s.visits.len());
        if cells.is_empty() {
            return;
        }
        for cell in cells {
            s.evaluate(cell);
        }
    }
    let mut lengthscale = None;
    while !s.done() {
        let lambda = s.lambda();
        let mut observed: Vec<(usize, f64)> = s.known.iter().map(|(&c, v)| (c, s.guide(v, lambda))).collect();
        observed.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let data: Vec<(u128, f64)> = observed.iter().map(|&(c, y)| (path_encoding(c), y)).collect();
        // Choosing the lengthscale costs a fit per grid point: redo it every
        // tenth query only (and for two objectives, whose target moves with λ).
        let gp = match lengthscale {
            Some(l) if !s.visits.len().is_multiple_of(10) && s.objective != Objective::Pareto => {
                GaussianProcess::fit_with(&data, &[l])
            }
            _ => GaussianProcess::fit(&data),
        };
        lengthscale = Some(gp.lengthscale());
        let incumbent = observed[0].1;
        let mut candidates: Vec<usize> = Vec::new();
        let mut add = |cell: usize, s: &State| {
            let class = class_of(cell);
            if s.is_new_class(class) && !candidates.contains(&class) {
                candidates.push(class);
            }
        };
        for &(class, _) in observed.iter().take(5) {
            for cell in neighbours(class) {
                add(cell, s);
            }
        }
        for _ in 0..settings.candidates {
            if let Some(cell) = s.random_new_cell() {
                add(cell, s);
            }
        }
        let scored = candidates.iter().map(|&c| (c, gp.expected_improvement(path_encoding(c), incumbent)));
        let Some((pick, _)) = scored.max_by(|a, b| a.1.total_cmp(&b.1)) else { return };
        s.evaluate(pick);
    }
}

/// The best `population` classes of `warm_pool` random cells by the table's
/// training-free score, evaluated (each a query) as evolution's first population.
/// A table draws among the cells it has scores of; an oracle that computes
/// scores on request is asked for those of the classes drawn, in one batch,
/// and what that cost counts before the first query.
fn warm_start(s: &mut State, settings: &Settings) -> Result<Vec<(usize, Vec<f64>)>, SearchError> {
    let mut pool: Vec<(usize, f64)> = Vec::new();
    if s.oracle.scores_on_request() {
        let mut classes: Vec<usize> = Vec::new();
        for _ in 0..settings.warm_pool {
            let cells = s.oracle.cells();
            let class = class_of(cells[s.rng.below(cells.len() as u64) as usize]);
            if !classes.contains(&class) {
                classes.push(class);
            }
        }
        s.cost += s.oracle.compute_scores(&classes)?;
        pool.extend(classes.into_iter().filter_map(|class| s.oracle.score(class).map(|score| (class, score))));
        if pool.is_empty() {
            return Err(SearchError::NoScores);
        }
    } else {
        let scored: Vec<usize> =
            s.oracle.cells().iter().copied().filter(|&c| s.oracle.score(class_of(c)).is_some()).collect();
        if scored.is_empty() {
            return Err(SearchError::NoScores);
        }
        for _ in 0..settings.warm_pool {
            let cell = scored[s.rng.below(scored.len() as u64) as usize];
            let class = class_of(cell);
            if !pool.iter().any(|&(c, _)| c == class) {
                pool.push((class, s.oracle.score(class).expect("scored")));
            }
        }
    }
    pool.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    pool.truncate(settings.population);
    s.prefetch(&pool.iter().map(|p| p.0).collect::<Vec<_>>());
    let mut start = Vec::new();
    for &(class, _) in &pool {
        let Some(v) = s.evaluate(class) else { break };
        start.push((class, v));
    }
    Ok(start)
}
