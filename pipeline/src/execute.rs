//! Execution: runs the pending units of a plan, reusing complete ones.
//!
//! `jobs` worker threads take units as soon as their inputs are done, the
//! earliest in plan order first: a stage's first units start while the
//! previous stage's last ones still run, so no CPU waits at a stage's end.
//! A failing unit (error or panic) is recorded and only its dependants are
//! skipped; the run carries on with everything independent of it. Every
//! outcome is appended to the run's log as it happens, so a killed run keeps
//! its finished units on record.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::io::{IsTerminal, Write};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Condvar, Mutex};
use std::time::Instant;

use anyhow::Result;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::host::{hostname, note_slurm_job};
use crate::key::UnitKey;
use crate::plan::{Pipeline, Plan};
use crate::runs::{self, RunHeader, RunKind, RunLog, RunRecord, RunUnit, UnitStatus};
use crate::stage::{InputUnit, Progress, UnitContext};
use crate::store::{Manifest, Store, UnitState, unix_seconds};

pub struct RunOptions {
    pub jobs: usize,
    /// `(index, count)` for `--shard index/count`.
    pub shard: Option<(u64, u64)>,
    /// Recorded in the run record and manifests (e.g. `cuda:0`).
    pub device: Option<String>,
    /// Where the run's tables are seen: an experiment may become the store's
    /// default for SQL, a shared run's units are visible from every run.
    pub kind: RunKind,
}

/// What a run did, per unit, in plan order.
pub struct RunReport {
    pub record: RunRecord,
}

impl RunReport {
    pub fn failed(&self) -> Vec<&RunUnit> {
        self.record.units.iter().filter(|u| u.status == UnitStatus::Failed).collect()
    }

    /// Units that did not run because an input failed.
    pub fn skipped(&self) -> Vec<&RunUnit> {
        self.record.units.iter().filter(|u| u.status == UnitStatus::Skipped).collect()
    }

    /// Per stage: (name, [executed, reused, failed, skipped]).
    pub fn summary(&self) -> Vec<(String, [usize; 4])> {
        let mut out: Vec<(String, [usize; 4])> = Vec::new();
        for u in &self.record.units {
            if out.last().is_none_or(|s| s.0 != u.stage) {
                out.push((u.stage.clone(), [0; 4]));
            }
            let counts = &mut out.last_mut().expect("pushed above").1;
            counts[match u.status {
                UnitStatus::Executed => 0,
                UnitStatus::Reused => 1,
                UnitStatus::Failed => 2,
                UnitStatus::Skipped => 3,
            }] += 1;
        }
        out
    }
}

struct BarProgress {
    bar: ProgressBar,
    label: String,
}

impl Progress for BarProgress {
    fn set(&self, fraction: f64, message: &str) {
        self.bar.set_message(format!("{} {:>3.0}% {message}", self.label, 100.0 * fraction.clamp(0.0, 1.0)));
    }
}

/// Runs `plan` (its `options.shard`) against `store` and writes the run record.
pub fn execute(pipeline: &Pipeline, plan: &Plan, store: &Store, options: &RunOptions) -> Result<RunReport> {
    execute_selected(pipeline, plan, store, options, plan.select(options.shard))
}

