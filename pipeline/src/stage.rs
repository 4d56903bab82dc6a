//! The contract between the engine and a stage.
//!
//! A stage fans out into units during planning, from the config and the
//! units planned for its upstream stages, and runs one unit at a time through
//! a [`UnitContext`]. It never sees the store's layout: it reads its inputs
//! and writes its outputs through the context.

use std::path::{Path, PathBuf};

use arrow::record_batch::RecordBatch;
use robbench_schemas::TableDef;

use crate::config::Config;
use crate::key::UnitKey;

/// A stage of the pipeline: what it is and how it fans out into units.
/// Planning touches no tensors, so a process that only plans (`robbench
/// plan`, SQL naming a config) links no tensor library; running the units is
/// [`Runnable`].
pub trait Stage: Send + Sync {
    /// Stable name, used in keys, the store and the `runs` table.
    fn name(&self) -> &'static str;
    /// Implementation version: bump it when the same inputs would now give
    /// different results; the stage and everything downstream then reruns.
    fn version(&self) -> u32;
    /// Names of the stages whose units this stage may consume.
    fn upstream(&self) -> &'static [&'static str];
    /// Tables this stage's units emit.
    fn tables(&self) -> Vec<&'static TableDef>;
    /// Fans out into units. `upstream` holds the units planned for the stages
    /// named by [`Stage::upstream`].
    fn plan(&self, config: &Config, upstream: &Upstream<'_>) -> anyhow::Result<Vec<UnitSpec>>;
}

/// A stage whose units this process can run.
pub trait Runnable: Stage {
    /// Runs one unit.
    fn run(&self, unit: &mut UnitContext<'_>) -> anyhow::Result<()>;
}

/// One unit of work as a stage plans it.
#[derive(Clone, Debug)]
pub struct UnitSpec {
    /// Human-readable description, e.g. `arch 1462 · synthetic · seed 0`.
    pub label: String,
    /// The unit's identity within its stage (e.g. architecture and seed);
    /// part of the key and handed back to [`Stage::run`].
    pub params: serde_json::Value,
    /// Config paths this unit reads (e.g. `train`, `model.channels`): the
    /// unit's key hashes exactly these values, and [`UnitContext::config`]
    /// contains nothing else.
    pub config_keys: Vec<&'static str>,
    /// Upstream units consumed, as handed out by [`Upstream`].
    pub inputs: Vec<UnitRef>,
    /// Units of one group go to the same shard of a `--shard i/n` run
    /// (e.g. everything about one architecture). `None`: the unit runs in a
    /// shard only when a sharded unit needs it, and otherwise in unsharded
    /// runs (aggregates over all architectures).
    pub shard_group: Option<String>,
}

/// Reference to a planned unit of an upstream stage.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct UnitRef(pub(crate) usize);

/// A planned unit as downstream stages see it.
#[derive(Clone, Debug)]
pub struct PlannedUnitView<'a> {
    pub unit: UnitRef,
    pub params: &'a serde_json::Value,
    pub label: &'a str,
}

/// The units planned so far, by stage name.
pub struct Upstream<'a> {
    pub(crate) stages: Vec<(&'static str, Vec<PlannedUnitView<'a>>)>,
}

impl<'a> Upstream<'a> {
    /// Units of an upstream stage (empty when it planned none).
    pub fn units(&self, stage: &str) -> &[PlannedUnitView<'a>] {
        self.stages.iter().find(|(name, _)| *name == stage).map(|(_, units)| units.as_slice()).unwrap_or(&[])
    }
}

/// An input unit, complete in the store.
pub struct InputUnit<'a> {
    pub stage: &'a str,
    pub key: UnitKey,
    pub params: &'a serde_json::Value,
    pub(crate) dir: PathBuf,
    pub(crate) store_root: &'a Path,
}

