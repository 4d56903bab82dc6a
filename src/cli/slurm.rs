//! `robbench slurm submit` and `robbench slurm status`: Slurm as the
//! distributed engine over a store on a shared filesystem.
//!
//! A submission lives in `<store>/slurm/<id>/`: the normalised config, the
//! shard groups that were still pending when it was made (`groups.txt`), the
//! two batch scripts, `submission.json` (job ids) and `logs/`. An array job
//! splits the pending groups; a final job that depends on it (`afterany`) runs
//! the unsharded rest (what spans all architectures) and writes the report.
//! Submitting again lists only what is still pending, so a resubmission after
//! a failure or a cancellation runs only what is missing.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::str::FromStr;

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use robbench_pipeline::runs::{self, UnitStatus};
use robbench_pipeline::{Config, Plan, Store};
use serde::{Deserialize, Serialize};

use crate::ConfigArgs;

#[derive(Subcommand)]
pub enum SlurmCommand {
    /// Write the batch scripts into the store and submit an array over the
    /// pending shard groups plus a final job that depends on it.
    Submit(SubmitArgs),
    /// Units done / running / pending / failed per stage, the jobs' states
    /// and the log files of a submission.
    Status {
        /// A submission id (directory under <store>/slurm/). Default: the latest.
        #[arg(long)]
        submission: Option<String>,
    },
}

#[derive(clap::Args)]
pub struct SubmitArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// Array tasks; each takes every N-th pending shard group (one group is
    /// everything about one architecture). Capped at the number of groups.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    shards: u32,
    #[arg(long, value_parser = slurm_word)]
    partition: Option<String>,
    /// Generic resources per job, e.g. gpu:1 or gpu:a100:2.
    #[arg(long)]
    gres: Option<Gres>,
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    cpus_per_task: Option<u32>,
    /// Time limit per job: MINUTES, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS or UNLIMITED.
    #[arg(long)]
    time: Option<TimeLimit>,
    #[arg(long, value_parser = slurm_word)]
    account: Option<String>,
    /// Device of every job: auto (CUDA when available), cpu, cuda or cuda:N.
    #[arg(long, default_value = "auto")]
    device: String,
    /// Print the plan and the scripts; write and submit nothing.
    #[arg(long)]
    dry_run: bool,
}

/// A `--gres` request: `name[:type][:count]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Gres {
    name: String,
    kind: Option<String>,
    count: u32,
}

impl FromStr for Gres {
    type Err = String;
    fn from_str(s: &str) -> Result<Gres, String> {
        let bad = || format!("`{s}` is not NAME[:TYPE][:COUNT], e.g. gpu:1 or gpu:a100:2");
        let word = |w: &str| !w.is_empty() && w.chars().all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c));
        let parts: Vec<&str> = s.split(':').collect();
        let (name, kind, count) = match parts.as_slice() {
            [name] => (*name, None, "1"),
            [name, last] if last.parse::<u32>().is_ok() => (*name, None, *last),
            [name, kind] => (*name, Some(*kind), "1"),
            [name, kind, count] => (*name, Some(*kind), *count),
            _ => return Err(bad()),
        };
        let count: u32 = count.parse().map_err(|_| bad())?;
        if !word(name) || !kind.is_none_or(word) || count == 0 {
            return Err(bad());
        }
        Ok(Gres { name: name.to_string(), kind: kind.map(str::to_string), count })
    }
}

impl fmt::Display for Gres {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Some(kind) => write!(f, "{}:{kind}:{}", self.name, self.count),
            None => write!(f, "{}:{}", self.name, self.count),
        }
    }
}

/// A `--time` limit in one of the forms sbatch accepts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimeLimit(String);

