//! What the benchmarks share about processes: the Python that runs the
//! reference sides, child processes that report JSON, and a process's peak
//! memory and CPU time.

use anyhow::{Context, Result};

/// The venv python with torch (and DuckDB) for the reference sides of the benchmarks.
pub fn python() -> String {
    std::env::var("ROBBENCH_PYTHON").unwrap_or_else(|_| {
        format!("{}/.cache/robbench/torch-2.11.0/bin/python", std::env::var("HOME").unwrap_or_default())
    })
}

/// Runs a benchmark's child process (`what` names it in errors) and returns
/// the JSON it prints; its messages and errors go straight to the terminal.
pub fn child_json(mut command: std::process::Command, what: &str) -> Result<serde_json::Value> {
    let out = command
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| anyhow::anyhow!("cannot start {what}: {e}"))?;
    anyhow::ensure!(out.status.success(), "{what} failed ({}; its messages are above)", out.status);
    serde_json::from_slice(&out.stdout)
        .with_context(|| format!("{what} printed no JSON: {}", String::from_utf8_lossy(&out.stdout)))
}

/// Peak resident memory of this process (VmHWM), where Linux reports it.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    Some(line.split_whitespace().nth(1)?.parse::<u64>().ok()? * 1024)
}

/// On-CPU seconds of all this process's threads so far (schedstat, in ns),
/// where Linux reports them: unlike wall time, not inflated when other jobs
/// share the CPUs.
pub fn process_cpu_seconds() -> Option<f64> {
    let mut total = 0.0;
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let stat = std::fs::read_to_string(task.ok()?.path().join("schedstat")).ok()?;
        total += stat.split_whitespace().next()?.parse::<f64>().ok()? / 1e9;
    }
    Some(total)
}
