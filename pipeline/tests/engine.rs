//! The engine's promises, on a toy pipeline of cheap units:
//! gen(i) → square(i) → total (an aggregate over all squares).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::{Result, bail};
use arrow::array::{Int64Array, StringArray};
use robbench_pipeline::store::GcPolicy;
use robbench_pipeline::*;
use robbench_schemas::{Column, TableDef};
use serde_json::json;

static VALUES: TableDef = TableDef {
    name: "values",
    version: 1,
    doc: "toy",
    columns: &[
        Column { name: "name", data_type: || arrow::datatypes::DataType::Utf8, nullable: false, doc: "" },
        Column { name: "value", data_type: || arrow::datatypes::DataType::Int64, nullable: false, doc: "" },
    ],
};

/// Counts executions per stage, shared by the stages of one test.
#[derive(Clone, Default)]
struct Counter(Arc<Mutex<HashMap<&'static str, usize>>>);

impl Counter {
    fn bump(&self, stage: &'static str) {
        *self.0.lock().unwrap().entry(stage).or_default() += 1;
    }
    fn get(&self, stage: &str) -> usize {
        self.0.lock().unwrap().get(stage).copied().unwrap_or(0)
    }
}

struct Schema;
impl ConfigSchema for Schema {
    fn normalize(&self, raw: &Config) -> Result<Config, ConfigError> {
        #[derive(serde::Deserialize, serde::Serialize)]
        #[serde(deny_unknown_fields)]
        struct Toy {
            r#gen: Gen,
            square: Square,
        }
        #[derive(serde::Deserialize, serde::Serialize)]
        #[serde(deny_unknown_fields)]
        struct Gen {
            count: u32,
            scale: i64,
            #[serde(default)]
            fail: Vec<u32>,
            #[serde(default)]
            crash_once_at_step: Option<u32>,
        }
        #[derive(serde::Deserialize, serde::Serialize)]
        #[serde(deny_unknown_fields)]
        struct Square {
            offset: i64,
        }
        let toy: Toy = raw.typed("")?;
        if toy.r#gen.count > 100_000 {
            return Err(invalid("gen.count", "must be at most 100000"));
        }
        Config::from_serialize(&toy)
    }
}

fn read_value(path: &std::path::Path) -> Result<i64> {
    Ok(std::fs::read_to_string(path)?.trim().parse()?)
}

struct Gen(Counter, Arc<AtomicUsize>);
impl Stage for Gen {
    fn name(&self) -> &'static str {
        "gen"
    }
    fn version(&self) -> u32 {
        1
    }
    fn upstream(&self) -> &'static [&'static str] {
        &[]
    }
    fn tables(&self) -> Vec<&'static TableDef> {
        vec![]
    }
    fn plan(&self, config: &Config, _: &Upstream<'_>) -> Result<Vec<UnitSpec>> {
        let count: u32 = config.typed("gen.count")?;
        let fail: Vec<u32> = config.typed("gen.fail")?;
        Ok((0..count)
            .map(|i| UnitSpec {
                label: format!("gen {i}"),
                params: json!({ "i": i, "fail": fail.contains(&i) }),
                config_keys: vec!["gen.scale", "gen.crash_once_at_step"],
                inputs: vec![],
                shard_group: Some(format!("item {i}")),
            })
            .collect())
    }
}

impl Runnable for Gen {
    fn run(&self, unit: &mut UnitContext<'_>) -> Result<()> {
        self.0.bump("gen");
        if unit.params()["fail"].as_bool().unwrap() {
            bail!("asked to fail");
        }
        let i = unit.params()["i"].as_i64().unwrap();
        let scale: i64 = unit.config().typed("gen.scale")?;
        // A resumable 3-step computation; steps survive an interrupted attempt.
        let crash_at: Option<u32> =
            unit.config().get("gen.crash_once_at_step").map(|_| unit.config().typed("gen.crash_once_at_step").unwrap());
        let scratch = unit.scratch_dir()?.join("step");
        let mut step: u32 = std::fs::read_to_string(&scratch).map(|s| s.parse().unwrap()).unwrap_or(0);
        std::fs::write(unit.output_file("partial")?, "half-written")?;
        while step < 3 {
            step += 1;
            self.1.fetch_add(1, Ordering::SeqCst);
            std::fs::write(&scratch, step.to_string())?;
            if Some(step) == crash_at && i == 0 && self.0.get("crash") == 0 {
                self.0.bump("crash");
                panic!("simulated crash at step {step}");
            }
        }
        std::fs::write(unit.output_file("value")?, (i * scale).to_string())?;
        Ok(())
    }
}

