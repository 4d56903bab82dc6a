//! Keys read = keys hashed: every config key is set in turn to a valid value
//! other than its default, and exactly the units that read it must see the
//! new value in their config and change key (with everything downstream of
//! them, through their input keys) — no unit may miss a change it depends
//! on, and no unit may rerun for a key it does not read.

use std::collections::{BTreeMap, BTreeSet};

use robbench_pipeline::Config;
use robbench_stages::DEFAULT_CONFIG;
use serde_json::Value;

/// A planned unit, identified by its stage and parameters.
struct Unit {
    key: String,
    slice: Value,
    inputs: Vec<String>,
}

type Identity = (String, String);

/// The plan of the default config with `sets` applied: units by identity.
fn plan(sets: &[String]) -> (Config, BTreeMap<Identity, Unit>) {
    let mut config = Config::from_toml_str(DEFAULT_CONFIG, "default").unwrap();
    for set in sets {
        config.set(set).unwrap();
    }
    let pipeline = robbench_stages::pipeline(tch::Device::Cpu).unwrap();
    let plan = pipeline.plan(&config).unwrap_or_else(|e| panic!("{sets:?} is not a valid config: {e:#}"));
    let identities: Vec<Identity> =
        plan.units.iter().map(|u| (u.stage_name.to_string(), u.spec.params.to_string())).collect();
    let units = plan
        .units
        .iter()
        .zip(&identities)
        .map(|(u, id)| {
            let unit = Unit {
                key: u.key.to_hex(),
                slice: plan.config.slice(&u.spec.config_keys).canonical_json(),
                inputs: u.inputs.iter().map(|&i| identities[i].1.clone() + &identities[i].0).collect(),
            };
            (id.clone(), unit)
        })
        .collect();
    (plan.config, units)
}

/// Every leaf key of the normalised default config, with its value.
fn leaves(value: &Value, prefix: &str, out: &mut Vec<(String, Value)>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let path = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                leaves(v, &path, out);
            }
        }
        leaf => out.push((prefix.to_string(), leaf.clone())),
    }
}

/// A valid value other than the default, as a TOML literal.
fn other_value(key: &str, default: &Value) -> String {
    match key {
        "architectures.select" => return "\"unique\"".into(),
        "architectures.strings" => {
            return "[\"|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|\"]"
                .into();
        }
        "dataset.image_size" => return "32".into(),
        "evaluation.autoattack.version" => return "\"rand\"".into(),
        "ntk.output" => return "\"label\"".into(),
        "ntk.attack" => return "\"fgsm\"".into(),
        "ntk.weights" => return "[\"init\", \"trained\"]".into(),
        "analysis.reference_dataset" => return "\"cifar100\"".into(),
        "train.seeds" => return "[0, 1]".into(),
        _ => {}
    }
    match default {
        Value::Bool(b) => (!b).to_string(),
        Value::Number(n) if n.is_i64() => (n.as_i64().unwrap() + 1).to_string(),
        Value::Number(n) => {
            let v = n.as_f64().unwrap();
            format!("{:?}", if v == 0.0 { 0.5 } else { v * 0.5 })
        }
        Value::Array(items) if items.len() > 1 => serde_json::to_string(&items[..items.len() - 1]).unwrap(),
        Value::Array(items) if items.len() == 1 && items[0].is_f64() => {
            format!("[{:?}]", items[0].as_f64().unwrap() * 0.5)
        }
        other => panic!("no non-default value for `{key}` = {other}: add one to other_value"),
    }
}

/// Which units read `key` (by stage and parameters), as the stages document it.
fn reads(key: &str, stage: &str, params: &Value) -> bool {
    let attack = params["attack"].as_str().unwrap_or("");
    let section = key.split('.').next().unwrap();
    match (section, stage) {
        ("dataset", "prepare") => true,
        ("dataset", "architectures") => matches!(key, "dataset.classes" | "dataset.image_size"),
        ("model", "architectures" | "train" | "ntk") => true,
        ("train", "train") => !matches!(key, "train.enabled" | "train.seeds"),
        ("evaluation", "evaluate") => match key {
            "evaluation.samples" | "evaluation.batch_size" => true,
            k if k.starts_with("evaluation.pgd.") => attack == "pgd" && k != "evaluation.pgd.eps",
            k if k.starts_with("evaluation.autoattack.") => attack == "autoattack" && k != "evaluation.autoattack.eps",
            k if k.starts_with("evaluation.sweep.") => attack == "pgd-sweep" && k != "evaluation.sweep.eps",
            _ => false,
        },
        ("evaluation", "corrupt") => {
            matches!(key, "evaluation.samples" | "evaluation.batch_size") || key.starts_with("evaluation.corruptions.")
        }
        ("checks", "checks") => true,
        ("ntk", "ntk") => match key {
            "ntk.enabled" | "ntk.weights" => false,
            "ntk.bn_calibration" => params["weights"] == "init",
            _ => true,
        },
        ("ntk", "bound") => key == "ntk.betas",
        ("bound", "bound") => true,
        ("analysis", "analysis") => true,
        _ => false,
    }
}

