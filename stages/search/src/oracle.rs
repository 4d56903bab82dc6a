//! What a search queries: the [`Oracle`] trait, answered by a [`Table`] of
//! known values or by something that measures architectures on demand (the
//! pipeline itself, in `robbench search` with `search.source = "live"`).

use crate::{Entry, SearchError, Table};

/// Values and cost per isomorphism class of cells, found out on request.
///
/// The algorithms reach an oracle only through this trait, so the same code
/// searches a table and a live pipeline. Requests come in batches of distinct
/// new classes (a local-search neighbourhood, an initial population) so that
/// an oracle that trains networks can train them in parallel.
pub trait Oracle {
    /// Values per architecture.
    fn arity(&self) -> usize;

    /// Every cell a search may propose (those of the classes the oracle
    /// answers), in index order: what a search samples from.
    fn cells(&self) -> &[usize];

    /// How many classes the oracle answers (a search that knows them all stops).
    fn classes(&self) -> usize;

    /// Does the oracle answer this class (a class representative)?
    fn answers(&self, class: usize) -> bool;

    /// Training-free score of a class for the warm start; higher is better.
    fn score(&self, class: usize) -> Option<f64>;

    /// Does the warm start ask for its scores ([`Oracle::compute_scores`])
    /// rather than find them known? True of an oracle that computes a score
    /// per architecture on request, as a live search does; a table knows its
    /// scores (the default).
    fn scores_on_request(&self) -> bool {
        false
    }

    /// Computes the scores of `classes` (distinct representatives, in one
    /// batch), which [`Oracle::score`] answers afterwards (`None` where a
    /// score is undefined), and returns what computing them cost, in the unit
    /// of [`Entry::cost`]. Called only when [`Oracle::scores_on_request`].
    fn compute_scores(&mut self, classes: &[usize]) -> Result<f64, SearchError> {
        let _ = classes;
        Ok(0.0)
    }

    /// The entries of `classes` (distinct representatives it answers, each
    /// asked for once per search), in order.
    fn evaluate(&mut self, classes: &[usize]) -> Result<Vec<Entry>, SearchError>;
}

impl Oracle for &Table {
    fn arity(&self) -> usize {
        Table::arity(self)
    }

    fn cells(&self) -> &[usize] {
        Table::cells(self)
    }

    fn classes(&self) -> usize {
        self.len()
    }

    fn answers(&self, class: usize) -> bool {
        self.get(class).is_some()
    }

    fn score(&self, class: usize) -> Option<f64> {
        Table::score(self, class)
    }

    fn evaluate(&mut self, classes: &[usize]) -> Result<Vec<Entry>, SearchError> {
        classes
            .iter()
            .map(|&class| {
                self.get(class).cloned().ok_or(SearchError::BadRow { cell: class, reason: "not in the table".into() })
            })
            .collect()
    }
}
