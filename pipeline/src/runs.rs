//! Run records: what each `robbench run` planned and did.
//!
//! A run appends to its own log as it goes, so a killed run's finished units
//! stay on record (and so stay safe from `gc`):
//!
//! ```text
//! runs/<run_id>.jsonl          {"header": …} then one {"unit": …} per finished unit, then {"finished": …}
//! runs/<run_id>.lock           held (flock) while the run is alive
//! runs/<run_id>.units.parquet  the run's units as rows of `runs`, written when it finishes
//! runs/index/latest            id of the latest finished unsharded experiment run without failures (see [`RunKind`])
//! runs/index/config-<hash>     the same, per config hash
//! ```
//!
//! The index keeps start-up of `sql` and `plan` independent of how many runs
//! the store has seen. Stores written before the log existed hold one
//! `runs/<run_id>.json` per run; they stay readable, and the index is rebuilt
//! from them on first use.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result, bail};
use arrow::array::{ArrayRef, Float64Array, RecordBatch, StringArray};
use serde::{Deserialize, Serialize};

use crate::store::{Store, lock_is_held, write_atomic};

/// What a run is, written as the first line of its log.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunHeader {
    pub run_id: String,
    pub config_hash: String,
    /// The normalised config as TOML.
    pub config: String,
    pub started_at: String,
    pub shard: Option<String>,
    pub device: Option<String>,
    #[serde(default, alias = "primary", deserialize_with = "kind_or_primary")]
    pub kind: RunKind,
}

/// What a run is for, which decides where its tables are seen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunKind {
    /// An experiment: the latest complete one is the store's default for
    /// `sql`, `report` and `tables`.
    #[default]
    Experiment,
    /// Imports and tabular searches: their units are visible from every run.
    Shared,
    /// Work done on another command's behalf (the experiments a live search
    /// runs as its oracle): seen only with `--run ID`, never the default and
    /// never mixed into other runs.
    Auxiliary,
}

/// Logs written before [`RunKind`] said `"primary": true|false`.
fn kind_or_primary<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<RunKind, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum KindOrPrimary {
        Kind(RunKind),
        Primary(bool),
    }
    Ok(match KindOrPrimary::deserialize(deserializer)? {
        KindOrPrimary::Kind(kind) => kind,
        KindOrPrimary::Primary(true) => RunKind::Experiment,
        KindOrPrimary::Primary(false) => RunKind::Shared,
    })
}

/// A run with every unit it recorded.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunRecord {
    pub run_id: String,
    pub config_hash: String,
    pub config: String,
    pub started_at: String,
    /// `None` while the run is alive, or when it was killed.
    pub finished_at: Option<String>,
    pub shard: Option<String>,
    pub device: Option<String>,
    #[serde(default, alias = "primary", deserialize_with = "kind_or_primary")]
    pub kind: RunKind,
    pub units: Vec<RunUnit>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunUnit {
    pub stage: String,
    pub key: String,
    pub label: String,
    pub status: UnitStatus,
    pub seconds: f64,
    pub error: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UnitStatus {
    Executed,
    Reused,
    Failed,
    /// Not attempted because an input failed (the error names it).
    Skipped,
}

impl UnitStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            UnitStatus::Executed => "executed",
            UnitStatus::Reused => "reused",
            UnitStatus::Failed => "failed",
            UnitStatus::Skipped => "skipped",
        }
    }

    /// Whether the unit is complete in the store after the run.
    pub fn succeeded(self) -> bool {
        matches!(self, UnitStatus::Executed | UnitStatus::Reused)
    }
}

/// Where a run stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunState {
    Running,
    /// Ended without a `finished` line and nobody holds its lock: killed.
    Interrupted,
    Finished,
}

impl RunState {
    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Running => "running",
            RunState::Interrupted => "interrupted",
            RunState::Finished => "finished",
        }
    }
}

impl RunRecord {
    pub fn header(&self) -> RunHeader {
        RunHeader {
            run_id: self.run_id.clone(),
            config_hash: self.config_hash.clone(),
            config: self.config.clone(),
            started_at: self.started_at.clone(),
            shard: self.shard.clone(),
            device: self.device.clone(),
            kind: self.kind,
        }
    }

    pub fn state(&self, store: &Store) -> RunState {
        if self.finished_at.is_some() {
            RunState::Finished
        } else if lock_is_held(&lock_path(store, &self.run_id)) {
            RunState::Running
        } else {
            RunState::Interrupted
        }
    }

