//! `robbench`: the commands that touch no tensor (`sql`, `tables`, `schema`,
//! `runs`, `export`, `verify`, `gc`) run here without loading libtorch, so
//! they start in milliseconds; every other command (and `--help`) is handed
//! to `robbench-torch`, installed beside this binary.

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use robbench::light::{self, ConfigArgs, RunArgs};

#[derive(Parser)]
#[command(name = "robbench", version, disable_help_subcommand = true)]
struct Cli {
    #[arg(long, global = true, default_value = "artifacts", env = "ROBBENCH_STORE")]
    store: PathBuf,
    #[command(subcommand)]
    command: Light,
}

#[derive(Subcommand)]
enum Light {
    Sql {
        #[command(flatten)]
        config: ConfigArgs,
        #[command(flatten)]
        args: light::sql::SqlArgs,
    },
    Tables {
        #[command(flatten)]
        config: ConfigArgs,
        #[command(flatten)]
        run: RunArgs,
    },
    Schema,
    Runs,
    Export(light::export::ExportArgs),
    Verify,
    Gc(light::store::GcArgs),
}

const LIGHT: &[&str] = &["sql", "tables", "schema", "runs", "export", "verify", "gc"];

/// The subcommand word of `args` (skipping `--store DIR`).
fn subcommand(args: &[OsString]) -> Option<String> {
    let mut iter = args.iter().skip(1);
    while let Some(arg) = iter.next() {
        let arg = arg.to_string_lossy();
        if arg == "--store" {
            iter.next();
        } else if !arg.starts_with('-') {
            return Some(arg.into_owned());
        } else if !arg.starts_with("--store=") {
            return None;
        }
    }
    None
}

/// Replaces this process with `robbench-torch` and the same arguments.
fn hand_over(args: &[OsString]) -> ExitCode {
    let exe = std::env::current_exe().ok().and_then(|p| p.parent().map(|d| d.join("robbench-torch")));
    let Some(exe) = exe.filter(|p| p.exists()) else {
        eprintln!(
            "robbench: error: this command needs robbench-torch, which is not installed beside robbench (`make build` builds both)"
        );
        return ExitCode::FAILURE;
    };
    let error = std::process::Command::new(&exe).args(&args[1..]).exec();
    eprintln!("robbench: error: cannot run {}: {error}", exe.display());
    ExitCode::FAILURE
}

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().collect();
    if !subcommand(&args).is_some_and(|c| LIGHT.contains(&c.as_str())) {
        return hand_over(&args);
    }
    let cli = Cli::parse_from(&args);
    let result = match &cli.command {
        // Finding a config's runs needs its normalised form, which the stages give.
        Light::Sql { config, .. } | Light::Tables { config, .. } if config.is_given() => return hand_over(&args),
        Light::Sql { args, .. } => light::sql::sql(&cli.store, args, None),
        Light::Tables { run, .. } => light::sql::tables(&cli.store, run, None),
        Light::Schema => light::sql::schema_markdown(),
        Light::Runs => light::runs::list(&cli.store),
        Light::Export(args) => light::export::export(&cli.store, args),
        Light::Verify => light::store::verify(&cli.store),
        Light::Gc(args) => light::store::gc(&cli.store, args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("robbench: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
