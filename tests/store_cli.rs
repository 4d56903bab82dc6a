//! The store through the command line: which run SQL answers from, the
//! tensor-free binary, export and other tools, and that finished work
//! survives kills, `gc` and closed pipes.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use common::{TINY, robbench, run_tiny, run_tiny_killed_after_first_network, stage_counts, stderr, stdout};

fn csv(store: &Path, query: &str) -> Vec<String> {
    let o = robbench(store, &["sql", "--format", "csv", query]);
    assert!(o.status.success(), "{}", stderr(&o));
    stdout(&o).lines().skip(1).map(str::to_string).collect()
}

#[test]
fn the_sql_and_planning_binary_does_not_load_libtorch() {
    let ldd = Command::new("ldd").arg(env!("CARGO_BIN_EXE_robbench")).output().unwrap();
    let libraries = String::from_utf8_lossy(&ldd.stdout);
    assert!(!libraries.contains("libtorch") && !libraries.contains("libc10"), "{libraries}");
    // It answers without a store holding any run, and hands other commands over.
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(csv(dir.path(), "SELECT 1 + 1 AS two"), ["2"]);
    let o = robbench(dir.path(), &["space", "--arch", "1462"]);
    assert!(o.status.success() && stdout(&o).contains("1462"), "{}", stderr(&o));
    // It plans, too: the stages' planning half links no tensor code.
    let o = robbench(dir.path(), &["plan", "--set", "architectures.indices=[1462, 42]"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).lines().any(|l| l.split_whitespace().eq(["train", "2", "0", "2"])), "{}", stdout(&o));
}

#[test]
fn help_names_robbench_not_the_helper_binary() {
    let dir = tempfile::tempdir().unwrap();
    for args in [&["--help"][..], &["run", "--help"], &["sql", "--help"]] {
        let o = robbench(dir.path(), args);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        assert!(stdout(&o).contains("Usage: robbench "), "{args:?}:\n{}", stdout(&o));
        assert!(!stdout(&o).contains("robbench-torch"), "{args:?}:\n{}", stdout(&o));
    }
}

#[test]
fn sql_answers_from_the_latest_complete_run_and_other_tools_read_the_same_rows() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path();
    let sets = ["architectures.indices=[1462]", "ntk.enabled=false", "evaluation.autoattack.eps=[]"];
    assert!(run_tiny(store, &sets).status.success());
    let changed = [&sets[..], &["evaluation.pgd.steps=2"]].concat();
    let o = run_tiny(store, &changed);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("tables: "), "{}", stdout(&o));

    // No --set needed: the latest complete run answers, and says so.
    let latest =
        robbench(store, &["sql", "--format", "csv", "SELECT DISTINCT steps FROM evaluations WHERE attack = 'pgd'"]);
    assert!(latest.status.success(), "{}", stderr(&latest));
    assert_eq!(stdout(&latest).lines().nth(1), Some("2"));
    assert!(stderr(&latest).contains("tables of run"), "{}", stderr(&latest));

    // `runs` lists both runs with what changed.
    let runs = robbench(store, &["runs"]);
    assert!(stdout(&runs).contains("evaluation.pgd.steps: 3 → 2"), "{}", stdout(&runs));
    assert!(stdout(&runs).contains("latest"), "{}", stdout(&runs));

    // A query's result is not a table: no table tag in its Parquet metadata.
    let out = store.join("result.parquet");
    let o = robbench(
        store,
        &[
            "sql",
            "--format",
            "parquet",
            "--out",
            out.to_str().unwrap(),
            "SELECT attack, count(*) FROM evaluations GROUP BY 1",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let meta = std::fs::read(&out).unwrap();
    assert!(!String::from_utf8_lossy(&meta).contains("robbench.table"), "the result carries a table tag");
    // Strings keep the type the tables store, though SQL scans them as views.
    let file = std::fs::File::open(&out).unwrap();
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
    assert_eq!(reader.schema().field_with_name("attack").unwrap().data_type(), &arrow::datatypes::DataType::Utf8);

    // export writes plain datasets.
    let exported = store.join("export");
    let o = robbench(store, &["export", "--out", exported.to_str().unwrap(), "--tables", "evaluations,architectures"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(exported.join("evaluations").read_dir().unwrap().count() >= 1);

    // DuckDB over tables/latest returns exactly the rows robbench returns.
    let Some(python) = robbench_reference::python(&["duckdb"]) else { return };
    let query = "SELECT arch_index, attack, eps, sample_index, correct FROM {t} ORDER BY attack, eps, sample_index";
    let ours = csv(store, &query.replace("{t}", "evaluation_samples"));
    let glob = format!("'{}/tables/latest/evaluation_samples/*.parquet'", store.display());
    let script = format!(
        "import duckdb\nfor r in duckdb.sql(\"{}\").fetchall():\n    print(','.join('true' if v is True else 'false' if v is False else str(v) for v in r))",
        query.replace("{t}", &glob)
    );
    let duck = Command::new(&python).args(["-c", &script]).output().unwrap();
    assert!(duck.status.success(), "{}", String::from_utf8_lossy(&duck.stderr));
    let theirs: Vec<String> = String::from_utf8_lossy(&duck.stdout).lines().map(str::to_string).collect();
    assert_eq!(ours.len(), theirs.len());
    assert_eq!(ours, theirs);
}

#[test]
fn a_killed_run_keeps_its_finished_units_through_gc() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path();
    let sets = ["architectures.indices=[1462, 7581]", "train.epochs=4", "dataset.train_size=400", "ntk.enabled=false"];
    // Killed once the first network is trained and the second has started.
    run_tiny_killed_after_first_network(store, &sets);

    let runs = robbench(store, &["runs"]);
    assert!(stdout(&runs).contains("interrupted"), "{}", stdout(&runs));
    let gc = robbench(store, &["gc", "--keep-recent", "0s"]);
    assert!(gc.status.success(), "{}", stderr(&gc));
    assert!(stdout(&gc).contains("0 unreferenced unit(s) removed"), "{}", stdout(&gc));
    // The rerun trains only the network the kill interrupted.
    let rerun = run_tiny(store, &sets);
    assert!(rerun.status.success(), "{}", stderr(&rerun));
    assert_eq!(stage_counts(&rerun, "train").0, 1, "{}", stdout(&rerun));
    assert_eq!(stage_counts(&rerun, "prepare").0, 0);
}

#[test]
fn a_closed_pipe_ends_a_run_quietly_with_its_record_written() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path();
    let mut args =
        vec!["--store".to_string(), store.display().to_string(), "run".into(), "--device".into(), "cpu".into()];
    for set in TINY.iter().chain(&["architectures.indices=[1462]", "ntk.enabled=false"]) {
        args.push("--set".into());
        args.push(set.to_string());
    }
    // `robbench run … 2>&1 | head -3`: the reader goes away after three lines.
    let mut child = Command::new("sh")
        .arg("-c")
        .arg("exec \"$0\" \"$@\" 2>&1")
        .arg(env!("CARGO_BIN_EXE_robbench"))
        .args(&args)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    for _ in 0..3 {
        lines.next();
    }
    drop(lines);
    let status = child.wait().unwrap();
    assert_ne!(status.code(), Some(101), "robbench panicked on the closed pipe");
    let log = std::fs::read_dir(store.join("runs"))
        .unwrap()
        .flatten()
        .find(|e| e.path().extension().is_some_and(|x| x == "jsonl"))
        .unwrap()
        .path();
    assert!(std::fs::read_to_string(log).unwrap().contains("\"finished\""), "the run record was not finished");
}