    /// Finished, unsharded and without failed or skipped units: a run whose
    /// tables are whole.
    pub fn is_complete(&self) -> bool {
        self.finished_at.is_some() && self.shard.is_none() && self.units.iter().all(|u| u.status.succeeded())
    }
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum LogLine {
    Header(RunHeader),
    Unit(RunUnit),
    Finished { finished_at: String },
}

/// The log of a run in progress. Dropping it without [`RunLog::finish`]
/// leaves an interrupted run on record, which is what a crash does too.
pub struct RunLog {
    header: RunHeader,
    file: Mutex<File>,
    _lock: File,
    root: PathBuf,
}

impl RunLog {
    /// Starts the log of a new run (and holds its lock while it lives).
    pub fn create(store: &Store, header: RunHeader) -> Result<RunLog> {
        store.require_writable("start a run")?;
        // Index the runs already on record first (a store of an older version).
        ensure_index(store)?;
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(lock_path(store, &header.run_id))
            .context("cannot create the run's lock")?;
        lock.lock().context("cannot lock the run's lock file")?;
        let path = log_path(store, &header.run_id);
        let mut file = File::options()
            .create_new(true)
            .append(true)
            .open(&path)
            .with_context(|| format!("cannot create run log {}", path.display()))?;
        writeln!(file, "{}", serde_json::to_string(&LogLine::Header(header.clone()))?)?;
        file.sync_all()?;
        Ok(RunLog { header, file: Mutex::new(file), _lock: lock, root: store.root().to_path_buf() })
    }

    pub fn run_id(&self) -> &str {
        &self.header.run_id
    }

    /// Records a unit's outcome. One `write` per line: a kill leaves whole
    /// lines behind (a torn last line is ignored on read).
    pub fn append(&self, unit: &RunUnit) -> Result<()> {
        let mut line = serde_json::to_string(&LogLine::Unit(unit.clone()))?;
        line.push('\n');
        self.file.lock().expect("run log lock").write_all(line.as_bytes()).context("cannot append to the run log")
    }