/// Runs the `selected` units of `plan` (e.g. from [`Plan::select_groups`]).
pub fn execute_selected(
    pipeline: &Pipeline,
    plan: &Plan,
    store: &Store,
    options: &RunOptions,
    selected: Vec<bool>,
) -> Result<RunReport> {
    let log = RunLog::create(
        store,
        RunHeader {
            run_id: runs::new_run_id(),
            config_hash: plan.config_hash.clone(),
            config: plan.config.to_toml_string(),
            started_at: runs::utc_compact(unix_seconds()),
            shard: options.shard.map(|(i, n)| format!("{i}/{n}")),
            device: options.device.clone(),
            kind: options.kind,
        },
    )?;
    let interactive = std::io::stderr().is_terminal();
    let env = RunEnv { store, options, log: &log, verified: Mutex::new(HashSet::new()), interactive };
    let multi = MultiProgress::with_draw_target(if interactive {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    });
    // One progress bar per stage, in stage order.
    let mut bars: HashMap<usize, ProgressBar> = HashMap::new();
    for (unit, _) in plan.units.iter().zip(&selected).filter(|(_, s)| **s) {
        let bar = bars.entry(unit.stage).or_insert_with(|| {
            let bar = multi.add(ProgressBar::new(0));
            bar.set_style(
                ProgressStyle::with_template("{prefix:>10} [{bar:30}] {pos}/{len} ETA {eta} {wide_msg}")
                    .expect("valid template")
                    .progress_chars("=> "),
            );
            bar.set_prefix(pipeline.stages()[unit.stage].name());
            bar
        });
        bar.inc_length(1);
    }
    let schedule = Mutex::new(Schedule::new(plan, &selected));
    let unrecorded: Mutex<Option<anyhow::Error>> = Mutex::new(None);
    let wake = Condvar::new();
    let workers = options.jobs.max(1).min(selected.iter().filter(|s| **s).count());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                while let Some((i, blocked)) = Schedule::next(&schedule, &wake, plan) {
                    let unit = &plan.units[i];
                    let stage = &pipeline.stages()[unit.stage];
                    let bar = &bars[&unit.stage];
                    let outcome = run_one(stage.as_ref(), plan, i, &env, blocked, bar);
                    if let Err(e) = log.append(&outcome) {
                        // The log is what keeps finished work safe from `gc`: a
                        // unit it cannot record ends the run, which fails.
                        let mut first = unrecorded.lock().expect("no panics while locked");
                        first.get_or_insert_with(|| {
                            e.context(format!("cannot record [{}] {} in the run's log", outcome.stage, outcome.label))
                        });
                        schedule.lock().expect("no panics while locked").stop();
                        wake.notify_all();
                    }
                    if !interactive && outcome.status != UnitStatus::Reused {
                        let error = outcome.error.as_deref().map(|e| format!(": {e}")).unwrap_or_default();
                        // A closed stderr (`2>&1 | head`) must not stop the run.
                        let _ = writeln!(
                            std::io::stderr(),
                            "[{}] {} {} ({:.1}s){error}",
                            stage.name(),
                            outcome.status.as_str(),
                            outcome.label,
                            outcome.seconds
                        );
                    }
                    bar.inc(1);
                    if bar.position() == bar.length().unwrap_or(0) {
                        bar.finish_with_message("done");
                    }
                    schedule.lock().expect("no panics while locked").finish(i, outcome);
                    wake.notify_all();
                }
            });
        }
    });
    if let Some(error) = unrecorded.into_inner().expect("threads joined") {
        // Left unfinished on purpose: the run is on record as interrupted.
        return Err(error.context(format!(
            "run {} stopped: a unit missing from its log is not protected from `robbench gc`",
            log.run_id()
        )));
    }
    let outcomes = schedule.into_inner().expect("threads joined").outcomes;
    drop(env);
    let record = log.finish(runs::utc_compact(unix_seconds()), outcomes.into_iter().flatten().collect())?;
    Ok(RunReport { record })
}

/// Which selected units may start: those whose inputs are all done.
struct Schedule {
    /// Ready units, earliest in plan order first.
    ready: BinaryHeap<Reverse<usize>>,
    /// Per unit: inputs not yet done.
    waiting: Vec<usize>,
    /// Per unit: the selected units that consume it.
    consumers: Vec<Vec<usize>>,
    /// Selected units not yet taken by a worker.
    untaken: usize,
    /// No unit is taken any more (the run cannot go on).
    stopped: bool,
    outcomes: Vec<Option<RunUnit>>,
}

impl Schedule {
    fn new(plan: &Plan, selected: &[bool]) -> Schedule {
        let n = plan.units.len();
        let mut waiting = vec![0; n];
        let mut consumers = vec![Vec::new(); n];
        for i in (0..n).filter(|&i| selected[i]) {
            // A selected unit's inputs are selected too (`Plan::select`); one
            // that is not is never run, and the unit is skipped for it.
            for &j in plan.units[i].inputs.iter().filter(|&&j| selected[j]) {
                consumers[j].push(i);
                waiting[i] += 1;
            }
        }
        let ready = (0..n).filter(|&i| selected[i] && waiting[i] == 0).map(Reverse).collect();
        let untaken = selected.iter().filter(|s| **s).count();
        Schedule { ready, waiting, consumers, untaken, stopped: false, outcomes: vec![None; n] }
    }

    /// Waits for a ready unit and takes it, with the first of its inputs
    /// that did not succeed (if any); `None` once every unit is taken.
    fn next(schedule: &Mutex<Schedule>, wake: &Condvar, plan: &Plan) -> Option<(usize, Option<(usize, &'static str)>)> {
        let mut s = schedule.lock().expect("no panics while locked");
        loop {
            if s.stopped {
                return None;
            }
            if let Some(Reverse(i)) = s.ready.pop() {
                s.untaken -= 1;
                let blocked = plan.units[i].inputs.iter().find_map(|&j| match &s.outcomes[j] {
                    Some(o) if o.status.succeeded() => None,
                    Some(o) => Some((j, o.status.as_str())),
                    None => Some((j, "was not run")),
                });
                return Some((i, blocked));
            }
            if s.untaken == 0 {
                return None;
            }
            s = wake.wait(s).expect("no panics while locked");
        }
    }

    /// Takes no more units; those running finish.
    fn stop(&mut self) {
        self.stopped = true;
    }

    /// Records a unit's outcome and readies the consumers it was the last input of.
    fn finish(&mut self, i: usize, outcome: RunUnit) {
        self.outcomes[i] = Some(outcome);
        for c in std::mem::take(&mut self.consumers[i]) {
            self.waiting[c] -= 1;
            if self.waiting[c] == 0 {
                self.ready.push(Reverse(c));
            }
        }
    }
}

/// What the units of one run share.
struct RunEnv<'a> {
    store: &'a Store,
    options: &'a RunOptions,
    log: &'a RunLog,
    /// Inputs already checked against their manifests in this run.
    verified: Mutex<HashSet<UnitKey>>,
    /// Progress bars on a terminal (else one line per unit on stderr).
    interactive: bool,
}

