//! Parquet I/O for table files, with the schema version checked on read.

use std::fs::File;
use std::path::Path;

use anyhow::{Context, Result, bail};
use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use robbench_schemas::{META_TABLE, META_VERSION, TableDef};

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
    let file = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let props = WriterProperties::builder().set_compression(Compression::SNAPPY).build();
    let mut writer = ArrowWriter::try_new(file, schema.clone(), Some(props))?;
    for batch in batches {
        writer.write(&batch.clone().with_schema(schema.clone())?)?;
    }
    writer.close()?;
    Ok(())
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