impl FromStr for TimeLimit {
    type Err = String;
    fn from_str(s: &str) -> Result<TimeLimit, String> {
        if ["UNLIMITED", "INFINITE"].contains(&s.to_ascii_uppercase().as_str()) {
            return Ok(TimeLimit(s.to_ascii_uppercase()));
        }
        let numbers = |p: &str, max: usize| {
            let fields: Vec<&str> = p.split(':').collect();
            fields.len() <= max && fields.iter().all(|f| !f.is_empty() && f.chars().all(|c| c.is_ascii_digit()))
        };
        let valid = match s.split_once('-') {
            Some((days, rest)) => numbers(days, 1) && numbers(rest, 3),
            None => numbers(s, 3),
        };
        if valid {
            Ok(TimeLimit(s.to_string()))
        } else {
            Err(format!("`{s}` is not a Slurm time limit (MINUTES, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS)"))
        }
    }
}

/// A partition or account name: it goes into an `#SBATCH` line verbatim.
fn slurm_word(s: &str) -> Result<String, String> {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "_-.,".contains(c)) {
        Ok(s.to_string())
    } else {
        Err(format!("`{s}` is not a Slurm name (letters, digits, _ - . and commas)"))
    }
}

/// What `submission.json` records.
#[derive(Serialize, Deserialize)]
struct Submission {
    id: String,
    submitted_at: String,
    config_hash: String,
    /// Array tasks (0 when no shard group was pending).
    tasks: u32,
    /// Shard groups pending at submission, split over the tasks.
    groups: usize,
    array_job: Option<String>,
    final_job: Option<String>,
}

pub fn slurm(store: &Path, command: SlurmCommand) -> Result<ExitCode> {
    match command {
        SlurmCommand::Submit(args) => submit(store, &args),
        SlurmCommand::Status { submission } => status(store, submission.as_deref()),
    }
}

/// Paths the scripts name, all absolute.
struct Paths {
    robbench: PathBuf,
    store: PathBuf,
    dir: PathBuf,
    workdir: PathBuf,
}

impl Paths {
    fn config(&self) -> PathBuf {
        self.dir.join("config.toml")
    }
    fn groups(&self) -> PathBuf {
        self.dir.join("groups.txt")
    }
    fn logs(&self) -> PathBuf {
        self.dir.join("logs")
    }
}

