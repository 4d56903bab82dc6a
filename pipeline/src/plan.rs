//! Planning: config → the full list of units with their keys and inputs.

use std::collections::{HashMap, HashSet};

use anyhow::{Result, bail};

use crate::config::{Config, ConfigSchema};
use crate::key::UnitKey;
use crate::stage::{PlannedUnitView, Stage, UnitRef, UnitSpec, Upstream};
use crate::store::Store;

/// The stages of an application, in dependency order, and its config schema.
pub struct Pipeline {
    stages: Vec<Box<dyn Stage>>,
    schema: Box<dyn ConfigSchema>,
}

impl Pipeline {
    /// Checks that every stage names only earlier stages as upstream.
    pub fn new(schema: Box<dyn ConfigSchema>, stages: Vec<Box<dyn Stage>>) -> Result<Pipeline> {
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

    pub fn stages(&self) -> &[Box<dyn Stage>] {
        &self.stages
    }

    pub fn stage(&self, name: &str) -> Option<&dyn Stage> {
        self.stages.iter().find(|s| s.name() == name).map(|s| s.as_ref())
    }

    /// Validates the config and plans every unit of every stage.
    pub fn plan(&self, raw: &Config) -> Result<Plan> {
        let config = self.schema.normalize(raw)?;
        let mut units: Vec<PlannedUnit> = Vec::new();
        let mut by_stage: HashMap<&'static str, Vec<usize>> = HashMap::new();
        // Most units of a stage read the same keys: slice the config once per key set.
        let mut slices: HashMap<Vec<&'static str>, String> = HashMap::new();
        for (stage_index, stage) in self.stages.iter().enumerate() {
            let upstream = Upstream {
                stages: stage
                    .upstream()
                    .iter()
                    .map(|name| {
                        let views =
                            by_stage.get(name).map(Vec::as_slice).unwrap_or(&[]).iter().map(|&i| PlannedUnitView {
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
            let allowed: HashSet<usize> =
                stage.upstream().iter().flat_map(|n| by_stage.get(n).cloned().unwrap_or_default()).collect();
            let mut indices = Vec::with_capacity(specs.len());
            let mut keys_seen = HashSet::new();
            for spec in specs {
                let inputs: Vec<usize> = spec.inputs.iter().map(|r| r.0).collect();
                if let Some(bad) = inputs.iter().find(|i| !allowed.contains(i)) {
                    bail!(
                        "stage `{}` unit `{}` consumes unit {bad}, which is not from its upstream stages",
                        stage.name(),
                        spec.label
                    );
                }
                let input_keys: Vec<UnitKey> = inputs.iter().map(|&i| units[i].key).collect();
                let slice = match slices.get(&spec.config_keys) {
                    Some(slice) => slice,
                    None => slices
                        .entry(spec.config_keys.clone())
                        .or_insert_with(|| config.slice(&spec.config_keys).canonical_json().to_string()),
                };
                let params = spec.params.to_string();
                let key = UnitKey::derive_encoded(stage.name(), stage.version(), &params, slice, &input_keys);
                if !keys_seen.insert(key) {
                    bail!("stage `{}` planned unit `{}` twice", stage.name(), spec.label);
                }
                indices.push(units.len());
                units.push(PlannedUnit { stage: stage_index, stage_name: stage.name(), spec, key, inputs });
            }
            by_stage.insert(stage.name(), indices);
        }
        let config_hash = blake3::hash(config.canonical_json().to_string().as_bytes()).to_hex()[..16].to_string();
        Ok(Plan { config, config_hash, units })
    }
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
    pub fn pending_groups(&self, store: &Store) -> Vec<String> {
        let mut seen = HashSet::new();
        self.units
            .iter()
            .filter(|u| !store.is_complete(u.stage_name, &u.key))
            .filter_map(|u| u.spec.shard_group.clone())
            .filter(|g| seen.insert(g.clone()))
            .collect()
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
    pub fn summary(&self, store: &Store, selected: &[bool]) -> Vec<(&'static str, usize, usize)> {
        let mut out: Vec<(&'static str, usize, usize)> = Vec::new();
        for (unit, _) in self.units.iter().zip(selected).filter(|(_, s)| **s) {
            if out.last().is_none_or(|(name, _, _)| *name != unit.stage_name) {
                out.push((unit.stage_name, 0, 0));
            }
            let last = out.last_mut().expect("pushed above");
            last.1 += 1;
            if store.is_complete(unit.stage_name, &unit.key) {
                last.2 += 1;
            }
        }
        out
    }
}
