//! Phase timings of the structured NTK, for finding where its time goes.
//!
//! Off unless the environment variable `ROBBENCH_NTK_PROFILE` is set (to
//! anything): then every timed phase adds its wall time, its thread's
//! on-CPU time (`/proc/thread-self/schedstat`: unlike wall time, not
//! inflated when a shared machine's other jobs take the CPU) and its counted
//! multiply-adds (counted from the layer sizes) to a per-thread table, and [`report`] prints the table to
//! stderr and clears it. Wall times are exact on the CPU only: GPU kernels are
//! asynchronous, so there a phase's time lands on whichever later phase waits.

use std::cell::RefCell;
use std::sync::OnceLock;
use std::time::Instant;

/// The environment variable that switches profiling on.
pub const PROFILE_ENV: &str = "ROBBENCH_NTK_PROFILE";

struct Phase {
    name: &'static str,
    seconds: f64,
    cpu_seconds: f64,
    macs: f64,
    calls: u64,
}

thread_local! {
    static PHASES: RefCell<Vec<Phase>> = const { RefCell::new(Vec::new()) };
}

fn enabled() -> bool {
    static ENABLED: OnceLock<bool> = OnceLock::new();
    *ENABLED.get_or_init(|| std::env::var_os(PROFILE_ENV).is_some())
}

/// Runs `f`, adding its wall time to phase `name` when profiling is on.
pub(crate) fn time<T>(name: &'static str, f: impl FnOnce() -> T) -> T {
    if !enabled() {
        return f();
    }
    let (started, cpu_started) = (Instant::now(), thread_cpu_seconds());
    let out = f();
    add(name, started.elapsed().as_secs_f64(), thread_cpu_seconds() - cpu_started, 0.0, 1);
    out
}

/// This thread's time on a CPU so far (0 where Linux does not report it).
/// With one intra-op thread, libtorch computes on the calling thread.
pub(crate) fn thread_cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0.0, |ns| ns / 1e9)
}

/// Adds `macs` counted multiply-adds to phase `name` when profiling is on
/// (`macs` is only evaluated then).
pub(crate) fn count(name: &'static str, macs: impl FnOnce() -> f64) {
    if enabled() {
        add(name, 0.0, 0.0, macs(), 0);
    }
}

fn add(name: &'static str, seconds: f64, cpu_seconds: f64, macs: f64, calls: u64) {
    PHASES.with_borrow_mut(|phases| match phases.iter_mut().find(|p| p.name == name) {
        Some(p) => {
            p.seconds += seconds;
            p.cpu_seconds += cpu_seconds;
            p.macs += macs;
            p.calls += calls;
        }
        None => phases.push(Phase { name, seconds, cpu_seconds, macs, calls }),
    });
}

/// Prints the phases timed since the last report (in first-use order) with
/// their share of the work's on-CPU time `total_cpu_seconds` (wall time
/// `total_seconds`), and clears them. Nothing when off.
pub(crate) fn report(what: &str, total_seconds: f64, total_cpu_seconds: f64) {
    if !enabled() {
        return;
    }
    let phases = PHASES.with_borrow_mut(std::mem::take);
    let mut lines = vec![format!(
        "{what}: {total_seconds:.3} s wall, {total_cpu_seconds:.3} s on CPU\n  {:<28} {:>6} {:>8} {:>8} {:>6} {:>7} {:>10}",
        "phase", "calls", "wall s", "CPU s", "share", "GMAC", "GMAC/CPU s"
    )];
    let (mut wall, mut cpu) = (0.0, 0.0);
    for p in &phases {
        wall += p.seconds;
        cpu += p.cpu_seconds;
        let rate = if p.macs > 0.0 { format!("{:.1}", p.macs / p.cpu_seconds / 1e9) } else { "-".into() };
        lines.push(format!(
            "  {:<28} {:>6} {:>8.3} {:>8.3} {:>5.1}% {:>7.2} {:>10}",
            p.name,
            p.calls,
            p.seconds,
            p.cpu_seconds,
            100.0 * p.cpu_seconds / total_cpu_seconds,
            p.macs / 1e9,
            rate
        ));
    }
    lines.push(format!(
        "  {:<28} {:>6} {:>8.3} {:>8.3} {:>5.1}%",
        "(untimed)",
        "",
        total_seconds - wall,
        total_cpu_seconds - cpu,
        100.0 * (total_cpu_seconds - cpu) / total_cpu_seconds
    ));
    eprintln!("{}", lines.join("\n"));
}
