//! `robbench bench sql`: SQL over a store of the real layout, each query a
//! fresh `robbench sql` process (start-up included), side by side with DuckDB
//! over the same per-unit files, with every process's peak memory.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use robbench_pipeline::synthetic::{SyntheticConfig, pipeline};
use robbench_pipeline::{RunOptions, Store, execute};

/// Attacks per architecture in the generated store (clean and four PGD radii).
const ATTACKS: u64 = 5;

struct Query {
    name: &'static str,
    robbench: String,
    duckdb: String,
}

fn queries(arch: u64) -> Vec<Query> {
    let q = |name, sql: &str| Query { name, robbench: sql.replace(['{', '}'], ""), duckdb: sql.to_string() };
    vec![
        q(
            "GROUP BY attack, eps over evaluations",
            "SELECT attack, eps, avg(accuracy) FROM {evaluations} GROUP BY 1, 2 ORDER BY 1, 2",
        ),
        q(
            "GROUP BY attack, eps over evaluation_samples",
            "SELECT attack, eps, avg(CASE WHEN correct THEN 1.0 ELSE 0.0 END) FROM {evaluation_samples} GROUP BY 1, 2 ORDER BY 1, 2",
        ),
        Query {
            name: "one architecture's per-sample rows",
            robbench: format!("SELECT * FROM evaluation_samples WHERE arch_index = {arch}"),
            duckdb: format!("SELECT * FROM {{evaluation_samples}} WHERE arch_index = {arch}"),
        },
        q(
            "evaluations JOIN architectures",
            "SELECT a.params, avg(e.accuracy) FROM {evaluations} e JOIN {architectures} a USING (arch_index) GROUP BY 1 ORDER BY 1 LIMIT 10",
        ),
    ]
}

/// Wall seconds and peak resident MB of a child process.
fn timed(command: &mut Command) -> Result<(f64, f64, Vec<u8>)> {
    let start = Instant::now();
    let child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()?;
    let pid = child.id() as libc::pid_t;
    // Read the output while the child runs (a full pipe would block it).
    let output = std::thread::spawn(move || child.wait_with_output());
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child; `usage` is a valid out-parameter.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let seconds = start.elapsed().as_secs_f64();
    let output = output.join().expect("reader thread")?;
    if waited == pid && status != 0 {
        bail!("{:?} failed: {}", command, String::from_utf8_lossy(&output.stderr));
    }
    Ok((seconds, usage.ru_maxrss as f64 / 1024.0, output.stdout))
}

fn robbench_sql(exe: &Path, store: &Path, sql: &str) -> Result<(f64, f64)> {
    let (s, mb, _) = timed(Command::new(exe).arg("--store").arg(store).args(["sql", "--format", "csv", sql]))?;
    Ok((s, mb))
}

pub fn bench_sql(units: u64, samples: u64, keep: Option<PathBuf>) -> Result<()> {
    let exe = std::env::current_exe()?.parent().context("binary has a directory")?.join("robbench");
    anyhow::ensure!(exe.exists(), "{} is missing (`make build` builds it)", exe.display());
    let tmp = tempfile::tempdir()?;
    let dir = keep.unwrap_or_else(|| tmp.path().to_path_buf());
    let store = Store::open(&dir)?;
    let architectures = units.div_ceil(ATTACKS);
    let config = SyntheticConfig { architectures, attacks: ATTACKS, samples, changed: vec![] };
    let t = Instant::now();
    let (pipeline, cfg) = pipeline(&config)?;
    let plan = pipeline.plan(&cfg)?;
    let report = execute(&pipeline, &plan, &store, &RunOptions { jobs: 2, shard: None, device: None, primary: true })?;
    anyhow::ensure!(report.failed().is_empty(), "building the store failed");
    println!(
        "store: {} evaluation units ({architectures} architectures × {ATTACKS} attacks), {} rows of evaluation_samples, \
         written in {:.1}s ({})",
        architectures * ATTACKS,
        architectures * ATTACKS * samples,
        t.elapsed().as_secs_f64(),
        dir.display()
    );
    let python = std::env::var("ROBBENCH_PYTHON").ok().filter(|p| !p.is_empty());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("stages/reference/python/bench_duckdb.py");
    let duckdb = |sql: &str| -> Option<(f64, f64, f64)> {
        let python = python.as_ref()?;
        let (wall, mb, out) = timed(Command::new(python).arg(&script).arg(&dir).arg(sql)).ok()?;
        let json: serde_json::Value = serde_json::from_slice(&out).ok()?;
        Some((wall, json["seconds"].as_f64()?, mb))
    };
    if duckdb("SELECT 1").is_none() {
        println!("(no DuckDB in ROBBENCH_PYTHON's venv: `make setup` installs it; robbench figures only)");
    }
    let arch = architectures / 2;

    // First query of the run: compaction of every table included.
    std::fs::remove_dir_all(dir.join("tables")).ok();
    std::fs::remove_dir_all(dir.join("parts")).ok();
    let first = &queries(arch)[0];
    let (s, mb) = robbench_sql(&exe, &dir, &first.robbench)?;
    let duck = duckdb(&first.duckdb);
    println!(
        "\n| query | robbench (process, start-up included) | peak MB | DuckDB over per-unit files: process / query | peak MB | ratio |"
    );
    println!("|---|---|---|---|---|---|");
    let row = |name: &str, s: f64, mb: f64, duck: Option<(f64, f64, f64)>| match duck {
        Some((wall, q, dmb)) => {
            println!("| {name} | {s:.3} s | {mb:.0} | {wall:.3} s / {q:.3} s | {dmb:.0} | {:.2}× |", s / q)
        }
        None => println!("| {name} | {s:.3} s | {mb:.0} | — | — | — |"),
    };
    row(&format!("first query, compaction included: {}", first.name), s, mb, duck);
    for q in queries(arch) {
        // Best of three, as caches warm up on both sides.
        let mut best = (f64::INFINITY, 0.0);
        for _ in 0..3 {
            let (s, mb) = robbench_sql(&exe, &dir, &q.robbench)?;
            if s < best.0 {
                best = (s, mb);
            }
        }
        let duck = (0..3).filter_map(|_| duckdb(&q.duckdb)).min_by(|a, b| a.1.total_cmp(&b.1));
        row(q.name, best.0, best.1, duck);
    }
    let (s, mb) = robbench_sql(&exe, &dir, "SELECT 1")?;
    println!("| SELECT 1 | {s:.3} s | {mb:.0} | | | |");
    println!("\nratio = robbench process time / DuckDB in-process query time (robbench's start-up counted against it)");
    Ok(())
}
