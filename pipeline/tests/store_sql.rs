//! The store and SQL at scale, on synthetic stores of the real layout:
//! compaction after a run, no rewrite on a no-op rerun, partial rewrites,
//! first-query compaction, identical answers from the compacted and per-unit
//! paths, history and old-version tables, completeness and integrity.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{Array, RecordBatch};
use arrow::util::display::array_value_to_string;
use robbench_pipeline::compact::Completeness;
use robbench_pipeline::sql::{Catalog, RunChoice, choose_run, query};
use robbench_pipeline::synthetic::{SyntheticConfig, pipeline};
use robbench_pipeline::{RunKind, RunOptions, Store, execute, runs};

fn run(store: &Store, config: &SyntheticConfig) -> String {
    let (pipeline, config) = pipeline(config).unwrap();
    let plan = pipeline.plan(&config).unwrap();
    let options = RunOptions { jobs: 2, shard: None, device: None, kind: RunKind::Experiment };
    let report = execute(&pipeline, &plan, store, &options).unwrap();
    assert!(report.failed().is_empty());
    report.record.run_id
}

fn small() -> SyntheticConfig {
    SyntheticConfig { architectures: 12, attacks: 3, samples: 50, changed: vec![] }
}

fn catalog(store: &Store, run: Option<&str>) -> Arc<Catalog> {
    let choice = match run {
        Some(id) => RunChoice::Id(id),
        None => RunChoice::Latest,
    };
    Arc::new(Catalog::new(store, choose_run(store, choice).unwrap(), Completeness::Whole))
}

/// Rows as strings, sorted: a comparable answer.
fn rows(batches: &[RecordBatch]) -> Vec<String> {
    let mut out = Vec::new();
    for b in batches {
        for r in 0..b.num_rows() {
            let cells: Vec<String> = b.columns().iter().map(|c| array_value_to_string(c, r).unwrap()).collect();
            out.push(cells.join("|"));
        }
    }
    out.sort();
    out
}

fn sql(catalog: &Arc<Catalog>, q: &str) -> Vec<String> {
    rows(&query(catalog.clone(), q).unwrap().1)
}

/// Every part file of the store with its inode (a rewrite changes it).
fn parts(store: &Store) -> BTreeSet<(String, u64)> {
    use std::os::unix::fs::MetadataExt;
    let mut out = BTreeSet::new();
    for table in std::fs::read_dir(store.root().join("parts")).unwrap() {
        for part in std::fs::read_dir(table.unwrap().path()).unwrap() {
            let path = part.unwrap().path();
            if path.extension().is_some_and(|e| e == "parquet") {
                out.insert((path.display().to_string(), std::fs::metadata(&path).unwrap().ino()));
            }
        }
    }
    out
}

/// The rows of a table read straight from the per-unit files of a run.
fn per_unit_rows(store: &Store, run_id: &str, file: &str, project: &[&str]) -> Vec<String> {
    let record = runs::read(store, run_id).unwrap();
    let mut batches = Vec::new();
    for unit in &record.units {
        let path = store.root().join("objects").join(&unit.stage).join(&unit.key).join("tables").join(file);
        if path.exists() {
            let reader = std::fs::File::open(&path).unwrap();
            let builder = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(reader).unwrap();
            for b in builder.build().unwrap() {
                let b = b.unwrap();
                let columns: Vec<Arc<dyn Array>> =
                    project.iter().map(|c| b.column_by_name(c).unwrap().clone()).collect();
                let fields: Vec<_> = project.iter().map(|c| b.schema().field_with_name(c).unwrap().clone()).collect();
                batches.push(RecordBatch::try_new(Arc::new(arrow::datatypes::Schema::new(fields)), columns).unwrap());
            }
        }
    }
    rows(&batches)
}

