//! robbench's pipeline engine: configuration, content-addressed unit keys, the
//! artifact store, planning, execution and SQL.
//!
//! The engine knows nothing about neural networks. An application supplies a
//! [`ConfigSchema`] and a list of [`Stage`]s; the engine plans every unit,
//! derives each unit's key from exactly what it depends on, runs only the
//! units the store does not hold yet, and serves every table to SQL.

pub mod bench;
pub mod compact;
pub mod config;
pub mod console;
pub mod execute;
pub mod host;
pub mod key;
pub mod parallelism;
pub mod parts_table;
pub mod plan;
pub mod runs;
pub mod runs_table;
pub mod sql;
pub mod stage;
pub mod store;
pub mod synthetic;
pub mod tables;

pub use config::{Config, ConfigError, ConfigSchema, invalid};
pub use execute::{RunOptions, RunReport, execute, execute_selected};
pub use key::UnitKey;
pub use plan::{Pipeline, Plan, PlannedUnit, Planner};
pub use runs::{RunKind, RunRecord, RunState, RunUnit, UnitStatus};
pub use stage::{InputUnit, PlannedUnitView, Progress, Runnable, Stage, UnitContext, UnitRef, UnitSpec, Upstream};
pub use store::Store;
