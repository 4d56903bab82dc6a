//! The unit keys of the default experiment are pinned: a refactoring of how
//! configs are parsed (enums for closed sets, typed views of what each unit
//! reads) must not change them, or every stored result would be recomputed.

use robbench_pipeline::Config;
use robbench_stages::DEFAULT_CONFIG;

/// blake3 over the (label, key) of every unit of `stage`, in plan order.
fn stage_digests() -> Vec<(&'static str, String)> {
    let config = Config::from_toml_str(DEFAULT_CONFIG, "default").unwrap();
    let plan = robbench_stages::pipeline(tch::Device::Cpu).unwrap().plan(&config).unwrap();
    let mut out: Vec<(&'static str, blake3::Hasher)> = Vec::new();
    for unit in &plan.units {
        if out.last().is_none_or(|(s, _)| *s != unit.stage_name) {
            out.push((unit.stage_name, blake3::Hasher::new()));
        }
        let hasher = &mut out.last_mut().unwrap().1;
        hasher.update(unit.spec.label.as_bytes());
        hasher.update(unit.key.to_hex().as_bytes());
    }
    out.into_iter().map(|(s, h)| (s, h.finalize().to_hex()[..16].to_string())).collect()
}

#[test]
fn the_default_experiment_keeps_its_unit_keys() {
    // Computed before the refactoring. `architectures` (it no longer hashes
    // `dataset.root`, which it does not read) and `checks` (which now also
    // reads the training log) changed on purpose; `analysis` as of the
    // `analysis.*` inputs becoming optional (unset keys are not hashed).
    // `checks` was pinned later, when planning began to group a model's
    // evaluations run by run (its keys did not change). `analysis` changed
    // again when it began to read the `corrupt` stage's corruption accuracy.
    let pinned = [
        ("prepare", "398decc3eddad3b0"),
        ("train", "5fead371ec999389"),
        ("evaluate", "aaf754d77890a61b"),
        ("ntk", "d56e4bdc4001b932"),
        ("bound", "a61dc060e15e3605"),
        ("checks", "39c158b48fdcddde"),
        ("analysis", "733361a0298aeec5"),
    ];
    let digests = stage_digests();
    for (stage, want) in pinned {
        let got = digests.iter().find(|(s, _)| *s == stage).map(|(_, d)| d.as_str());
        assert_eq!(got, Some(want), "unit keys of `{stage}` changed: {digests:?}");
    }
}
