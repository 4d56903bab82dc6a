//! `robbench._native`: the extension module under the `robbench` Python
//! package (python/robbench/__init__.py). It links the torch-free engine
//! crates only — SQL over a store (robbench-pipeline), the released
//! NAS-RobBench-201 (robbench-published, robbench-analysis) and the
//! NAS-Bench-201 space (robbench-space) — so importing it loads no libtorch.
//!
//! Errors are the Python classes `robbench/__init__.py` defines and hands to
//! [`_register`]; a Rust panic becomes `robbench.Error`, never an abort.

mod bench;
mod cache;
mod ffi;
mod search;
mod store;
mod table;

use std::panic::AssertUnwindSafe;

use pyo3::exceptions::{PyRuntimeError, PyUserWarning};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyType};

pub use table::Table;

/// The exception and warning classes of the Python package, by name.
static CLASSES: PyOnceLock<Py<PyDict>> = PyOnceLock::new();

/// Which `robbench` exception an error becomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `robbench.Error`: anything else (I/O, damaged files, internal errors).
    Error,
    /// `robbench.StoreError`: no store at the path, a store that cannot be read.
    Store,
    /// `robbench.NotFoundError` (also `KeyError`, `ValueError`): an unknown
    /// dataset, metric, index, architecture, run or table.
    NotFound,
    /// `robbench.SeedError` (a `NotFoundError`): a seed the data does not hold.
    Seed,
    /// `robbench.SqlError` (also `ValueError`): a query that does not parse,
    /// plan or run.
    Sql,
    /// `robbench.IncompleteError` (a `StoreError`): the run is not complete
    /// and a partial answer was not allowed.
    Incomplete,
}

impl Kind {
    fn class_name(self) -> &'static str {
        match self {
            Kind::Error => "Error",
            Kind::Store => "StoreError",
            Kind::NotFound => "NotFoundError",
            Kind::Seed => "SeedError",
            Kind::Sql => "SqlError",
            Kind::Incomplete => "IncompleteError",
        }
    }
}

fn class<'py>(py: Python<'py>, name: &str) -> Option<Bound<'py, PyType>> {
    let classes = CLASSES.get(py)?.bind(py);
    classes.get_item(name).ok().flatten()?.cast_into::<PyType>().ok()
}

/// A `robbench` exception of `kind` carrying `message`.
pub fn error(kind: Kind, message: impl Into<String>) -> PyErr {
    let message = message.into();
    Python::attach(|py| match class(py, kind.class_name()) {
        Some(class) => PyErr::from_type(class, message),
        None => PyRuntimeError::new_err(message),
    })
}

/// Emits `message` as a Python warning of the named category
/// (`robbench.RobbenchWarning` or a subclass).
pub fn warn(py: Python<'_>, category: &str, message: &str) -> PyResult<()> {
    let category = match class(py, category) {
        Some(c) => c.into_any(),
        None => py.get_type::<PyUserWarning>().into_any(),
    };
    let text = std::ffi::CString::new(message.replace('\0', "")).expect("no NUL left");
    PyErr::warn(py, &category, &text, 2)
}

/// Runs `f`; a panic becomes `robbench.Error` instead of PyO3's
/// `PanicException` (a `BaseException`, which `except Exception` misses).
pub fn guard<T>(f: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    match std::panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(result) => result,
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "(no message)".to_string());
            Err(error(Kind::Error, format!("internal error in robbench (a bug; please report it): {what}")))
        }
    }
}

/// Hands the package's exception and warning classes to the module
/// (called once by `robbench/__init__.py`).
#[pyfunction]
fn _register(py: Python<'_>, classes: Bound<'_, PyDict>) -> PyResult<()> {
    let _ = CLASSES.set(py, classes.unbind());
    Ok(())
}

/// Panics inside the guard: lets the tests check that a panic is an
/// exception, not an abort.
#[pyfunction]
fn _panic_for_test() -> PyResult<()> {
    guard(|| panic!("deliberate panic for the test suite"))
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Table>()?;
    m.add_class::<store::Store>()?;
    m.add_class::<bench::NasRobBench201>()?;
    m.add_class::<search::Oracle>()?;
    m.add_function(wrap_pyfunction!(search::search, m)?)?;
    m.add_function(wrap_pyfunction!(store::open, m)?)?;
    m.add_function(wrap_pyfunction!(_register, m)?)?;
    m.add_function(wrap_pyfunction!(_panic_for_test, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
