//! `robbench export`: a run's tables as plain Parquet datasets for other tools.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use robbench_pipeline::console::note;

use super::{RunArgs, say};

#[derive(clap::Args, Clone)]
pub struct ExportArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// Directory to write `<table>/part-*.parquet` into (created; must not hold those tables yet).
    #[arg(long)]
    pub out: PathBuf,
    /// Only these tables (comma-separated), e.g. `--tables evaluations,architectures`.
    #[arg(long, value_delimiter = ',')]
    pub tables: Vec<String>,
}

pub fn export(store: &Path, args: &ExportArgs) -> Result<ExitCode> {
    let catalog = super::sql::open_catalog(store, &args.run, None)?;
    let snapshot = catalog.snapshot()?;
    for line in catalog.take_notices() {
        note(format_args!("robbench: {line}"));
    }
    let served: Vec<(String, PathBuf, u64)> = snapshot
        .tables
        .iter()
        .map(|t| {
            let current = robbench_schemas::by_name(&t.table).map(|d| d.version);
            (t.served_name(current), snapshot.table_dir(t, current), t.rows)
        })
        .collect();
    for wanted in &args.tables {
        if !served.iter().any(|(name, _, _)| name == wanted) {
            let names: Vec<&str> = served.iter().map(|(n, _, _)| n.as_str()).collect();
            bail!("the run has no table `{wanted}` (it has: {})", names.join(", "));
        }
    }
    std::fs::create_dir_all(&args.out).with_context(|| format!("cannot create {}", args.out.display()))?;
    for (name, dir, rows) in served.iter().filter(|(n, _, _)| args.tables.is_empty() || args.tables.contains(n)) {
        let target = args.out.join(name);
        if target.exists() {
            bail!("{} exists already: export into an empty directory", target.display());
        }
        std::fs::create_dir_all(&target)?;
        for entry in std::fs::read_dir(dir)? {
            let source = entry?.path();
            if source.extension().is_none_or(|e| e != "parquet") {
                continue;
            }
            copy_out(&source, &target.join(source.file_name().expect("files have names")))?;
        }
        say(format_args!("{name}: {rows} rows → {}", target.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Copies a file out of the store as the user's own (writable) file, never
/// sharing its inode: a tool that rewrites the export in place must not
/// rewrite the store. A reflink where the filesystem has them (no bytes
/// copied until either side changes), else a copy.
fn copy_out(source: &Path, destination: &Path) -> Result<()> {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::PermissionsExt;
    let from = std::fs::File::open(source).with_context(|| format!("cannot read {}", source.display()))?;
    let to = std::fs::File::options()
        .write(true)
        .create_new(true)
        .open(destination)
        .with_context(|| format!("cannot create {}", destination.display()))?;
    // SAFETY: both descriptors are open for the duration of the call.
    let cloned = unsafe { libc::ioctl(to.as_raw_fd(), libc::FICLONE, from.as_raw_fd()) } == 0;
    if !cloned {
        std::io::copy(&mut &from, &mut &to).with_context(|| format!("cannot copy {}", source.display()))?;
    }
    to.set_permissions(std::fs::Permissions::from_mode(0o644))?;
    Ok(())
}
