//! `robbench sql`, `robbench tables` and `robbench schema`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use robbench_pipeline::Store;
use robbench_pipeline::compact::Completeness;
use robbench_pipeline::console::note;
use robbench_pipeline::sql::{Catalog, RunChoice, choose_run, query_each};

use super::{RunArgs, say};

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Format {
    Table,
    Csv,
    Json,
    Parquet,
}

#[derive(clap::Args, Clone)]
pub struct SqlArgs {
    #[command(flatten)]
    pub run: RunArgs,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Output file (required for parquet; default stdout otherwise).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// The query, e.g. "SELECT attack, avg(accuracy) FROM evaluations GROUP BY attack".
    pub query: String,
}

/// The catalog of the run the arguments choose: `--run`, else the latest
/// complete run of `config_hash` when a config was named, else the latest
/// complete run in the store. Says which on stderr.
pub fn open_catalog(store: &Path, run: &RunArgs, config_hash: Option<&str>) -> Result<Arc<Catalog>> {
    let store = Store::open(store)?;
    let choice = match (&run.run, config_hash) {
        (Some(id), _) => RunChoice::Id(id),
        (None, Some(hash)) => RunChoice::Config(hash),
        (None, None) => RunChoice::Latest,
    };
    let chosen = choose_run(&store, choice)?;
    let completeness = if run.allow_partial { Completeness::AllowPartial } else { Completeness::Whole };
    Ok(Arc::new(
        Catalog::new(&store, chosen, completeness).with_planned_units(Box::new(robbench_experiment::planned_units)),
    ))
}

/// Tells stderr which run answered and what was missing from it.
pub fn report_notices(catalog: &Catalog, run: &RunArgs) {
    if let Some(id) = catalog.run_id()
        && run.run.is_none()
    {
        note(format_args!("robbench: tables of run {id}"));
    }
    for line in catalog.take_notices() {
        note(format_args!("robbench: {line}"));
    }
}

pub fn sql(store: &Path, args: &SqlArgs, config_hash: Option<&str>) -> Result<ExitCode> {
    let catalog = open_catalog(store, &args.run, config_hash)?;
    let result = write(catalog.clone(), &args.query, args.format, args.out.as_deref());
    report_notices(&catalog, &args.run);
    match result {
        // The reader went away (`| head`): that is not an error.
        Err(e) if is_broken_pipe(&e) => Ok(ExitCode::SUCCESS),
        Err(e) => Err(e),
        Ok(()) => Ok(ExitCode::SUCCESS),
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            || c.downcast_ref::<arrow::error::ArrowError>()
                .is_some_and(|a| matches!(a, arrow::error::ArrowError::IoError(_, io) if io.kind() == std::io::ErrorKind::BrokenPipe))
    })
}

/// Streams the result in `format`: rows are written as DataFusion produces
/// them (only `table` needs them all, to size its columns).
fn write(catalog: Arc<Catalog>, query: &str, format: Format, out: Option<&Path>) -> Result<()> {
    if let Format::Parquet = format {
        let path = out.context("--format parquet needs --out FILE")?;
        let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
        let mut writer: Option<parquet::arrow::ArrowWriter<std::fs::File>> = None;
        let schema = query_each(catalog, query, |schema, batch| {
            if writer.is_none() {
                let file = std::fs::File::create(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
                writer = Some(parquet::arrow::ArrowWriter::try_new(file, without_views(schema), None)?);
            }
            writer.as_mut().expect("created above").write(&plain_strings(batch)?)?;
            Ok(())
        })?;
        let writer = match writer {
            Some(w) => w,
            None => {
                let file = std::fs::File::create(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
                parquet::arrow::ArrowWriter::try_new(file, without_views(&schema), None)?
            }
        };
        writer.close()?;
        std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
        return Ok(());
    }
    let sink: Box<dyn Write> = match out {
        Some(path) => {
            Box::new(std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?)
        }
        None => Box::new(std::io::stdout().lock()),
    };
    let mut sink = std::io::BufWriter::new(sink);
    match format {
        Format::Table => {
            let mut batches: Vec<RecordBatch> = Vec::new();
            let schema = query_each(catalog, query, |_, b| {
                batches.push(b.clone());
                Ok(())
            })?;
            if batches.is_empty() {
                batches.push(RecordBatch::new_empty(schema));
            }
            writeln!(sink, "{}", arrow::util::pretty::pretty_format_batches(&batches)?)?;
        }
        Format::Csv => {
            let mut writer = arrow::csv::WriterBuilder::new().with_header(true).build(&mut sink);
            let mut rows = 0;
            let schema: SchemaRef = query_each(catalog, query, |_, b| {
                rows += b.num_rows();
                Ok(writer.write(b)?)
            })?;
            drop(writer);
            if rows == 0 {
                let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
                writeln!(sink, "{}", names.join(","))?;
            }
        }
        Format::Json => {
            let mut writer = arrow::json::ArrayWriter::new(&mut sink);
            query_each(catalog, query, |_, b| Ok(writer.write(b)?))?;
            // An empty result is `[]` too: the writer opens and closes the array itself.
            writer.finish()?;
            drop(writer);
            writeln!(sink)?;
        }
        Format::Parquet => unreachable!("handled above"),
    }
    sink.flush()?;
    Ok(())
}

/// `schema` with its string and binary views as the plain types the tables
/// store: SQL scans strings as views, the files it writes for other tools
/// keep the types `robbench tables` lists.
fn without_views(schema: &SchemaRef) -> SchemaRef {
    let plain = |data_type: &DataType| match data_type {
        DataType::Utf8View => DataType::Utf8,
        DataType::BinaryView => DataType::Binary,
        other => other.clone(),
    };
    let fields: Vec<Field> =
        schema.fields().iter().map(|f| f.as_ref().clone().with_data_type(plain(f.data_type()))).collect();
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

fn plain_strings(batch: &RecordBatch) -> Result<RecordBatch> {
    let schema = without_views(&batch.schema());
    let columns = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(column, field)| arrow::compute::cast(column, field.data_type()))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(RecordBatch::try_new(schema, columns)?)
}

pub fn tables(store: &Path, run: &RunArgs, config_hash: Option<&str>) -> Result<ExitCode> {
    let catalog = open_catalog(store, run, config_hash)?;
    let schemas = catalog.table_schemas();
    report_notices(&catalog, run);
    let dir = catalog.snapshot()?.dir.clone();
    say(format_args!("tables of run {} ({}):", catalog.run_id().unwrap_or("(imports only)"), dir.display()))?;
    for (name, schema, rows) in schemas? {
        let columns: Vec<String> = schema.fields().iter().map(|f| format!("{} {}", f.name(), f.data_type())).collect();
        say(format_args!("{name} ({rows} rows): {}", columns.join(", ")))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Markdown description of every table (docs/src/reference/tables.md is
/// generated with more detail by `robbench reference`).
pub fn schema_markdown() -> Result<ExitCode> {
    say(format_args!("{}", robbench_schemas::markdown().trim_end()))?;
    Ok(ExitCode::SUCCESS)
}