fn submit(store: &Path, args: &SubmitArgs) -> Result<ExitCode> {
    robbench_nn::parse_device(&args.device)?;
    let plan = robbench_stages::planner()?.plan(&args.config.load()?)?;
    let store = Store::open(store)?;
    let groups = plan.pending_groups(&store)?;
    let tasks = args.shards.min(u32::try_from(groups.len()).unwrap_or(u32::MAX));
    let summary = plan.summary(&store, &plan.select(None))?;
    println!("{:<14} {:>7} {:>7} {:>7}", "stage", "units", "stored", "to run");
    for (stage, total, stored) in &summary {
        println!("{stage:<14} {total:>7} {stored:>7} {:>7}", total - stored);
    }
    if summary.iter().all(|(_, total, stored)| total == stored) {
        println!("every unit of config {} is stored: nothing to submit", plan.config_hash);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{} pending shard group(s) over {tasks} array task(s), then a final job for the rest and the report",
        groups.len()
    );

    let slurm_dir = store.root().join("slurm");
    let id = format!("{}-{}", runs::utc_compact(unix_seconds()), &plan.config_hash[..8]);
    let id = if args.dry_run { id } else { create_submission_dir(&slurm_dir, &id)? };
    let paths = Paths {
        robbench: std::env::current_exe()
            .and_then(|p| p.canonicalize())
            .context("cannot find the robbench binary's own path")?,
        store: store.root().to_path_buf(),
        dir: slurm_dir.join(&id),
        workdir: std::env::current_dir()?.canonicalize()?,
    };
    for path in [&paths.robbench, &paths.store, &paths.workdir] {
        if path.to_string_lossy().chars().any(|c| c.is_whitespace() || c == '\'' || c == '"') {
            bail!("{} contains whitespace or quotes, which #SBATCH lines cannot carry", path.display());
        }
    }
    let array_script = (tasks > 0).then(|| array_script(args, &paths, &id, tasks));
    let final_script = final_script(args, &paths, &id);
    if args.dry_run {
        println!("\nwould write {}/ (dry run: nothing written or submitted)", paths.dir.display());
        if let Some(script) = &array_script {
            println!("\n# array.sbatch\n{script}");
        }
        println!("\n# final.sbatch (submitted with --dependency=afterany:<array job>)\n{final_script}");
        println!("# groups.txt\n{}", groups.join("\n"));
        return Ok(ExitCode::SUCCESS);
    }

    fs::create_dir_all(paths.logs())?;
    fs::write(paths.config(), plan.config.to_toml_string())?;
    fs::write(paths.groups(), groups.iter().map(|g| format!("{g}\n")).collect::<String>())?;
    let mut submission = Submission {
        id: id.clone(),
        submitted_at: runs::utc_compact(unix_seconds()),
        config_hash: plan.config_hash.clone(),
        tasks,
        groups: groups.len(),
        array_job: None,
        final_job: None,
    };
    let record = |s: &Submission| -> Result<()> {
        robbench_pipeline::store::write_atomic(
            &paths.dir.join("submission.json"),
            serde_json::to_string_pretty(s)?.as_bytes(),
        )
    };
    let mut dependency = Vec::new();
    if let Some(script) = array_script {
        let path = paths.dir.join("array.sbatch");
        fs::write(&path, script)?;
        let job = sbatch(&path, &[])?;
        println!("submitted array job {job} ({tasks} tasks)");
        dependency.push(format!("--dependency=afterany:{job}"));
        submission.array_job = Some(job);
        record(&submission)?;
    }
    let path = paths.dir.join("final.sbatch");
    fs::write(&path, final_script)?;
    let job = sbatch(&path, &dependency)?;
    println!("submitted final job {job}");
    submission.final_job = Some(job);
    record(&submission)?;
    println!("submission {id}: {}", paths.dir.display());
    println!("follow it with: robbench --store {} slurm status", paths.store.display());
    Ok(ExitCode::SUCCESS)
}

/// Creates `<slurm_dir>/<id>` (with a suffix when two submissions share a second); returns its name.
fn create_submission_dir(slurm_dir: &Path, id: &str) -> Result<String> {
    fs::create_dir_all(slurm_dir).with_context(|| format!("cannot create {}", slurm_dir.display()))?;
    for n in 1..100 {
        let candidate = if n == 1 { id.to_string() } else { format!("{id}-{n}") };
        match fs::create_dir(slurm_dir.join(&candidate)) {
            Ok(()) => return Ok(candidate),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e).with_context(|| format!("cannot create {}", slurm_dir.join(&candidate).display())),
        }
    }
    bail!("cannot find a free submission directory under {}", slurm_dir.display())
}

/// The `#SBATCH` lines both scripts share (sbatch reads them only before the first command).
fn header(args: &SubmitArgs, paths: &Paths, name: &str, output: &str) -> String {
    let mut lines = vec![
        "#!/bin/bash".to_string(),
        format!("#SBATCH --job-name={name}"),
        format!("#SBATCH --output={}/{output}", paths.logs().display()),
        "#SBATCH --open-mode=append".to_string(),
        format!("#SBATCH --chdir={}", paths.workdir.display()),
        // A preempted or failed node's task starts again and resumes from its checkpoints.
        "#SBATCH --requeue".to_string(),
    ];
    let options: [(&str, Option<String>); 5] = [
        ("partition", args.partition.clone()),
        ("account", args.account.clone()),
        ("gres", args.gres.as_ref().map(Gres::to_string)),
        ("cpus-per-task", args.cpus_per_task.map(|c| c.to_string())),
        ("time", args.time.as_ref().map(|t| t.0.clone())),
    ];
    for (option, value) in options {
        if let Some(value) = value {
            lines.push(format!("#SBATCH --{option}={value}"));
        }
    }
    lines.join("\n")
}