fn run_one(
    stage: &dyn crate::stage::Runnable,
    plan: &Plan,
    i: usize,
    env: &RunEnv<'_>,
    blocked: Option<(usize, &'static str)>,
    bar: &ProgressBar,
) -> RunUnit {
    let (store, options, verified) = (env.store, env.options, &env.verified);
    let unit = &plan.units[i];
    let started = Instant::now();
    let outcome = |status, error: Option<String>| RunUnit {
        stage: unit.stage_name.to_string(),
        key: unit.key.to_hex(),
        label: unit.spec.label.clone(),
        status,
        seconds: started.elapsed().as_secs_f64(),
        error,
    };
    if let Some((failed, how)) = blocked {
        let input = &plan.units[failed];
        return outcome(UnitStatus::Skipped, Some(format!("input {} `{}` {how}", input.stage_name, input.spec.label)));
    }
    if store.is_complete(unit.stage_name, &unit.key) {
        return outcome(UnitStatus::Reused, None);
    }
    let attempt = || -> Result<UnitStatus> {
        let _claim = store.claim(&unit.key)?;
        // Another process may have completed the unit while we waited.
        match store.unit_state(unit.stage_name, &unit.key) {
            UnitState::Complete => return Ok(UnitStatus::Reused),
            UnitState::Incomplete(why) => {
                // A file of it was removed (or resized): compute it again, and say so.
                let moved = store.quarantine(unit.stage_name, &unit.key.to_hex())?;
                let line = format!(
                    "robbench: [{}] {} ({}) is incomplete in the store: {why}; moved to {} and computing it again",
                    unit.stage_name,
                    unit.spec.label,
                    &unit.key.to_hex()[..12],
                    moved.display()
                );
                if env.interactive {
                    bar.println(line);
                } else {
                    let _ = writeln!(std::io::stderr(), "{line}");
                }
            }
            UnitState::Absent => {}
        }
        // Each input is hashed once per run, before the first unit consumes it.
        for &j in &unit.inputs {
            let input = &plan.units[j];
            if !verified.lock().expect("verified lock").contains(&input.key) {
                store.verify_input(input.stage_name, &input.key)?;
                verified.lock().expect("verified lock").insert(input.key);
            }
        }
        let tmp = store.begin(&unit.key)?;
        let progress = BarProgress { bar: bar.clone(), label: unit.spec.label.clone() };
        let config = plan.config.slice(&unit.spec.config_keys);
        let mut ctx = UnitContext {
            stage: unit.stage_name,
            key: unit.key,
            params: &unit.spec.params,
            config: config.clone(),
            inputs: unit
                .inputs
                .iter()
                .map(|&j| {
                    let input = &plan.units[j];
                    InputUnit {
                        stage: input.stage_name,
                        key: input.key,
                        params: &input.spec.params,
                        dir: store.object_dir(input.stage_name, &input.key),
                        store_root: store.root(),
                    }
                })
                .collect(),
            out_dir: tmp.clone(),
            final_dir: store.object_dir(unit.stage_name, &unit.key),
            scratch_dir: store.scratch_dir(&unit.key),
            store_root: store.root(),
            notes: serde_json::Map::new(),
            progress: &progress,
            tables_written: Vec::new(),
            declared_tables: stage.tables(),
        };
        let result = match catch_unwind(AssertUnwindSafe(|| stage.run(&mut ctx))) {
            Ok(result) => result,
            Err(panic) => Err(anyhow::anyhow!("panicked: {}", panic_message(&panic))),
        };
        if let Err(e) = result {
            std::fs::remove_dir_all(&tmp).ok();
            return Err(e);
        }
        let manifest = Manifest {
            key: unit.key.to_hex(),
            stage: unit.stage_name.to_string(),
            stage_version: stage.version(),
            label: unit.spec.label.clone(),
            params: unit.spec.params.clone(),
            config: config.canonical_json(),
            inputs: unit.inputs.iter().map(|&j| plan.units[j].key.to_hex()).collect(),
            files: Vec::new(),
            started_at: runs::utc_compact(unix_seconds() - started.elapsed().as_secs()),
            seconds: started.elapsed().as_secs_f64(),
            host: hostname(),
            notes: {
                let mut notes = ctx.notes;
                if let Some(device) = &options.device {
                    notes.entry("device").or_insert_with(|| device.clone().into());
                }
                note_slurm_job(&mut notes);
                notes
            },
        };
        // On record before it becomes visible: a kill between the two must not
        // leave a finished unit that no run references (gc would remove it).
        env.log.append(&outcome(UnitStatus::Executed, None))?;
        store.commit(&tmp, unit.stage_name, &unit.key, manifest)?;
        Ok(UnitStatus::Executed)
    };
    match attempt() {
        Ok(status) => outcome(status, None),
        Err(e) => outcome(UnitStatus::Failed, Some(format!("{e:#}"))),
    }
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "unknown panic".to_string())
}
