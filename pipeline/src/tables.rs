//! Parquet I/O for table files, with the schema version checked on read.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use arrow::array::{ArrayRef, UInt32Array};
use arrow::compute::{concat_batches, take_record_batch};
use arrow::datatypes::{DataType, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use arrow::row::{RowConverter, SortField};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::Compression;
use parquet::file::metadata::SortingColumn;
use parquet::file::properties::WriterProperties;
use robbench_schemas::{META_TABLE, META_VERSION, SORT_COLUMNS, TableDef};

/// Schema without the `robbench.table` tags: a query's result is not a table.
pub(crate) fn plain(schema: SchemaRef) -> SchemaRef {
    Arc::new(Schema::new(schema.fields().clone()))
}

/// Writes `batches` (which must have the table's schema) to `path`.
pub fn write_parquet(path: &Path, table: &TableDef, batches: &[RecordBatch]) -> Result<()> {
    let schema = table.schema();
    for batch in batches {
        if batch.schema().fields() != schema.fields() {
            bail!(
                "rows for table `{}` do not match its schema v{}: got {:?}",
                table.name,
                table.version,
                batch.schema().fields()
            );
        }
    }
    // Sorted, and saying so, so that compaction can copy the file's row
    // groups as they are encoded (see `compact`).
    let rows = sort_rows(&concat_batches(&schema, batches)?)?;
    let file = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_sorting_columns(Some(sorting_columns(&schema)))
        .build();
    let mut writer = ArrowWriter::try_new(file, schema.clone(), Some(props))?;
    writer.write(&rows)?;
    writer.close()?;
    Ok(())
}

/// Indices of the columns of `schema` that rows are sorted by, in
/// [`SORT_COLUMNS`] order (those the row format compares: primitives, strings).
fn sort_key_indices(schema: &Schema) -> Vec<usize> {
    SORT_COLUMNS
        .iter()
        .filter_map(|name| schema.index_of(name).ok())
        .filter(|&i| {
            let data_type = schema.field(i).data_type();
            data_type.is_primitive() || matches!(data_type, DataType::Utf8)
        })
        .collect()
}

/// `batch` with its rows in [`SORT_COLUMNS`] order; rows that tie keep their order.
pub fn sort_rows(batch: &RecordBatch) -> Result<RecordBatch> {
    let keys: Vec<ArrayRef> = sort_key_indices(batch.schema_ref()).iter().map(|&i| batch.column(i).clone()).collect();
    if keys.is_empty() || batch.num_rows() < 2 {
        return Ok(batch.clone());
    }
    let converter = RowConverter::new(keys.iter().map(|c| SortField::new(c.data_type().clone())).collect())?;
    let rows = converter.convert_columns(&keys)?;
    if (1..rows.num_rows()).all(|i| rows.row(i - 1) <= rows.row(i)) {
        return Ok(batch.clone());
    }
    let mut order: Vec<u32> = (0..batch.num_rows() as u32).collect();
    // `sort_by` is stable: ties keep their order, so the same rows give the same file.
    order.sort_by(|&a, &b| rows.row(a as usize).cmp(&rows.row(b as usize)));
    Ok(take_record_batch(batch, &UInt32Array::from(order))?)
}

/// That order as Parquet records it on a row group (column = leaf index).
pub fn sorting_columns(schema: &Schema) -> Vec<SortingColumn> {
    fn leaves(data_type: &DataType) -> usize {
        match data_type {
            DataType::Struct(fields) => fields.iter().map(|f| leaves(f.data_type())).sum(),
            DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) | DataType::Map(f, _) => {
                leaves(f.data_type())
            }
            _ => 1,
        }
    }
    let first_leaf: Vec<usize> = schema
        .fields()
        .iter()
        .scan(0, |next, f| {
            let first = *next;
            *next += leaves(f.data_type());
            Some(first)
        })
        .collect();
    sort_key_indices(schema)
        .into_iter()
        .map(|i| SortingColumn { column_idx: first_leaf[i] as i32, descending: false, nulls_first: true })
        .collect()
}

/// Reads a table file written by [`write_parquet`] for `table`, refusing a
/// file of another table or schema version with a message naming the file.
pub fn read_parquet(path: &Path, table: &TableDef) -> Result<Vec<RecordBatch>> {
    let (batches, name, version) = read_any(path)?;
    if name != table.name || version != table.version {
        bail!("{} holds table `{name}` v{version}, expected `{}` v{}", path.display(), table.name, table.version);
    }
    Ok(batches)
}

/// Reads any table file, returning its batches, table name and version.
pub fn read_any(path: &Path) -> Result<(Vec<RecordBatch>, String, u32)> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)
        .with_context(|| format!("{} is not a readable Parquet file", path.display()))?;
    let meta = builder.schema().metadata().clone();
    let name = meta.get(META_TABLE).cloned().unwrap_or_default();
    let version = meta.get(META_VERSION).and_then(|v| v.parse().ok()).unwrap_or(0);
    let reader = builder.build()?;
    let batches = reader.collect::<Result<Vec<_>, _>>().with_context(|| format!("{} is corrupt", path.display()))?;
    Ok((batches, name, version))
}
