//! Which experiment a command is about (`ConfigArgs`: a TOML config plus `--set`s) and `--shard i/n`'s parser.

use std::path::PathBuf;

use robbench_experiment::DEFAULT_CONFIG;
use robbench_pipeline::Config;

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
    /// Whether a config was named (else reading commands take the latest run).
    pub fn is_given(&self) -> bool {
        self.config.is_some() || !self.sets.is_empty()
    }

    /// The raw (not yet validated) config named by the arguments.
    pub fn load(&self) -> anyhow::Result<Config> {
        let mut config = match &self.config {
            Some(path) => Config::from_file(path)?,
            None => Config::from_toml_str(DEFAULT_CONFIG, "configs/default.toml (embedded)")?,
        };
        for assignment in &self.sets {
            config.set(assignment)?;
        }
        Ok(config)
    }

    /// The hash of the named config's normalised form, by which its runs are
    /// found; `None` when no config was named.
    pub fn hash(&self) -> anyhow::Result<Option<String>> {
        if !self.is_given() {
            return Ok(None);
        }
        Ok(Some(robbench_experiment::planner()?.config_hash(&self.load()?)?))
    }
}

/// Parses `i/n` into a 0-based shard index and count.
pub fn parse_shard(spec: Option<&str>) -> anyhow::Result<Option<(u64, u64)>> {
    let Some(spec) = spec else { return Ok(None) };
    let parsed = spec.split_once('/').and_then(|(i, n)| Some((i.trim().parse().ok()?, n.trim().parse().ok()?)));
    match parsed {
        Some((i, n)) if n > 0 && i < n => Ok(Some((i, n))),
        _ => anyhow::bail!("--shard {spec}: expected I/N with 0 <= I < N, e.g. 0/4"),
    }
}
