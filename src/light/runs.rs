//! `robbench runs`: every recorded run, newest last, with what changed in
//! its config since the run listed before it.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use robbench_pipeline::{RunKind, RunRecord, Store, UnitStatus, runs};

use super::say;

/// A config as `key = value` lines (`section.key` paths), for diffs.
fn flatten(toml_text: &str) -> BTreeMap<String, String> {
    fn walk(prefix: &str, value: &toml::Value, out: &mut BTreeMap<String, String>) {
        match value {
            toml::Value::Table(table) => {
                for (k, v) in table {
                    let path = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                    walk(&path, v, out);
                }
            }
            other => {
                out.insert(prefix.to_string(), other.to_string());
            }
        }
    }
    let mut out = BTreeMap::new();
    if let Ok(value) = toml_text.parse::<toml::Table>() {
        walk("", &toml::Value::Table(value), &mut out);
    }
    out
}

/// `key: old → new` for every key that differs between two configs.
pub fn config_diff(before: &str, after: &str) -> Vec<String> {
    let (a, b) = (flatten(before), flatten(after));
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| {
            let show = |v: Option<&String>| v.cloned().unwrap_or_else(|| "(unset)".into());
            format!("{k}: {} → {}", show(a.get(k)), show(b.get(k)))
        })
        .collect()
}

fn counts(run: &RunRecord) -> String {
    let n = |s: UnitStatus| run.units.iter().filter(|u| u.status == s).count();
    let mut parts = vec![format!("{} executed", n(UnitStatus::Executed)), format!("{} reused", n(UnitStatus::Reused))];
    for (status, name) in [(UnitStatus::Failed, "failed"), (UnitStatus::Skipped, "skipped")] {
        if n(status) > 0 {
            parts.push(format!("{} {name}", n(status)));
        }
    }
    parts.join(", ")
}

pub fn list(store: &Path) -> Result<ExitCode> {
    let store = Store::open(store)?;
    let latest = runs::latest_id(&store)?;
    // Each experiment run is compared with the experiment run before it; imports with nothing.
    let mut previous: Option<RunRecord> = None;
    for id in runs::ids(&store)? {
        let run = runs::read(&store, &id)?;
        let mut flags = vec![run.state(&store).as_str().to_string()];
        if let Some(shard) = &run.shard {
            flags.push(format!("shard {shard}"));
        }
        match run.kind {
            RunKind::Experiment => {}
            RunKind::Shared => flags.push("shared: imports or search".into()),
            RunKind::Auxiliary => flags.push("auxiliary: a live search's oracle".into()),
        }
        if latest.as_deref() == Some(id.as_str()) {
            flags.push("latest".into());
        }
        say(format_args!("{id}  config {}  [{}]  {}", run.config_hash, flags.join(", "), counts(&run)))?;
        if run.kind == RunKind::Experiment {
            if let Some(prev) = &previous {
                let diff = config_diff(&prev.config, &run.config);
                if diff.is_empty() {
                    say(format_args!("    same config as {}", prev.run_id))?;
                }
                for line in diff {
                    say(format_args!("    {line}"))?;
                }
            }
            previous = Some(run);
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    #[test]
    fn config_diffs_name_every_changed_key() {
        let a = "[train]\nepochs = 6\nseeds = [0]\n[evaluation.pgd]\nsteps = 20\n";
        let b = "[train]\nepochs = 1\nseeds = [0]\n[evaluation.pgd]\nsteps = 20\nrestarts = 2\n";
        assert_eq!(super::config_diff(a, b), ["evaluation.pgd.restarts: (unset) → 2", "train.epochs: 6 → 1"]);
        assert!(super::config_diff(a, a).is_empty());
    }
}
