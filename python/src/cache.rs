//! Parsed benchmarks, cached by content: opening a user's `meta.json` and
//! results JSON parses them once (seconds for the full release), and the
//! release compiled into the module is parsed on its first open only; later
//! opens of the same bytes, from any path, read the parsed columns back.
//!
//! Where: `$ROBBENCH_CACHE_DIR`, else `$XDG_CACHE_HOME/robbench/python`,
//! else `~/.cache/robbench/python`; one file per content hash. A cache that
//! cannot be written only costs the next open its parse, and a cache file
//! that does not read back whole is parsed again, never trusted.

use std::io::Write;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Bumped whenever the parse or this layout changes, so old files are not read.
const FORMAT: &str = "robbench-python-official-v1";

/// The parsed columns of a benchmark (see `bench::Data`), as `load` reads them.
#[derive(Deserialize)]
pub struct Columns {
    pub archs: Vec<String>,
    pub representatives: Vec<u32>,
    pub datasets: Vec<String>,
    pub metrics: Vec<(String, Option<f64>, String)>,
    pub seeds: Vec<Option<i64>>,
    /// Which of the (dataset, metric, seed) columns hold values; their
    /// values follow the header, little-endian.
    pub present: Vec<bool>,
    #[serde(skip)]
    pub values: Vec<Option<Vec<f64>>>,
}

/// The same columns, borrowed from the data they were parsed into, as
/// `store` writes them.
pub struct ColumnsRef<'a> {
    pub archs: &'a [String],
    pub representatives: &'a [u32],
    pub datasets: &'a [String],
    pub metrics: &'a [(String, Option<f64>, String)],
    pub seeds: &'a [Option<i64>],
    pub values: &'a [Option<Vec<f64>>],
}

/// What precedes the values in a cache file (`Columns`' fields but `values`).
#[derive(Serialize)]
struct Header<'a> {
    archs: &'a [String],
    representatives: &'a [u32],
    datasets: &'a [String],
    metrics: &'a [(String, Option<f64>, String)],
    seeds: &'a [Option<i64>],
    present: Vec<bool>,
}

/// The content hash of what was parsed (two files, or a tag and one), as a
/// cache file name.
pub fn key(meta: &[u8], results: &[u8]) -> String {
    let mut hasher = blake3::Hasher::new();
    hasher.update(FORMAT.as_bytes());
    hasher.update(&(meta.len() as u64).to_le_bytes());
    hasher.update(meta);
    hasher.update(results);
    hasher.finalize().to_hex().to_string()
}

fn directory() -> Option<PathBuf> {
    robbench_pipeline::host::user_cache_dir("ROBBENCH_CACHE_DIR", "python")
}

/// The content key of `files` as last hashed, if none of them changed since
/// (same size, modification time and inode, as git's index trusts a file):
/// a later open of the same files then skips reading and hashing them.
pub fn known_key(files: &[&std::path::Path]) -> Option<String> {
    let text = std::fs::read_to_string(directory()?.join(stat_name(files)?)).ok()?;
    let (stats, key) = text.split_once('\n')?;
    (stats == stat_line(files)?).then(|| key.trim().to_string())
}

/// Records that `files`, as they are now, have content key `key`.
pub fn remember_key(files: &[&std::path::Path], key: &str) -> std::io::Result<()> {
    let (Some(dir), Some(name), Some(stats)) = (directory(), stat_name(files), stat_line(files)) else {
        return Ok(());
    };
    std::fs::create_dir_all(&dir)?;
    let temporary = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    std::fs::write(&temporary, format!("{stats}\n{key}\n"))?;
    std::fs::rename(&temporary, dir.join(name))
}

fn stat_name(files: &[&std::path::Path]) -> Option<String> {
    let mut hasher = blake3::Hasher::new();
    for file in files {
        hasher.update(file.canonicalize().ok()?.as_os_str().as_encoded_bytes());
        hasher.update(b"\0");
    }
    Some(format!("{}.stat", &hasher.finalize().to_hex()[..32]))
}

fn stat_line(files: &[&std::path::Path]) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let mut line = String::new();
    for file in files {
        let m = std::fs::metadata(file).ok()?;
        line.push_str(&format!("{} {} {} {} ", m.len(), m.mtime(), m.mtime_nsec(), m.ino()));
    }
    Some(line)
}

/// The columns cached under `key`, if a whole file is there.
pub fn load(key: &str) -> Option<Columns> {
    let bytes = std::fs::read(directory()?.join(format!("{key}.bin"))).ok()?;
    let header_len = u64::from_le_bytes(bytes.get(..8)?.try_into().ok()?) as usize;
    let mut columns: Columns = serde_json::from_slice(bytes.get(8..8 + header_len)?).ok()?;
    let n = columns.archs.len();
    let mut body = bytes.get(8 + header_len..)?.chunks_exact(8);
    let present = std::mem::take(&mut columns.present);
    for present in present {
        columns.values.push(if present {
            let column: Option<Vec<f64>> =
                (0..n).map(|_| body.next().map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")))).collect();
            Some(column?)
        } else {
            None
        });
    }
    (body.len() == 0 && body.remainder().is_empty()).then_some(columns)
}

/// Writes `columns` under `key` (atomically: a temporary file renamed).
pub fn store(key: &str, columns: &ColumnsRef<'_>) -> std::io::Result<()> {
    let Some(dir) = directory() else { return Ok(()) };
    std::fs::create_dir_all(&dir)?;
    let header = serde_json::to_vec(&Header {
        archs: columns.archs,
        representatives: columns.representatives,
        datasets: columns.datasets,
        metrics: columns.metrics,
        seeds: columns.seeds,
        present: columns.values.iter().map(Option::is_some).collect(),
    })?;
    let temporary = dir.join(format!(".{key}.{}.tmp", std::process::id()));
    let mut file = std::io::BufWriter::new(std::fs::File::create(&temporary)?);
    file.write_all(&(header.len() as u64).to_le_bytes())?;
    file.write_all(&header)?;
    for value in columns.values.iter().flatten().flatten() {
        file.write_all(&value.to_le_bytes())?;
    }
    file.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    std::fs::rename(&temporary, dir.join(format!("{key}.bin")))
}