#[test]
fn compacted_tables_answer_exactly_what_the_per_unit_files_hold() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let run_id = run(&store, &small());
    let c = catalog(&store, None);
    assert_eq!(c.run_id(), Some(run_id.as_str()));
    let columns = ["arch_index", "dataset", "seed", "sample_index", "attack", "eps", "correct"];
    let from_sql = sql(&c, &format!("SELECT {} FROM evaluation_samples", columns.join(", ")));
    assert_eq!(from_sql.len(), 12 * 3 * 50);
    assert_eq!(from_sql, per_unit_rows(&store, &run_id, "evaluation_samples.v1.parquet", &columns));
    let columns = ["arch_index", "attack", "eps", "n_correct", "accuracy"];
    let from_sql = sql(&c, &format!("SELECT {} FROM evaluations", columns.join(", ")));
    assert_eq!(from_sql, per_unit_rows(&store, &run_id, "evaluations.v1.parquet", &columns));
    // Aggregates agree with the per-sample rows they summarise.
    let a = sql(
        &c,
        "SELECT arch_index, attack, eps, avg(CASE WHEN correct THEN 1.0 ELSE 0.0 END) FROM evaluation_samples GROUP BY 1, 2, 3",
    );
    let b = sql(&c, "SELECT arch_index, attack, eps, CAST(n_correct AS DOUBLE) / n_samples FROM evaluations");
    assert_eq!(a, b);
    // A join and a filter on the sort columns.
    let joined =
        sql(&c, "SELECT count(*) FROM evaluations e JOIN architectures a USING (arch_index) WHERE e.arch_index = 7");
    assert_eq!(joined, ["3"]);
    // The latest run's tables are plain Parquet datasets at a fixed path,
    // each part sorted by the columns filters use.
    let latest = dir.path().join("tables/latest/evaluation_samples");
    let parts: Vec<_> = std::fs::read_dir(&latest).unwrap().map(|e| e.unwrap().path()).collect();
    assert!(!parts.is_empty(), "{}", latest.display());
    for part in parts {
        assert_sorted(&part);
    }
}

/// Checks that a part's rows are in `SORT_COLUMNS` order.
fn assert_sorted(part: &Path) {
    use arrow::row::{RowConverter, SortField};
    let reader = std::fs::File::open(part).unwrap();
    let builder = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(reader).unwrap();
    let batches: Vec<RecordBatch> = builder.build().unwrap().map(|b| b.unwrap()).collect();
    let all = arrow::compute::concat_batches(&batches[0].schema(), &batches).unwrap();
    let columns: Vec<_> =
        robbench_schemas::SORT_COLUMNS.iter().filter_map(|name| all.column_by_name(name).cloned()).collect();
    assert!(columns.len() >= 4, "{}: too few sort columns", part.display());
    let converter = RowConverter::new(columns.iter().map(|c| SortField::new(c.data_type().clone())).collect()).unwrap();
    let rows = converter.convert_columns(&columns).unwrap();
    for i in 1..rows.num_rows() {
        assert!(rows.row(i - 1) <= rows.row(i), "{}: row {i} is out of order", part.display());
    }
}

#[test]
fn a_no_op_rerun_rewrites_nothing_and_a_changed_architecture_rewrites_only_its_parts() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let config = SyntheticConfig { architectures: 60, attacks: 2, samples: 500, changed: vec![] };
    // Small parts, so that the per-sample table is cut into many.
    let compacted = |store: &Store| {
        let c = Catalog::new(store, choose_run(store, RunChoice::Latest).unwrap(), Completeness::Whole)
            .with_part_bytes(16 << 10);
        c.snapshot().unwrap().clone()
    };
    run(&store, &config);
    let first = compacted(&store);
    let before = parts(&store);
    let samples_parts = |s: &robbench_pipeline::compact::Snapshot| {
        s.tables
            .iter()
            .find(|t| t.table == "evaluation_samples")
            .unwrap()
            .parts
            .iter()
            .map(|p| p.name.clone())
            .collect::<BTreeSet<_>>()
    };
    assert!(
        samples_parts(&first).len() >= 6,
        "{} parts: too few to show a partial rewrite",
        samples_parts(&first).len()
    );

    run(&store, &config);
    assert_eq!(compacted(&store).id, first.id, "a no-op rerun has the same snapshot");
    assert_eq!(parts(&store), before, "a no-op rerun rewrote parts");

    run(&store, &SyntheticConfig { changed: vec![17], ..config });
    let changed = compacted(&store);
    let new: Vec<_> = samples_parts(&changed).difference(&samples_parts(&first)).cloned().collect();
    // Only the part holding arch 17's units is new (two when the new keys move
    // a boundary), the other parts are reused as they are.
    assert!((1..=2).contains(&new.len()), "{} of {} parts rewritten", new.len(), samples_parts(&changed).len());
}