struct Square(Counter);
impl Stage for Square {
    fn name(&self) -> &'static str {
        "square"
    }
    fn version(&self) -> u32 {
        1
    }
    fn upstream(&self) -> &'static [&'static str] {
        &["gen"]
    }
    fn tables(&self) -> Vec<&'static TableDef> {
        vec![&VALUES]
    }
    fn plan(&self, _: &Config, up: &Upstream<'_>) -> Result<Vec<UnitSpec>> {
        Ok(up
            .units("gen")
            .iter()
            .map(|g| UnitSpec {
                label: format!("square {}", g.params["i"]),
                params: json!({ "i": g.params["i"] }),
                config_keys: vec!["square.offset"],
                inputs: vec![g.unit],
                shard_group: Some(format!("item {}", g.params["i"])),
            })
            .collect())
    }
}

impl Runnable for Square {
    fn run(&self, unit: &mut UnitContext<'_>) -> Result<()> {
        self.0.bump("square");
        let v = read_value(&unit.input("gen")?.file("value"))?;
        let offset: i64 = unit.config().typed("square.offset")?;
        let name = format!("sq{}", unit.params()["i"]);
        let batch = VALUES
            .batch(vec![Arc::new(StringArray::from(vec![name])), Arc::new(Int64Array::from(vec![v * v + offset]))])?;
        unit.write_table(&VALUES, &[batch])
    }
}

struct Total(Counter);
impl Stage for Total {
    fn name(&self) -> &'static str {
        "total"
    }
    fn version(&self) -> u32 {
        1
    }
    fn upstream(&self) -> &'static [&'static str] {
        &["square"]
    }
    fn tables(&self) -> Vec<&'static TableDef> {
        vec![&VALUES]
    }
    fn plan(&self, _: &Config, up: &Upstream<'_>) -> Result<Vec<UnitSpec>> {
        Ok(vec![UnitSpec {
            label: "total".into(),
            params: json!({}),
            config_keys: vec![],
            inputs: up.units("square").iter().map(|u| u.unit).collect(),
            shard_group: None,
        }])
    }
}

impl Runnable for Total {
    fn run(&self, unit: &mut UnitContext<'_>) -> Result<()> {
        self.0.bump("total");
        let mut sum = 0;
        for input in unit.inputs() {
            for batch in input.read_table(&VALUES)? {
                let col = batch.column(1).as_any().downcast_ref::<Int64Array>().unwrap();
                sum += col.iter().flatten().sum::<i64>();
            }
        }
        let batch =
            VALUES.batch(vec![Arc::new(StringArray::from(vec!["total"])), Arc::new(Int64Array::from(vec![sum]))])?;
        unit.write_table(&VALUES, &[batch])
    }
}

struct Harness {
    dir: tempfile::TempDir,
    counter: Counter,
    steps: Arc<AtomicUsize>,
    pipeline: Pipeline,
}

impl Harness {
    fn new() -> Harness {
        let counter = Counter::default();
        let steps = Arc::new(AtomicUsize::new(0));
        let pipeline = Pipeline::new(
            Box::new(Schema),
            vec![
                Box::new(Gen(counter.clone(), steps.clone())),
                Box::new(Square(counter.clone())),
                Box::new(Total(counter.clone())),
            ],
        )
        .unwrap();
        Harness { dir: tempfile::tempdir().unwrap(), counter, steps, pipeline }
    }

