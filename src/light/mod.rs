//! The commands that touch no tensor.

mod common;
mod config_args;
pub mod corruptions;
pub mod export;
pub mod plan;
pub mod runs;
pub mod sql;
pub mod store;

use std::path::Path;
use std::process::ExitCode;

pub use common::{RunArgs, say};
pub use config_args::{ConfigArgs, parse_shard};

/// The tensor-free commands, as both binaries parse them.
#[derive(clap::Subcommand)]
pub enum LightCommand {
    /// Run SQL over the tables of a run: the latest complete one, the latest of the config when one is named, or `--run`.
    Sql {
        #[command(flatten)]
        config: ConfigArgs,
        #[command(flatten)]
        args: sql::SqlArgs,
    },
    /// List the tables SQL can see, with their columns and row counts.
    Tables {
        #[command(flatten)]
        config: ConfigArgs,
        #[command(flatten)]
        run: RunArgs,
    },
    /// Print every table's schema (name, version, columns) as Markdown.
    Schema,
    /// List every run, newest last, with its state and what changed in its config.
    Runs,
    /// Show what `run` would do: units per stage, how many are already stored.
    Plan {
        #[command(flatten)]
        config: ConfigArgs,
        /// Only slice i of n (0-based), as `run --shard i/n` would take it.
        #[arg(long, value_name = "I/N")]
        shard: Option<String>,
    },
    /// Write a run's tables as plain Parquet datasets (`<out>/<table>/part-*.parquet`).
    Export(export::ExportArgs),
    /// Re-hash every stored unit (corrupted ones are quarantined) and check every unit the runs reference is there.
    Verify,
    /// Remove what no recorded run references (never while a run is alive, never anything recent).
    Gc(store::GcArgs),
    /// Explore the store in a browser: a local, read-only web server (binds 127.0.0.1 by default).
    Serve(crate::serve::ServeArgs),
    /// One test image under every common corruption (CIFAR-10-C) and severity: a picture grid, or numpy arrays.
    Corruptions(corruptions::CorruptionsArgs),
}

impl LightCommand {
    pub fn run(&self, store_dir: &Path) -> anyhow::Result<ExitCode> {
        match self {
            LightCommand::Sql { config, args } => sql::sql(store_dir, args, config.hash()?.as_deref()),
            LightCommand::Tables { config, run } => sql::tables(store_dir, run, config.hash()?.as_deref()),
            LightCommand::Schema => sql::schema_markdown(),
            LightCommand::Runs => runs::list(store_dir),
            LightCommand::Plan { config, shard } => plan::plan(store_dir, config, shard.as_deref()),
            LightCommand::Export(args) => export::export(store_dir, args),
            LightCommand::Verify => store::verify(store_dir),
            LightCommand::Gc(args) => store::gc(store_dir, args),
            LightCommand::Serve(args) => crate::serve::serve(store_dir, args),
            LightCommand::Corruptions(args) => corruptions::corruptions(args),
        }
    }
}
