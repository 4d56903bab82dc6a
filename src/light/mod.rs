//! The commands that touch no tensor.

pub mod export;
pub mod runs;
pub mod sql;
pub mod store;

use std::path::PathBuf;

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
