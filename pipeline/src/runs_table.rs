//! The `runs` table: one row per unit of every run. A finished run's rows
//! are written once as `runs/<run_id>.units.parquet` and scanned from there;
//! runs still alive, killed ones and records of older versions are read from
//! their logs.

use std::sync::Arc;

use anyhow::Result;
use arrow::array::{ArrayRef, Float64Array, RecordBatch, StringArray};
use datafusion::catalog::TableProvider;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl};
use datafusion::datasource::{MemTable, provider_as_source};
use datafusion::logical_expr::LogicalPlanBuilder;

use crate::runs::{self, RunRecord};
use crate::store::Store;

fn rows_path(store: &Store, run_id: &str) -> std::path::PathBuf {
    store.runs_dir().join(format!("{run_id}.units.parquet"))
}

/// The run's units as rows of `runs`.
pub fn batch(record: &RunRecord) -> Result<RecordBatch> {
    let def = &robbench_schemas::RUNS;
    let n = record.units.len();
    let strings = |f: &dyn Fn(&crate::runs::RunUnit) -> String| -> ArrayRef {
        Arc::new(StringArray::from(record.units.iter().map(f).collect::<Vec<_>>()))
    };
    let columns = vec![
        Arc::new(StringArray::from(vec![record.run_id.as_str(); n])) as ArrayRef,
        strings(&|u| u.stage.clone()),
        strings(&|u| u.key.clone()),
        strings(&|u| u.label.clone()),
        strings(&|u| u.status.as_str().to_string()),
        Arc::new(Float64Array::from(record.units.iter().map(|u| u.seconds).collect::<Vec<_>>())),
        Arc::new(StringArray::from(record.units.iter().map(|u| u.error.clone()).collect::<Vec<_>>())),
    ];
    Ok(def.batch(columns)?)
}

/// Writes a finished run's rows (atomically).
pub fn write_run(store: &Store, record: &RunRecord) -> Result<()> {
    let path = rows_path(store, &record.run_id);
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    crate::tables::write_parquet(&tmp, &robbench_schemas::RUNS, &[batch(record)?])?;
    std::fs::rename(&tmp, &path)?;
    Ok(())
}

/// `runs` as a table: the finished runs' Parquet files plus the other runs' logs.
pub fn provider(store: &Store) -> Result<Arc<dyn TableProvider>> {
    let plain = crate::sql::plain(robbench_schemas::RUNS.schema());
    let mut files = Vec::new();
    let mut others = Vec::new();
    for id in runs::ids(store)? {
        let path = rows_path(store, &id);
        if path.exists() {
            files.push(ListingTableUrl::parse(path.display().to_string())?);
        } else {
            others.push(RecordBatch::try_new(plain.clone(), batch(&runs::read(store, &id)?)?.columns().to_vec())?);
        }
    }
    let memory: Arc<dyn TableProvider> = Arc::new(MemTable::try_new(plain.clone(), vec![others])?);
    if files.is_empty() {
        return Ok(memory);
    }
    let options = ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension(".parquet");
    let config = ListingTableConfig::new_with_multi_paths(files).with_listing_options(options).with_schema(plain);
    let listed: Arc<dyn TableProvider> = Arc::new(ListingTable::try_new(config)?);
    let plan = LogicalPlanBuilder::scan("runs_finished", provider_as_source(listed), None)?
        .union(LogicalPlanBuilder::scan("runs_open", provider_as_source(memory), None)?.build()?)?
        .build()?;
    Ok(Arc::new(datafusion::catalog::view::ViewTable::new(plan, None)))
}