    fn store(&self) -> Store {
        Store::open(self.dir.path()).unwrap()
    }

    fn config(&self, sets: &[&str]) -> Config {
        let mut c = Config::from_toml_str("[gen]\ncount = 4\nscale = 2\n[square]\noffset = 1\n", "toy").unwrap();
        for s in sets {
            c.set(s).unwrap();
        }
        c
    }

    /// Runs and returns executed counts per stage (from the run report).
    /// (executed, reused, failed or skipped) per stage.
    fn run(&self, sets: &[&str], shard: Option<(u64, u64)>) -> (RunReport, HashMap<String, (usize, usize, usize)>) {
        let plan = self.pipeline.plan(&self.config(sets)).unwrap();
        let report = execute(
            &self.pipeline,
            &plan,
            &self.store(),
            &RunOptions { jobs: 2, shard, device: None, kind: RunKind::Experiment },
        )
        .unwrap();
        let summary = report.summary().into_iter().map(|(s, [e, r, f, k])| (s, (e, r, f + k))).collect();
        (report, summary)
    }
}

fn executed(summary: &HashMap<String, (usize, usize, usize)>, stage: &str) -> usize {
    summary.get(stage).map_or(0, |s| s.0)
}

#[test]
fn unchanged_rerun_executes_nothing() {
    let h = Harness::new();
    let (_, first) = h.run(&[], None);
    assert_eq!((executed(&first, "gen"), executed(&first, "square"), executed(&first, "total")), (4, 4, 1));
    let (_, second) = h.run(&[], None);
    assert_eq!(second["gen"], (0, 4, 0));
    assert_eq!(second["square"], (0, 4, 0));
    assert_eq!(second["total"], (0, 1, 0));
    // Writing a default explicitly is the same config.
    let (_, third) = h.run(&["gen.fail=[]"], None);
    assert_eq!(third["gen"].0 + third["square"].0 + third["total"].0, 0);
}

#[test]
fn downstream_change_reruns_only_that_stage_and_dependants() {
    let h = Harness::new();
    h.run(&[], None);
    let (_, s) = h.run(&["square.offset=5"], None);
    assert_eq!(s["gen"], (0, 4, 0));
    assert_eq!(s["square"], (4, 0, 0));
    assert_eq!(s["total"], (1, 0, 0));
    let (_, s) = h.run(&["gen.scale=3"], None);
    assert_eq!((s["gen"].0, s["square"].0, s["total"].0), (4, 4, 1));
}

#[test]
fn adding_an_item_runs_only_its_units() {
    let h = Harness::new();
    h.run(&[], None);
    let (_, s) = h.run(&["gen.count=5"], None);
    assert_eq!(s["gen"], (1, 4, 0));
    assert_eq!(s["square"], (1, 4, 0));
    assert_eq!(s["total"], (1, 0, 0));
}

#[test]
fn a_corrupt_input_is_refused_before_a_unit_consumes_it() {
    let h = Harness::new();
    h.run(&[], None);
    // Flip a byte of one stored gen unit's output.
    let gen_dir = h.dir.path().join("objects/gen");
    let unit = std::fs::read_dir(&gen_dir).unwrap().next().unwrap().unwrap().path();
    let file = unit.join("files/value");
    let mut bytes = std::fs::read(&file).unwrap();
    bytes[0] ^= 0x01;
    std::fs::write(&file, bytes).unwrap();
    // A new square setting makes every square unit consume its gen unit again.
    let (report, s) = h.run(&["square.offset=5"], None);
    assert_eq!(s["square"].2, 1, "exactly the unit whose input is corrupt fails");
    let failed = report.failed();
    assert!(failed[0].error.as_deref().unwrap().contains("corrupt"), "{:?}", failed[0].error);
}

