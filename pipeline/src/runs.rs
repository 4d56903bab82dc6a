//! Run records: what each `robbench run` planned and did, one JSON file each.

use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::store::{Store, write_atomic};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunRecord {
    pub run_id: String,
    pub config_hash: String,
    pub config: String,
    pub started_at: String,
    pub finished_at: String,
    pub shard: Option<String>,
    pub device: Option<String>,
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
}

impl UnitStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            UnitStatus::Executed => "executed",
            UnitStatus::Reused => "reused",
            UnitStatus::Failed => "failed",
        }
    }
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

pub fn write(store: &Store, record: &RunRecord) -> Result<()> {
    let path = store.runs_dir().join(format!("{}.json", record.run_id));
    write_atomic(&path, serde_json::to_string_pretty(record)?.as_bytes())
}

/// Every run record, oldest first.
pub fn list(store: &Store) -> Result<Vec<RunRecord>> {
    let mut paths: Vec<_> = std::fs::read_dir(store.runs_dir())?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    paths.iter().map(|p| read(p)).collect()
}

fn read(path: &Path) -> Result<RunRecord> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read run record {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("corrupt run record {}", path.display()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn utc_formatting_matches_known_dates() {
        assert_eq!(super::utc_compact(0), "19700101T000000Z");
        assert_eq!(super::utc_compact(1_795_550_400), "20261124T200000Z");
        assert_eq!(super::utc_compact(951_782_400), "20000229T000000Z");
    }
}