#[test]
fn filters_on_sort_columns_open_only_the_parts_that_can_match_and_answer_as_before() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let config = SyntheticConfig { architectures: 40, attacks: 2, samples: 300, changed: vec![] };
    let run_id = run(&store, &config);
    let catalog = || {
        Arc::new(
            Catalog::new(&store, choose_run(&store, RunChoice::Latest).unwrap(), Completeness::Whole)
                .with_part_bytes(16 << 10),
        )
    };
    let c = catalog();
    let snapshot = c.snapshot().unwrap().clone();
    let samples = snapshot.tables.iter().find(|t| t.table == "evaluation_samples").unwrap();
    assert!(samples.parts.len() >= 6, "{} parts: too few to show pruning", samples.parts.len());
    // The files a scan opens, as DataFusion's plan lists them.
    let opened = |c: &Arc<Catalog>, q: &str| -> BTreeSet<String> {
        let plan = rows(&query(c.clone(), &format!("EXPLAIN {q}")).unwrap().1).join("\n");
        let names = plan.split(|ch: char| ch == '/' || ch == ',' || ch == ']' || ch.is_whitespace());
        names.filter(|n| n.starts_with("part-") && n.ends_with(".parquet")).map(str::to_string).collect()
    };
    let one_arch = "SELECT * FROM evaluation_samples WHERE arch_index = 17";
    assert!((1..=2).contains(&opened(&c, one_arch).len()), "{:?}", opened(&c, one_arch));
    assert!(opened(&c, "SELECT * FROM evaluation_samples WHERE arch_index = 4000").is_empty());

    let columns = ["arch_index", "dataset", "seed", "sample_index", "attack", "eps", "correct"];
    let all = per_unit_rows(&store, &run_id, "evaluation_samples.v1.parquet", &columns);
    let filtered = |keep: &dyn Fn(&[&str]) -> bool| -> Vec<String> {
        all.iter().filter(|r| keep(&r.split('|').collect::<Vec<_>>())).cloned().collect()
    };
    let select = format!("SELECT {} FROM evaluation_samples", columns.join(", "));
    let arch = |r: &[&str]| r[0].parse::<u64>().unwrap();
    type Keep<'a> = &'a dyn Fn(&[&str]) -> bool;
    let cases: [(&str, Keep); 4] = [
        ("arch_index = 17", &|r| arch(r) == 17),
        ("arch_index BETWEEN 10 AND 12 AND attack <> 'clean'", &|r| (10..=12).contains(&arch(r)) && r[4] != "clean"),
        ("arch_index > 35 OR sample_index = 3", &|r| arch(r) > 35 || r[3] == "3"),
        ("arch_index = 4000", &|_| false),
    ];
    // The same answers from a snapshot written before parts recorded their
    // ranges (every part scanned).
    let manifest = snapshot.dir.join("_SUCCESS.json");
    let mut old: serde_json::Value = serde_json::from_slice(&std::fs::read(&manifest).unwrap()).unwrap();
    for table in old["tables"].as_array_mut().unwrap() {
        for part in table["parts"].as_array_mut().unwrap() {
            *part = serde_json::json!([part["name"], part["blake3"]]);
        }
    }
    for (filter, keep) in cases {
        assert_eq!(sql(&c, &format!("{select} WHERE {filter}")), filtered(keep), "{filter}");
    }
    std::fs::write(&manifest, old.to_string()).unwrap();
    let unpruned = catalog();
    assert!(opened(&unpruned, one_arch).len() > 2, "an old snapshot scans every part");
    for (filter, keep) in cases {
        assert_eq!(sql(&unpruned, &format!("{select} WHERE {filter}")), filtered(keep), "{filter} (old snapshot)");
    }
    // Parts stored before they recorded ranges gain them when compacted again.
    for table in std::fs::read_dir(dir.path().join("parts")).unwrap() {
        for meta in std::fs::read_dir(table.unwrap().path()).unwrap().map(|e| e.unwrap().path()) {
            if meta.extension().is_some_and(|e| e == "json") {
                let mut old: serde_json::Value = serde_json::from_slice(&std::fs::read(&meta).unwrap()).unwrap();
                old.as_object_mut().unwrap().remove("ranges");
                std::fs::write(&meta, old.to_string()).unwrap();
            }
        }
    }
    std::fs::remove_dir_all(dir.path().join("tables")).unwrap();
    let recompacted = catalog();
    assert!((1..=2).contains(&opened(&recompacted, one_arch).len()));
    assert_eq!(sql(&recompacted, &format!("{select} WHERE arch_index = 17")), filtered(cases[0].1));
}