#[test]
fn a_failure_stops_only_its_dependants_and_is_reported() {
    let h = Harness::new();
    let (report, s) = h.run(&["gen.fail=[1]"], None);
    assert_eq!(s["gen"], (3, 0, 1));
    assert_eq!(s["square"], (3, 0, 1));
    assert_eq!(s["total"], (0, 0, 1));
    let failed = report.failed();
    assert_eq!(failed.len(), 1, "only the unit that failed is `failed`");
    assert!(failed.iter().any(|u| u.label == "gen 1" && u.error.as_deref().unwrap().contains("asked to fail")));
    // Its dependants are skipped, naming the failed input.
    let skipped = report.skipped();
    assert!(
        skipped.iter().any(|u| u.label == "square 1" && u.error.as_deref().unwrap().contains("gen `gen 1` failed"))
    );
    assert!(skipped.iter().any(|u| u.label == "total" && u.error.as_deref().unwrap().contains("`square 1` skipped")));
    // The failure was not stored: nothing for gen 1 exists in the store.
    let store = h.store();
    let plan = h.pipeline.plan(&h.config(&["gen.fail=[1]"])).unwrap();
    let gen1 = plan.units.iter().find(|u| u.spec.label == "gen 1").unwrap();
    assert!(!store.is_complete("gen", &gen1.key));
}

#[test]
fn an_interrupted_unit_leaves_no_object_and_resumes_from_scratch_state() {
    let h = Harness::new();
    let (_, s) = h.run(&["gen.crash_once_at_step=2"], None);
    assert_eq!(s["gen"], (3, 0, 1), "the crashing unit fails, the others complete");
    // No partial object: only the three finished gen units are stored.
    assert_eq!(h.store().objects().unwrap().iter().filter(|(stage, _)| stage == "gen").count(), 3);
    assert!(std::fs::read_dir(h.dir.path().join("tmp")).unwrap().next().is_none(), "tmp cleaned");
    let steps_before = h.steps.load(Ordering::SeqCst);
    let (_, s) = h.run(&["gen.crash_once_at_step=2"], None);
    assert_eq!(s["gen"], (1, 3, 0));
    // It resumed after step 2: only step 3 ran again.
    assert_eq!(h.steps.load(Ordering::SeqCst) - steps_before, 1);
    assert!(std::fs::read_dir(h.dir.path().join("scratch")).unwrap().next().is_none(), "scratch removed on completion");
}

#[test]
fn verify_finds_corruption_and_the_next_run_recomputes_it() {
    let h = Harness::new();
    h.run(&[], None);
    let store = h.store();
    let (stage, key) = store.objects().unwrap().into_iter().find(|(s, _)| s == "square").unwrap();
    let file = h.dir.path().join("objects").join(&stage).join(&key).join("tables/values.v1.parquet");
    let mut bytes = std::fs::read(&file).unwrap();
    bytes[10] ^= 0xff;
    std::fs::write(&file, bytes).unwrap();
    let problems = store.verify(|_, _| {}).unwrap();
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].key, key);
    assert!(problems[0].problem.contains("values.v1.parquet"), "{}", problems[0].problem);
    assert!(store.verify(|_, _| {}).unwrap().is_empty(), "quarantined, so the store is clean");
    let (_, s) = h.run(&[], None);
    assert_eq!(s["square"], (1, 3, 0));
    assert_eq!(s["gen"].0, 0);
}

#[test]
fn shards_split_the_work_and_an_unsharded_run_completes_it() {
    let h = Harness::new();
    let (_, a) = h.run(&["gen.count=12"], Some((0, 2)));
    let (_, b) = h.run(&["gen.count=12"], Some((1, 2)));
    assert_eq!(executed(&a, "gen") + executed(&b, "gen"), 12);
    assert!(executed(&a, "gen") > 0 && executed(&b, "gen") > 0, "both shards got work");
    assert_eq!(executed(&a, "total") + executed(&b, "total"), 0, "aggregates wait for an unsharded run");
    assert_eq!(h.counter.get("gen"), 12, "no unit ran twice");
    let (_, all) = h.run(&["gen.count=12"], None);
    assert_eq!(all["gen"], (0, 12, 0));
    assert_eq!(all["total"], (1, 0, 0));
}