fn array_script(args: &SubmitArgs, paths: &Paths, id: &str, tasks: u32) -> String {
    format!(
        "{header}\n#SBATCH --array=0-{last}\nset -eu\n\
         # Task i runs lines i, i+{tasks}, ... of groups.txt (the shard groups pending at submission).\n\
         exec {robbench} --store {store} run --config {config} --groups-from {groups} \\\n    \
         --shard \"$SLURM_ARRAY_TASK_ID/{tasks}\" --device {device}\n",
        header = header(args, paths, &format!("robbench-{id}"), "array-%A_%a.log"),
        last = tasks - 1,
        robbench = sh_quote(&paths.robbench),
        store = sh_quote(&paths.store),
        config = sh_quote(&paths.config()),
        groups = sh_quote(&paths.groups()),
        device = sh_quote(Path::new(&args.device)),
    )
}

fn final_script(args: &SubmitArgs, paths: &Paths, id: &str) -> String {
    format!(
        "{header}\nset -eu\n\
         # Everything the array did not do (units spanning all architectures, and any unit a\n\
         # cancelled task left), then the report.\n\
         {robbench} --store {store} run --config {config} --device {device}\n\
         exec {robbench} --store {store} report --config {config} --out {report}\n",
        header = header(args, paths, &format!("robbench-{id}-final"), "final-%j.log"),
        robbench = sh_quote(&paths.robbench),
        store = sh_quote(&paths.store),
        config = sh_quote(&paths.config()),
        device = sh_quote(Path::new(&args.device)),
        report = sh_quote(&paths.dir.join("report.html")),
    )
}

fn sh_quote(path: &Path) -> String {
    format!("'{}'", path.to_string_lossy().replace('\'', r"'\''"))
}

/// Submits a script; returns its job id.
fn sbatch(script: &Path, options: &[String]) -> Result<String> {
    let output = Command::new("sbatch")
        .arg("--parsable")
        .args(options)
        .arg(script)
        .output()
        .context("cannot run sbatch (is this a Slurm login node, with sbatch on PATH?)")?;
    if !output.status.success() {
        bail!("sbatch {} failed: {}", script.display(), String::from_utf8_lossy(&output.stderr).trim());
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    // `--parsable` prints `jobid` or `jobid;cluster`.
    let id = stdout.trim().split(';').next().unwrap_or_default().to_string();
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_digit()) {
        bail!("sbatch {} printed no job id: `{}`", script.display(), stdout.trim());
    }
    Ok(id)
}

