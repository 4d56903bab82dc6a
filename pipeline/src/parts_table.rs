//! A compacted table as DataFusion scans it: its part files, each with the
//! range of its sort columns ([`Part::ranges`]), so a filter such as
//! `arch_index = 7` opens only the parts that can hold matching rows. The
//! footers of the others (thousands of row groups at the benchmark's size)
//! are never read; inside the parts that remain, DataFusion prunes row
//! groups and pages itself.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{ArrayRef, BooleanArray};
use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::pruning::PruningStatistics;
use datafusion::common::{Column, DFSchema, ScalarValue};
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl};
use datafusion::error::Result;
use datafusion::logical_expr::utils::conjunction;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown, TableType};
use datafusion::physical_optimizer::pruning::PruningPredicateBuilder;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::empty::EmptyExec;

use crate::compact::{ColumnRanges, Part};

#[derive(Debug)]
pub struct PartsTable {
    schema: SchemaRef,
    files: Vec<ListingTableUrl>,
    ranges: Vec<Option<ColumnRanges>>,
}

impl PartsTable {
    /// The parts of one table, in `dir`.
    pub fn new(dir: &Path, parts: &[Part], schema: SchemaRef) -> anyhow::Result<PartsTable> {
        let files = parts
            .iter()
            .map(|p| ListingTableUrl::parse(dir.join(&p.name).to_string_lossy()))
            .collect::<Result<Vec<_>>>()?;
        Ok(PartsTable { schema, files, ranges: parts.iter().map(|p| p.ranges.clone()).collect() })
    }

    /// Which parts may hold rows the filters keep (all of them when the
    /// filters say nothing about the sort columns).
    fn may_match(&self, state: &dyn Session, filters: &[Expr]) -> Result<Vec<bool>> {
        let Some(predicate) = conjunction(filters.iter().cloned()) else {
            return Ok(vec![true; self.files.len()]);
        };
        let df_schema = DFSchema::try_from(self.schema.as_ref().clone())?;
        let predicate = state.create_physical_expr(predicate, &df_schema)?;
        PruningPredicateBuilder::new()
            .with_file_schema(self.schema.clone())
            .try_build(predicate)?
            .prune(&RangeStatistics(self))
    }
}

#[async_trait]
impl TableProvider for PartsTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(&self, filters: &[&Expr]) -> Result<Vec<TableProviderFilterPushDown>> {
        // The scan applies them; part pruning only narrows what it reads.
        Ok(vec![TableProviderFilterPushDown::Inexact; filters.len()])
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let keep = self.may_match(state, filters)?;
        let files: Vec<ListingTableUrl> =
            self.files.iter().zip(keep).filter(|(_, keep)| *keep).map(|(f, _)| f.clone()).collect();
        if files.is_empty() {
            let schema = match projection {
                Some(columns) => Arc::new(self.schema.project(columns)?),
                None => self.schema.clone(),
            };
            return Ok(Arc::new(EmptyExec::new(schema)));
        }
        let options = ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension(".parquet");
        let config = ListingTableConfig::new_with_multi_paths(files)
            .with_listing_options(options)
            .with_schema(self.schema.clone());
        ListingTable::try_new(config)?.scan(state, projection, filters, limit).await
    }
}

/// The parts' ranges as DataFusion's pruning reads them: one container per part.
struct RangeStatistics<'a>(&'a PartsTable);

impl RangeStatistics<'_> {
    fn bound(&self, column: &Column, pick: fn(&(String, String)) -> &String) -> Option<ArrayRef> {
        let data_type = self.0.schema.field_with_name(&column.name).ok()?.data_type();
        let null = ScalarValue::try_from(data_type).ok()?;
        let values = self.0.ranges.iter().map(|ranges| {
            ranges
                .as_ref()
                .and_then(|r| r.get(&column.name))
                .and_then(|range| ScalarValue::try_from_string(pick(range).clone(), data_type).ok())
                .unwrap_or_else(|| null.clone())
        });
        ScalarValue::iter_to_array(values).ok()
    }
}

impl PruningStatistics for RangeStatistics<'_> {
    fn min_values(&self, column: &Column) -> Option<ArrayRef> {
        self.bound(column, |(min, _)| min)
    }

    fn max_values(&self, column: &Column) -> Option<ArrayRef> {
        self.bound(column, |(_, max)| max)
    }

    fn num_containers(&self) -> usize {
        self.0.files.len()
    }

    fn null_counts(&self, _column: &Column) -> Option<ArrayRef> {
        None
    }

    fn row_counts(&self) -> Option<ArrayRef> {
        None
    }

    fn contained(&self, _column: &Column, _values: &HashSet<ScalarValue>) -> Option<BooleanArray> {
        None
    }
}