    /// Marks the run finished, writes its `runs` rows and updates the index.
    pub fn finish(self, finished_at: String, units: Vec<RunUnit>) -> Result<RunRecord> {
        {
            let mut file = self.file.lock().expect("run log lock");
            writeln!(file, "{}", serde_json::to_string(&LogLine::Finished { finished_at: finished_at.clone() })?)?;
            file.sync_all()?;
        }
        let h = self.header;
        let record = RunRecord {
            run_id: h.run_id,
            config_hash: h.config_hash,
            config: h.config,
            started_at: h.started_at,
            finished_at: Some(finished_at),
            shard: h.shard,
            device: h.device,
            kind: h.kind,
            units,
        };
        let store = Store::open(&self.root)?;
        write_run(&store, &record)?;
        update_index(&store, &record)?;
        Ok(record)
    }
}

/// Where a finished run's rows of `runs` are written.
pub(crate) fn rows_path(store: &Store, run_id: &str) -> PathBuf {
    store.runs_dir().join(format!("{run_id}.units.parquet"))
}

/// The run's units as rows of `runs`.
pub fn batch(record: &RunRecord) -> Result<RecordBatch> {
    let def = &robbench_schemas::RUNS;
    let n = record.units.len();
    let strings = |f: &dyn Fn(&RunUnit) -> String| -> ArrayRef {
        Arc::new(StringArray::from(record.units.iter().map(f).collect::<Vec<_>>()))
    };
    let columns = vec![
        Arc::new(StringArray::from(vec![record.run_id.as_str(); n])) as ArrayRef,
        strings(&|u| u.stage.clone()),
        strings(&|u| u.key.clone()),
        strings(&|u| u.label.clone()),
        strings(&|u| u.status.as_str().to_string()),
        Arc::new(Float64Array::from(record.units.iter().map(|u| u.seconds).collect::<Vec<_>>())),
        Arc::new(StringArray::from(record.units.iter().map(|u| u.error.clone()).collect::<Vec<_>>())),
    ];
    Ok(def.batch(columns)?)
}

/// Writes a finished run's rows (atomically).
pub fn write_run(store: &Store, record: &RunRecord) -> Result<()> {
    let path = rows_path(store, &record.run_id);
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    crate::tables::write_parquet(&tmp, &robbench_schemas::RUNS, &[batch(record)?])?;
    std::fs::rename(&tmp, &path)?;
    Ok(())
}

fn log_path(store: &Store, run_id: &str) -> PathBuf {
    store.runs_dir().join(format!("{run_id}.jsonl"))
}

fn lock_path(store: &Store, run_id: &str) -> PathBuf {
    store.runs_dir().join(format!("{run_id}.lock"))
}

fn index_dir(store: &Store) -> PathBuf {
    store.index_dir().to_path_buf()
}

fn update_index(store: &Store, record: &RunRecord) -> Result<()> {
    if record.kind == RunKind::Shared && record.finished_at.is_some() {
        record_globals(store, record)?;
    }
    if !record.is_complete() {
        return Ok(());
    }
    let dir = index_dir(store);
    std::fs::create_dir_all(&dir)?;
    write_atomic(&dir.join(format!("config-{}", record.config_hash)), record.run_id.as_bytes())?;
    if record.kind == RunKind::Experiment {
        // Run ids sort in time order; a slower run that started earlier must not win.
        let newer = read_pointer(&dir.join("latest")).is_none_or(|current| current < record.run_id);
        if newer {
            write_atomic(&dir.join("latest"), record.run_id.as_bytes())?;
        }
    }
    Ok(())
}

fn read_pointer(path: &Path) -> Option<String> {
    std::fs::read_to_string(path).ok().map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

/// Units of shared runs (imports, tabular searches) are visible from every run: the
/// latest successful unit per (stage, label), one small file each.
fn record_globals(store: &Store, record: &RunRecord) -> Result<()> {
    let dir = index_dir(store).join("global");
    std::fs::create_dir_all(&dir)?;
    for unit in record.units.iter().filter(|u| u.status.succeeded()) {
        let name = blake3::hash(format!("{}\0{}", unit.stage, unit.label).as_bytes()).to_hex()[..16].to_string();
        let path = dir.join(format!("{name}.json"));
        let current: Option<GlobalUnit> = std::fs::read(&path).ok().and_then(|b| serde_json::from_slice(&b).ok());
        if current.is_none_or(|c| c.run_id <= record.run_id) {
            let entry = GlobalUnit { run_id: record.run_id.clone(), unit: unit.clone() };
            write_atomic(&path, &serde_json::to_vec(&entry)?)?;
        }
    }
    Ok(())
}

#[derive(Serialize, Deserialize)]
struct GlobalUnit {
    run_id: String,
    unit: RunUnit,
}

/// The latest unit of every (stage, label) of shared runs (imports, tabular searches).
pub fn global_units(store: &Store) -> Result<Vec<RunUnit>> {
    ensure_index(store)?;
    let dir = index_dir(store).join("global");
    let mut entries: Vec<GlobalUnit> = Vec::new();
    for entry in std::fs::read_dir(&dir).into_iter().flatten().filter_map(|e| e.ok()) {
        let text = std::fs::read(entry.path())?;
        entries.push(
            serde_json::from_slice(&text).with_context(|| format!("corrupt index entry {}", entry.path().display()))?,
        );
    }
    entries.sort_by(|a, b| (&a.unit.stage, &a.unit.label).cmp(&(&b.unit.stage, &b.unit.label)));
    Ok(entries.into_iter().map(|e| e.unit).collect())
}

/// Builds the index from every record (stores written before it existed).
fn rebuild_index(store: &Store) -> Result<()> {
    for mut record in list(store)? {
        // Records written before run kinds existed: imports were the only
        // runs that were not experiments.
        if !log_path(store, &record.run_id).exists() && record.units.iter().all(|u| u.stage == "import") {
            record.kind = RunKind::Shared;
        }
        update_index(store, &record)?;
    }
    std::fs::create_dir_all(index_dir(store))?;
    write_atomic(&index_dir(store).join("built"), b"1")
}

fn ensure_index(store: &Store) -> Result<()> {
    if index_dir(store).join("built").exists() { Ok(()) } else { rebuild_index(store) }
}

/// Id of the latest complete experiment run, without reading any record.
pub fn latest_id(store: &Store) -> Result<Option<String>> {
    ensure_index(store)?;
    Ok(read_pointer(&index_dir(store).join("latest")))
}

/// The latest complete experiment run.
pub fn latest(store: &Store) -> Result<Option<RunRecord>> {
    latest_id(store)?.map(|id| read(store, &id)).transpose()
}

/// Id of the latest complete run of a config.
pub fn latest_id_of_config(store: &Store, config_hash: &str) -> Result<Option<String>> {
    ensure_index(store)?;
    Ok(read_pointer(&index_dir(store).join(format!("config-{config_hash}"))))
}

/// The latest complete run of a config.
pub fn latest_of_config(store: &Store, config_hash: &str) -> Result<Option<RunRecord>> {
    latest_id_of_config(store, config_hash)?.map(|id| read(store, &id)).transpose()
}

/// A new run id: UTC timestamp (sorts in time order), then the process id
/// and a per-process counter, so concurrent runs never share an id.
pub fn new_run_id() -> String {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{}-{:03}-{:x}-{n}", utc_compact(now.as_secs()), now.subsec_millis(), std::process::id())
}

/// `YYYYMMDDTHHMMSSZ` for seconds since the epoch.
pub fn utc_compact(secs: u64) -> String {
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    let s = secs % 86_400;
    format!("{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z", s / 3600, s / 60 % 60, s % 60)
}

/// Howard Hinnant's days-to-civil conversion (proleptic Gregorian).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Ids of every recorded run, oldest first.
pub fn ids(store: &Store) -> Result<Vec<String>> {
    let mut ids: Vec<String> = std::fs::read_dir(store.runs_dir())?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.strip_suffix(".jsonl").or_else(|| name.strip_suffix(".json")).map(str::to_string)
        })
        .collect();
    ids.sort();
    ids.dedup();
    Ok(ids)
}