#[test]
fn concurrent_runs_on_one_store_do_each_unit_once() {
    let h = Harness::new();
    std::thread::scope(|s| {
        for _ in 0..3 {
            s.spawn(|| h.run(&["gen.count=8"], None));
        }
    });
    assert_eq!(h.counter.get("gen"), 8);
    assert_eq!(h.counter.get("square"), 8);
    assert_eq!(h.counter.get("total"), 1);
}

#[test]
fn bad_config_is_refused_with_the_key_named() {
    let h = Harness::new();
    let err = |sets: &[&str]| h.pipeline.plan(&h.config(sets)).err().map(|e| format!("{e:#}")).unwrap();
    assert!(err(&["gen.scale=\"big\""]).contains("gen.scale"));
    assert!(err(&["gen.colour=1"]).contains("colour"));
    assert!(err(&["gen.count=1000000"]).contains("gen.count"));
}

fn gc_now(store: &Store, dry_run: bool) -> Vec<String> {
    let referenced = robbench_pipeline::runs::referenced_keys(store).unwrap();
    let alive = robbench_pipeline::runs::running(store).unwrap();
    let policy = GcPolicy { keep_recent: std::time::Duration::ZERO, dry_run };
    let report = store.gc(&referenced, &alive, &policy).unwrap();
    report.removed.into_iter().map(|(what, _)| what).filter(|w| w.starts_with("objects/")).collect()
}

#[test]
fn gc_removes_only_units_no_run_references() {
    let h = Harness::new();
    h.run(&[], None);
    // Forget the first run, then record a smaller one.
    for entry in std::fs::read_dir(h.dir.path().join("runs")).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            std::fs::remove_file(path).unwrap();
        }
    }
    std::fs::remove_dir_all(h.dir.path().join("runs/index")).unwrap();
    h.run(&["gen.count=2"], None);
    let store = h.store();
    let would = gc_now(&store, true);
    assert_eq!(store.objects().unwrap().len(), 4 + 4 + 2, "a dry run removes nothing");
    let removed = gc_now(&store, false);
    assert_eq!(would, removed);
    // gen 2, gen 3, square 2, square 3 and the old total.
    assert_eq!(removed.len(), 5);
    let (_, s) = h.run(&["gen.count=2"], None);
    assert_eq!(s["gen"].0 + s["square"].0 + s["total"].0, 0, "everything referenced survived");
}

#[test]
fn gc_keeps_what_a_killed_run_finished_and_everything_while_a_run_is_alive() {
    let h = Harness::new();
    let store = h.store();
    let (report, _) = h.run(&["gen.count=2"], None);
    // Forget that run: now only a run that is alive (its log is open) is on record.
    std::fs::remove_dir_all(h.dir.path().join("runs")).unwrap();
    std::fs::create_dir_all(h.dir.path().join("runs")).unwrap();
    let header = robbench_pipeline::runs::RunHeader {
        run_id: "20260101T000000Z-000-1-0".into(),
        config_hash: report.record.config_hash.clone(),
        config: String::new(),
        started_at: String::new(),
        shard: None,
        device: None,
        kind: RunKind::Experiment,
    };
    let log = robbench_pipeline::runs::RunLog::create(&store, header).unwrap();
    assert!(gc_now(&store, false).is_empty(), "gc removed units while a run was alive");
    // The run finishes its gen units, then is killed: no `finished` line.
    for unit in report.record.units.iter().filter(|u| u.stage == "gen") {
        log.append(unit).unwrap();
    }
    drop(log);
    let removed = gc_now(&store, false);
    assert_eq!(removed.len(), 2 + 1, "only square 0, square 1 and total are unreferenced: {removed:?}");
    let (_, s) = h.run(&["gen.count=2"], None);
    assert_eq!((s["gen"].0, s["square"].0), (0, 2), "the killed run's finished units were reused");
}

