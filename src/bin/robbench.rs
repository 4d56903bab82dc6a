//! `robbench`: the commands that touch no tensor (`sql`, `tables`, `schema`,
//! `runs`, `plan`, `export`, `verify`, `gc`) run here without loading libtorch, so
//! they start in milliseconds; every other command (and `--help`) is handed
//! to `robbench-torch`, installed beside this binary.

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use robbench::light::LightCommand;
use robbench_pipeline::console::note;

/// See `Cargo.toml`: fewer page faults for planning and compaction.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "robbench", version, disable_help_subcommand = true)]
struct Cli {
    #[arg(long, global = true, default_value = "artifacts", env = "ROBBENCH_STORE")]
    store: PathBuf,
    #[command(subcommand)]
    command: LightCommand,
}

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
        note(format_args!(
            "robbench: error: this command needs robbench-torch, which is not installed beside robbench (`make build` builds both)"
        ));
        return ExitCode::FAILURE;
    };
    let error = std::process::Command::new(&exe).args(&args[1..]).exec();
    note(format_args!("robbench: error: cannot run {}: {error}", exe.display()));
    ExitCode::FAILURE
}

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().collect();
    if !subcommand(&args).is_some_and(|c| LightCommand::has_subcommand(&c)) {
        return hand_over(&args);
    }
    let cli = Cli::parse_from(&args);
    match cli.command.run(&cli.store) {
        Ok(code) => code,
        Err(e) => {
            note(format_args!("robbench: error: {e:#}"));
            ExitCode::FAILURE
        }
    }
}
