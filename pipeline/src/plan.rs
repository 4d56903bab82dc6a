//! Planning: config → the full list of units with their keys and inputs.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use anyhow::{Result, bail};

use crate::config::{Config, ConfigSchema};
use crate::key::UnitKey;
use crate::stage::{PlannedUnitView, Runnable, Stage, UnitRef, UnitSpec, Upstream};
use crate::store::Store;

/// The stages of an application, in dependency order, and its config schema:
/// stages that run their units ([`Runnable`]) by default, or only plan them
/// ([`Planner`]).
pub struct Pipeline<S: ?Sized + Stage = dyn Runnable> {
    stages: Vec<Box<S>>,
    schema: Box<dyn ConfigSchema>,
}

/// A pipeline that plans but cannot run: what commands that touch no tensor use.
pub type Planner = Pipeline<dyn Stage>;

impl Pipeline {
    /// Checks that every stage names only earlier stages as upstream.
    pub fn new(schema: Box<dyn ConfigSchema>, stages: Vec<Box<dyn Runnable>>) -> Result<Pipeline> {
        Pipeline::checked(schema, stages)
    }
}

impl Planner {
    /// The same checks as [`Pipeline::new`], for stages that only plan.
    pub fn planning_only(schema: Box<dyn ConfigSchema>, stages: Vec<Box<dyn Stage>>) -> Result<Planner> {
        Pipeline::checked(schema, stages)
    }
}

impl<S: ?Sized + Stage> Pipeline<S> {
    fn checked(schema: Box<dyn ConfigSchema>, stages: Vec<Box<S>>) -> Result<Self> {
        let mut seen = HashSet::new();
        for stage in &stages {
            for up in stage.upstream() {
                if !seen.contains(up) {
                    bail!("stage `{}` consumes `{up}`, which is not an earlier stage", stage.name());
                }
            }
            if !seen.insert(stage.name()) {
                bail!("two stages are named `{}`", stage.name());
            }
        }
        Ok(Pipeline { stages, schema })
    }

    pub fn stages(&self) -> &[Box<S>] {
        &self.stages
    }

    pub fn stage(&self, name: &str) -> Option<&S> {
        self.stages.iter().find(|s| s.name() == name).map(|s| s.as_ref())
    }

    /// The hash by which runs of `raw` are found (see [`Plan::config_hash`]),
    /// without planning a unit.
    pub fn config_hash(&self, raw: &Config) -> Result<String> {
        Ok(config_hash(&self.schema.normalize(raw)?))
    }

