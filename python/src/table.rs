//! `robbench.Table`: an Arrow result held in Rust memory, read by pyarrow,
//! polars, pandas or DuckDB through the Arrow PyCapsule interface without a
//! copy.

use std::ffi::{CStr, c_void};
use std::ptr::NonNull;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use pyo3::exceptions::PyImportError;
use pyo3::prelude::*;
use pyo3::types::PyCapsule;

use crate::ffi::{self, ArrowArrayStream, ArrowSchema};
use crate::{Kind, error, guard};

const STREAM_NAME: &CStr = c"arrow_array_stream";
const SCHEMA_NAME: &CStr = c"arrow_schema";

/// An Arrow table (a schema and record batches) computed by robbench.
///
/// It implements the Arrow PyCapsule interface (``__arrow_c_stream__``), so
/// ``pyarrow.table(t)``, ``polars.DataFrame(t)``, ``duckdb.sql("… FROM t")``
/// and ``pandas`` (through pyarrow) read its buffers without copying them;
/// it can be read any number of times. ``to_pyarrow()``, ``to_pandas()`` and
/// ``to_polars()`` need the library installed; ``to_pylist()`` needs none.
#[pyclass(module = "robbench", name = "Table", frozen)]
pub struct Table {
    schema: SchemaRef,
    batches: Vec<RecordBatch>,
}

impl Table {
    /// A table whose every column can be exported (else `robbench.Error`
    /// naming the column).
    pub fn new(schema: SchemaRef, batches: Vec<RecordBatch>) -> PyResult<Table> {
        ffi::check_schema(&schema).map_err(|e| error(Kind::Error, e))?;
        Ok(Table { schema, batches })
    }

    pub fn from_batch(batch: RecordBatch) -> PyResult<Table> {
        Table::new(batch.schema(), vec![batch])
    }

    fn rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }
}

unsafe extern "C" fn drop_stream_capsule(capsule: *mut pyo3::ffi::PyObject) {
    // SAFETY: the capsule was made by `__arrow_c_stream__` with this name and
    // a boxed stream; a consumer that took the stream left it released.
    unsafe {
        let pointer = pyo3::ffi::PyCapsule_GetPointer(capsule, STREAM_NAME.as_ptr()).cast::<ArrowArrayStream>();
        if pointer.is_null() {
            pyo3::ffi::PyErr_Clear();
            return;
        }
        ffi::release_if_live(pointer);
        drop(Box::from_raw(pointer));
    }
}

unsafe extern "C" fn drop_schema_capsule(capsule: *mut pyo3::ffi::PyObject) {
    // SAFETY: as above, for a boxed schema.
    unsafe {
        let pointer = pyo3::ffi::PyCapsule_GetPointer(capsule, SCHEMA_NAME.as_ptr()).cast::<ArrowSchema>();
        if pointer.is_null() {
            pyo3::ffi::PyErr_Clear();
            return;
        }
        ffi::release_schema_if_live(pointer);
        drop(Box::from_raw(pointer));
    }
}

fn import<'py>(py: Python<'py>, module: &str, method: &str) -> PyResult<Bound<'py, PyModule>> {
    py.import(module).map_err(|_| {
        PyImportError::new_err(format!(
            "Table.{method}() needs {module}: `pip install {module}` (robbench itself does not)"
        ))
    })
}

#[pymethods]
impl Table {
    /// The Arrow C stream of this table, in a PyCapsule (the Arrow PyCapsule
    /// interface). ``requested_schema`` is not used: the table is exported
    /// with its own types.
    #[pyo3(signature = (requested_schema=None))]
    fn __arrow_c_stream__<'py>(
        &self,
        py: Python<'py>,
        requested_schema: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyCapsule>> {
        let _ = requested_schema;
        guard(|| {
            let stream = Box::new(ffi::export_stream(self.schema.clone(), self.batches.clone()));
            let pointer = NonNull::new(Box::into_raw(stream).cast::<c_void>()).expect("a box is not null");
            // SAFETY: the pointer is a boxed stream that the destructor frees.
            unsafe { PyCapsule::new_with_pointer_and_destructor(py, pointer, STREAM_NAME, Some(drop_stream_capsule)) }
        })
    }

