//! No answer without its parts: a unit that lost a file is computed again,
//! an unfinished run answers only when a partial answer is asked for (and
//! then says what is missing), an export shares no file with the store, a
//! damaged compacted part is rebuilt, `_history` is checked like every table,
//! closed pipes end commands quietly and a unit the run log cannot record
//! stops the run.

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::{TINY, robbench, run_tiny, run_tiny_killed_after_first_network, stage_counts, stderr, stdout};

/// One network, no NTK or AutoAttack: seconds on a CPU.
const ONE_NETWORK: &[&str] = &["architectures.indices=[1462]", "ntk.enabled=false", "evaluation.autoattack.eps=[]"];

fn count(store: &Path, extra: &[&str], table: &str) -> String {
    let mut args = vec!["sql", "--format", "csv"];
    args.extend(extra);
    let query = format!("SELECT count(*) FROM {table}");
    args.push(&query);
    let o = robbench(store, &args);
    assert!(o.status.success(), "{}", stderr(&o));
    stdout(&o).lines().nth(1).unwrap().to_string()
}

/// Every file under `dir` whose name satisfies `wanted`.
fn files(dir: &Path, wanted: &dyn Fn(&str) -> bool) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() && !path.is_symlink() {
            out.extend(files(&path, wanted));
        } else if wanted(&entry.file_name().to_string_lossy()) {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// Overwrites a file as a careless tool would (making it writable first, as
/// a user who owns the store can).
fn overwrite(path: &Path, bytes: &[u8]) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::write(path, bytes).unwrap();
}

fn run_ids(store: &Path) -> Vec<String> {
    let mut ids: Vec<String> = std::fs::read_dir(store.join("runs"))
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_string_lossy().strip_suffix(".jsonl").map(str::to_string))
        .collect();
    ids.sort();
    ids
}

#[test]
fn a_unit_that_lost_a_table_file_is_computed_again_not_reused() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path();
    let first = run_tiny(store, ONE_NETWORK);
    assert!(first.status.success(), "{}", stderr(&first));
    let rows = count(store, &[], "evaluations");
    // Someone frees space by removing one unit's table file.
    let removed = files(&store.join("objects"), &|n| n.starts_with("evaluations.v") && n.ends_with(".parquet"));
    std::fs::remove_file(&removed[0]).unwrap();
    let rerun = run_tiny(store, ONE_NETWORK);
    assert!(rerun.status.success(), "{}", stderr(&rerun));
    assert!(
        stderr(&rerun).contains("is incomplete in the store") && stderr(&rerun).contains("is missing"),
        "the rerun did not say why it computes the unit again:\n{}",
        stderr(&rerun)
    );
    assert_eq!(stage_counts(&rerun, "evaluate").0, 1, "{}", stdout(&rerun));
    assert!(removed[0].exists(), "the table file was not written again");
    assert_eq!(count(store, &[], "evaluations"), rows);
    // `verify` finds it too (and quarantines the unit, which the next run computes).
    std::fs::remove_file(&removed[0]).unwrap();
    let verify = robbench(store, &["verify"]);
    assert!(!verify.status.success(), "verify passed a unit without its table file:\n{}", stdout(&verify));
    assert!(stdout(&verify).contains("is missing"), "{}", stdout(&verify));
    let rerun = run_tiny(store, ONE_NETWORK);
    assert_eq!(stage_counts(&rerun, "evaluate").0, 1, "{}", stdout(&rerun));
}

#[test]
fn an_unfinished_run_answers_only_when_a_partial_answer_is_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path();
    let sets = ["architectures.indices=[1462, 7581]", "train.epochs=4", "dataset.train_size=400", "ntk.enabled=false"];
    run_tiny_killed_after_first_network(store, &sets);
    let id = run_ids(store).pop().unwrap();
    let out = dir.path().join("export");
    assert!(stdout(&robbench(store, &["runs"])).contains("interrupted"));

    // The default refuses, and its advice is what the next command does.
    let plain = robbench(store, &["sql", "SELECT count(*) FROM training"]);
    assert!(!plain.status.success());
    assert!(stderr(&plain).contains(&format!("--run {id} --allow-partial")), "{}", stderr(&plain));
    for command in [
        vec!["sql", "--run", &id, "SELECT count(*) FROM training"],
        vec!["tables", "--run", &id],
        vec!["export", "--run", &id, "--out", out.to_str().unwrap()],
    ] {
        let o = robbench(store, &command);
        assert!(!o.status.success(), "{command:?} answered from an interrupted run:\n{}", stdout(&o));
        assert!(
            stderr(&o).contains("is not complete") && stderr(&o).contains("--allow-partial"),
            "{command:?}: {}",
            stderr(&o)
        );
    }
    let partial =
        robbench(store, &["sql", "--run", &id, "--allow-partial", "--format", "csv", "SELECT count(*) FROM training"]);
    assert!(partial.status.success(), "{}", stderr(&partial));
    let notice = stderr(&partial);
    assert!(notice.contains("partial answer"), "{notice}");
    assert!(notice.contains("not run: the run was interrupted"), "no missing unit named:\n{notice}");
    assert!(notice.contains("[evaluate]"), "{notice}");
}

