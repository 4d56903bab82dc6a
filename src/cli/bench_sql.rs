//! `robbench bench sql`: SQL over a store of the real layout, each query a
//! fresh `robbench sql` process (start-up included), side by side with DuckDB
//! over the same per-unit files, with every process's peak memory (VmHWM,
//! polled every 2 ms: a peak in the last milliseconds of a process is missed).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use robbench_pipeline::synthetic::{SyntheticConfig, pipeline};
use robbench_pipeline::{RunKind, RunOptions, Store, execute};

use super::bench_results::BenchResults;

/// The queries whose figures the README shows.
const HEADLINE: [&str; 2] = ["GROUP BY attack, eps over evaluation_samples", "one architecture's per-sample rows"];

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

/// Wall seconds, peak resident MB and stdout of a child process.
fn timed(command: &mut Command) -> Result<(f64, f64, Vec<u8>)> {
    use std::io::Read;
    let start = Instant::now();
    let mut child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()?;
    let pid = child.id() as libc::pid_t;
    // Drain both pipes while the child runs (a full pipe would block it); the
    // child is reaped below with wait4, which also reports its peak memory.
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            pipe.read_to_end(&mut bytes).map(|_| bytes)
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("piped")));
    let stderr = drain(Box::new(child.stderr.take().expect("piped")));
    // Peak memory: the child's own VmHWM, polled until it exits. (wait4's
    // ru_maxrss would include this process's memory, which the child
    // inherits at fork and keeps through exec.)
    let status_path = format!("/proc/{pid}/status");
    let mut peak_kb = 0u64;
    let mut status = 0;
    loop {
        if let Some(kb) = std::fs::read_to_string(&status_path).ok().and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        }) {
            peak_kb = peak_kb.max(kb);
        }
        // SAFETY: `pid` is our own child; WNOHANG returns at once.
        let waited = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        anyhow::ensure!(waited >= 0, "cannot wait for {command:?}: {}", std::io::Error::last_os_error());
        if waited == pid {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let seconds = start.elapsed().as_secs_f64();
    let (stdout, stderr) = (stdout.join().expect("reader")?, stderr.join().expect("reader")?);
    if !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        bail!("{command:?} failed: {}", String::from_utf8_lossy(&stderr));
    }
    Ok((seconds, peak_kb as f64 / 1024.0, stdout))
}

fn robbench_sql(exe: &Path, store: &Path, sql: &str) -> Result<(f64, f64)> {
    let (s, mb, _) = timed(Command::new(exe).arg("--store").arg(store).args(["sql", "--format", "csv", sql]))?;
    Ok((s, mb))
}

pub fn bench_sql(units: u64, samples: u64, keep: Option<PathBuf>, out: &mut BenchResults) -> Result<()> {
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
    let report = execute(
        &pipeline,
        &plan,
        &store,
        &RunOptions { jobs: 2, shard: None, device: None, kind: RunKind::Experiment },
    )?;
    anyhow::ensure!(report.failed().is_empty(), "building the store failed");
    let store_note = format!(
        "store: {} evaluation units ({architectures} architectures × {ATTACKS} attacks), {} rows of evaluation_samples, \
         written in {:.1}s",
        architectures * ATTACKS,
        architectures * ATTACKS * samples,
        t.elapsed().as_secs_f64(),
    );
    println!("{store_note} ({})", dir.display());
    out.note(store_note);
    let python = Some(super::bench_process::python()).filter(|p| Path::new(p).exists());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("stages/reference/python/bench_duckdb.py");
    let duckdb = |sql: &str| -> Option<(f64, f64, f64)> {
        let python = python.as_ref()?;
        let (wall, mb, out) = timed(Command::new(python).arg(&script).arg(&dir).arg(sql)).ok()?;
        let json: serde_json::Value = serde_json::from_slice(&out).ok()?;
        Some((wall, json["seconds"].as_f64()?, mb))
    };
    if duckdb("SELECT 1").is_none() {
        println!("(no DuckDB in ROBBENCH_PYTHON's venv: `make setup` installs it; robbench figures only)");
        out.note("no DuckDB in ROBBENCH_PYTHON's venv: robbench figures only");
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
    let mut row = |name: &str, s: f64, mb: f64, duck: Option<(f64, f64, f64)>| match duck {
        Some((wall, q, dmb)) => {
            println!("| {name} | {s:.3} s | {mb:.0} | {wall:.3} s / {q:.3} s | {dmb:.0} | {:.2}× |", s / q);
            let figure = out.figure(name, s, "s").compared_with(
                format!("DuckDB in-process query over the per-unit files ({q:.3} s; {wall:.3} s as a process)"),
                s / q,
            );
            if HEADLINE.contains(&name) {
                figure.headline();
            }
            out.figure(format!("{name}: peak memory"), mb, "MB")
                .compared_with(format!("DuckDB's process ({dmb:.0} MB)"), mb / dmb);
        }
        None => {
            println!("| {name} | {s:.3} s | {mb:.0} | — | — | — |");
            out.figure(name, s, "s");
            out.figure(format!("{name}: peak memory"), mb, "MB");
        }
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
    out.figure("SELECT 1", s, "s");
    out.figure("SELECT 1: peak memory", mb, "MB");
    println!("\nratio = robbench process time / DuckDB in-process query time (robbench's start-up counted against it)");
    out.note(
        "each query is a fresh `robbench sql` process (start-up included), best of three; \
         time ratio = robbench process time / DuckDB in-process query time",
    );
    Ok(())
}
