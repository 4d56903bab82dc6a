//! Slurm as robbench's distributed engine, against real daemons: the one-node
//! cluster of `scripts/slurm-test-cluster.sh`. A 4-shard submission must fill
//! a store exactly as a local run does; cancelling one array task mid-unit
//! must leave no partial object, and resubmitting must run only what is
//! missing, resuming the killed unit from its checkpoint. Also: two local
//! processes racing for the same units execute each unit once.
//!
//! Where the cluster script cannot install or start Slurm (exit status 3: its
//! ports taken, no packages, a daemon that does not start, a node that never
//! becomes idle) the Slurm test fails under CI and is skipped elsewhere, with
//! a visible `SKIPPED` line carrying the script's reason and the daemons' logs.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::{TINY, stage_counts, stderr, stdout};

/// The experiment submitted: four architectures (one shard group each), one
/// epoch, no NTK and no AutoAttack, so the array runs in about a minute.
const SMALL: &[&str] = &[
    "architectures.indices=[1462, 7581, 1000, 4317]",
    "train.epochs=1",
    "ntk.enabled=false",
    "evaluation.autoattack.eps=[]",
    "evaluation.sweep.eps=[8.0]",
];

/// The second submission: new training, long enough to cancel a task mid-unit.
const LONGER: &[&str] = &["train.epochs=12"];

/// The tests below share one cluster and compare timings: they run one at a time.
fn exclusive() -> File {
    let lock = File::create(std::env::temp_dir().join("robbench-slurm-tests.lock")).unwrap();
    lock.lock().unwrap();
    lock
}

fn sets(extra: &[&[&str]]) -> Vec<String> {
    TINY.iter()
        .chain(SMALL)
        .chain(extra.iter().flat_map(|e| e.iter()))
        .flat_map(|s| ["--set".to_string(), s.to_string()])
        .collect()
}

fn robbench(store: &Path, slurm_conf: Option<&Path>, args: &[String]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_robbench"));
    command.arg("--store").arg(store).args(args).env("CUDA_VISIBLE_DEVICES", "").env("OMP_NUM_THREADS", "1");
    if let Some(conf) = slurm_conf {
        command.env("SLURM_CONF", conf);
    }
    command.output().expect("robbench runs")
}

fn ok(o: Output, what: &str) -> Output {
    assert!(o.status.success(), "{what} failed:\n{}\n{}", stdout(&o), stderr(&o));
    o
}

/// The running test cluster; stopped when dropped (also when the test fails).
struct Cluster {
    script: PathBuf,
    conf: PathBuf,
}

