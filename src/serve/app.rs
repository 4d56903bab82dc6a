//! What every handler shares (`App`): the store, its catalog, the run the pages read and their limits.

use std::path::PathBuf;
use std::sync::Arc;

use robbench_pipeline::sql::Catalog;

use super::data::Data;
use super::sql_limits::Limits;
use crate::light::RunArgs;

/// What every handler shares.
pub struct App {
    /// The store's root (canonical).
    pub store: PathBuf,
    pub catalog: Arc<Catalog>,
    pub run_args: RunArgs,
    pub data: Data,
    pub sql: Limits,
    /// Host names requests may name (`None`: any, when bound beyond loopback).
    pub hosts: Option<Vec<String>>,
}