    /// Validates the config and plans every unit of every stage.
    pub fn plan(&self, raw: &Config) -> Result<Plan> {
        let config = self.schema.normalize(raw)?;
        let mut units: Vec<PlannedUnit> = Vec::new();
        // A stage's units are planned together, so they are one range of `units`.
        let mut by_stage: HashMap<&'static str, Range<usize>> = HashMap::new();
        // Units read a handful of key sets: slice the config once per set.
        let mut slices: Vec<(Vec<&'static str>, String)> = Vec::new();
        for (stage_index, stage) in self.stages.iter().enumerate() {
            let upstream_ranges: Vec<Range<usize>> =
                stage.upstream().iter().map(|name| by_stage.get(name).cloned().unwrap_or(0..0)).collect();
            let upstream = Upstream {
                stages: stage
                    .upstream()
                    .iter()
                    .zip(&upstream_ranges)
                    .map(|(name, range)| {
                        let views = range.clone().map(|i| PlannedUnitView {
                            unit: UnitRef(i),
                            params: &units[i].spec.params,
                            label: &units[i].spec.label,
                        });
                        (*name, views.collect())
                    })
                    .collect(),
            };
            let specs =
                stage.plan(&config, &upstream).map_err(|e| e.context(format!("planning stage `{}`", stage.name())))?;
            drop(upstream);
            // Each unit's config slice, as an index into `slices`.
            let mut slice_of = Vec::with_capacity(specs.len());
            for spec in &specs {
                if let Some(bad) =
                    spec.inputs.iter().find(|r| !upstream_ranges.iter().any(|range| range.contains(&r.0)))
                {
                    bail!(
                        "stage `{}` unit `{}` consumes unit {}, which is not from its upstream stages",
                        stage.name(),
                        spec.label,
                        bad.0
                    );
                }
                let slice = match slices.iter().position(|(keys, _)| *keys == spec.config_keys) {
                    Some(i) => i,
                    None => {
                        let slice = config.slice(&spec.config_keys).canonical_json().to_string();
                        slices.push((spec.config_keys.clone(), slice));
                        slices.len() - 1
                    }
                };
                slice_of.push(slice);
            }
            let keys = derive_keys(stage.name(), stage.version(), &specs, &slice_of, &units, &slices);
            let start = units.len();
            units.reserve(specs.len());
            let mut keys_seen = HashSet::with_capacity(specs.len());
            for (spec, key) in specs.into_iter().zip(keys) {
                if !keys_seen.insert(key) {
                    bail!("stage `{}` planned unit `{}` twice", stage.name(), spec.label);
                }
                let inputs = spec.inputs.iter().map(|r| r.0).collect();
                units.push(PlannedUnit { stage: stage_index, stage_name: stage.name(), spec, key, inputs });
            }
            by_stage.insert(stage.name(), start..units.len());
        }
        Ok(Plan { config_hash: config_hash(&config), config, units })
    }
}

/// The key of each of a stage's units. Keys are independent of one another,
/// so a stage with many units (the benchmark's size: ~270,000 evaluations)
/// derives them on every CPU.
fn derive_keys(
    stage: &str,
    version: u32,
    specs: &[UnitSpec],
    slice_of: &[usize],
    planned: &[PlannedUnit],
    slices: &[(Vec<&'static str>, String)],
) -> Vec<UnitKey> {
    let derive = |i: usize| {
        let spec = &specs[i];
        let inputs: Vec<UnitKey> = spec.inputs.iter().map(|r| planned[r.0].key).collect();
        let mut params = Vec::with_capacity(256);
        serde_json::to_writer(&mut params, &spec.params).expect("a JSON value encodes");
        let params = String::from_utf8(params).expect("JSON is UTF-8");
        UnitKey::derive_encoded(stage, version, &params, &slices[slice_of[i]].1, &inputs)
    };
    const UNITS_PER_THREAD: usize = 4096;
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = cpus.min(specs.len() / UNITS_PER_THREAD).max(1);
    if threads == 1 {
        return (0..specs.len()).map(derive).collect();
    }
    let derive = &derive;
    let per_thread = specs.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let chunks: Vec<_> = (0..specs.len())
            .step_by(per_thread)
            .map(|start| {
                let end = (start + per_thread).min(specs.len());
                scope.spawn(move || (start..end).map(derive).collect::<Vec<_>>())
            })
            .collect();
        chunks.into_iter().flat_map(|c| c.join().expect("deriving a key does not panic")).collect()
    })
}

/// First 16 hex digits of the normalised config's blake3.
fn config_hash(config: &Config) -> String {
    blake3::hash(config.canonical_json().to_string().as_bytes()).to_hex()[..16].to_string()
}

/// Every unit of a config, in dependency order.
pub struct Plan {
    /// The normalised config (defaults filled in).
    pub config: Config,
    /// Identifies the config among runs (first 16 hex digits of its blake3).
    pub config_hash: String,
    pub units: Vec<PlannedUnit>,
}

pub struct PlannedUnit {
    pub stage: usize,
    pub stage_name: &'static str,
    pub spec: UnitSpec,
    pub key: UnitKey,
    /// Indices into [`Plan::units`].
    pub inputs: Vec<usize>,
}

impl Plan {
    /// Which units a `--shard index/count` run takes: the units of its shard
    /// groups and everything they consume. Without a shard, all units.
    pub fn select(&self, shard: Option<(u64, u64)>) -> Vec<bool> {
        let Some((index, count)) = shard else {
            return vec![true; self.units.len()];
        };
        let selected: Vec<bool> = self
            .units
            .iter()
            .map(|u| {
                u.spec.shard_group.as_ref().is_some_and(|g| {
                    let h = blake3::hash(g.as_bytes());
                    u64::from_le_bytes(h.as_bytes()[..8].try_into().expect("8 bytes")) % count == index
                })
            })
            .collect();
        self.with_inputs(selected)
    }

