//! Test support: runs the independent PyTorch reference implementations in
//! `stages/reference/python/` with the venv's python (`ROBBENCH_PYTHON`, set in
//! `.cargo/config.toml` by `scripts/setup.sh`).
//!
//! When no python with torch is configured the cross-checks are skipped with a
//! message, except under CI (`CI` set), where a missing reference is a failure:
//! CI must never pass by skipping the checks against PyTorch.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The python interpreter that has torch, or `None` (after saying why) when the
/// cross-checks must be skipped.
pub fn python() -> Option<PathBuf> {
    let configured = std::env::var("ROBBENCH_PYTHON").unwrap_or_default();
    if !configured.is_empty() && Path::new(&configured).exists() {
        return Some(PathBuf::from(configured));
    }
    if std::env::var_os("CI").is_some() {
        panic!(
            "ROBBENCH_PYTHON is not set to a python with torch; run `make setup` (CI must run the PyTorch cross-checks)"
        );
    }
    eprintln!("skipping PyTorch cross-check: ROBBENCH_PYTHON not configured (run `make setup`)");
    None
}

/// Path of a reference script shipped in `stages/reference/python/`.
pub fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("python").join(name)
}

/// Runs `script` with `args` and returns its stdout parsed as JSON.
/// Panics with the script's stderr when it fails: this is test support.
pub fn run_json(python: &Path, script_name: &str, args: &[&str]) -> serde_json::Value {
    let output = Command::new(python)
        .arg(script(script_name))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", python.display()));
    if !output.status.success() {
        panic!(
            "reference script {script_name} failed ({}):\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!("reference script {script_name} printed no JSON ({e}):\n{}", String::from_utf8_lossy(&output.stdout))
    })
}
