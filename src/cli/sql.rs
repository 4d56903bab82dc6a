//! `robbench sql` and `robbench tables`.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use robbench_pipeline::sql::{Catalog, query};
use robbench_pipeline::{RunRecord, Store, runs};

use super::load_config;
use crate::ConfigArgs;

/// Stages whose latest unit of each label every run sees: imports and searches.
const GLOBAL_STAGES: &[&str] = &[robbench_stages::import::IMPORT_STAGE, robbench_stages::search::SEARCH_STAGE];

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Format {
    Table,
    Csv,
    Json,
    Parquet,
}

/// The run to query: `--run ID`, else the latest run of the config.
fn choose_run(store: &Store, args: &ConfigArgs, run: Option<&str>) -> Result<(RunRecord, Vec<RunRecord>)> {
    let all = runs::list(store)?;
    let chosen = match run {
        Some(id) => all.iter().find(|r| r.run_id == id).cloned().with_context(|| {
            format!(
                "no run `{id}` in {} (see `robbench sql \"SELECT DISTINCT run_id FROM runs\"`)",
                store.root().display()
            )
        })?,
        // Without a run of the experiment, imported data is still queryable.
        None if args.config.is_none()
            && args.sets.is_empty()
            && !all.iter().any(|r| r.units.iter().any(|u| !GLOBAL_STAGES.contains(&u.stage.as_str())))
            && !all.is_empty() =>
        {
            all.last().cloned().expect("checked non-empty")
        }
        None => {
            let pipeline = robbench_stages::pipeline(tch::Device::Cpu)?;
            let plan = pipeline.plan(&load_config(args)?)?;
            match all.iter().rev().find(|r| r.config_hash == plan.config_hash && r.shard.is_none()) {
                Some(r) => r.clone(),
                None => bail!(
                    "no complete run of this config (hash {}) in {}; run `robbench run` with the same --config/--set first, or pass --run ID",
                    plan.config_hash,
                    store.root().display()
                ),
            }
        }
    };
    Ok((chosen, all))
}

pub fn sql(
    store: &Path,
    args: &ConfigArgs,
    run: Option<&str>,
    format: Format,
    out: Option<&Path>,
    sql: &str,
) -> Result<ExitCode> {
    let store = Store::open(store)?;
    let (chosen, all) = choose_run(&store, args, run)?;
    let catalog = Arc::new(Catalog::new(&store, chosen, all, GLOBAL_STAGES));
    let (schema, batches) = query(catalog, sql)?;
    write(format, out, schema, &batches)?;
    Ok(ExitCode::SUCCESS)
}

fn write(format: Format, out: Option<&Path>, schema: SchemaRef, batches: &[RecordBatch]) -> Result<()> {
    if let Format::Parquet = format {
        let path = out.context("--format parquet needs --out FILE")?;
        let file = std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
        let mut writer = parquet::arrow::ArrowWriter::try_new(file, schema, None)?;
        for batch in batches {
            writer.write(batch)?;
        }
        writer.close()?;
        return Ok(());
    }
    let mut sink: Box<dyn Write> = match out {
        Some(path) => {
            Box::new(std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?)
        }
        None => Box::new(std::io::stdout().lock()),
    };
    match format {
        Format::Table => writeln!(sink, "{}", arrow::util::pretty::pretty_format_batches(batches)?)?,
        Format::Csv => {
            let mut writer = arrow::csv::WriterBuilder::new().with_header(true).build(&mut sink);
            if batches.is_empty() {
                writeln!(
                    writer.into_inner(),
                    "{}",
                    schema.fields().iter().map(|f| f.name().as_str()).collect::<Vec<_>>().join(",")
                )?;
            } else {
                for batch in batches {
                    writer.write(batch)?;
                }
            }
        }
        Format::Json => {
            let mut writer = arrow::json::ArrayWriter::new(&mut sink);
            for batch in batches {
                writer.write(batch)?;
            }
            writer.finish()?;
            if batches.is_empty() {
                write!(sink, "[]")?;
            }
            writeln!(sink)?;
        }
        Format::Parquet => unreachable!("handled above"),
    }
    Ok(())
}

pub fn tables(store: &Path, args: &ConfigArgs, run: Option<&str>) -> Result<ExitCode> {
    let store = Store::open(store)?;
    let (chosen, all) = choose_run(&store, args, run)?;
    let run_id = chosen.run_id.clone();
    let catalog = Catalog::new(&store, chosen, all, GLOBAL_STAGES);
    println!("tables of run {run_id}:");
    for (name, schema, rows) in catalog.table_schemas()? {
        let columns: Vec<String> = schema.fields().iter().map(|f| format!("{} {}", f.name(), f.data_type())).collect();
        println!("{name} ({rows} rows): {}", columns.join(", "));
    }
    Ok(ExitCode::SUCCESS)
}

/// Markdown description of every table, as in the README.
pub fn schema_markdown() -> Result<ExitCode> {
    print!("{}", robbench_schemas::markdown());
    Ok(ExitCode::SUCCESS)
}

pub fn report(store: &Path, args: &ConfigArgs, run: Option<&str>, out: &Path) -> Result<ExitCode> {
    let store = Store::open(store)?;
    let (chosen, all) = choose_run(&store, args, run)?;
    let catalog = Arc::new(Catalog::new(&store, chosen, all, GLOBAL_STAGES));
    let html = robbench_stages::report::render(catalog)?;
    robbench_pipeline::store::write_atomic(out, html.as_bytes())?;
    println!("wrote {}", out.display());
    Ok(ExitCode::SUCCESS)
}
