//! How many units run at once (`jobs`) and how many intra-op threads each
//! unit's tensor library uses (`threads`), so that together they never ask
//! for more CPUs than the process may use.
//!
//! The CPUs a process may use are the fewest of: its scheduler affinity mask,
//! its cgroup CPU quota (v2 `cpu.max`, v1 `cpu.cfs_quota_us`, on its own
//! cgroup and every ancestor), and `SLURM_CPUS_PER_TASK` when Slurm sets it.
//! [`choose`] is a pure function of those and the user's overrides;
//! [`CpuBudget::detect`] reads them from the system.

use std::fmt;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{Context, Result, bail};

/// Units run at once on one CUDA device when `--jobs auto`. Small networks
/// leave most of a GPU idle, so two units overlap one's host work with the
/// other's kernels. Not yet measured on a GPU.
pub const CUDA_JOBS_PER_DEVICE: usize = 2;

/// `--jobs`: a count, or `auto` (chosen from the CPU budget).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Jobs {
    #[default]
    Auto,
    Count(NonZeroUsize),
}

impl FromStr for Jobs {
    type Err = String;
    fn from_str(s: &str) -> Result<Jobs, String> {
        if s.trim().eq_ignore_ascii_case("auto") {
            return Ok(Jobs::Auto);
        }
        s.trim()
            .parse::<NonZeroUsize>()
            .map(Jobs::Count)
            .map_err(|_| format!("`{s}`: expected `auto` or a positive number of units"))
    }
}

impl fmt::Display for Jobs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Jobs::Auto => write!(f, "auto"),
            Jobs::Count(n) => write!(f, "{n}"),
        }
    }
}

/// Where the units compute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceKind {
    Cpu,
    Cuda,
}

/// What limits the CPUs this process may use.
#[derive(Clone, Debug, PartialEq)]
pub struct CpuBudget {
    /// CPUs in the scheduler affinity mask.
    pub affinity: usize,
    /// The tightest cgroup CPU quota, in CPUs (e.g. 1.5); `None` when unlimited.
    pub quota: Option<f64>,
    /// `SLURM_CPUS_PER_TASK`, when set.
    pub slurm_cpus_per_task: Option<usize>,
}

impl CpuBudget {
    /// Whole CPUs usable at once: the fewest any limit allows, at least 1. A
    /// fractional quota rounds down, since a thread on the fraction would be
    /// throttled.
    pub fn cpus(&self) -> usize {
        let mut cpus = self.affinity.max(1);
        if let Some(quota) = self.quota {
            cpus = cpus.min((quota.floor() as usize).max(1));
        }
        if let Some(slurm) = self.slurm_cpus_per_task {
            cpus = cpus.min(slurm.max(1));
        }
        cpus
    }

    /// Reads the affinity mask, the cgroup quotas and `SLURM_CPUS_PER_TASK`.
    pub fn detect() -> Result<CpuBudget> {
        let affinity = std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|status| {
                status
                    .lines()
                    .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
                    .and_then(|list| count_cpu_list(list).ok())
            })
            .or_else(|| std::thread::available_parallelism().ok().map(NonZeroUsize::get))
            .unwrap_or(1);
        let quota =
            match (std::fs::read_to_string("/proc/self/mountinfo"), std::fs::read_to_string("/proc/self/cgroup")) {
                (Ok(mountinfo), Ok(cgroup)) => cgroup_quota(&mountinfo, &cgroup, |p| std::fs::read_to_string(p).ok()),
                _ => None,
            };
        let slurm_cpus_per_task = match std::env::var("SLURM_CPUS_PER_TASK") {
            Ok(value) => Some(
                value
                    .trim()
                    .parse::<NonZeroUsize>()
                    .map(NonZeroUsize::get)
                    .with_context(|| format!("SLURM_CPUS_PER_TASK=`{value}` is not a positive number"))?,
            ),
            Err(_) => None,
        };
        Ok(CpuBudget { affinity, quota, slurm_cpus_per_task })
    }
}

impl fmt::Display for CpuBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} CPUs (affinity {}", self.cpus(), self.affinity)?;
        if let Some(quota) = self.quota {
            write!(f, ", cgroup quota {quota:.2}")?;
        }
        if let Some(slurm) = self.slurm_cpus_per_task {
            write!(f, ", SLURM_CPUS_PER_TASK {slurm}")?;
        }
        write!(f, ")")
    }
}

