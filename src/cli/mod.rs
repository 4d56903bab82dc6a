//! Subcommand implementations.

pub mod bench;
pub mod bench_sql;
pub mod import;
pub mod parallel;
pub mod report;
pub mod run;
pub mod search;
pub mod slurm;
pub mod space;
pub mod throughput;

use anyhow::Result;
use robbench_pipeline::Config;
use robbench_stages::DEFAULT_CONFIG;

use robbench::light::ConfigArgs;

/// The raw (not yet validated) config named by the arguments.
pub fn load_config(args: &ConfigArgs) -> Result<Config> {
    let mut config = match &args.config {
        Some(path) => Config::from_file(path)?,
        None => Config::from_toml_str(DEFAULT_CONFIG, "configs/default.toml (embedded)")?,
    };
    for assignment in &args.sets {
        config.set(assignment)?;
    }
    Ok(config)
}

/// The hash of the config the arguments name, when they name one: runs are
/// found by it, and only the stages know a config's normalised form.
pub fn config_hash(args: &ConfigArgs) -> Result<Option<String>> {
    if !args.is_given() {
        return Ok(None);
    }
    Ok(Some(robbench_stages::planner()?.config_hash(&load_config(args)?)?))
}

/// Parses `i/n` into a 0-based shard index and count.
pub fn parse_shard(spec: Option<&str>) -> Result<Option<(u64, u64)>> {
    let Some(spec) = spec else { return Ok(None) };
    let parsed = spec.split_once('/').and_then(|(i, n)| Some((i.trim().parse().ok()?, n.trim().parse().ok()?)));
    match parsed {
        Some((i, n)) if n > 0 && i < n => Ok(Some((i, n))),
        _ => anyhow::bail!("--shard {spec}: expected I/N with 0 <= I < N, e.g. 0/4"),
    }
}
