//! The crate's error type: every variant names the file (and, where there is
//! one, the entry or line) that is at fault.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use robbench_published::Input;

/// Errors of the importers and of [`crate::correlate`].
#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    /// A file or folder could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    /// A file is not JSON (or not JSON of the expected shape).
    #[error("{} is not valid JSON: {source}", path.display())]
    Json { path: PathBuf, source: serde_json::Error },
    /// A CSV file could not be parsed as CSV.
    #[error("{}: CSV error: {source}", path.display())]
    Csv { path: PathBuf, source: csv::Error },
    /// A file parsed, but `entry` (a JSON path like `cifar10.1000.val_acc.1`,
    /// or `line N`) holds something the importer cannot accept.
    #[error("{}: {entry}: {reason}", path.display())]
    Malformed { path: PathBuf, entry: String, reason: String },
    /// A dataset name given by the caller is not one of the canonical ones.
    #[error("unknown dataset `{0}` (expected cifar10, cifar100 or imagenet16-120)")]
    UnknownDataset(String),
    /// [`crate::correlate`] was given a series with a repeated key.
    #[error("key {0} occurs more than once in one series")]
    DuplicateKey(String),
}

impl AnalysisError {
    pub(crate) fn malformed(path: &Path, entry: impl Into<String>, reason: impl Into<String>) -> Self {
        AnalysisError::Malformed { path: path.to_owned(), entry: entry.into(), reason: reason.into() }
    }
}

/// Reads a whole input as text, naming it in the error.
pub(crate) fn read(input: &Input) -> Result<Cow<'static, str>, AnalysisError> {
    input.text().map_err(|source| AnalysisError::Io { path: input.origin(), source })
}

/// A CSV reader over an input's bytes.
pub(crate) fn csv_reader(input: &Input) -> Result<csv::Reader<std::io::Cursor<Cow<'static, [u8]>>>, AnalysisError> {
    let bytes = input.bytes().map_err(|source| AnalysisError::Io { path: input.origin(), source })?;
    Ok(csv::Reader::from_reader(std::io::Cursor::new(bytes)))
}

/// Deserialises JSON text into `T`, naming the file in the error.
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(path: &Path, text: &str) -> Result<T, AnalysisError> {
    serde_json::from_str(text).map_err(|source| AnalysisError::Json { path: path.to_owned(), source })
}
