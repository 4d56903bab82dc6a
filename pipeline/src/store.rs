//! The artifact store: one directory per completed unit, named by its key.
//!
//! Layout (under the store root, `artifacts/` by default):
//! ```text
//! objects/<stage>/<key>/manifest.json    a complete unit; written last
//! objects/<stage>/<key>/tables/*.parquet its table rows
//! objects/<stage>/<key>/files/*          other outputs (checkpoints, kernels)
//! tmp/<key>.<pid>.<n>/                   a unit being written (renamed into objects/)
//! scratch/<key>/                         resumable state of an unfinished unit
//! locks/<key>.lock                       claim: one process works on a unit at a time
//! runs/<run_id>.json                     what each run planned and did
//! quarantine/<key>.<time>.<pid>.<n>/     objects that failed `verify` or lost a file
//! runs/index/, parts/, tables/           derived by queries (runs index, compacted tables)
//! ```
//! A store this process cannot write (a release shared read-only, a mount
//! owned by another user) still answers queries: what they derive goes to a
//! per-user cache directory instead ([`Store::derived`]), and commands that
//! would add or remove units refuse with the reason.
//! A unit is complete exactly when its directory under `objects/` exists and
//! every file its manifest lists is there with its recorded size: it is
//! assembled under `tmp/` and renamed in one step, so a crash leaves either
//! the whole unit or none of it, and a file removed later (to free space, say)
//! makes it incomplete again. A unit's files are read-only on disk (0444), so
//! a tool that opens one for writing fails instead of changing the store.

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::key::UnitKey;

/// What a completed unit records about itself.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Manifest {
    pub key: String,
    pub stage: String,
    pub stage_version: u32,
    pub label: String,
    pub params: serde_json::Value,
    pub config: serde_json::Value,
    pub inputs: Vec<String>,
    /// Relative path → blake3 hex and size, for every file of the unit.
    pub files: Vec<FileEntry>,
    pub started_at: String,
    pub seconds: f64,
    pub host: String,
    pub notes: serde_json::Map<String, serde_json::Value>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FileEntry {
    pub path: String,
    pub blake3: String,
    pub bytes: u64,
}

/// A problem found by [`Store::verify`].
#[derive(Debug)]
pub struct Corruption {
    pub stage: String,
    pub key: String,
    pub problem: String,
}

#[derive(Clone)]
pub struct Store {
    root: PathBuf,
    /// Where queries keep what they derive from the objects and run records:
    /// the store itself, or a per-user cache directory when it is read-only.
    derived: PathBuf,
    /// The runs index, valid for one state of `runs/`.
    index: PathBuf,
    writable: bool,
}

/// Whether the store holds a unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnitState {
    Absent,
    Complete,
    /// Its directory exists but a file of its manifest is gone, resized or
    /// the manifest itself unreadable: the reason.
    Incomplete(String),
}

static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