/// Keys that decide which units exist (their values are unit parameters):
/// changing them may add or remove units, but must not rekey the others.
const PLANNING: &[&str] = &[
    "architectures.select",
    "architectures.indices",
    "train.enabled",
    "train.seeds",
    "evaluation.clean.enabled",
    "evaluation.fgsm.eps",
    "evaluation.pgd.eps",
    "evaluation.autoattack.eps",
    "evaluation.sweep.eps",
    "ntk.enabled",
    "ntk.weights",
];

/// Keys with no other valid value on the default (synthetic) dataset, or
/// that need files; the config checks' own tests cover them.
const NOT_VARIED: &[&str] =
    &["dataset.name", "dataset.root", "analysis.reference", "analysis.reference_ops", "analysis.zero_cost"];

#[test]
fn exactly_the_units_that_read_a_key_change_when_it_changes() {
    let (base_config, base) = plan(&[]);
    let mut keys = Vec::new();
    leaves(&base_config.canonical_json(), "", &mut keys);
    assert!(keys.len() > 60, "every key of the default config: {}", keys.len());
    let mut failures = Vec::new();
    for (key, default) in &keys {
        if NOT_VARIED.contains(&key.as_str()) {
            continue;
        }
        let literal = other_value(key, default);
        let (config, changed) = plan(&[format!("{key}={literal}")]);
        let new_value = serde_json::to_value(config.get(key).unwrap()).unwrap();
        assert_ne!(&new_value, default, "{key}: {literal} is the default");
        let planning = PLANNING.contains(&key.as_str());
        if !planning && base.keys().collect::<BTreeSet<_>>() != changed.keys().collect::<BTreeSet<_>>() {
            failures.push(format!("{key}: changed which units exist, but it is not a planning key"));
            continue;
        }
        // Units whose key changed, in plan order, so inputs come first.
        let mut rekeyed: BTreeSet<String> = BTreeSet::new();
        let mut ordered: Vec<(&Identity, &Unit)> = changed.iter().collect();
        ordered.sort_by_key(|(id, _)| stage_rank(&id.0));
        for ((stage, params), unit) in ordered {
            let Some(before) = base.get(&(stage.clone(), params.clone())) else { continue };
            let p: Value = serde_json::from_str(params).unwrap();
            let expected = reads(key, stage, &p);
            let read = before.slice != unit.slice;
            if read != expected {
                failures.push(format!(
                    "{key}: {stage} {params} {} the key but {}",
                    if read { "hashes" } else { "does not hash" },
                    if expected { "reads it" } else { "does not read it" }
                ));
            }
            if read {
                let seen = key.split('.').try_fold(&unit.slice, |v, part| v.get(part));
                if seen != Some(&new_value) {
                    failures.push(format!("{key}: {stage} {params} does not see the new value {new_value}"));
                }
            }
            let upstream_changed = unit.inputs != before.inputs || unit.inputs.iter().any(|i| rekeyed.contains(i));
            let key_changed = unit.key != before.key;
            if key_changed != (read || upstream_changed) {
                failures.push(format!("{key}: {stage} {params} key changed = {key_changed}, but read = {read}, upstream changed = {upstream_changed}"));
            }
            if key_changed {
                rekeyed.insert(params.clone() + stage);
            }
        }
        if !planning && rekeyed.is_empty() && keys_read_by_some_unit(key) {
            failures.push(format!("{key}: no unit changed"));
        }
    }
    assert!(failures.is_empty(), "{} problem(s):\n{}", failures.len(), failures.join("\n"));
}

/// Keys no unit of the default pipeline reads (they only matter for other
/// selections): setting them must rerun nothing.
fn keys_read_by_some_unit(key: &str) -> bool {
    !matches!(key, "architectures.strings" | "architectures.sample_size" | "architectures.sample_seed")
}

fn stage_rank(stage: &str) -> usize {
    ["prepare", "architectures", "train", "evaluate", "corrupt", "checks", "ntk", "bound", "analysis"]
        .iter()
        .position(|s| *s == stage)
        .unwrap_or(usize::MAX)
}