impl InputUnit<'_> {
    /// Path of a file the unit wrote with [`UnitContext::output_file`].
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.join("files").join(name)
    }

    /// Path of that file relative to the store root (stable across moves of
    /// the store, so it is what tables record).
    pub fn stored_path(&self, name: &str) -> String {
        relative(self.store_root, &self.file(name))
    }

    /// The rows the unit wrote to `table`.
    pub fn read_table(&self, table: &TableDef) -> anyhow::Result<Vec<RecordBatch>> {
        let path = self.dir.join("tables").join(table.file_name());
        if !path.exists() {
            return Ok(Vec::new());
        }
        crate::tables::read_parquet(&path, table)
    }
}

/// Progress reporting from inside a unit.
pub trait Progress: Send + Sync {
    fn set(&self, fraction: f64, message: &str);
}

/// Everything a running unit may touch.
pub struct UnitContext<'a> {
    pub(crate) stage: &'a str,
    pub(crate) key: UnitKey,
    pub(crate) params: &'a serde_json::Value,
    pub(crate) config: Config,
    pub(crate) inputs: Vec<InputUnit<'a>>,
    pub(crate) out_dir: PathBuf,
    pub(crate) final_dir: PathBuf,
    pub(crate) scratch_dir: PathBuf,
    pub(crate) store_root: &'a Path,
    pub(crate) notes: serde_json::Map<String, serde_json::Value>,
    pub(crate) progress: &'a dyn Progress,
    pub(crate) tables_written: Vec<&'static str>,
    pub(crate) declared_tables: Vec<&'static TableDef>,
}

impl<'a> UnitContext<'a> {
    pub fn key(&self) -> UnitKey {
        self.key
    }

    pub fn params(&self) -> &serde_json::Value {
        self.params
    }

    /// The config, restricted to the unit's declared `config_keys`.
    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn inputs(&self) -> &[InputUnit<'a>] {
        &self.inputs
    }

    /// The first input of `stage`, or an error naming the missing stage.
    pub fn input(&self, stage: &str) -> anyhow::Result<&InputUnit<'a>> {
        self.inputs
            .iter()
            .find(|i| i.stage == stage)
            .ok_or_else(|| anyhow::anyhow!("{} unit has no input from stage `{stage}`", self.stage))
    }

    /// Where to write an output file `name`; it becomes part of the unit when
    /// the unit succeeds, and is discarded otherwise.
    pub fn output_file(&self, name: &str) -> anyhow::Result<PathBuf> {
        let dir = self.out_dir.join("files");
        std::fs::create_dir_all(&dir)?;
        Ok(dir.join(name))
    }

    /// Store-relative path the output file `name` will have once committed.
    pub fn stored_path(&self, name: &str) -> String {
        relative(self.store_root, &self.final_dir.join("files").join(name))
    }

    /// A directory that survives an interrupted attempt (e.g. per-epoch
    /// checkpoints); removed once the unit completes.
    pub fn scratch_dir(&self) -> anyhow::Result<&Path> {
        std::fs::create_dir_all(&self.scratch_dir)?;
        Ok(&self.scratch_dir)
    }

    /// Writes the unit's rows of `table` (one Parquet file per table).
    pub fn write_table(&mut self, table: &'static TableDef, batches: &[RecordBatch]) -> anyhow::Result<()> {
        if !self.declared_tables.iter().any(|t| t.name == table.name) {
            anyhow::bail!("stage {} does not declare table `{}` in Stage::tables", self.stage, table.name);
        }
        if self.tables_written.contains(&table.name) {
            anyhow::bail!("{} unit wrote table `{}` twice", self.stage, table.name);
        }
        let dir = self.out_dir.join("tables");
        std::fs::create_dir_all(&dir)?;
        crate::tables::write_parquet(&dir.join(table.file_name()), table, batches)?;
        self.tables_written.push(table.name);
        Ok(())
    }

    /// Records a fact about the run (device, timings…) in the unit's manifest.
    pub fn note(&mut self, key: &str, value: impl Into<serde_json::Value>) {
        self.notes.insert(key.to_string(), value.into());
    }

    /// Reports progress within the unit (fraction in [0, 1]).
    pub fn progress(&self, fraction: f64, message: &str) {
        self.progress.set(fraction, message);
    }
}

fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root).unwrap_or(path).to_string_lossy().into_owned()
}
