//! `robbench`: a thin command-line layer over the pipeline engine and stages.

mod cli;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "robbench",
    version,
    about = "Robust NAS benchmarks on NAS-Bench-201: adversarial training, attacks, NTK bounds, SQL over the results."
)]
struct Cli {
    /// Artifact store directory (content-addressed units, run records).
    #[arg(long, global = true, default_value = "artifacts", env = "ROBBENCH_STORE")]
    store: PathBuf,
    #[command(subcommand)]
    command: Command,
}

/// Which experiment: a TOML config plus `--set` overrides.
#[derive(clap::Args, Clone)]
pub struct ConfigArgs {
    /// Experiment config (TOML). Default: the embedded configs/default.toml.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Override a config key, e.g. `--set evaluation.pgd.steps=10` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Run every stage of the experiment, reusing units already in the store.
    Run {
        #[command(flatten)]
        config: ConfigArgs,
        /// Units run in parallel within a stage.
        #[arg(long, default_value_t = 1)]
        jobs: usize,
        /// auto (CUDA when available), cpu, cuda or cuda:N.
        #[arg(long, default_value = "auto")]
        device: String,
        /// Run only slice i of n (0-based), e.g. `--shard 3/8` in a Slurm array
        /// over a shared store; a later unsharded run completes and reuses all.
        #[arg(long, value_name = "I/N")]
        shard: Option<String>,
    },
    /// Show what `run` would do: units per stage, how many are already stored.
    Plan {
        #[command(flatten)]
        config: ConfigArgs,
        #[arg(long, value_name = "I/N")]
        shard: Option<String>,
    },
    /// Run SQL over the tables of the latest run of the config (or `--run`).
    Sql {
        #[command(flatten)]
        config: ConfigArgs,
        /// A run id from the `runs` table instead of the config's latest run.
        #[arg(long)]
        run: Option<String>,
        #[arg(long, value_enum, default_value_t = cli::sql::Format::Table)]
        format: cli::sql::Format,
        /// Output file (required for parquet; default stdout otherwise).
        #[arg(long)]
        out: Option<PathBuf>,
        /// The query, e.g. "SELECT attack, avg(accuracy) FROM evaluations GROUP BY attack".
        query: String,
    },
    /// List the tables SQL can see, with their columns and row counts.
    Tables {
        #[command(flatten)]
        config: ConfigArgs,
        #[arg(long)]
        run: Option<String>,
    },
    /// Print every table's schema (name, version, columns) as Markdown.
    Schema,
    /// Write an HTML report with SVG plots of the latest run of the config (or `--run`).
    Report {
        #[command(flatten)]
        config: ConfigArgs,
        #[arg(long)]
        run: Option<String>,
        /// Output file.
        #[arg(long, default_value = "report.html")]
        out: PathBuf,
    },
    /// Re-hash every stored unit; corrupted units are quarantined (and recomputed by the next run).
    Verify,
    /// Remove stored units that no recorded run references.
    Gc {
        /// Only list what would be removed.
        #[arg(long)]
        dry_run: bool,
    },
    /// The NAS-Bench-201 space: index, cell string, isomorphism class, params and FLOPs.
    Space(cli::space::SpaceArgs),
    /// Import a published benchmark as the `benchmark` table (and its metric correlations).
    #[command(subcommand)]
    Import(cli::import::ImportCommand),
    /// Tabular architecture search on an imported benchmark or the project's evaluations (`[search]` config).
    Search(cli::search::SearchArgs),
    /// Benchmarks: engine overhead, training throughput (vs PyTorch), AutoAttack cost.
    #[command(subcommand)]
    Bench(cli::bench::BenchCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run { config, jobs, device, shard } => {
            cli::run::run(&cli.store, &config, jobs, &device, shard.as_deref())
        }
        Command::Plan { config, shard } => cli::run::plan(&cli.store, &config, shard.as_deref()),
        Command::Sql { config, run, format, out, query } => {
            cli::sql::sql(&cli.store, &config, run.as_deref(), format, out.as_deref(), &query)
        }
        Command::Tables { config, run } => cli::sql::tables(&cli.store, &config, run.as_deref()),
        Command::Report { config, run, out } => cli::sql::report(&cli.store, &config, run.as_deref(), &out),
        Command::Schema => cli::sql::schema_markdown(),
        Command::Verify => cli::store::verify(&cli.store),
        Command::Gc { dry_run } => cli::store::gc(&cli.store, dry_run),
        Command::Space(args) => cli::space::space(&args),
        Command::Bench(command) => cli::bench::bench(command),
        Command::Import(command) => cli::import::import(&cli.store, command),
        Command::Search(args) => cli::search::search(&cli.store, &args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("robbench: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
