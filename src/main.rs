//! `robbench-torch`: the whole command line, with libtorch. Users call
//! `robbench` (src/bin/robbench.rs), which runs the tensor-free commands
//! itself and hands the others to this binary.

mod cli;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use robbench::light::{self, ConfigArgs, RunArgs};
use robbench_pipeline::console::note;

/// As in `robbench` (see `Cargo.toml`): `run` plans and compacts too.
/// Tensors are libtorch's own allocations and do not pass through it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "robbench",
    // Users call `robbench`, which hands this binary their arguments: usage
    // lines must not name the helper's own file.
    bin_name = "robbench",
    version,
    about = "Robust NAS benchmarks on NAS-Bench-201: adversarial training, attacks, NTK bounds, SQL over the results."
)]
struct Cli {
    /// Artifact store directory (content-addressed units, run records).
    #[arg(long, global = true, default_value = "artifacts", env = "ROBBENCH_STORE")]
    store: PathBuf,
    /// Intra-op threads per unit (`run`, `bench`). Default: the CPUs shared out
    /// among the units that run at once; OMP_NUM_THREADS when set.
    #[arg(long, global = true)]
    threads: Option<std::num::NonZeroUsize>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run every stage of the experiment, reusing units already in the store.
    Run {
        #[command(flatten)]
        config: ConfigArgs,
        /// Units run in parallel within a stage: auto (one single-threaded unit
        /// per CPU the process may use: affinity, cgroup quota,
        /// SLURM_CPUS_PER_TASK; on CUDA two per device) or a number.
        #[arg(long, default_value = "auto")]
        jobs: robbench_pipeline::parallelism::Jobs,
        /// auto (CUDA when available), cpu, cuda or cuda:N.
        #[arg(long, default_value = "auto")]
        device: String,
        /// Run only slice i of n (0-based), e.g. `--shard 3/8` in a Slurm array
        /// over a shared store; a later unsharded run completes and reuses all.
        #[arg(long, value_name = "I/N")]
        shard: Option<String>,
        /// Shard over the shard groups listed in FILE (one per line) instead
        /// of over all groups: slice i/n takes lines i, i+n, … (`slurm submit`
        /// lists the pending groups this way).
        #[arg(long, value_name = "FILE")]
        groups_from: Option<PathBuf>,
    },
    /// Write an HTML report with SVG plots of a run (chosen as for `sql`).
    Report {
        #[command(flatten)]
        config: ConfigArgs,
        #[command(flatten)]
        run: RunArgs,
        /// Output file.
        #[arg(long, default_value = "report.html")]
        out: PathBuf,
    },
    /// The commands that touch no tensor (sql, tables, schema, runs, plan, export, verify, gc).
    #[command(flatten)]
    Light(light::LightCommand),
    /// The NAS-Bench-201 space: index, cell string, isomorphism class, params and FLOPs.
    Space(cli::space::SpaceArgs),
    /// Import a published benchmark as the `benchmark` table (and its metric correlations).
    #[command(subcommand)]
    Import(cli::import::ImportCommand),
    /// Architecture search on an imported benchmark, the project's evaluations, or live on the pipeline (`[search]` config).
    Search(cli::search::SearchArgs),
    /// Benchmarks: engine overhead, training throughput (vs PyTorch), AutoAttack cost.
    #[command(subcommand)]
    Bench(cli::bench::BenchCommand),
    /// Run the experiment on a Slurm cluster over a shared store: submit, follow.
    #[command(subcommand)]
    Slurm(cli::slurm::SlurmCommand),
    /// Write the book's reference pages (tables, config keys, command line) from the code.
    #[command(hide = true)]
    Reference(cli::reference::ReferenceArgs),
}

fn main() -> ExitCode {
    robbench_nn::host_memory::keep_freed_tensor_memory();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run { config, jobs, device, shard, groups_from } => cli::run::run(
            &cli.store,
            &config,
            cli::run::Parallelism { jobs, threads: cli.threads },
            &device,
            shard.as_deref(),
            groups_from.as_deref(),
        ),
        Command::Report { config, run, out } => cli::report::report(&cli.store, &config, &run, &out),
        Command::Light(command) => command.run(&cli.store),
        Command::Space(args) => cli::space::space(&args),
        Command::Bench(command) => cli::bench::bench(command, cli.threads),
        Command::Import(command) => cli::import::import(&cli.store, command),
        Command::Search(args) => cli::search::search(&cli.store, &args, cli.threads),
        Command::Slurm(command) => cli::slurm::slurm(&cli.store, command),
        Command::Reference(args) => cli::reference::reference(&args, <Cli as clap::CommandFactory>::command()),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            note(format_args!("robbench: error: {e:#}"));
            ExitCode::FAILURE
        }
    }
}
