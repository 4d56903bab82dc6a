//! Puts the jobs/threads policy ([`robbench_pipeline::parallelism`]) into
//! effect in this process.
//!
//! libtorch's OpenMP runtime (libgomp) reads `OMP_WAIT_POLICY`,
//! `GOMP_SPINCOUNT` and `OMP_NUM_THREADS` once, when the library is loaded,
//! before `main` runs. Its default lets idle threads spin 300,000 rounds at
//! every barrier, which is ruinous when the CPUs are shared (with other
//! units or other processes): a spinning thread burns the time slice its
//! team-mate needs. So unless the environment already says, the binary
//! re-executes itself once with `OMP_WAIT_POLICY=PASSIVE`, a short spin for
//! units of several threads ([`SHORT_SPIN`]) and `OMP_NUM_THREADS=<threads
//! per unit>`; the parent's decision travels in an environment variable
//! tagged with the process id, so the re-executed process (same pid) uses it
//! as it is and a child process that inherits it does not.

use std::num::NonZeroUsize;
use std::os::unix::process::CommandExt;

use anyhow::Result;
use robbench_pipeline::console::note;
use robbench_pipeline::parallelism::{self, CpuBudget, DeviceKind, Jobs, Parallelism};

const DECISION: &str = "ROBBENCH_PARALLELISM";

/// libgomp spin rounds (tens of microseconds; its default is 300,000) before
/// an idle thread of a multi-threaded unit sleeps at a barrier. Measured on a
/// 2-thread training unit: no spin at all runs it at half speed alone; 3,000
/// rounds at 0.98x the speed of 30,000 alone, and far less slowed down by
/// busy neighbours than the default (docs/src/guide/gpus-and-threads.md).
pub const SHORT_SPIN: u32 = 3_000;

/// Chooses jobs and per-unit threads (unless the process was re-executed with
/// a decision) and makes libtorch use that many intra-op threads. Without
/// `--threads`, a plain count in `OMP_NUM_THREADS` is the user's choice.
pub fn configure(jobs: Jobs, threads: Option<NonZeroUsize>, device: DeviceKind) -> Result<Parallelism> {
    let threads = threads.or_else(|| std::env::var("OMP_NUM_THREADS").ok()?.trim().parse().ok());
    let inherited = inherited_decision();
    let chosen = match inherited {
        Some(p) => p,
        None => {
            let budget = CpuBudget::detect()?;
            let p = parallelism::choose(&budget, jobs, threads, device);
            note(format_args!(
                "robbench: {} job(s) x {} thread(s) on {budget}{}",
                p.jobs,
                p.threads,
                if p.oversubscribed() { " -- oversubscribed by the overrides" } else { "" }
            ));
            p
        }
    };
    let wait_policy_set = std::env::var_os("OMP_WAIT_POLICY").is_some();
    let threads_set = std::env::var("OMP_NUM_THREADS").is_ok_and(|t| t.trim() == chosen.threads.to_string());
    if inherited.is_none() && !(wait_policy_set && threads_set) {
        let mut command = std::process::Command::new("/proc/self/exe");
        command.args(std::env::args_os().skip(1)).arg0(std::env::args_os().next().unwrap_or_default());
        if !wait_policy_set {
            command.env("OMP_WAIT_POLICY", "PASSIVE");
            if chosen.threads > 1 && std::env::var_os("GOMP_SPINCOUNT").is_none() {
                command.env("GOMP_SPINCOUNT", SHORT_SPIN.to_string());
            }
        }
        command
            .env("OMP_NUM_THREADS", chosen.threads.to_string())
            .env(DECISION, format!("{}:{}:{}:{}", std::process::id(), chosen.jobs, chosen.threads, chosen.cpus));
        // `exec` returns only if it failed; then carry on with the inherited OpenMP settings.
        let error = command.exec();
        note(format_args!("robbench: warning: could not re-execute with OMP_WAIT_POLICY/OMP_NUM_THREADS set: {error}"));
    }
    tch::set_num_threads(chosen.threads as i32);
    Ok(chosen)
}

/// The decision a parent recorded before re-executing this very process.
fn inherited_decision() -> Option<Parallelism> {
    let value = std::env::var(DECISION).ok()?;
    let fields: Vec<usize> = value.split(':').map(|f| f.parse().ok()).collect::<Option<_>>()?;
    match fields[..] {
        [pid, jobs, threads, cpus] if pid == std::process::id() as usize => Some(Parallelism { jobs, threads, cpus }),
        _ => None,
    }
}

/// Whether a `--device` string names a CUDA device (`auto`: when libtorch sees one).
pub fn device_kind(device: &str) -> Result<DeviceKind> {
    Ok(if robbench_nn::parse_device(device)?.is_cuda() { DeviceKind::Cuda } else { DeviceKind::Cpu })
}