#[test]
fn gc_keeps_recent_work_within_the_retention_window() {
    let h = Harness::new();
    h.run(&[], None);
    std::fs::remove_dir_all(h.dir.path().join("runs")).unwrap();
    std::fs::create_dir_all(h.dir.path().join("runs")).unwrap();
    let store = h.store();
    let policy = GcPolicy { keep_recent: std::time::Duration::from_secs(3600), dry_run: false };
    let report = store.gc(&Default::default(), &[], &policy).unwrap();
    assert!(report.removed.iter().all(|(w, _)| !w.starts_with("objects/")), "{:?}", report.removed);
    assert_eq!(report.kept.len(), 4 + 4 + 1);
    assert!(report.kept[0].1.contains("retention"));
}

/// Two stages of two units each, `then i` consuming `first i`; `first 0`
/// waits (up to 20 s) until `then 1` has run.
mod no_stage_barrier {
    use std::sync::{Arc, Condvar, Mutex};
    use std::time::Duration;

    use super::*;

    #[derive(Clone, Default)]
    struct Signal(Arc<(Mutex<bool>, Condvar)>);

    struct AnyConfig;
    impl ConfigSchema for AnyConfig {
        fn normalize(&self, raw: &Config) -> Result<Config, ConfigError> {
            Ok(raw.clone())
        }
    }

    struct Step {
        name: &'static str,
        upstream: &'static [&'static str],
        then_ran: Signal,
    }

    impl Stage for Step {
        fn name(&self) -> &'static str {
            self.name
        }
        fn version(&self) -> u32 {
            1
        }
        fn upstream(&self) -> &'static [&'static str] {
            self.upstream
        }
        fn tables(&self) -> Vec<&'static TableDef> {
            Vec::new()
        }
        fn plan(&self, _: &Config, up: &Upstream<'_>) -> Result<Vec<UnitSpec>> {
            Ok((0..2)
                .map(|i| UnitSpec {
                    label: format!("{} {i}", self.name),
                    params: json!({ "i": i }),
                    config_keys: Vec::new(),
                    inputs: self.upstream.iter().map(|s| up.units(s)[i].unit).collect(),
                    shard_group: None,
                })
                .collect())
        }
    }

    impl Runnable for Step {
        fn run(&self, unit: &mut UnitContext<'_>) -> Result<()> {
            let i = unit.params()["i"].as_u64().unwrap();
            let (ran, changed) = &*self.then_ran.0;
            match (self.name, i) {
                ("first", 0) => {
                    let ran = ran.lock().unwrap();
                    let (ran, _) = changed.wait_timeout_while(ran, Duration::from_secs(20), |ran| !*ran).unwrap();
                    anyhow::ensure!(*ran, "`then 1` did not run while `first 0` was running");
                }
                ("then", 1) => {
                    *ran.lock().unwrap() = true;
                    changed.notify_all();
                }
                _ => {}
            }
            std::fs::write(unit.output_file("done")?, "")?;
            Ok(())
        }
    }

    #[test]
    fn a_unit_starts_when_its_inputs_are_done_not_when_its_stage_is_reached() {
        let then_ran = Signal::default();
        let pipeline = Pipeline::new(
            Box::new(AnyConfig),
            vec![
                Box::new(Step { name: "first", upstream: &[], then_ran: then_ran.clone() }),
                Box::new(Step { name: "then", upstream: &["first"], then_ran }),
            ],
        )
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let plan = pipeline.plan(&Config::from_toml_str("", "empty").unwrap()).unwrap();
        let options = RunOptions { jobs: 2, shard: None, device: None, kind: RunKind::Experiment };
        let report = execute(&pipeline, &plan, &Store::open(dir.path()).unwrap(), &options).unwrap();
        let failed: Vec<_> = report.record.units.iter().filter(|u| !u.status.succeeded()).collect();
        assert!(failed.is_empty(), "{:?}", failed.iter().map(|u| (&u.label, &u.error)).collect::<Vec<_>>());
    }
}
