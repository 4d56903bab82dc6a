//! The one place a robbench table and its columns are named.
//!
//! Every stage writes its rows with a [`TableDef`] from here; the pipeline
//! reads them back and serves them to SQL by the same definitions. A table's
//! `version` is bumped whenever its columns change: it is stored in each
//! Parquet file's metadata and in the file name (`<name>.v<version>.parquet`),
//! so files written by an older version stay readable under `<name>_v<k>` and
//! are never confused with current ones.

mod tables;

use std::collections::HashMap;
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;

pub use tables::*;

/// Parquet/Arrow metadata key holding the table name.
pub const META_TABLE: &str = "robbench.table";
/// Parquet/Arrow metadata key holding the table's schema version.
pub const META_VERSION: &str = "robbench.schema_version";

/// The columns typical filters use (dataset, architecture, attack, ε, seed …),
/// in the order the compacted tables sort their rows by, where a table has them.
pub const SORT_COLUMNS: &[&str] =
    &["source", "dataset", "split", "arch_index", "seed", "weights", "attack", "eps", "epoch", "sample_index"];

/// A column: name, type, nullability, and what it means.
pub struct Column {
    pub name: &'static str,
    pub data_type: fn() -> DataType,
    pub nullable: bool,
    pub doc: &'static str,
}

/// A versioned table definition.
pub struct TableDef {
    pub name: &'static str,
    pub version: u32,
    pub doc: &'static str,
    pub columns: &'static [Column],
}

impl TableDef {
    /// The Arrow schema, carrying the table name and version as metadata.
    pub fn schema(&self) -> SchemaRef {
        let fields: Vec<Field> = self.columns.iter().map(|c| Field::new(c.name, (c.data_type)(), c.nullable)).collect();
        let metadata = HashMap::from([
            (META_TABLE.to_string(), self.name.to_string()),
            (META_VERSION.to_string(), self.version.to_string()),
        ]);
        Arc::new(Schema::new_with_metadata(fields, metadata))
    }

    /// File name of this table inside a unit's output: `<name>.v<version>.parquet`.
    pub fn file_name(&self) -> String {
        format!("{}.v{}.parquet", self.name, self.version)
    }

    /// Builds a batch from columns in schema order, checking names and types.
    pub fn batch(&self, columns: Vec<arrow::array::ArrayRef>) -> Result<RecordBatch, ArrowError> {
        RecordBatch::try_new(self.schema(), columns)
            .map_err(|e| ArrowError::InvalidArgumentError(format!("table `{}`: {e}", self.name)))
    }
}

/// Parses a table file name `<name>.v<version>.parquet`.
pub fn parse_file_name(file_name: &str) -> Option<(&str, u32)> {
    let stem = file_name.strip_suffix(".parquet")?;
    let (name, version) = stem.rsplit_once(".v")?;
    Some((name, version.parse().ok()?))
}

/// Every table robbench writes, in documentation order.
pub fn all() -> &'static [&'static TableDef] {
    ALL_TABLES
}

/// Looks a table up by name.
pub fn by_name(name: &str) -> Option<&'static TableDef> {
    ALL_TABLES.iter().copied().find(|t| t.name == name)
}

/// Every table as Markdown: a heading with the version, the doc line, and a
/// column table. docs/src/reference/tables.md is generated from these definitions.
pub fn markdown() -> String {
    let mut out = String::new();
    for t in all() {
        out.push_str(&format!(
            "### `{}` (v{})\n\n{}\n\n| column | type | meaning |\n|---|---|---|\n",
            t.name, t.version, t.doc
        ));
        for c in t.columns {
            let ty = format!("{}{}", (c.data_type)(), if c.nullable { ", nullable" } else { "" });
            out.push_str(&format!("| `{}` | {} | {} |\n", c.name, ty, c.doc));
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_files_round_trip() {
        let mut names: Vec<_> = all().iter().map(|t| t.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), all().len());
        for t in all() {
            assert_eq!(parse_file_name(&t.file_name()), Some((t.name, t.version)));
            let schema = t.schema();
            assert_eq!(schema.metadata()[META_TABLE], t.name);
            assert_eq!(schema.fields().len(), t.columns.len());
        }
        assert_eq!(parse_file_name("models.v12.parquet"), Some(("models", 12)));
        assert_eq!(parse_file_name("models.parquet"), None);
    }
}