impl Store {
    /// Opens (creating if needed) a store at `root`. An existing store that
    /// cannot be written opens read-only (see [`Store::derived`]).
    pub fn open(root: &Path) -> Result<Store> {
        let created = ["objects", "tmp", "scratch", "locks", "runs"].iter().try_for_each(|dir| {
            fs::create_dir_all(root.join(dir))
                .with_context(|| format!("cannot create store directory {}", root.join(dir).display()))
        });
        if let Err(e) = created.as_ref()
            && !root.join("objects").is_dir()
        {
            // Neither a store we can create nor one that exists.
            return Err(anyhow::anyhow!("{e:#}"));
        }
        let root = root.canonicalize().with_context(|| format!("cannot open store {}", root.display()))?;
        if created.is_ok() && can_write_in(&root.join("tmp")) {
            let index = root.join("runs").join("index");
            return Ok(Store { derived: root.clone(), index, root, writable: true });
        }
        let derived = read_only_cache(&root)?;
        // The owner may add runs meanwhile; each record is renamed into `runs/`,
        // which moves the directory's mtime, so an index keyed by it never goes stale.
        let stamp = fs::metadata(root.join("runs"))
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        let index = derived.join("runs-index").join(stamp.to_string());
        Ok(Store { root, derived, index, writable: false })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the runs index and compacted tables (`parts/`, `tables/`) live:
    /// the store root, or for a store this process cannot write,
    /// `$ROBBENCH_STORE_CACHE/<hash of the root>` (default
    /// `~/.cache/robbench/stores/…`). Either way they are rebuilt from the
    /// objects and run records, so the answers are the same.
    pub fn derived(&self) -> &Path {
        &self.derived
    }

    /// The directory of the runs index (pointers to the latest runs).
    pub fn index_dir(&self) -> &Path {
        &self.index
    }

    pub fn is_writable(&self) -> bool {
        self.writable
    }

    /// Fails, naming the store, where it cannot be written: `what` needs to add or remove units.
    pub fn require_writable(&self, what: &str) -> Result<()> {
        if self.writable {
            return Ok(());
        }
        anyhow::bail!(
            "cannot {what}: the store {} is read-only for this process (queries still work; \
             they keep what they derive in {})",
            self.root.display(),
            self.derived.display()
        )
    }

    /// Where the complete units of `stage` are.
    fn stage_dir(&self, stage: &str) -> PathBuf {
        self.root.join("objects").join(stage)
    }

    pub fn object_dir(&self, stage: &str, key: &UnitKey) -> PathBuf {
        self.stage_dir(stage).join(key.to_hex())
    }

    pub fn is_complete(&self, stage: &str, key: &UnitKey) -> bool {
        self.unit_state(stage, key) == UnitState::Complete
    }

    /// Whether the unit is stored whole: every file of its manifest present
    /// with its recorded size (sizes only: hashing is `verify`'s work).
    pub fn unit_state(&self, stage: &str, key: &UnitKey) -> UnitState {
        unit_state(&self.object_dir(stage, key))
    }

    /// [`Store::unit_state`] for a key as run records write it (hex).
    pub fn unit_state_of(&self, stage: &str, key_hex: &str) -> UnitState {
        unit_state(&self.stage_dir(stage).join(key_hex))
    }

    /// Moves a unit that is not whole out of `objects/` (into `quarantine/`),
    /// so that it can be computed again; returns where it went.
    pub fn quarantine(&self, stage: &str, key: &str) -> Result<PathBuf> {
        self.require_writable("quarantine a unit")?;
        let dir = self.root.join("objects").join(stage).join(key);
        let target = self.root.join("quarantine").join(quarantine_name(key));
        fs::create_dir_all(self.root.join("quarantine"))?;
        fs::rename(&dir, &target).with_context(|| format!("cannot move {} to {}", dir.display(), target.display()))?;
        Ok(target)
    }

    /// The keys of every unit of `stage` with a directory, from one listing
    /// (much cheaper than [`Store::is_complete`] per unit for a whole stage);
    /// whether each is whole is for [`Store::unit_state`] to say.
    pub fn listed_keys(&self, stage: &str) -> Result<HashSet<UnitKey>> {
        let dir = self.stage_dir(stage);
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(HashSet::new()),
            Err(e) => return Err(e).with_context(|| format!("cannot list {}", dir.display())),
        };
        let mut keys = HashSet::new();
        for entry in entries {
            let entry = entry.with_context(|| format!("cannot list {}", dir.display()))?;
            if let Some(key) = entry.file_name().to_str().and_then(UnitKey::from_hex) {
                keys.insert(key);
            }
        }
        Ok(keys)
    }

    pub fn scratch_dir(&self, key: &UnitKey) -> PathBuf {
        self.root.join("scratch").join(key.to_hex())
    }

    pub fn runs_dir(&self) -> PathBuf {
        self.root.join("runs")
    }