    /// Shard `index` of `count` over an explicit list of shard groups: the
    /// groups at positions `index`, `index + count`, … of `groups`, and
    /// everything they consume. A Slurm submission lists the pending groups
    /// once, so its array tasks split exactly the work still missing.
    pub fn select_groups(&self, groups: &[String], (index, count): (u64, u64)) -> Result<Vec<bool>> {
        let mine: HashSet<&str> =
            groups.iter().enumerate().filter(|(i, _)| *i as u64 % count == index).map(|(_, g)| g.as_str()).collect();
        let planned: HashSet<&str> = self.units.iter().filter_map(|u| u.spec.shard_group.as_deref()).collect();
        if let Some(unknown) = groups.iter().find(|g| !planned.contains(g.as_str())) {
            bail!("shard group `{unknown}` is not planned by this config (was the list written for another config?)");
        }
        let selected =
            self.units.iter().map(|u| u.spec.shard_group.as_deref().is_some_and(|g| mine.contains(g))).collect();
        Ok(self.with_inputs(selected))
    }

    /// The shard groups with a unit not yet complete in `store`, in plan order.
    pub fn pending_groups(&self, store: &Store) -> Result<Vec<String>> {
        let stored = self.stored(store, &self.select(None))?;
        let mut seen = HashSet::new();
        Ok(self
            .units
            .iter()
            .zip(stored)
            .filter(|(_, stored)| !stored)
            .filter_map(|(u, _)| u.spec.shard_group.clone())
            .filter(|g| seen.insert(g.clone()))
            .collect())
    }

    /// Which of the selected units `store` holds complete (unselected: false).
    /// A stage with many selected units lists its directory once, so only
    /// the units it holds have their manifests read.
    pub fn stored(&self, store: &Store, selected: &[bool]) -> Result<Vec<bool>> {
        const LIST_FROM_UNITS: usize = 1024;
        let mut per_stage: HashMap<&str, usize> = HashMap::new();
        for (unit, _) in self.units.iter().zip(selected).filter(|(_, s)| **s) {
            *per_stage.entry(unit.stage_name).or_default() += 1;
        }
        let mut listed = HashMap::new();
        for (stage, count) in per_stage {
            if count >= LIST_FROM_UNITS {
                listed.insert(stage, store.listed_keys(stage)?);
            }
        }
        Ok(self
            .units
            .iter()
            .zip(selected)
            .map(|(unit, &selected)| {
                // A listed unit still has to be whole (every file of its manifest present).
                selected
                    && listed.get(unit.stage_name).is_none_or(|keys| keys.contains(&unit.key))
                    && store.is_complete(unit.stage_name, &unit.key)
            })
            .collect())
    }

    /// Adds every input of a selected unit to the selection.
    fn with_inputs(&self, mut selected: Vec<bool>) -> Vec<bool> {
        // Inputs always precede their consumers, so one backward sweep closes the set.
        for i in (0..self.units.len()).rev() {
            if selected[i] {
                for &j in &self.units[i].inputs {
                    selected[j] = true;
                }
            }
        }
        selected
    }

    /// Per stage (in order): (name, total units, units already complete).
    pub fn summary(&self, store: &Store, selected: &[bool]) -> Result<Vec<(&'static str, usize, usize)>> {
        let stored = self.stored(store, selected)?;
        let mut out: Vec<(&'static str, usize, usize)> = Vec::new();
        for ((unit, _), stored) in self.units.iter().zip(selected).zip(stored).filter(|((_, s), _)| **s) {
            if out.last().is_none_or(|(name, _, _)| *name != unit.stage_name) {
                out.push((unit.stage_name, 0, 0));
            }
            let last = out.last_mut().expect("pushed above");
            last.1 += 1;
            if stored {
                last.2 += 1;
            }
        }
        Ok(out)
    }
}
