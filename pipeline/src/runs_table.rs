//! The `runs` table served to SQL: one row per unit of every run. A finished
//! run's rows are written once as `runs/<run_id>.units.parquet` (by
//! [`runs::write_run`]) and scanned from there; runs still alive, killed ones
//! and records of older versions are read from their logs.

use std::sync::Arc;

use anyhow::Result;
use arrow::array::RecordBatch;
use datafusion::catalog::TableProvider;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl};
use datafusion::datasource::{MemTable, provider_as_source};
use datafusion::logical_expr::LogicalPlanBuilder;

use crate::runs::{self, batch, rows_path};
use crate::store::Store;

/// `runs` as a table: the finished runs' Parquet files plus the other runs' logs.
pub fn provider(store: &Store) -> Result<Arc<dyn TableProvider>> {
    let plain = crate::tables::plain(robbench_schemas::RUNS.schema());
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