    /// The table's schema as an Arrow C schema in a PyCapsule.
    fn __arrow_c_schema__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyCapsule>> {
        guard(|| {
            let mut schema = Box::new(ffi::empty_schema());
            ffi::export_schema(&self.schema, &mut schema).map_err(|e| error(Kind::Error, e))?;
            let pointer = NonNull::new(Box::into_raw(schema).cast::<c_void>()).expect("a box is not null");
            // SAFETY: the pointer is a boxed schema that the destructor frees.
            unsafe { PyCapsule::new_with_pointer_and_destructor(py, pointer, SCHEMA_NAME, Some(drop_schema_capsule)) }
        })
    }

    /// Number of rows.
    #[getter]
    fn num_rows(&self) -> usize {
        self.rows()
    }

    /// Number of columns.
    #[getter]
    fn num_columns(&self) -> usize {
        self.schema.fields().len()
    }

    /// The column names, in order.
    #[getter]
    fn column_names(&self) -> Vec<String> {
        self.schema.fields().iter().map(|f| f.name().clone()).collect()
    }

    /// The schema as text, one ``name: type`` per column.
    #[getter]
    fn schema(&self) -> String {
        self.schema
            .fields()
            .iter()
            .map(|f| format!("{}: {}{}", f.name(), f.data_type(), if f.is_nullable() { "" } else { " not null" }))
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn __len__(&self) -> usize {
        self.rows()
    }

    fn __repr__(&self) -> PyResult<String> {
        guard(|| {
            const SHOWN: usize = 10;
            let mut head = Vec::new();
            let mut left = SHOWN;
            for batch in &self.batches {
                if left == 0 {
                    break;
                }
                let take = left.min(batch.num_rows());
                head.push(batch.slice(0, take));
                left -= take;
            }
            if head.is_empty() {
                head.push(RecordBatch::new_empty(self.schema.clone()));
            }
            let text = arrow::util::pretty::pretty_format_batches(&head)
                .map(|t| t.to_string())
                .unwrap_or_else(|e| format!("(cannot format: {e})"));
            let rows = self.rows();
            let more = if rows > SHOWN { format!(" ({} shown)", SHOWN) } else { String::new() };
            Ok(format!("robbench.Table: {rows} rows × {} columns{more}\n{text}", self.schema.fields().len()))
        })
    }

    /// The rows as a list of dicts (column → Python value), with no library
    /// needed. Meant for small results: every value becomes a Python object.
    fn to_pylist<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let json = guard(|| {
            let mut writer = arrow::json::ArrayWriter::new(Vec::new());
            for batch in &self.batches {
                writer.write(batch).map_err(|e| error(Kind::Error, format!("cannot convert to Python: {e}")))?;
            }
            writer.finish().map_err(|e| error(Kind::Error, format!("cannot convert to Python: {e}")))?;
            Ok(writer.into_inner())
        })?;
        let rows = py.import("json")?.call_method1("loads", (pyo3::types::PyBytes::new(py, &json),))?;
        // Missing keys are nulls: give every row every column.
        let names = self.column_names();
        for row in rows.try_iter()? {
            let row = row?;
            for name in &names {
                row.call_method1("setdefault", (name, py.None()))?;
            }
        }
        Ok(rows)
    }

    /// A ``pyarrow.Table`` sharing this table's buffers (needs pyarrow).
    fn to_pyarrow<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let pyarrow = import(slf.py(), "pyarrow", "to_pyarrow")?;
        pyarrow.call_method1("table", (slf,))
    }

    /// A ``pandas.DataFrame`` (needs pandas and pyarrow). Its columns are
    /// Arrow-backed (``pandas.ArrowDtype``) and share this table's buffers:
    /// nothing is copied, whatever the size. ``numpy=True`` gives NumPy
    /// dtypes instead, which copies (a result arrives in many batches, and a
    /// NumPy column is one contiguous array).
    #[pyo3(signature = (numpy=false))]
    fn to_pandas<'py>(slf: &Bound<'py, Self>, numpy: bool) -> PyResult<Bound<'py, PyAny>> {
        let pandas = import(slf.py(), "pandas", "to_pandas")?;
        let table = Table::to_pyarrow(slf)?;
        if numpy {
            return table.call_method0("to_pandas");
        }
        let options = pyo3::types::PyDict::new(slf.py());
        options.set_item("types_mapper", pandas.getattr("ArrowDtype")?)?;
        table.call_method("to_pandas", (), Some(&options))
    }

    /// A ``polars.DataFrame`` (needs polars).
    fn to_polars<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let polars = import(slf.py(), "polars", "to_polars")?;
        // `polars.from_arrow` reads a C stream as a Series of structs; the
        // DataFrame constructor reads it as a table.
        polars.call_method1("DataFrame", (slf,))
    }
}