/// Every run record, oldest first.
pub fn list(store: &Store) -> Result<Vec<RunRecord>> {
    ids(store)?.iter().map(|id| read(store, id)).collect()
}

/// A run's header: its first line only, however many units it holds.
pub fn read_header(store: &Store, run_id: &str) -> Result<RunHeader> {
    let log = log_path(store, run_id);
    if log.exists() {
        let file = File::open(&log).with_context(|| format!("cannot read run log {}", log.display()))?;
        let first =
            BufReader::new(file).lines().next().with_context(|| format!("run log {} is empty", log.display()))??;
        return match serde_json::from_str(&first) {
            Ok(LogLine::Header(h)) => Ok(h),
            _ => bail!("run log {} does not start with its header", log.display()),
        };
    }
    read(store, run_id).map(|r| r.header())
}

/// One run's record, from its log (or a record of an older version).
pub fn read(store: &Store, run_id: &str) -> Result<RunRecord> {
    let log = log_path(store, run_id);
    if log.exists() {
        return read_log(&log);
    }
    let path = store.runs_dir().join(format!("{run_id}.json"));
    if !path.exists() {
        bail!("no run `{run_id}` in {} (`robbench runs` lists them)", store.root().display());
    }
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read run record {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("corrupt run record {}", path.display()))
}

fn read_log(path: &Path) -> Result<RunRecord> {
    let file = File::open(path).with_context(|| format!("cannot read run log {}", path.display()))?;
    let mut lines = BufReader::new(file).lines().peekable();
    let first = lines.next().with_context(|| format!("run log {} is empty", path.display()))??;
    let LogLine::Header(h) =
        serde_json::from_str(&first).with_context(|| format!("corrupt header in run log {}", path.display()))?
    else {
        bail!("run log {} does not start with its header", path.display());
    };
    let mut record = RunRecord {
        run_id: h.run_id,
        config_hash: h.config_hash,
        config: h.config,
        started_at: h.started_at,
        finished_at: None,
        shard: h.shard,
        device: h.device,
        kind: h.kind,
        units: Vec::new(),
    };
    let mut n = 1;
    // A unit is recorded just before it is committed and again with its final
    // outcome: the last line of a key wins.
    let mut position: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    while let Some(line) = lines.next() {
        n += 1;
        let line = line?;
        match serde_json::from_str::<LogLine>(&line) {
            Ok(LogLine::Unit(unit)) => match position.get(&unit.key) {
                Some(&i) => record.units[i] = unit,
                None => {
                    position.insert(unit.key.clone(), record.units.len());
                    record.units.push(unit);
                }
            },
            Ok(LogLine::Finished { finished_at }) => record.finished_at = Some(finished_at),
            Ok(LogLine::Header(_)) => bail!("run log {}: a second header on line {n}", path.display()),
            // A kill can tear the last line; anything else is corruption.
            Err(_) if lines.peek().is_none() => {}
            Err(e) => return Err(e).with_context(|| format!("corrupt line {n} in run log {}", path.display())),
        }
    }
    Ok(record)
}

/// Keys of every unit any recorded run references (finished, killed or alive).
pub fn referenced_keys(store: &Store) -> Result<std::collections::HashSet<String>> {
    Ok(list(store)?.into_iter().flat_map(|r| r.units.into_iter().map(|u| u.key)).collect())
}

