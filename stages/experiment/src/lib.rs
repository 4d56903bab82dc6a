//! The robbench experiment without tensors: its config (`configs/default.toml`
//! and the checks on it), what each unit reads ([`reads`]), and how every
//! stage fans out into units ([`units`]).
//!
//! Planning needs nothing else, so a binary that only plans (`robbench
//! plan`, SQL naming a config) links this crate and no tensor library; the
//! stages that run the units (`robbench-stages`) plan through it.

pub mod config;
pub mod reads;
pub mod select;
pub mod units;

pub use config::{DEFAULT_CONFIG, Experiment, ExperimentSchema};
pub use units::{planned_units, planner};
