//! The report's query results (`Rows`: each column as text and as numbers) and its HTML tables.

use std::fmt::Write;
use std::sync::Arc;

use anyhow::Result;
use arrow::array::{Array, StringArray};
use arrow::compute::cast;
use arrow::datatypes::DataType;
use robbench_pipeline::sql::{Catalog, query};

use crate::svg::escape;

/// Column `i` of a query result as strings and as numbers.
pub(super) struct Rows {
    pub(super) columns: Vec<Vec<Option<String>>>,
}

impl Rows {
    pub(super) fn fetch(catalog: &Arc<Catalog>, sql: &str) -> Result<Rows> {
        let (schema, batches) = query(catalog.clone(), sql)?;
        let mut columns = vec![Vec::new(); schema.fields().len()];
        for batch in &batches {
            for (i, column) in batch.columns().iter().enumerate() {
                let text = cast(column, &DataType::Utf8)?;
                let text = text.as_any().downcast_ref::<StringArray>().expect("cast to Utf8");
                columns[i].extend((0..text.len()).map(|r| text.is_valid(r).then(|| text.value(r).to_string())));
            }
        }
        Ok(Rows { columns })
    }

    pub(super) fn len(&self) -> usize {
        self.columns.first().map_or(0, Vec::len)
    }

    pub(super) fn text(&self, column: usize, row: usize) -> &str {
        self.columns[column][row].as_deref().unwrap_or("")
    }

    pub(super) fn number(&self, column: usize, row: usize) -> f64 {
        self.columns[column][row].as_deref().and_then(|v| v.parse().ok()).unwrap_or(f64::NAN)
    }
}

/// An HTML table; cells are escaped here.
pub(super) fn table(headers: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut html = String::from("<table><tr>");
    for h in headers {
        let _ = write!(html, "<th>{}</th>", escape(h));
    }
    html.push_str("</tr>\n");
    for row in rows {
        html.push_str("<tr>");
        for cell in row {
            let _ = write!(html, "<td>{}</td>", escape(&cell));
        }
        html.push_str("</tr>\n");
    }
    html.push_str("</table>\n");
    html
}