/// The outcome of [`choose`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Parallelism {
    /// Units run at once.
    pub jobs: usize,
    /// Intra-op threads of each unit.
    pub threads: usize,
    /// The CPUs the budget allows.
    pub cpus: usize,
}

impl Parallelism {
    /// True when explicit overrides ask for more threads than CPUs.
    pub fn oversubscribed(&self) -> bool {
        self.jobs * self.threads > self.cpus
    }
}

/// Jobs and per-unit threads for `budget`.
///
/// - Both given: taken as they are (the user wins, even past the budget).
/// - `--jobs N` only: the CPUs are shared out, `threads = cpus / N` (at least 1).
/// - `--threads T` only: `jobs = cpus / T` (at least 1).
/// - Neither, on the CPU: one thread per unit and one unit per CPU. The
///   networks are small, so a unit gains little from a second thread
///   (every parallel region synchronises the team) while independent units
///   scale linearly.
/// - Neither, on CUDA: [`CUDA_JOBS_PER_DEVICE`] units (fewer if fewer CPUs),
///   the CPUs shared out among them for their host-side work.
pub fn choose(budget: &CpuBudget, jobs: Jobs, threads: Option<NonZeroUsize>, device: DeviceKind) -> Parallelism {
    let cpus = budget.cpus();
    let (jobs, threads) = match (jobs, threads.map(NonZeroUsize::get)) {
        (Jobs::Count(j), Some(t)) => (j.get(), t),
        (Jobs::Count(j), None) => (j.get(), (cpus / j.get()).max(1)),
        (Jobs::Auto, Some(t)) => ((cpus / t).max(1), t),
        (Jobs::Auto, None) => match device {
            DeviceKind::Cpu => (cpus, 1),
            DeviceKind::Cuda => {
                let jobs = CUDA_JOBS_PER_DEVICE.min(cpus);
                (jobs, cpus / jobs)
            }
        },
    };
    Parallelism { jobs, threads, cpus }
}

/// Number of CPUs in a kernel CPU list such as `0-3,8,10-11`.
pub fn count_cpu_list(list: &str) -> Result<usize> {
    let mut count = 0;
    for part in list.trim().split(',').filter(|p| !p.is_empty()) {
        let (lo, hi) = match part.split_once('-') {
            Some((lo, hi)) => (lo.trim().parse::<usize>(), hi.trim().parse::<usize>()),
            None => (part.trim().parse::<usize>(), part.trim().parse::<usize>()),
        };
        match (lo, hi) {
            (Ok(lo), Ok(hi)) if lo <= hi => count += hi - lo + 1,
            _ => bail!("CPU list `{list}`: cannot read `{part}`"),
        }
    }
    if count == 0 {
        bail!("CPU list `{list}` is empty");
    }
    Ok(count)
}

/// CPUs allowed by a cgroup v2 `cpu.max` (`"max 100000"` or `"150000 100000"`).
pub fn parse_cpu_max(text: &str) -> Option<f64> {
    let mut fields = text.split_whitespace();
    let quota = fields.next()?.parse::<f64>().ok()?;
    let period = fields.next().and_then(|p| p.parse::<f64>().ok()).unwrap_or(100_000.0);
    (quota > 0.0 && period > 0.0).then(|| quota / period)
}

/// CPUs allowed by cgroup v1 `cpu.cfs_quota_us` (−1: unlimited) and `cpu.cfs_period_us`.
pub fn parse_cfs(quota_us: &str, period_us: &str) -> Option<f64> {
    let quota = quota_us.trim().parse::<f64>().ok()?;
    let period = period_us.trim().parse::<f64>().ok()?;
    (quota > 0.0 && period > 0.0).then(|| quota / period)
}

