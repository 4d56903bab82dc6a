//! Helpers for driving the `robbench` binary.
#![allow(dead_code)] // each test binary uses a different subset

pub mod chromium;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A tiny experiment: seconds per stage on a CPU.
pub const TINY: &[&str] = &[
    "dataset.train_size=120",
    "dataset.test_size=60",
    "architectures.indices=[1462, 7581]",
    "model.channels=4",
    "train.epochs=2",
    "train.batch_size=60",
    "train.attack.steps=2",
    "evaluation.samples=40",
    "evaluation.batch_size=40",
    "evaluation.pgd.steps=3",
    "evaluation.autoattack.apgd_steps=10",
    "evaluation.autoattack.fab_steps=10",
    "evaluation.autoattack.square_queries=100",
    "evaluation.sweep.eps=[8.0, 255.0]",
    "ntk.samples=6",
    "ntk.steps=2",
];

/// The `--device` of the runs: `ROBBENCH_TEST_DEVICE` (`make test-gpu`: cuda), else cpu.
pub fn device() -> String {
    std::env::var("ROBBENCH_TEST_DEVICE").unwrap_or_else(|_| "cpu".to_string())
}

pub fn robbench(store: &Path, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_robbench"));
    command.arg("--store").arg(store).args(args);
    if device() == "cpu" {
        command.env("CUDA_VISIBLE_DEVICES", "");
    }
    command.output().expect("robbench runs")
}

/// `robbench run` with the tiny config plus `extra` overrides.
pub fn run_tiny(store: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["run".to_string(), "--device".to_string(), device()];
    for set in TINY.iter().chain(extra) {
        args.push("--set".into());
        args.push(set.to_string());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    robbench(store, &args)
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// (executed, reused, failed) of `stage` from a run's summary.
pub fn stage_counts(o: &Output, stage: &str) -> (usize, usize, usize) {
    let out = stdout(o);
    let line = out
        .lines()
        .find(|l| l.split_whitespace().next() == Some(stage))
        .unwrap_or_else(|| panic!("no `{stage}` in summary:\n{out}\n{}", stderr(o)));
    let n: Vec<usize> = line.split_whitespace().skip(1).map(|x| x.parse().unwrap()).collect();
    (n[0], n[1], n[2])
}

/// `robbench sql --format csv` with the tiny config, as rows of fields.
pub fn sql_tiny(store: &Path, extra: &[&str], query: &str) -> Vec<Vec<String>> {
    let mut args = vec!["sql".to_string(), "--format".into(), "csv".into()];
    for set in TINY.iter().chain(extra) {
        args.push("--set".into());
        args.push(set.to_string());
    }
    args.push(query.to_string());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = robbench(store, &args);
    assert!(o.status.success(), "sql failed: {}", stderr(&o));
    stdout(&o).lines().skip(1).map(|l| l.split(',').map(str::to_string).collect()).collect()
}

/// `robbench run` with the tiny config plus `extra`, killed (SIGKILL) once
/// the first network is trained: an interrupted run on record.
pub fn run_tiny_killed_after_first_network(store: &Path, extra: &[&str]) {
    let mut args = vec!["--store".to_string(), store.display().to_string(), "run".into(), "--device".into(), device()];
    for set in TINY.iter().chain(extra) {
        args.extend(["--set".to_string(), set.to_string()]);
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_robbench"))
        .args(&args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while std::fs::read_dir(store.join("objects/train")).map(|d| d.count()).unwrap_or(0) < 1 {
        assert!(child.try_wait().unwrap().is_none(), "the run ended before it could be killed");
        assert!(started.elapsed().as_secs() < 300, "no network was trained");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
}

/// Every path under `dir` (relative to it) with its size and modification
/// time: what a test compares to see that nothing was written.
pub fn tree(dir: &Path) -> BTreeMap<PathBuf, (u64, std::time::SystemTime)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            if meta.is_dir() {
                stack.push(path.clone());
            }
            out.insert(path.strip_prefix(dir).unwrap().to_path_buf(), (meta.len(), meta.modified().unwrap()));
        }
    }
    out
}