    /// Claims a unit for this process, waiting while another process works on
    /// it. The claim ends when the returned guard is dropped.
    pub fn claim(&self, key: &UnitKey) -> Result<UnitClaim> {
        self.require_writable("compute units")?;
        let path = self.root.join("locks").join(format!("{}.lock", key.to_hex()));
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("cannot open lock {}", path.display()))?;
        file.lock().with_context(|| format!("cannot lock {}", path.display()))?;
        // Who holds the claim, for `robbench slurm status`; meaningful only while locked.
        let mut holder = format!("{} pid {}", crate::host::hostname(), std::process::id());
        if let Some(job) = crate::host::slurm_job() {
            holder.push_str(&format!(" slurm job {job}"));
        }
        file.set_len(0).and_then(|()| (&file).write_all(holder.as_bytes())).ok();
        Ok(UnitClaim { _file: file })
    }

    /// Who is working on a unit right now (host, pid, Slurm job), or `None`
    /// when no process holds its claim.
    pub fn claim_holder(&self, key: &UnitKey) -> Option<String> {
        let path = self.root.join("locks").join(format!("{}.lock", key.to_hex()));
        let mut file = File::open(&path).ok()?;
        match file.try_lock() {
            Ok(()) => None,
            Err(_) => {
                let mut holder = String::new();
                file.read_to_string(&mut holder).ok();
                Some(if holder.is_empty() { "another process".to_string() } else { holder })
            }
        }
    }

    /// A fresh directory to assemble a unit in. Leftovers of earlier attempts
    /// at the same unit (interrupted processes) are removed first; the caller
    /// holds the unit's claim, so nobody else is writing them.
    pub fn begin(&self, key: &UnitKey) -> Result<PathBuf> {
        let prefix = format!("{}.", key.to_hex());
        for entry in fs::read_dir(self.root.join("tmp"))? {
            let entry = entry?;
            if entry.file_name().to_string_lossy().starts_with(&prefix) {
                fs::remove_dir_all(entry.path()).ok();
            }
        }
        let n = TMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = self.root.join("tmp").join(format!("{prefix}{}.{n}", std::process::id()));
        fs::create_dir_all(&dir)?;
        Ok(dir)
    }

    /// Hashes the assembled unit, writes its manifest, and renames it into
    /// place. After this returns the unit is complete.
    pub fn commit(&self, tmp: &Path, stage: &str, key: &UnitKey, mut manifest: Manifest) -> Result<()> {
        manifest.files = hash_tree(tmp)?;
        let text = serde_json::to_string_pretty(&manifest)?;
        let mut f = File::create(tmp.join("manifest.json"))?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        let dest = self.object_dir(stage, key);
        fs::create_dir_all(dest.parent().expect("object dirs have a parent"))?;
        make_read_only(tmp, &manifest.files)?;
        if let Err(e) = fs::rename(tmp, &dest) {
            // Only where claims are not honoured (a shared filesystem without
            // working locks) can another process have committed the unit
            // meanwhile: its copy is complete, so this one is dropped.
            if !dest.join("manifest.json").is_file() {
                return Err(e).with_context(|| format!("cannot move unit into {}", dest.display()));
            }
            fs::remove_dir_all(tmp).ok();
        }
        fs::remove_dir_all(self.scratch_dir(key)).ok();
        Ok(())
    }

    pub fn read_manifest(&self, stage: &str, key: &UnitKey) -> Result<Manifest> {
        let path = self.object_dir(stage, key).join("manifest.json");
        let text = fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("corrupt manifest {}", path.display()))
    }

    /// All complete objects as (stage, key hex).
    pub fn objects(&self) -> Result<Vec<(String, String)>> {
        let mut out = Vec::new();
        for stage in sorted_entries(&self.root.join("objects"))? {
            for key in sorted_entries(&stage)? {
                out.push((file_name(&stage), file_name(&key)));
            }
        }
        Ok(out)
    }

    /// Checks a unit's files against its manifest before they are consumed.
    pub fn verify_input(&self, stage: &str, key: &UnitKey) -> Result<()> {
        if let Some(problem) = check_object(&self.object_dir(stage, key)) {
            anyhow::bail!(
                "input {stage} unit {} is corrupt: {problem}; run `robbench verify` to quarantine it, then rerun",
                &key.to_hex()[..12]
            );
        }
        Ok(())
    }

    /// Forgets which compacted snapshot each run's tables are in, so the next
    /// query lists the runs' units again (after units were quarantined).
    pub fn forget_snapshots(&self) -> Result<()> {
        let dir = self.derived.join("tables").join("runs");
        if dir.exists() {
            fs::remove_dir_all(&dir).with_context(|| format!("cannot remove {}", dir.display()))?;
        }
        Ok(())
    }

    /// Re-hashes every object. Corrupted objects are moved to `quarantine/`
    /// (so the next run recomputes them) and reported.
    pub fn verify(&self, mut on_object: impl FnMut(usize, usize)) -> Result<Vec<Corruption>> {
        let objects = self.objects()?;
        let mut problems = Vec::new();
        for (i, (stage, key)) in objects.iter().enumerate() {
            on_object(i, objects.len());
            let dir = self.root.join("objects").join(stage).join(key);
            if let Some(problem) = check_object(&dir) {
                self.quarantine(stage, key)?;
                problems.push(Corruption { stage: stage.clone(), key: key.clone(), problem });
            }
        }
        if !problems.is_empty() {
            self.forget_snapshots()?;
        }
        Ok(problems)
    }

    /// Removes what no recorded run references and nobody may still want:
    /// objects no run record (finished, killed or alive) references, scratch
    /// state, temp dirs, unheld locks and compacted parts no snapshot uses —
    /// but nothing newer than `policy.keep_recent`, and nothing at all while a
    /// run is alive (it may be about to reuse any unit). Returns what was (or,
    /// with `dry_run`, would be) removed, and what was kept and why.
    pub fn gc(&self, referenced: &HashSet<String>, alive: &[String], policy: &GcPolicy) -> Result<GcReport> {
        if !policy.dry_run {
            self.require_writable("collect garbage")?;
        }
        let mut report = GcReport::default();
        if let Some(run) = alive.first() {
            report.kept.push((format!("runs/{run}"), "a run is in progress: gc removes nothing until it ends".into()));
            return Ok(report);
        }
        let now = std::time::SystemTime::now();
        let recent = |path: &Path| {
            fs::symlink_metadata(path)
                .and_then(|m| m.modified())
                .is_ok_and(|t| now.duration_since(t).unwrap_or_default() < policy.keep_recent)
        };
        let remove = |path: PathBuf, why: &str, report: &mut GcReport| -> Result<()> {
            let rel = path.strip_prefix(&self.root).unwrap_or(&path).display().to_string();
            if !policy.dry_run {
                if path.is_dir() { fs::remove_dir_all(&path) } else { fs::remove_file(&path) }
                    .with_context(|| format!("cannot remove {}", path.display()))?;
            }
            report.removed.push((rel, why.to_string()));
            Ok(())
        };
        for (stage, key) in self.objects()? {
            let dir = self.root.join("objects").join(&stage).join(&key);
            if referenced.contains(&key) {
                continue;
            }
            if recent(&dir.join("manifest.json")) {
                report
                    .kept
                    .push((format!("objects/{stage}/{key}"), "unreferenced but within the retention window".into()));
                continue;
            }
            remove(dir, "no recorded run references it", &mut report)?;
        }
        for dir in ["tmp", "scratch", "locks", "quarantine"] {
            for entry in sorted_entries(&self.root.join(dir)).unwrap_or_default() {
                let name = file_name(&entry);
                let key = name.split('.').next().unwrap_or_default();
                if dir == "scratch" && referenced.contains(key) {
                    continue;
                }
                if recent(&entry) {
                    continue;
                }
                // A held lock is a unit being worked on right now.
                if dir == "locks" && lock_is_held(&entry) {
                    continue;
                }
                remove(entry, &format!("stale {dir} entry"), &mut report)?;
            }
        }
        // Snapshots no run points at any more, then parts no snapshot links (a hard link count of 1).
        let tables = self.derived.join("tables");
        let pointed: HashSet<String> = sorted_entries(&tables.join("runs"))
            .unwrap_or_default()
            .iter()
            .filter_map(|p| fs::read_to_string(p).ok().map(|s| s.trim().to_string()))
            .chain(fs::read_link(tables.join("latest")).ok().map(|p| p.display().to_string()))
            .collect();
        for snapshot in sorted_entries(&tables).unwrap_or_default() {
            let name = file_name(&snapshot);
            if snapshot.is_dir() && name != "runs" && !pointed.contains(&name) && !recent(&snapshot) {
                remove(snapshot, "compacted snapshot no run points at", &mut report)?;
            }
        }
        for table in sorted_entries(&self.derived.join("parts")).unwrap_or_default() {
            for part in sorted_entries(&table).unwrap_or_default() {
                use std::os::unix::fs::MetadataExt;
                let unused = part.extension().is_some_and(|e| e == "parquet")
                    && fs::metadata(&part).is_ok_and(|m| m.nlink() == 1);
                if unused && !recent(&part) {
                    remove(part.with_extension("json"), "compacted part no snapshot uses", &mut report)?;
                    remove(part, "compacted part no snapshot uses", &mut report)?;
                }
            }
        }
        Ok(report)
    }
}

