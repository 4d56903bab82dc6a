//! `robbench bench serve`: page latency of `robbench serve` on loopback, on
//! the shipped release and on a generated store of evaluation units. Each
//! page is requested in a bounded loop after one warm-up request (which
//! builds the tables); a request's latency is the time to its first response
//! byte, and its total the time to the last. Then requests/s with concurrent
//! clients, and the server's memory after the loops.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use robbench_pipeline::synthetic::{SyntheticConfig, pipeline};
use robbench_pipeline::{RunKind, RunOptions, Store, execute};

use super::bench_results::BenchResults;

/// Goals of the issue that asked for the explorer: first byte, median.
const RELEASE_GOAL_MS: f64 = 50.0;
const STORE_GOAL_MS: f64 = 300.0;

/// A `robbench serve` child, stopped when dropped.
struct Server {
    child: Child,
    address: String,
}

impl Server {
    fn start(exe: &Path, store: &Path) -> Result<Server> {
        let mut child = Command::new(exe)
            .arg("--store")
            .arg(store)
            .args(["serve", "--port", "0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot start robbench serve")?;
        let mut line = String::new();
        BufReader::new(child.stdout.take().context("piped")?).read_line(&mut line)?;
        let address = line
            .split("http://")
            .nth(1)
            .with_context(|| format!("robbench serve printed no URL: {line:?}"))?
            .trim()
            .trim_end_matches('/')
            .to_string();
        Ok(Server { child, address })
    }

    /// One request: (seconds to the first response byte, seconds to the
    /// last, bytes of the response).
    fn get(&self, path: &str) -> Result<(f64, f64, usize)> {
        let mut stream = TcpStream::connect(&self.address)?;
        stream.set_read_timeout(Some(Duration::from_secs(120)))?;
        let start = Instant::now();
        write!(stream, "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n", self.address)?;
        let mut first = [0u8; 1];
        stream.read_exact(&mut first)?;
        let ttfb = start.elapsed().as_secs_f64();
        let mut rest = Vec::new();
        stream.read_to_end(&mut rest)?;
        let total = start.elapsed().as_secs_f64();
        let status = String::from_utf8_lossy(&rest[..rest.len().min(16)]).split_whitespace().nth(1).map(str::to_string);
        ensure!(status.as_deref() == Some("200"), "GET {path}: status {status:?}");
        Ok((ttfb, total, rest.len() + 1))
    }

    /// Resident and peak resident memory, MB.
    fn memory(&self) -> (f64, f64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        let kb = |field: &str| {
            status
                .lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
                .unwrap_or(f64::NAN)
        };
        (kb("VmRSS:") / 1024.0, kb("VmHWM:") / 1024.0)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// How hard each page is driven.
#[derive(Clone, Copy)]
struct Load {
    /// Timed requests per page, one after another.
    requests: usize,
    /// Concurrent clients for the requests/s figure.
    clients: usize,
}

/// A store to time and what its figures are held to.
struct Target<'a> {
    store: &'a Path,
    /// Names its figures.
    what: &'a str,
    goal_ms: f64,
    /// Its median first-byte figures go in the README.
    headline: bool,
}

/// Times `pages` (name, path) on a server over the target's store, and records them.
fn time_pages(
    exe: &Path,
    Target { store, what, goal_ms, headline }: Target<'_>,
    pages: &[(&str, String)],
    Load { requests, clients }: Load,
    out: &mut BenchResults,
) -> Result<()> {
    let started = Instant::now();
    let server = Server::start(exe, store)?;
    let start_s = started.elapsed().as_secs_f64();
    println!("\n{what}: server up in {:.0} ms ({})", start_s * 1e3, server.address);
    out.figure(format!("{what}: start-up to the printed URL"), start_s * 1e3, "ms");
    println!(
        "| page | first request (tables built) | first byte, median | p99 | whole response, median | size | goal |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (name, path) in pages {
        let (first, _, bytes) = server.get(path)?;
        let mut ttfb = Vec::with_capacity(requests);
        let mut total = Vec::with_capacity(requests);
        for _ in 0..requests {
            let (t, all, _) = server.get(path)?;
            ttfb.push(t * 1e3);
            total.push(all * 1e3);
        }
        ttfb.sort_by(f64::total_cmp);
        total.sort_by(f64::total_cmp);
        let (median, p99, whole) = (percentile(&ttfb, 0.5), percentile(&ttfb, 0.99), percentile(&total, 0.5));
        let met = if median < goal_ms { "met" } else { "MISSED" };
        println!(
            "| {name} `{path}` | {:.0} ms | {median:.1} ms | {p99:.1} ms | {whole:.1} ms | {:.0} kB | < {goal_ms:.0} ms: {met} |",
            first * 1e3,
            bytes as f64 / 1e3
        );
        let figure = out
            .figure(format!("{what}: {name}: first byte, median of {requests}"), median, "ms")
            .compared_with(format!("the goal, {goal_ms:.0} ms"), median / goal_ms);
        if headline {
            figure.headline();
        }
        out.figure(format!("{what}: {name}: first byte, p99"), p99, "ms");
        out.figure(format!("{what}: {name}: whole response, median"), whole, "ms");
    }
    // Concurrent clients, each cycling through the pages.
    let per_client = requests.max(pages.len());
    let started = Instant::now();
    std::thread::scope(|scope| -> Result<()> {
        let handles: Vec<_> = (0..clients)
            .map(|c| {
                let server = &server;
                scope.spawn(move || -> Result<()> {
                    for i in 0..per_client {
                        server.get(&pages[(c + i) % pages.len()].1)?;
                    }
                    Ok(())
                })
            })
            .collect();
        for h in handles {
            h.join().map_err(|_| anyhow::anyhow!("a client thread panicked"))??;
        }
        Ok(())
    })?;
    let rate = (clients * per_client) as f64 / started.elapsed().as_secs_f64();
    let (rss, peak) = server.memory();
    println!(
        "{clients} concurrent clients over these pages: {rate:.0} requests/s; server memory after: {rss:.0} MB (peak {peak:.0} MB)"
    );
    out.figure(format!("{what}: requests/s, {clients} concurrent clients over the pages"), rate, "requests/s");
    out.figure(format!("{what}: server memory after the loops"), rss, "MB");
    out.figure(format!("{what}: server peak memory"), peak, "MB");
    Ok(())
}

pub fn bench_serve(requests: usize, clients: usize, units: u64, out: &mut BenchResults) -> Result<()> {
    ensure!(requests > 0 && clients > 0, "--requests and --clients must be at least 1");
    let load = Load { requests, clients };
    let exe = std::env::current_exe()?.parent().context("binary has a directory")?.join("robbench");
    ensure!(exe.exists(), "{} is missing (`make build` builds it)", exe.display());

    // The shipped release: 6,466 classes × 18 values.
    let release = tempfile::tempdir()?;
    let o = Command::new(&exe).arg("--store").arg(release.path()).args(["import", "nasrobbench201-html"]).output()?;
    if !o.status.success() {
        bail!("importing the release failed: {}", String::from_utf8_lossy(&o.stderr));
    }
    let pages = [
        ("benchmark table, first page", "/".to_string()),
        (
            "filtered, sorted table page",
            "/table?min.cifar10%3Apgd%408=0.3&min.ops%3Anor_conv_3x3=2&sort=cifar10%3Apgd%408".to_string(),
        ),
        ("architecture page", "/arch/2581".to_string()),
        ("scatter data", "/tradeoffs.json".to_string()),
        ("trade-offs page", "/tradeoffs".to_string()),
    ];
    let target = Target { store: release.path(), what: "shipped release", goal_ms: RELEASE_GOAL_MS, headline: true };
    time_pages(&exe, target, &pages, load, out)?;

    // A store of generated evaluation units (the real layout).
    let generated = tempfile::tempdir()?;
    let store = Store::open(generated.path())?;
    let attacks = 5;
    let config = SyntheticConfig { architectures: units.div_ceil(attacks), attacks, samples: 100, changed: vec![] };
    let (pipeline, cfg) = pipeline(&config)?;
    let report = execute(
        &pipeline,
        &pipeline.plan(&cfg)?,
        &store,
        &RunOptions { jobs: 2, shard: None, device: None, kind: RunKind::Experiment },
    )?;
    ensure!(report.failed().is_empty(), "building the generated store failed");
    let what = format!("{}-unit store", config.architectures * attacks);
    let pages = [
        ("evaluations table, first page", "/table?source=evaluations".to_string()),
        (
            "filtered, sorted evaluations page",
            "/table?source=evaluations&min.params=0&sort=params&dir=desc".to_string(),
        ),
        ("architecture page", format!("/arch/{}?source=evaluations", config.architectures / 2)),
        ("scatter data", "/tradeoffs.json?source=evaluations".to_string()),
        ("runs page", "/runs".to_string()),
    ];
    let target = Target { store: generated.path(), what: &what, goal_ms: STORE_GOAL_MS, headline: false };
    time_pages(&exe, target, &pages, load, out)?;
    out.note(format!(
        "latency = time to the first response byte of a GET on loopback (a fresh connection each), after one \
         warm-up request per page; {requests} requests per page; the ratio is against the goal (< {RELEASE_GOAL_MS:.0} ms \
         on the release, < {STORE_GOAL_MS:.0} ms on a 2,000-unit store)"
    ));
    Ok(())
}