#[test]
fn an_export_is_the_users_copy_and_a_damaged_part_is_rebuilt_from_the_units() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let o = run_tiny(&store, ONE_NETWORK);
    assert!(o.status.success(), "{}", stderr(&o));
    let rows = count(&store, &[], "evaluations");

    // The store's files are read-only on disk.
    for file in files(&store.join("objects"), &|_| true)
        .iter()
        .chain(&files(&store.join("parts"), &|n| n.ends_with(".parquet")))
    {
        let mode = std::fs::metadata(file).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o444, "{} is writable ({mode:o})", file.display());
    }
    // An export shares no inode with the store, and is the user's to change.
    let export = dir.path().join("export");
    let o = robbench(&store, &["export", "--out", export.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let exported = files(&export, &|n| n.ends_with(".parquet"));
    assert!(!exported.is_empty());
    for file in &exported {
        let meta = std::fs::metadata(file).unwrap();
        assert_eq!(meta.nlink(), 1, "{} shares its inode with the store", file.display());
        assert_ne!(meta.mode() & 0o200, 0, "{} is not writable", file.display());
        std::fs::write(file, b"cleaned in a notebook").unwrap();
    }
    assert_eq!(count(&store, &[], "evaluations"), rows);

    // A tool writes into the store's own part: the next query quarantines it and rebuilds it.
    let snapshot_parts = files(&store.join("tables"), &|n| n.starts_with("part-"));
    let part = snapshot_parts.iter().find(|p| p.parent().unwrap().ends_with("evaluations")).unwrap();
    overwrite(part, b"not parquet any more");
    let repaired = robbench(&store, &["sql", "--format", "csv", "SELECT count(*) FROM evaluations"]);
    assert!(repaired.status.success(), "{}", stderr(&repaired));
    assert_eq!(stdout(&repaired).lines().nth(1), Some(rows.as_str()));
    assert!(stderr(&repaired).contains("quarantined"), "{}", stderr(&repaired));
    let again = robbench(&store, &["sql", "SELECT count(*) FROM evaluations"]);
    assert!(!stderr(&again).contains("quarantined"), "repaired twice: {}", stderr(&again));

    // `verify` finds damage in compacted parts too, and the next query rebuilds them.
    let verify = robbench(&store, &["verify"]);
    assert!(verify.status.success(), "{}", stdout(&verify));
    let stored = files(&store.join("parts"), &|n| n.ends_with(".parquet"));
    overwrite(&stored[0], b"damaged");
    let verify = robbench(&store, &["verify"]);
    assert!(!verify.status.success(), "{}", stdout(&verify));
    assert!(stdout(&verify).contains("DAMAGED"), "{}", stdout(&verify));
    assert_eq!(count(&store, &[], "evaluations"), rows);
    let verify = robbench(&store, &["verify"]);
    assert!(verify.status.success(), "{}", stdout(&verify));
}

#[test]
fn history_is_checked_like_every_table_and_failed_units_have_no_rows_to_miss() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path();
    let o = run_tiny(store, ONE_NETWORK);
    assert!(o.status.success(), "{}", stderr(&o));
    // A run whose training diverges: its units fail, it is on record all the same.
    let failed = run_tiny(store, &[ONE_NETWORK, &["train.max_lr=1e9"]].concat());
    assert!(!failed.status.success(), "a learning rate of 1e9 trained: {}", stdout(&failed));
    let history = "SELECT run_id, count(*) FROM evaluations_history GROUP BY run_id";
    let o = robbench(store, &["sql", "--format", "csv", history]);
    assert!(o.status.success(), "a failed run made _history fail: {}", stderr(&o));
    assert_eq!(stdout(&o).lines().count(), 2, "{}", stdout(&o));

    // A finished unit whose file is gone is missing from history, as from its run.
    let removed = files(&store.join("objects"), &|n| n.starts_with("evaluations.v") && n.ends_with(".parquet"));
    std::fs::remove_file(&removed[0]).unwrap();
    let o = robbench(store, &["sql", history]);
    assert!(!o.status.success(), "history answered without a unit's rows");
    assert!(stderr(&o).contains("--allow-partial"), "{}", stderr(&o));
    let o = robbench(store, &["sql", "--allow-partial", history]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("in _history") && stderr(&o).contains("is missing"),
        "history did not say what it dropped:\n{}",
        stderr(&o)
    );
}