/// What `gc` may remove.
pub struct GcPolicy {
    /// Nothing younger than this is removed (a concurrent writer's work may
    /// not be on record yet).
    pub keep_recent: std::time::Duration,
    pub dry_run: bool,
}

/// What `gc` removed and what it kept, each with the reason.
#[derive(Default)]
pub struct GcReport {
    pub removed: Vec<(String, String)>,
    pub kept: Vec<(String, String)>,
}

/// Whether another process holds the lock at `path` (a unit's claim, a live run).
pub(crate) fn lock_is_held(path: &Path) -> bool {
    // Write access where there is (NFS emulates flock with POSIX locks, which
    // need it); a read-only store's locks are tested through a read handle.
    let Ok(file) = File::options().write(true).open(path).or_else(|_| File::open(path)) else { return false };
    matches!(file.try_lock(), Err(fs::TryLockError::WouldBlock))
}

/// Held while this process works on a unit.
pub struct UnitClaim {
    _file: File,
}

fn unit_state(dir: &Path) -> UnitState {
    let text = match fs::read_to_string(dir.join("manifest.json")) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !dir.is_dir() => return UnitState::Absent,
        Err(e) => return UnitState::Incomplete(format!("manifest.json unreadable: {e}")),
    };
    let manifest: Manifest = match serde_json::from_str(&text) {
        Ok(m) => m,
        Err(e) => return UnitState::Incomplete(format!("manifest.json corrupt: {e}")),
    };
    for entry in &manifest.files {
        match fs::metadata(dir.join(&entry.path)) {
            Err(_) => return UnitState::Incomplete(format!("{} is missing", entry.path)),
            Ok(m) if m.len() != entry.bytes => {
                return UnitState::Incomplete(format!(
                    "{} has {} bytes, its manifest recorded {}",
                    entry.path,
                    m.len(),
                    entry.bytes
                ));
            }
            Ok(_) => {}
        }
    }
    UnitState::Complete
}