#[test]
fn a_store_without_compacted_data_is_compacted_on_first_query() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    run(&store, &small());
    let expected = sql(&catalog(&store, None), "SELECT attack, count(*) FROM evaluation_samples GROUP BY attack");
    // As a store written by the previous version: no compacted tables, no index, a JSON run record.
    std::fs::remove_dir_all(dir.path().join("tables")).unwrap();
    std::fs::remove_dir_all(dir.path().join("parts")).unwrap();
    std::fs::remove_dir_all(dir.path().join("runs/index")).unwrap();
    let id = runs::ids(&store).unwrap().pop().unwrap();
    let mut record = serde_json::to_value(runs::read(&store, &id).unwrap()).unwrap();
    record.as_object_mut().unwrap().remove("primary");
    std::fs::write(dir.path().join(format!("runs/{id}.json")), record.to_string()).unwrap();
    for ext in ["jsonl", "units.parquet", "lock"] {
        std::fs::remove_file(dir.path().join(format!("runs/{id}.{ext}"))).ok();
    }
    let c = catalog(&store, None);
    assert_eq!(c.run_id(), Some(id.as_str()));
    assert_eq!(sql(&c, "SELECT attack, count(*) FROM evaluation_samples GROUP BY attack"), expected);
    assert_eq!(sql(&c, "SELECT count(*) FROM runs"), [format!("{}", 1 + 12 + 12 * 3)]);
}

#[test]
fn history_and_runs_span_every_run_and_old_schema_versions_stay_readable() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let first = run(&store, &small());
    let second = run(&store, &SyntheticConfig { architectures: 13, ..small() });
    let c = catalog(&store, None);
    assert_eq!(c.run_id(), Some(second.as_str()));
    let per_run = sql(&c, "SELECT run_id, count(*) FROM evaluations_history GROUP BY run_id");
    assert_eq!(per_run, [format!("{first}|36"), format!("{second}|39")]);
    assert_eq!(sql(&c, "SELECT count(DISTINCT run_id), count(*) FROM runs"), [format!("2|{}", 49 + 53)]);
    // An older run by id.
    assert_eq!(sql(&catalog(&store, Some(&first)), "SELECT count(*) FROM evaluations"), ["36"]);

    // A unit file written under an older schema version is served as `<table>_v<k>`.
    let unit = runs::read(&store, &second).unwrap().units.into_iter().find(|u| u.stage == "evaluate").unwrap();
    let tables = dir.path().join("objects/evaluate").join(&unit.key).join("tables");
    std::fs::copy(tables.join("evaluations.v1.parquet"), tables.join("evaluations.v0.parquet")).unwrap();
    rehash_manifest(&tables.parent().unwrap().join("manifest.json"), "tables/evaluations.v0.parquet", &tables);
    store.forget_snapshots().unwrap();
    let c = catalog(&store, None);
    assert_eq!(sql(&c, "SELECT count(*) FROM evaluations_v0"), ["1"]);
    assert_eq!(sql(&c, "SELECT count(*) FROM evaluations"), ["39"]);
}