impl Cluster {
    /// `None`, after `unavailable` said why, where Slurm cannot be installed
    /// or started.
    fn start() -> Option<Cluster> {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/slurm-test-cluster.sh");
        let out = Command::new(&script).arg("start").output().expect("the cluster script runs");
        if out.status.code() == Some(3) {
            robbench_reference::unavailable(
                "a Slurm test cluster (scripts/slurm-test-cluster.sh)",
                stderr(&out).trim(),
            );
            return None;
        }
        assert!(out.status.success(), "slurm-test-cluster.sh start failed:\n{}", stderr(&out));
        // The script's last line of progress: the daemons up, the node idle.
        robbench_reference::ran(stderr(&out).trim().lines().last().unwrap_or("the cluster script succeeded"));
        let conf = stdout(&out)
            .lines()
            .find_map(|l| l.strip_prefix("export SLURM_CONF="))
            .expect("the script prints SLURM_CONF")
            .into();
        Some(Cluster { script, conf })
    }

    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        command.env("SLURM_CONF", &self.conf);
        command
    }

    /// `JobState` of a job or array task, from `scontrol` (the cluster keeps
    /// finished jobs for an hour).
    fn state(&self, job: &str) -> String {
        let out = self.command("scontrol").args(["show", "job", job]).output().unwrap();
        let text = stdout(&out);
        text.split_whitespace().find_map(|w| w.strip_prefix("JobState=")).unwrap_or("UNKNOWN").to_string()
    }

    fn wait_finished(&self, job: &str, limit: Duration) -> String {
        let started = Instant::now();
        loop {
            let state = self.state(job);
            if !["PENDING", "RUNNING", "COMPLETING", "CONFIGURING", "REQUEUED"].contains(&state.as_str()) {
                return state;
            }
            assert!(started.elapsed() < limit, "job {job} still {state} after {limit:?}");
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// Waits until no task of `array` is pending or running.
    fn wait_array_idle(&self, array: &str, limit: Duration) {
        let started = Instant::now();
        loop {
            let out = self.command("squeue").args(["-h", "-r", "-j", array, "-t", "PD,R,CG,CF", "-o", "%i"]).output();
            if stdout(&out.unwrap()).trim().is_empty() {
                return;
            }
            assert!(started.elapsed() < limit, "array {array} still active after {limit:?}");
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    fn scancel(&self, job: &str) {
        let out = self.command("scancel").arg(job).output().unwrap();
        assert!(out.status.success(), "scancel {job}: {}", stderr(&out));
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        Command::new(&self.script).arg("stop").output().ok();
    }
}

/// A submission as `robbench slurm submit` reported it.
struct Submitted {
    dir: PathBuf,
    array: String,
    final_job: String,
}

fn submit(store: &Path, cluster: &Cluster, extra: &[&[&str]]) -> Submitted {
    let mut args: Vec<String> =
        ["slurm", "submit", "--shards", "4", "--device", "cpu", "--time", "30"].map(String::from).to_vec();
    args.extend(sets(extra));
    let out = ok(robbench(store, Some(&cluster.conf), &args), "slurm submit");
    let text = stdout(&out);
    let field = |prefix: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(prefix))
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("no `{prefix}` in:\n{text}"))
            .to_string()
    };
    let id = field("submission ").trim_end_matches(':').to_string();
    Submitted {
        dir: store.join("slurm").join(id),
        array: field("submitted array job "),
        final_job: field("submitted final job "),
    }
}

/// `stage/key` of every complete unit.
fn objects(store: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for stage in std::fs::read_dir(store.join("objects")).unwrap().flatten() {
        for key in std::fs::read_dir(stage.path()).unwrap().flatten() {
            out.insert(format!("{}/{}", stage.file_name().to_string_lossy(), key.file_name().to_string_lossy()));
        }
    }
    out
}

