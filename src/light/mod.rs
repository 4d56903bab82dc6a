//! The commands that touch no tensor.

pub mod export;
pub mod runs;
pub mod sql;
pub mod store;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

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
    /// Write a run's tables as plain Parquet datasets (`<out>/<table>/part-*.parquet`).
    Export(export::ExportArgs),
    /// Re-hash every stored unit (corrupted ones are quarantined) and check every unit the runs reference is there.
    Verify,
    /// Remove what no recorded run references (never while a run is alive, never anything recent).
    Gc(store::GcArgs),
}

impl LightCommand {
    /// The config the command names, if it names one: its runs are found by
    /// the config's hash, which only `robbench-torch` can compute.
    pub fn config(&self) -> Option<&ConfigArgs> {
        match self {
            LightCommand::Sql { config, .. } | LightCommand::Tables { config, .. } => {
                Some(config).filter(|c| c.is_given())
            }
            _ => None,
        }
    }

    /// Runs the command; `config_hash` is that of [`LightCommand::config`].
    pub fn run(&self, store_dir: &Path, config_hash: Option<&str>) -> anyhow::Result<ExitCode> {
        match self {
            LightCommand::Sql { args, .. } => sql::sql(store_dir, args, config_hash),
            LightCommand::Tables { run, .. } => sql::tables(store_dir, run, config_hash),
            LightCommand::Schema => sql::schema_markdown(),
            LightCommand::Runs => runs::list(store_dir),
            LightCommand::Export(args) => export::export(store_dir, args),
            LightCommand::Verify => store::verify(store_dir),
            LightCommand::Gc(args) => store::gc(store_dir, args),
        }
    }
}

/// Which experiment: a TOML config plus `--set` overrides.
#[derive(clap::Args, Clone, Default)]
pub struct ConfigArgs {
    /// Experiment config (TOML). Default: the embedded configs/default.toml.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Override a config key, e.g. `--set evaluation.pgd.steps=10` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
}

impl ConfigArgs {
    /// Whether a config was named: finding its runs needs the stages (libtorch).
    pub fn is_given(&self) -> bool {
        self.config.is_some() || !self.sets.is_empty()
    }
}

/// Which run a reading command uses.
#[derive(clap::Args, Clone, Default)]
pub struct RunArgs {
    /// A run id (`robbench runs` lists them) instead of the latest complete run.
    #[arg(long)]
    pub run: Option<String>,
    /// Answer even when units of the run are missing (they are listed on stderr).
    #[arg(long)]
    pub allow_partial: bool,
}

/// Writes a line to stdout; a closed pipe (`| head`) ends the output quietly.
pub fn say(line: std::fmt::Arguments<'_>) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_fmt(line).and_then(|()| out.write_all(b"\n")) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}