/// Ids of the runs alive right now (their lock is held).
pub fn running(store: &Store) -> Result<Vec<String>> {
    Ok(ids(store)?.into_iter().filter(|id| lock_is_held(&lock_path(store, id))).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_formatting_matches_known_dates() {
        assert_eq!(super::utc_compact(0), "19700101T000000Z");
        assert_eq!(super::utc_compact(1_795_550_400), "20261124T200000Z");
        assert_eq!(super::utc_compact(951_782_400), "20000229T000000Z");
    }

    fn header(run_id: &str) -> RunHeader {
        RunHeader {
            run_id: run_id.into(),
            config_hash: "c0ffee".into(),
            config: String::new(),
            started_at: "t".into(),
            shard: None,
            device: None,
            kind: RunKind::Experiment,
        }
    }

    fn unit(key: &str) -> RunUnit {
        RunUnit {
            stage: "s".into(),
            key: key.into(),
            label: key.into(),
            status: UnitStatus::Executed,
            seconds: 0.0,
            error: None,
        }
    }

    #[test]
    fn a_dropped_log_is_an_interrupted_run_with_its_finished_units() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let log = RunLog::create(&store, header("r1")).unwrap();
        log.append(&unit("a")).unwrap();
        log.append(&unit("b")).unwrap();
        assert_eq!(read(&store, "r1").unwrap().state(&store), RunState::Running);
        assert_eq!(running(&store).unwrap(), ["r1"]);
        drop(log);
        // A torn last line (a kill mid-write) is ignored.
        let mut f = File::options().append(true).open(log_path(&store, "r1")).unwrap();
        write!(f, "{{\"unit\": {{\"stage\"").unwrap();
        let record = read(&store, "r1").unwrap();
        assert_eq!(record.state(&store), RunState::Interrupted);
        assert_eq!(record.units.len(), 2);
        assert!(referenced_keys(&store).unwrap().contains("b"));
        assert!(latest(&store).unwrap().is_none(), "an interrupted run is never the default");
    }

    #[test]
    fn the_index_points_at_the_latest_complete_experiment_and_shares_only_shared_runs() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let run = |header: RunHeader, units: Vec<RunUnit>| {
            let log = RunLog::create(&store, header).unwrap();
            for u in &units {
                log.append(u).unwrap();
            }
            log.finish("t".into(), units).unwrap();
        };
        run(header("r1"), vec![unit("a")]);
        let mut failed = unit("b");
        failed.status = UnitStatus::Failed;
        run(header("r2"), vec![failed]);
        run(RunHeader { kind: RunKind::Shared, config_hash: "1mp0rt".into(), ..header("r3") }, vec![unit("c")]);
        // A live search's oracle run: neither the default nor seen from other runs.
        run(RunHeader { kind: RunKind::Auxiliary, config_hash: "11ve".into(), ..header("r4") }, vec![unit("d")]);
        assert_eq!(global_units(&store).unwrap().iter().map(|u| u.key.as_str()).collect::<Vec<_>>(), ["c"]);
        assert_eq!(latest(&store).unwrap().unwrap().run_id, "r1");
        assert_eq!(latest_of_config(&store, "11ve").unwrap().unwrap().run_id, "r4");
        assert_eq!(latest_of_config(&store, "1mp0rt").unwrap().unwrap().run_id, "r3");
        // Rebuilt from the records alone (a store of an older version).
        std::fs::remove_dir_all(index_dir(&store)).unwrap();
        assert_eq!(latest(&store).unwrap().unwrap().run_id, "r1");
    }

    #[test]
    fn records_of_the_previous_version_stay_readable() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let old = r#"{"run_id": "r0", "config_hash": "h", "config": "", "started_at": "s", "finished_at": "f",
            "shard": null, "device": "cpu", "units": [{"stage": "s", "key": "k", "label": "l",
            "status": "reused", "seconds": 0.5, "error": null}]}"#;
        std::fs::write(store.runs_dir().join("r0.json"), old).unwrap();
        let record = read(&store, "r0").unwrap();
        assert!(record.is_complete() && record.kind == RunKind::Experiment);
        assert_eq!(latest(&store).unwrap().unwrap().run_id, "r0");
        // Logs of the version before run kinds said whether a run was primary.
        for (primary, kind) in [(true, RunKind::Experiment), (false, RunKind::Shared)] {
            let text = format!(
                r#"{{"run_id": "r", "config_hash": "h", "config": "", "started_at": "s", "shard": null,
                "device": null, "primary": {primary}}}"#
            );
            assert_eq!(serde_json::from_str::<RunHeader>(&text).unwrap().kind, kind);
        }
        let text = r#"{"run_id": "r", "config_hash": "h", "config": "", "started_at": "s", "shard": null,
            "device": null, "kind": "auxiliary"}"#;
        assert_eq!(serde_json::from_str::<RunHeader>(text).unwrap().kind, RunKind::Auxiliary);
    }
}