fn status(store: &Path, submission: Option<&str>) -> Result<ExitCode> {
    let store = Store::open(store)?;
    let slurm_dir = store.root().join("slurm");
    let id = match submission {
        Some(id) => id.to_string(),
        None => latest_submission(&slurm_dir)?,
    };
    let dir = slurm_dir.join(&id);
    let path = dir.join("submission.json");
    let text = fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let sub: Submission = serde_json::from_str(&text).with_context(|| format!("corrupt {}", path.display()))?;
    let plan = robbench_stages::planner()?.plan(&Config::from_file(&dir.join("config.toml"))?)?;
    println!(
        "submission {} (config {}, submitted {}): {} pending shard group(s) over {} array task(s)",
        sub.id, sub.config_hash, sub.submitted_at, sub.groups, sub.tasks
    );

    let units = unit_states(&plan, &store)?;
    println!("\n{:<14} {:>7} {:>7} {:>7} {:>7}", "stage", "done", "running", "pending", "failed");
    let mut stages: Vec<(&str, [usize; 4])> = Vec::new();
    for (unit, state) in plan.units.iter().zip(&units) {
        if stages.last().is_none_or(|(name, _)| *name != unit.stage_name) {
            stages.push((unit.stage_name, [0; 4]));
        }
        let counts = &mut stages.last_mut().expect("pushed above").1;
        counts[match state {
            UnitState::Done => 0,
            UnitState::Running(_) => 1,
            UnitState::Pending => 2,
            UnitState::Failed(_) => 3,
        }] += 1;
    }
    for (stage, [done, running, pending, failed]) in &stages {
        println!("{stage:<14} {done:>7} {running:>7} {pending:>7} {failed:>7}");
    }
    for (unit, state) in plan.units.iter().zip(&units) {
        let what = format!("[{}] {} ({})", unit.stage_name, unit.spec.label, &unit.key.to_hex()[..12]);
        match state {
            UnitState::Running(holder) => println!("running  {what} on {holder}"),
            UnitState::Failed(error) => println!("failed   {what}: {}", error.lines().next().unwrap_or_default()),
            UnitState::Done | UnitState::Pending => {}
        }
    }

    println!();
    let jobs: Vec<&str> = [&sub.array_job, &sub.final_job].into_iter().flatten().map(String::as_str).collect();
    match job_states(&jobs) {
        Ok(states) => {
            for job in &jobs {
                if !states.iter().any(|s| s.id == *job || s.id.starts_with(&format!("{job}_"))) {
                    println!("job {job:<12} no longer known to squeue or sacct");
                }
            }
            for state in &states {
                let log = log_path(&dir, &sub, &state.id);
                let log = log.map(|p| format!("  log {}", p.display())).unwrap_or_default();
                println!("job {:<12} {:<12} {:<16}{log}", state.id, state.state, state.node);
            }
        }
        Err(e) => println!("job states unavailable: {e}"),
    }
    println!("logs: {}", dir.join("logs").display());
    Ok(ExitCode::SUCCESS)
}

fn latest_submission(slurm_dir: &Path) -> Result<String> {
    let mut ids: Vec<String> = match fs::read_dir(slurm_dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok())
            .filter(|e| e.path().join("submission.json").is_file())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    };
    // Ids start with the UTC time of submission, so they sort in time order.
    ids.sort();
    ids.pop().with_context(|| format!("no submissions under {} (see `robbench slurm submit`)", slurm_dir.display()))
}

enum UnitState {
    Done,
    /// Who holds the unit's claim.
    Running(String),
    Pending,
    /// The error of the latest run that attempted the unit.
    Failed(String),
}

fn unit_states(plan: &Plan, store: &Store) -> Result<Vec<UnitState>> {
    let mut last_failure: std::collections::HashMap<String, Option<String>> = Default::default();
    for record in runs::list(store)? {
        for unit in record.units {
            let error = (unit.status == UnitStatus::Failed).then(|| unit.error.unwrap_or_default());
            last_failure.insert(unit.key, error);
        }
    }
    let stored = plan.stored(store, &plan.select(None))?;
    Ok(plan
        .units
        .iter()
        .zip(stored)
        .map(|(unit, stored)| {
            if stored {
                UnitState::Done
            } else if let Some(holder) = store.claim_holder(&unit.key) {
                UnitState::Running(holder)
            } else if let Some(Some(error)) = last_failure.get(&unit.key.to_hex()) {
                UnitState::Failed(error.clone())
            } else {
                UnitState::Pending
            }
        })
        .collect())
}

struct JobState {
    id: String,
    state: String,
    node: String,
}

