//! Parsed benchmarks, cached by content: opening a user's `meta.json` and
//! results JSON parses them once (seconds for the full release), and the
//! release compiled into the module is parsed on its first open only; later
//! opens of the same bytes, from any path, read the parsed columns back,
//! each column when it is first asked for.
//!
//! Where: `$ROBBENCH_CACHE_DIR`, else `$XDG_CACHE_HOME/robbench/python`,
//! else `~/.cache/robbench/python`; one file per content hash. A cache that
//! cannot be written only costs the next open its parse, and a cache file
//! that does not read back whole is parsed again, never trusted.

use std::io::Write;
use std::path::PathBuf;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

/// Bumped whenever the parse or this layout changes, so old files are not read.
const FORMAT: &str = "robbench-python-official-v1";

/// The parsed columns of a benchmark (see `bench::Data`), as `load` reads
/// them: the header whole, the values column by column on first use.
#[derive(Deserialize)]
pub struct Columns {
    pub archs: Vec<String>,
    pub representatives: Vec<u32>,
    pub datasets: Vec<String>,
    pub metrics: Vec<(String, Option<f64>, String)>,
    pub seeds: Vec<Option<i64>>,
    /// Which of the (dataset, metric, seed) columns hold values; their
    /// values follow the header, little-endian.
    present: Vec<bool>,
}

/// The value columns of a cache file, each read when first asked for: a
/// reopen reads the header only, so it costs the same whatever the number
/// of seeds and metrics (12 MB of values for the official JSON's three
/// seeds against 2 MB for the shipped means).
pub struct LazyValues {
    /// Cache files are replaced by rename, never rewritten, so this handle
    /// keeps reading the bytes that `load` checked.
    file: std::fs::File,
    path: PathBuf,
    n: usize,
    /// Per column: where its values start in the file, if it has any.
    offsets: Vec<Option<u64>>,
    read: Vec<OnceLock<Vec<f64>>>,
}

impl LazyValues {
    /// Column `i`'s values, or `None` if it has none.
    pub fn column(&self, i: usize) -> Result<Option<&[f64]>, String> {
        let Some(offset) = self.offsets[i] else { return Ok(None) };
        if let Some(values) = self.read[i].get() {
            return Ok(Some(values));
        }
        let mut bytes = vec![0u8; self.n * 8];
        std::os::unix::fs::FileExt::read_exact_at(&self.file, &mut bytes, offset)
            .map_err(|e| format!("cannot read the parse cache {}: {e}", self.path.display()))?;
        let values = bytes.chunks_exact(8).map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes"))).collect();
        Ok(Some(self.read[i].get_or_init(|| values)))
    }
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

/// The columns cached under `key`, if a whole file is there (its length
/// is what its header says), with their values left to read on use.
pub fn load(key: &str) -> Option<(Columns, LazyValues)> {
    use std::io::Read;
    let path = directory()?.join(format!("{key}.bin"));
    let mut file = std::fs::File::open(&path).ok()?;
    let mut length = [0u8; 8];
    file.read_exact(&mut length).ok()?;
    let header_len = u64::from_le_bytes(length);
    let mut header = vec![0u8; usize::try_from(header_len).ok()?];
    file.read_exact(&mut header).ok()?;
    let columns: Columns = serde_json::from_slice(&header).ok()?;
    let n = columns.archs.len() as u64;
    let mut offset = 8 + header_len;
    let offsets: Vec<Option<u64>> = columns
        .present
        .iter()
        .map(|&present| {
            present.then(|| {
                offset += n * 8;
                offset - n * 8
            })
        })
        .collect();
    (file.metadata().ok()?.len() == offset).then_some(())?;
    let read = offsets.iter().map(|_| OnceLock::new()).collect();
    let values = LazyValues { file, path, n: n as usize, offsets, read };
    Some((columns, values))
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