#[test]
fn a_closed_pipe_on_stdout_and_stderr_ends_sql_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path();
    let o = run_tiny(store, ONE_NETWORK);
    assert!(o.status.success(), "{}", stderr(&o));
    // `robbench sql … 2>&1 | head -0`: the reader is gone before the first line.
    for _ in 0..3 {
        let mut child = Command::new("sh")
            .arg("-c")
            .arg("exec \"$0\" \"$@\" 2>&1")
            .arg(env!("CARGO_BIN_EXE_robbench"))
            .args(["--store", store.to_str().unwrap(), "sql", "SELECT * FROM evaluation_samples"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(0), "robbench did not end quietly on a closed pipe");
    }
}

#[test]
fn a_unit_the_run_log_cannot_record_stops_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path();
    let o = run_tiny(store, ONE_NETWORK);
    assert!(o.status.success(), "{}", stderr(&o));
    let log = std::fs::read_to_string(store.join("runs").join(format!("{}.jsonl", run_ids(store)[0]))).unwrap();
    // Room for the header (run ids differ in length by a few characters), not for a unit's line.
    let header = log.lines().next().unwrap().len() as u64 + 32;
    // The rerun may write its log's header and no more (RLIMIT_FSIZE; SIGXFSZ
    // ignored, so a write past it fails with EFBIG instead of killing the process).
    let mut args =
        vec!["--store".to_string(), store.display().to_string(), "run".into(), "--device".into(), "cpu".into()];
    for set in TINY.iter().chain(ONE_NETWORK) {
        args.extend(["--set".to_string(), set.to_string()]);
    }
    let mut command = Command::new(env!("CARGO_BIN_EXE_robbench"));
    command.args(&args);
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        command.pre_exec(move || {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            let limit = libc::rlimit { rlim_cur: header, rlim_max: libc::RLIM_INFINITY };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let o = command.output().unwrap();
    assert!(!o.status.success(), "a run that could not record its units succeeded:\n{}", stdout(&o));
    let err = stderr(&o);
    assert!(err.contains("not protected from `robbench gc`"), "{err}");
    assert_eq!(err.matches("cannot record").count(), 1, "the run went on after a unit went unrecorded:\n{err}");
    assert!(stdout(&robbench(store, &["runs"])).contains("interrupted"));
}

#[test]
fn a_training_health_check_that_cannot_run_is_an_error_not_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path();
    let o = run_tiny(store, ONE_NETWORK);
    assert!(o.status.success(), "{}", stderr(&o));
    // A flipped byte in the prepared data (same size: still counts as stored),
    // and the derived tables removed, so the next run compacts from the units.
    let prepared = files(&store.join("objects/prepare"), &|n| n.ends_with(".parquet"));
    let mut bytes = std::fs::read(&prepared[0]).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x40;
    overwrite(&prepared[0], &bytes);
    for derived in ["parts", "tables"] {
        std::fs::remove_dir_all(store.join(derived)).unwrap();
    }
    // Training again refuses the corrupt input; the health check of the
    // partial tables then cannot read them either.
    let o = run_tiny(store, &[ONE_NETWORK, &["train.epochs=1"]].concat());
    assert!(!o.status.success());
    assert!(!stdout(&o).contains("warning: training health"), "a check that did not run is a warning:\n{}", stdout(&o));
    assert!(stderr(&o).contains("training health could not be checked"), "{}", stderr(&o));
}