/// Makes a unit's files and manifest read-only (0444) before it becomes visible.
fn make_read_only(dir: &Path, files: &[FileEntry]) -> Result<()> {
    for path in files.iter().map(|f| dir.join(&f.path)).chain([dir.join("manifest.json")]) {
        set_read_only(&path)?;
    }
    Ok(())
}

/// Sets a file of the store to mode 0444.
pub(crate) fn set_read_only(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(0o444))
        .with_context(|| format!("cannot make {} read-only", path.display()))
}

fn check_object(dir: &Path) -> Option<String> {
    let manifest: Manifest = match fs::read_to_string(dir.join("manifest.json")) {
        Err(e) => return Some(format!("manifest.json unreadable: {e}")),
        Ok(text) => match serde_json::from_str(&text) {
            Err(e) => return Some(format!("manifest.json corrupt: {e}")),
            Ok(m) => m,
        },
    };
    for entry in &manifest.files {
        match hash_file(&dir.join(&entry.path)) {
            Err(_) => return Some(format!("{} is missing", entry.path)),
            Ok((hash, _)) if hash != entry.blake3 => {
                return Some(format!(
                    "{} has changed (blake3 {} != recorded {})",
                    entry.path,
                    &hash[..16],
                    &entry.blake3[..16]
                ));
            }
            Ok(_) => {}
        }
    }
    None
}

