//! How the SQL page runs queries (`Limits`): which binary, for how long, how many rows, how many at once.

use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::Semaphore;

/// Queries that may run at once; more are told to wait.
pub const CONCURRENT: usize = 2;

/// How the SQL page runs queries.
pub struct Limits {
    /// The `robbench` binary that runs them.
    pub exe: PathBuf,
    pub timeout: Duration,
    pub rows: usize,
    pub(super) running: Semaphore,
}

impl Limits {
    pub fn new(exe: PathBuf, timeout: Duration, rows: usize) -> Limits {
        Limits { exe, timeout, rows, running: Semaphore::new(CONCURRENT) }
    }
}
