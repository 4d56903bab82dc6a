//! The tabular oracle: objective components and cost per isomorphism class.

use std::collections::{BTreeMap, HashMap};

use robbench_space::Space;

use crate::SearchError;

/// What the oracle knows about one isomorphism class.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// The objective's components (e.g. `[pgd@8]` or `[clean, pgd@8]`).
    pub values: Vec<f64>,
    /// Simulated cost of one evaluation (GPU-hours).
    pub cost: f64,
}

/// A tabular oracle over the NAS-Bench-201 space, keyed by class representative.
#[derive(Clone, Debug)]
pub struct Table {
    arity: usize,
    entries: BTreeMap<usize, Entry>,
    /// Every cell of the space whose class the table covers: what a search samples from.
    cells: Vec<usize>,
    /// Training-free score per class (for the warm start); higher is better.
    scores: HashMap<usize, f64>,
}

impl Table {
    /// Builds the table from rows `(cell index, values, cost)`. Rows of
    /// isomorphic cells (benchmarks that trained every cell, like
    /// NAS-Bench-201) are averaged into their class: they are the same
    /// function, so their differences are training noise.
    pub fn from_rows(rows: impl IntoIterator<Item = (usize, Vec<f64>, f64)>) -> Result<Table, SearchError> {
        let space = Space::nb201();
        let mut sums: BTreeMap<usize, (Vec<f64>, f64, usize)> = BTreeMap::new();
        let mut arity = None;
        for (cell, values, cost) in rows {
            let bad = |reason: String| SearchError::BadRow { cell, reason };
            let class = space.unique_index(cell)?;
            match arity {
                None if values.is_empty() => return Err(bad("no values".into())),
                None => arity = Some(values.len()),
                Some(n) if n != values.len() => {
                    return Err(bad(format!("{} values, earlier rows have {n}", values.len())));
                }
                Some(_) => {}
            }
            if let Some(v) = values.iter().find(|v| !v.is_finite()) {
                return Err(bad(format!("value {v} is not finite")));
            }
            if !(cost.is_finite() && cost >= 0.0) {
                return Err(bad(format!("cost {cost} is not a non-negative number")));
            }
            let sum = sums.entry(class).or_insert_with(|| (vec![0.0; values.len()], 0.0, 0));
            sum.0.iter_mut().zip(&values).for_each(|(s, v)| *s += v);
            sum.1 += cost;
            sum.2 += 1;
        }
        let arity = arity.ok_or(SearchError::EmptyTable)?;
        let entries: BTreeMap<usize, Entry> = sums
            .into_iter()
            .map(|(class, (values, cost, n))| {
                (class, Entry { values: values.into_iter().map(|v| v / n as f64).collect(), cost: cost / n as f64 })
            })
            .collect();
        let cells = (0..robbench_space::SPACE_SIZE)
            .filter(|&i| entries.contains_key(&space.unique_index(i).expect("index in range")))
            .collect();
        Ok(Table { arity, entries, cells, scores: HashMap::new() })
    }

    /// Adds training-free scores `(cell index, score)`, higher is better;
    /// scores of isomorphic cells are averaged into their class.
    pub fn with_scores(mut self, scores: impl IntoIterator<Item = (usize, f64)>) -> Result<Table, SearchError> {
        let space = Space::nb201();
        let mut sums: HashMap<usize, (f64, usize)> = HashMap::new();
        for (cell, score) in scores {
            let class = space.unique_index(cell)?;
            if score.is_finite() {
                let s = sums.entry(class).or_default();
                s.0 += score;
                s.1 += 1;
            }
        }
        self.scores = sums.into_iter().map(|(class, (sum, n))| (class, sum / n as f64)).collect();
        Ok(self)
    }

    /// Values per architecture.
    pub fn arity(&self) -> usize {
        self.arity
    }

    /// Number of classes covered.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entry of a class representative.
    pub fn get(&self, class: usize) -> Option<&Entry> {
        self.entries.get(&class)
    }

    /// Class representatives with their entries, in index order.
    pub fn entries(&self) -> impl Iterator<Item = (usize, &Entry)> {
        self.entries.iter().map(|(&c, e)| (c, e))
    }

    /// Every cell whose class the table covers, in index order.
    pub fn cells(&self) -> &[usize] {
        &self.cells
    }

    pub fn score(&self, class: usize) -> Option<f64> {
        self.scores.get(&class).copied()
    }

    /// Does the table cover this cell's class?
    pub fn covers(&self, cell: usize) -> bool {
        Space::nb201().unique_index(cell).is_ok_and(|c| self.entries.contains_key(&c))
    }
}