fn hash_tree(root: &Path) -> Result<Vec<FileEntry>> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for path in sorted_entries(&dir)? {
            if path.is_dir() {
                stack.push(path);
            } else if path != root.join("manifest.json") {
                let (blake3, bytes) = hash_file(&path)?;
                let rel = path.strip_prefix(root).expect("inside root").to_string_lossy().into_owned();
                out.push(FileEntry { path: rel, blake3, bytes });
            }
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// A unit's file (`relative` to its directory), read once and checked
/// against the blake3 the unit's manifest recorded for it.
pub(crate) fn read_verified(unit_dir: &Path, relative: &str) -> Result<bytes::Bytes> {
    let manifest_path = unit_dir.join("manifest.json");
    let text =
        fs::read_to_string(&manifest_path).with_context(|| format!("cannot read {}", manifest_path.display()))?;
    let manifest: Manifest =
        serde_json::from_str(&text).with_context(|| format!("corrupt manifest {}", manifest_path.display()))?;
    let path = unit_dir.join(relative);
    let entry =
        manifest.files.iter().find(|f| f.path == relative).with_context(|| {
            format!("{} is not listed in its unit's manifest (run `robbench verify`)", path.display())
        })?;
    let bytes = fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let hash = blake3::hash(&bytes).to_hex();
    if hash.as_str() != entry.blake3 {
        anyhow::bail!(
            "{} has changed since its unit was written (blake3 {} != recorded {}); \
             run `robbench verify` to quarantine it, then rerun to recompute it",
            path.display(),
            &hash[..16],
            &entry.blake3[..16]
        );
    }
    Ok(bytes.into())
}

pub(crate) fn hash_file(path: &Path) -> Result<(String, u64)> {
    let mut file = File::open(path)?;
    let mut hasher = blake3::Hasher::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut bytes = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        bytes += n as u64;
    }
    Ok((hasher.finalize().to_hex().to_string(), bytes))
}

fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut entries: Vec<PathBuf> = match fs::read_dir(dir) {
        Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.path())).collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(e).with_context(|| format!("cannot list {}", dir.display())),
    };
    entries.sort();
    Ok(entries)
}

fn file_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

/// A name under `quarantine/` for `what`, unique even when the same unit or
/// part is quarantined twice within a second.
pub(crate) fn quarantine_name(what: &str) -> String {
    let n = TMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{what}.{}.{}.{n}", unix_seconds(), std::process::id())
}

pub(crate) fn unix_seconds() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// Whether this process may create files in `dir`: access(2) with the
/// effective ids, which also says EROFS for a read-only mount (root passes
/// permission checks, not that). Asking writes nothing, so serving a store
/// leaves every mtime as it was.
fn can_write_in(dir: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(path) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else { return false };
    // SAFETY: `path` is a NUL-terminated string that outlives the call.
    unsafe { libc::faccessat(libc::AT_FDCWD, path.as_ptr(), libc::W_OK, libc::AT_EACCESS) == 0 }
}

/// The per-user directory that holds what queries derive from the read-only store at `root`.
fn read_only_cache(root: &Path) -> Result<PathBuf> {
    let base = crate::host::user_cache_dir("ROBBENCH_STORE_CACHE", "stores").with_context(|| {
        format!("the store {} is read-only and no cache directory is known: set ROBBENCH_STORE_CACHE", root.display())
    })?;
    let name = blake3::hash(root.as_os_str().as_encoded_bytes()).to_hex()[..16].to_string();
    let dir = base.join(name);
    fs::create_dir_all(&dir).with_context(|| {
        format!(
            "the store {} is read-only and its cache {} cannot be created (set ROBBENCH_STORE_CACHE)",
            root.display(),
            dir.display()
        )
    })?;
    // For a person wondering what the directory is.
    let label = dir.join("store");
    if !label.exists() {
        write_atomic(&label, root.as_os_str().as_encoded_bytes())?;
    }
    Ok(dir)
}

/// Writes `bytes` to `path` atomically (temp file in the same directory, then rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let n = TMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    let tmp = path.with_extension(format!("tmp.{}.{n}", std::process::id()));
    {
        let mut f = File::create(&tmp).with_context(|| format!("cannot write {}", tmp.display()))?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}