/// The tightest CPU quota over this process's cgroup and its ancestors, in
/// both cgroup versions. `mountinfo` and `cgroup` are the texts of
/// `/proc/self/mountinfo` and `/proc/self/cgroup`; `read` reads a file.
pub fn cgroup_quota(mountinfo: &str, cgroup: &str, read: impl Fn(&Path) -> Option<String>) -> Option<f64> {
    let mut tightest: Option<f64> = None;
    let mut consider = |cpus: Option<f64>| {
        if let Some(cpus) = cpus {
            tightest = Some(tightest.map_or(cpus, |t| t.min(cpus)));
        }
    };
    for line in mountinfo.lines() {
        // id parent dev root mount-point options [optional...] - fstype source super-options
        let Some((left, right)) = line.split_once(" - ") else { continue };
        let left: Vec<&str> = left.split_whitespace().collect();
        let right: Vec<&str> = right.split_whitespace().collect();
        if left.len() < 5 || right.is_empty() {
            continue;
        }
        let (root, mount_point) = (left[3], Path::new(left[4]));
        let v2 = right[0] == "cgroup2";
        let v1_cpu = right[0] == "cgroup" && right.get(2).is_some_and(|o| o.split(',').any(|c| c == "cpu"));
        if !v2 && !v1_cpu {
            continue;
        }
        // /proc/self/cgroup lines: hierarchy-id:controllers:path ("0::path" for v2).
        let path = cgroup.lines().find_map(|l| {
            let mut fields = l.splitn(3, ':');
            let (_, controllers, path) = (fields.next()?, fields.next()?, fields.next()?);
            let matches = if v2 { controllers.is_empty() } else { controllers.split(',').any(|c| c == "cpu") };
            matches.then_some(path)
        });
        let Some(path) = path else { continue };
        let relative = path.strip_prefix(root).unwrap_or(path).trim_start_matches('/');
        let mut dir: PathBuf = mount_point.join(relative);
        loop {
            if v2 {
                consider(read(&dir.join("cpu.max")).as_deref().and_then(parse_cpu_max));
            } else if let (Some(q), Some(p)) =
                (read(&dir.join("cpu.cfs_quota_us")), read(&dir.join("cpu.cfs_period_us")))
            {
                consider(parse_cfs(&q, &p));
            }
            if dir.as_path() == mount_point || !dir.pop() {
                break;
            }
        }
    }
    tightest
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn budget(affinity: usize, quota: Option<f64>, slurm: Option<usize>) -> CpuBudget {
        CpuBudget { affinity, quota, slurm_cpus_per_task: slurm }
    }

    fn n(v: usize) -> Option<NonZeroUsize> {
        NonZeroUsize::new(v)
    }

    #[test]
    fn chosen_units_and_threads_never_exceed_the_cpus_allowed() {
        for affinity in 1..=40 {
            for quota in [None, Some(0.5), Some(1.0), Some(2.5), Some(7.0), Some(64.0)] {
                for slurm in [None, Some(1), Some(3), Some(16)] {
                    let b = budget(affinity, quota, slurm);
                    for device in [DeviceKind::Cpu, DeviceKind::Cuda] {
                        let mut requests = vec![(Jobs::Auto, None)];
                        for k in 1..=48 {
                            requests.push((Jobs::Count(NonZeroUsize::new(k).unwrap()), None));
                            requests.push((Jobs::Auto, n(k)));
                        }
                        for (jobs, threads) in requests {
                            let p = choose(&b, jobs, threads, device);
                            assert!(p.jobs >= 1 && p.threads >= 1, "{b:?} {jobs} {threads:?}: {p:?}");
                            let overridden_past_budget = match (jobs, threads) {
                                (Jobs::Count(j), _) => j.get() > b.cpus(),
                                (_, Some(t)) => t.get() > b.cpus(),
                                _ => false,
                            };
                            if !overridden_past_budget {
                                assert!(p.jobs * p.threads <= b.cpus(), "{b:?} {jobs} {threads:?}: {p:?}");
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn auto_on_the_cpu_runs_one_single_threaded_unit_per_cpu() {
        let p = choose(&budget(8, None, None), Jobs::Auto, None, DeviceKind::Cpu);
        assert_eq!((p.jobs, p.threads), (8, 1));
        let p = choose(&budget(8, None, None), Jobs::Auto, None, DeviceKind::Cuda);
        assert_eq!((p.jobs, p.threads), (CUDA_JOBS_PER_DEVICE, 8 / CUDA_JOBS_PER_DEVICE));
        let p = choose(&budget(1, None, None), Jobs::Auto, None, DeviceKind::Cuda);
        assert_eq!((p.jobs, p.threads), (1, 1));
    }

    #[test]
    fn overrides_win() {
        let b = budget(8, None, None);
        let both = choose(&b, Jobs::Count(NonZeroUsize::new(3).unwrap()), n(5), DeviceKind::Cpu);
        assert_eq!((both.jobs, both.threads), (3, 5));
        assert!(both.oversubscribed());
        let jobs = choose(&b, Jobs::Count(NonZeroUsize::new(3).unwrap()), None, DeviceKind::Cpu);
        assert_eq!((jobs.jobs, jobs.threads), (3, 2));
        let threads = choose(&b, Jobs::Auto, n(4), DeviceKind::Cpu);
        assert_eq!((threads.jobs, threads.threads), (2, 4));
        let one = choose(&b, Jobs::Count(NonZeroUsize::new(1).unwrap()), None, DeviceKind::Cpu);
        assert_eq!((one.jobs, one.threads), (1, 8));
        assert!(!one.oversubscribed());
    }

    #[test]
    fn a_slurm_allocation_and_a_cgroup_quota_are_respected() {
        let slurm = budget(64, None, Some(4));
        assert_eq!(slurm.cpus(), 4);
        let p = choose(&slurm, Jobs::Auto, None, DeviceKind::Cpu);
        assert_eq!((p.jobs, p.threads), (4, 1));
        let p = choose(&slurm, Jobs::Count(NonZeroUsize::new(2).unwrap()), None, DeviceKind::Cpu);
        assert_eq!((p.jobs, p.threads), (2, 2));
        // A fractional quota rounds down, but never below one CPU.
        assert_eq!(budget(64, Some(2.5), None).cpus(), 2);
        assert_eq!(budget(64, Some(0.2), None).cpus(), 1);
        assert_eq!(budget(3, Some(16.0), Some(8)).cpus(), 3);
    }

    #[test]
    fn jobs_parse_as_auto_or_a_positive_count() {
        assert_eq!("auto".parse::<Jobs>(), Ok(Jobs::Auto));
        assert_eq!("3".parse::<Jobs>(), Ok(Jobs::Count(NonZeroUsize::new(3).unwrap())));
        for bad in ["0", "-1", "two", ""] {
            let e = bad.parse::<Jobs>().unwrap_err();
            assert!(e.contains(&format!("`{bad}`")), "{e}");
        }
    }

    #[test]
    fn cpu_lists_count_ranges_and_singletons() {
        assert_eq!(count_cpu_list("0-1\n").unwrap(), 2);
        assert_eq!(count_cpu_list("0-3,8,10-11").unwrap(), 7);
        assert_eq!(count_cpu_list("5").unwrap(), 1);
        assert!(count_cpu_list("3-1").unwrap_err().to_string().contains("`3-1`"));
        assert!(count_cpu_list("").is_err());
    }

    #[test]
    fn quotas_parse_in_both_cgroup_versions() {
        assert_eq!(parse_cpu_max("max 100000\n"), None);
        assert_eq!(parse_cpu_max("150000 100000\n"), Some(1.5));
        assert_eq!(parse_cfs("-1\n", "100000\n"), None);
        assert_eq!(parse_cfs("200000\n", "100000\n"), Some(2.0));
    }

    #[test]
    fn the_tightest_quota_over_the_cgroup_and_its_ancestors_counts() {
        let mountinfo = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";
        let cgroup = "4:memory:/job\n2:cpu,cpuacct:/slurm/job7\n0::/slurm/job7\n";
        let files: HashMap<&str, &str> = [
            ("/sys/fs/cgroup/cpu,cpuacct/slurm/job7/cpu.cfs_quota_us", "-1"),
            ("/sys/fs/cgroup/cpu,cpuacct/slurm/job7/cpu.cfs_period_us", "100000"),
            ("/sys/fs/cgroup/cpu,cpuacct/slurm/cpu.cfs_quota_us", "300000"),
            ("/sys/fs/cgroup/cpu,cpuacct/slurm/cpu.cfs_period_us", "100000"),
            ("/sys/fs/cgroup/unified/slurm/job7/cpu.max", "250000 100000"),
            ("/sys/fs/cgroup/unified/cpu.max", "max 100000"),
        ]
        .into_iter()
        .collect();
        let read = |p: &Path| files.get(p.to_str().unwrap()).map(|s| s.to_string());
        assert_eq!(cgroup_quota(mountinfo, cgroup, read), Some(2.5));
        // Without quota files anywhere: unlimited.
        assert_eq!(cgroup_quota(mountinfo, cgroup, |_| None), None);
        // A cgroup namespace: the mount's root is the process's own cgroup.
        let namespaced = "50 40 0:40 /slurm/job7 /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";
        let read = |p: &Path| (p == Path::new("/sys/fs/cgroup/cpu.max")).then(|| "100000 100000".to_string());
        assert_eq!(cgroup_quota(namespaced, "0::/slurm/job7\n", read), Some(1.0));
    }
}
