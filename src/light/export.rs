//! `robbench export`: a run's tables as plain Parquet datasets for other tools.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};

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
        eprintln!("robbench: {line}");
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
            let destination = target.join(source.file_name().expect("files have names"));
            // Same filesystem: a hard link (no bytes copied); otherwise a copy.
            if std::fs::hard_link(&source, &destination).is_err() {
                std::fs::copy(&source, &destination).with_context(|| format!("cannot copy {}", source.display()))?;
            }
        }
        say(format_args!("{name}: {rows} rows → {}", target.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}