/// Every table's rows (without wall-time columns), sorted, by table name.
fn tables(store: &Path, extra: &[&[&str]]) -> BTreeMap<String, Vec<String>> {
    let mut args = vec!["tables".to_string()];
    args.extend(sets(extra));
    let listing = stdout(&ok(robbench(store, None, &args), "tables"));
    // Lines `name (N rows): columns`; the history tables and `runs` name run ids, which differ.
    let names: Vec<String> = listing
        .lines()
        .filter(|l| l.contains(" rows): "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "runs" && !name.ends_with("_history"))
        .map(str::to_string)
        .collect();
    let mut out = BTreeMap::new();
    for name in names {
        let mut args = vec!["sql".to_string(), "--format".into(), "json".into()];
        args.extend(sets(extra));
        args.push(format!("SELECT * FROM {name}"));
        let json = stdout(&ok(robbench(store, None, &args), "sql"));
        let rows: Vec<serde_json::Map<String, serde_json::Value>> =
            if json.trim().is_empty() { Vec::new() } else { serde_json::from_str(&json).unwrap() };
        let mut rows: Vec<String> = rows
            .into_iter()
            .map(|mut row| {
                row.remove("seconds");
                serde_json::Value::Object(row).to_string()
            })
            .collect();
        rows.sort();
        out.insert(name, rows);
    }
    out
}

fn manifest(store: &Path, object: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(store.join("objects").join(object).join("manifest.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn a_slurm_array_fills_the_store_like_a_local_run_and_a_resubmission_runs_only_what_is_missing() {
    let _one_at_a_time = exclusive();
    let Some(cluster) = Cluster::start() else { return };
    let local = tempfile::tempdir().unwrap();
    let shared = tempfile::tempdir().unwrap();

    // The same config, locally and as a 4-shard array.
    let mut args = vec!["run".to_string(), "--device".into(), "cpu".into()];
    args.extend(sets(&[]));
    let started = Instant::now();
    ok(robbench(local.path(), None, &args), "local run");
    let local_seconds = started.elapsed().as_secs_f64();

    let started = Instant::now();
    let first = submit(shared.path(), &cluster, &[]);
    assert_eq!(cluster.wait_finished(&first.final_job, Duration::from_secs(1800)), "COMPLETED");
    let slurm_seconds = started.elapsed().as_secs_f64();
    robbench_reference::ran(&format!(
        "local run {local_seconds:.1}s, 4-shard Slurm array + final job {slurm_seconds:.1}s"
    ));

    assert_eq!(objects(shared.path()), objects(local.path()), "the array computed other units than a local run");
    let local_tables = tables(local.path(), &[]);
    assert!(local_tables.contains_key("evaluations") && local_tables.contains_key("training"), "{local_tables:?}");
    assert_eq!(tables(shared.path(), &[]), local_tables, "the array's tables differ from the local run's");
    let groups = std::fs::read_to_string(first.dir.join("groups.txt")).unwrap();
    assert_eq!(groups.lines().count(), 4, "one shard group per architecture: {groups}");
    for task in 0..4 {
        let log = first.dir.join("logs").join(format!("array-{}_{task}.log", first.array));
        assert!(log.is_file(), "no log {}", log.display());
    }
    assert!(first.dir.join("report.html").is_file(), "the final job wrote no report");
    // Each architecture's units were computed by an array task, which the manifests name.
    let trained: Vec<String> = objects(shared.path()).into_iter().filter(|o| o.starts_with("train/")).collect();
    assert_eq!(trained.len(), 4);
    for object in &trained {
        let notes = &manifest(shared.path(), object)["notes"];
        assert_eq!(notes["slurm_array_job_id"], first.array.as_str(), "{object}: {notes}");
        assert!(notes["slurm_node"].is_string(), "{object}: {notes}");
    }
    let status =
        stdout(&ok(robbench(shared.path(), Some(&cluster.conf), &["slurm".into(), "status".into()]), "status"));
    assert!(status.contains(&format!("job {}_0", first.array)) && status.contains("COMPLETED"), "{status}");
    assert!(!status.contains("running  [") && !status.contains("failed   ["), "{status}");

    // Second submission: the final job is held back, and one task is
    // cancelled once its training unit has checkpointed an epoch.
    let second = submit(shared.path(), &cluster, &[LONGER]);
    cluster.scancel(&second.final_job);
    let started = Instant::now();
    let (task, key) = loop {
        let status = robbench(shared.path(), Some(&cluster.conf), &["slurm".into(), "status".into()]);
        let running = stdout(&status).lines().find_map(|l| {
            let l = l.strip_prefix("running  [train] ")?;
            let key = l.split_once(" (")?.1.split_once(')')?.0.to_string();
            let task = l.split_once(&format!("slurm job {}_", second.array))?.1.trim().to_string();
            Some((task, key))
        });
        if let Some((task, key)) = running {
            let checkpointed = std::fs::read_dir(shared.path().join("scratch"))
                .unwrap()
                .flatten()
                .any(|e| e.file_name().to_string_lossy().starts_with(&key) && e.path().join("latest").is_file());
            if checkpointed {
                break (task, key);
            }
        }
        assert!(started.elapsed() < Duration::from_secs(900), "no training unit checkpointed under the array");
        std::thread::sleep(Duration::from_millis(200));
    };
    cluster.scancel(&format!("{}_{task}", second.array));
    cluster.wait_array_idle(&second.array, Duration::from_secs(1800));
    assert_eq!(cluster.state(&format!("{}_{task}", second.array)), "CANCELLED");
    let before = objects(shared.path());
    assert!(!before.iter().any(|o| o.contains(&key)), "the cancelled unit left an object");
    let status =
        stdout(&ok(robbench(shared.path(), Some(&cluster.conf), &["slurm".into(), "status".into()]), "status"));
    assert!(!status.contains("running  ["), "a cancelled task still holds a claim:\n{status}");

    // Resubmitting lists only the cancelled task's architecture and completes it.
    let third = submit(shared.path(), &cluster, &[LONGER]);
    let cancelled_group = std::fs::read_to_string(second.dir.join("groups.txt"))
        .unwrap()
        .lines()
        .nth(task.parse().unwrap())
        .unwrap()
        .to_string();
    assert_eq!(std::fs::read_to_string(third.dir.join("groups.txt")).unwrap().trim(), cancelled_group);
    assert_eq!(cluster.wait_finished(&third.final_job, Duration::from_secs(1800)), "COMPLETED");
    let after = objects(shared.path());
    let resumed = after.iter().find(|o| o.starts_with("train/") && o.contains(&key)).expect("the unit completed");
    let notes = &manifest(shared.path(), resumed)["notes"];
    assert!(notes["resumed_after_epoch"].as_u64().is_some_and(|e| e >= 1), "did not resume: {notes}");
    assert_eq!(notes["slurm_array_job_id"], third.array.as_str());
    // No unit was executed twice across the three submissions.
    let mut args = vec!["sql".to_string(), "--format".into(), "csv".into()];
    args.extend(sets(&[LONGER]));
    args.push(
        "SELECT unit, count(*) AS n FROM runs WHERE status = 'executed' GROUP BY unit HAVING count(*) > 1".into(),
    );
    let twice = stdout(&ok(robbench(shared.path(), None, &args), "sql"));
    assert_eq!(twice.lines().count(), 1, "units executed more than once:\n{twice}");
    let status =
        stdout(&ok(robbench(shared.path(), Some(&cluster.conf), &["slurm".into(), "status".into()]), "status"));
    assert!(!status.contains("running  [") && !status.contains("failed   ["), "{status}");
    // Every unit of the config is stored now: nothing left to submit.
    let mut args = vec!["slurm".to_string(), "submit".into(), "--shards".into(), "4".into()];
    args.extend(sets(&[LONGER]));
    let again = stdout(&ok(robbench(shared.path(), Some(&cluster.conf), &args), "submit"));
    assert!(again.contains("nothing to submit"), "{again}");
}

#[test]
fn two_processes_racing_for_the_same_units_execute_each_once() {
    let _one_at_a_time = exclusive();
    let store = tempfile::tempdir().unwrap();
    let one_arch: &[&str] = &["architectures.indices=[1462]"];
    let mut args = vec!["run".to_string(), "--device".into(), "cpu".into()];
    args.extend(sets(&[one_arch]));
    let spawn = || {
        Command::new(env!("CARGO_BIN_EXE_robbench"))
            .arg("--store")
            .arg(store.path())
            .args(&args)
            .env("CUDA_VISIBLE_DEVICES", "")
            .env("OMP_NUM_THREADS", "1")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    let (a, b) = (ok(a, "first racer"), ok(b, "second racer"));
    let stored = objects(store.path());
    for stage in ["prepare", "architectures", "train", "evaluate", "checks"] {
        let (ea, ra, fa) = stage_counts(&a, stage);
        let (eb, rb, fb) = stage_counts(&b, stage);
        let units = stored.iter().filter(|o| o.starts_with(&format!("{stage}/"))).count();
        assert_eq!((fa, fb), (0, 0), "{stage} failed");
        assert_eq!(ea + eb, units, "{stage}: {ea} + {eb} executions for {units} units");
        assert_eq!((ea + ra, eb + rb), (units, units), "{stage}: each racer accounts for every unit");
    }
    assert!(stored.iter().any(|o| o.starts_with("train/")));
    let leftovers: Vec<_> = std::fs::read_dir(store.path().join("tmp")).unwrap().flatten().collect();
    assert!(leftovers.is_empty(), "half-written units left in tmp/: {leftovers:?}");
}

/// A port already taken, as by a site Slurm, keeps the test cluster from
/// starting: the Slurm test fails under CI and is skipped, visibly, elsewhere.
#[test]
fn without_a_cluster_the_slurm_check_fails_in_ci_and_is_skipped_visibly_outside() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let dir = tempfile::tempdir().unwrap();
    robbench_reference::assert_fails_in_ci_and_skips_visibly_outside(
        "a_slurm_array_fills_the_store_like_a_local_run_and_a_resubmission_runs_only_what_is_missing",
        &[("ROBBENCH_SLURM_DIR", dir.path().to_str().unwrap()), ("ROBBENCH_SLURM_PORT", &port)],
        &format!("port {port} on 127.0.0.1 is taken"),
    );
}