/// Adds a file to a unit's manifest, as a unit of that version would have listed it.
fn rehash_manifest(manifest: &Path, relative: &str, tables: &Path) {
    let mut m: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(manifest).unwrap()).unwrap();
    let bytes = std::fs::read(tables.parent().unwrap().join(relative)).unwrap();
    let entry = serde_json::json!({"path": relative, "blake3": blake3::hash(&bytes).to_hex().to_string(), "bytes": bytes.len()});
    m["files"].as_array_mut().unwrap().push(entry);
    std::fs::write(manifest, m.to_string()).unwrap();
}

#[test]
fn a_missing_unit_fails_the_query_unless_a_partial_answer_is_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let id = run(&store, &small());
    let unit = runs::read(&store, &id).unwrap().units.into_iter().find(|u| u.label == "arch 3 attack 1").unwrap();
    std::fs::remove_dir_all(dir.path().join("objects/evaluate").join(&unit.key)).unwrap();
    store.forget_snapshots().unwrap();
    let c = catalog(&store, None);
    let err = format!("{:#}", query(c, "SELECT count(*) FROM evaluations").unwrap_err());
    assert!(err.contains("arch 3 attack 1") && err.contains("--allow-partial"), "{err}");
    let partial = Arc::new(Catalog::new(&store, Some(id), Completeness::AllowPartial));
    assert_eq!(sql(&partial, "SELECT count(*) FROM evaluations"), ["35"]);
    let notices = partial.take_notices().join("\n");
    assert!(notices.contains("arch 3 attack 1"), "{notices}");
}

#[test]
fn flipped_bytes_in_a_unit_file_are_refused_not_served() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let id = run(&store, &small());
    let unit = runs::read(&store, &id).unwrap().units.into_iter().find(|u| u.stage == "evaluate").unwrap();
    let file = dir.path().join("objects/evaluate").join(&unit.key).join("tables/evaluations.v1.parquet");
    let mut bytes = std::fs::read(&file).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x40;
    std::fs::write(&file, bytes).unwrap();
    let err = format!("{:#}", query(catalog(&store, None), "SELECT * FROM evaluations").unwrap_err());
    assert!(err.contains("has changed since its unit was written") && err.contains("robbench verify"), "{err}");
}

#[test]
fn flipped_bytes_in_a_compacted_part_are_never_served_but_rebuilt_from_the_units() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    run(&store, &small());
    let c = catalog(&store, None);
    let (_, before) = query(c.clone(), "SELECT count(*), sum(accuracy) FROM evaluations").unwrap();
    let snapshot = c.snapshot().unwrap().clone();
    let table = snapshot.tables.iter().find(|t| t.table == "evaluations").unwrap();
    let part = snapshot.dir.join("evaluations").join(&table.parts[0].name);
    let mut bytes = std::fs::read(&part).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x40;
    std::fs::set_permissions(&part, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    std::fs::write(&part, bytes).unwrap();
    let c = catalog(&store, None);
    let (_, after) = query(c.clone(), "SELECT count(*), sum(accuracy) FROM evaluations").unwrap();
    assert_eq!(before, after);
    let notices = c.take_notices().join("\n");
    assert!(notices.contains("has changed since it was written") && notices.contains("quarantined"), "{notices}");
    assert!(dir.path().join("quarantine/parts").read_dir().unwrap().count() == 1);
}

#[test]
fn query_results_carry_no_table_tag_and_copy_to_parquet_works() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    run(&store, &small());
    let c = catalog(&store, None);
    let (schema, _) = query(c.clone(), "SELECT attack, avg(accuracy) FROM evaluations GROUP BY attack").unwrap();
    assert!(schema.metadata().is_empty(), "{:?}", schema.metadata());
    let out = dir.path().join("copied.parquet");
    query(c.clone(), &format!("COPY (SELECT * FROM evaluations) TO '{}'", out.display())).unwrap();
    let reader =
        parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&out).unwrap());
    assert_eq!(reader.unwrap().metadata().file_metadata().num_rows(), 36);
}