/// States of the jobs (and array tasks) from `squeue`, and from `sacct` for
/// those squeue has forgotten (when the cluster keeps accounting).
fn job_states(jobs: &[&str]) -> Result<Vec<JobState>, String> {
    if jobs.is_empty() {
        return Ok(Vec::new());
    }
    let list = jobs.join(",");
    // Running jobs show their node, pending ones the reason they wait.
    let squeue = query(Command::new("squeue").args(["-h", "-r", "-t", "all", "-j", &list, "-o", "%i|%T|%N|%r"]))?;
    let mut states: Vec<JobState> = squeue.iter().filter_map(|l| parse_state(l)).collect();
    let known =
        |states: &[JobState], job: &str| states.iter().any(|s| s.id == job || s.id.starts_with(&format!("{job}_")));
    if jobs.iter().any(|job| !known(&states, job)) {
        // Without an accounting database sacct fails; squeue's answer stands.
        if let Ok(lines) =
            query(Command::new("sacct").args(["-n", "-X", "-P", "-j", &list, "-o", "JobID,State,NodeList"]))
        {
            for state in lines.iter().filter_map(|l| parse_state(l)) {
                if !states.iter().any(|s| s.id == state.id) {
                    states.push(state);
                }
            }
        }
    }
    // Array tasks in task order, then the final job.
    let order = |s: &JobState| -> (u64, u64) {
        let (job, task) = s.id.split_once('_').unwrap_or((&s.id, "0"));
        (job.parse().unwrap_or(u64::MAX), task.parse().unwrap_or(u64::MAX))
    };
    states.sort_by_key(order);
    Ok(states)
}

fn query(command: &mut Command) -> Result<Vec<String>, String> {
    let program = command.get_program().to_string_lossy().into_owned();
    let output = command.output().map_err(|e| format!("cannot run {program}: {e}"))?;
    if !output.status.success() {
        return Err(format!("{program}: {}", String::from_utf8_lossy(&output.stderr).trim()));
    }
    Ok(String::from_utf8_lossy(&output.stdout).lines().map(str::to_string).collect())
}

fn parse_state(line: &str) -> Option<JobState> {
    let mut fields = line.trim().split('|');
    let id = fields.next()?.trim().to_string();
    let state = fields.next()?.trim().to_string();
    let node = fields.next().unwrap_or_default().trim();
    let reason = fields.next().unwrap_or_default().trim();
    let node = if node.is_empty() && !reason.is_empty() && reason != "None" {
        format!("({reason})")
    } else {
        node.to_string()
    };
    (!id.is_empty()).then_some(JobState { id, state, node })
}

/// The log file of a job or array task, when it exists.
fn log_path(dir: &Path, sub: &Submission, job: &str) -> Option<PathBuf> {
    let name =
        if sub.final_job.as_deref() == Some(job) { format!("final-{job}.log") } else { format!("array-{job}.log") };
    let path = dir.join("logs").join(name);
    path.is_file().then_some(path)
}

fn unix_seconds() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gres_requests_parse_and_print_as_sbatch_expects() {
        let parse = |s: &str| s.parse::<Gres>().map(|g| g.to_string());
        assert_eq!(parse("gpu").unwrap(), "gpu:1");
        assert_eq!(parse("gpu:2").unwrap(), "gpu:2");
        assert_eq!(parse("gpu:a100").unwrap(), "gpu:a100:1");
        assert_eq!(parse("gpu:a100:4").unwrap(), "gpu:a100:4");
        for bad in ["", "gpu:0", "gpu:a100:x", "gpu::1", "gpu 1", "a:b:1:2"] {
            assert!(parse(bad).unwrap_err().contains(bad), "{bad} accepted");
        }
    }

    #[test]
    fn time_limits_accept_the_sbatch_forms_only() {
        for good in ["30", "30:00", "2:30:00", "1-0", "1-12:00", "2-00:30:00", "unlimited"] {
            assert!(good.parse::<TimeLimit>().is_ok(), "{good} rejected");
        }
        for bad in ["", "1h", "1:2:3:4", "-5", "1-", "1-2:3:4:5", "1 day"] {
            assert!(bad.parse::<TimeLimit>().is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn squeue_lines_parse_into_job_states() {
        let state = parse_state("12_3|RUNNING|localhost|None").unwrap();
        assert_eq!((state.id.as_str(), state.state.as_str(), state.node.as_str()), ("12_3", "RUNNING", "localhost"));
        assert_eq!(parse_state("13|PENDING||Dependency").unwrap().node, "(Dependency)");
        // sacct lines have no reason field.
        assert_eq!(parse_state("12_0|COMPLETED|node7").unwrap().node, "node7");
        assert!(parse_state("").is_none());
    }
}
