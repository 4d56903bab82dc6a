//! `robbench search` with `search.source = "live"`: the pipeline trains and
//! attacks each proposal, and a later search reuses what is stored.

mod common;

use common::{TINY, device, robbench, stderr, stdout};

/// A live search of `algorithms` with `queries` on the tiny experiment.
fn live(store: &std::path::Path, algorithms: &str, queries: usize) -> std::process::Output {
    let mut args: Vec<String> =
        ["search", "--config", "configs/live-search.toml", "--device", &device(), "--jobs", "2"]
            .map(String::from)
            .to_vec();
    let sets = [
        format!("search.algorithms={algorithms}"),
        format!("search.queries={queries}"),
        "search.objectives=[{ kind = \"weighted\", clean = \"clean\", robust = \"pgd@8\", beta = 0.5 }]".into(),
    ];
    // The tiny experiment, but only what a query needs of it.
    for set in sets.iter().map(String::as_str).chain(TINY.iter().copied()).filter(|s| !s.starts_with("architectures."))
    {
        args.extend(["--set".to_string(), set.to_string()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = robbench(store, &args);
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    o
}

/// The "train units E executed, R reused" counts a live search printed.
fn train_units(o: &std::process::Output) -> (usize, usize) {
    let out = stdout(o);
    let line = out.lines().find(|l| l.starts_with("live search ")).unwrap_or_else(|| panic!("{out}"));
    let after = line.split("train units ").nth(1).unwrap();
    let n: Vec<usize> = after.split(|c: char| !c.is_ascii_digit()).filter_map(|x| x.parse().ok()).take(2).collect();
    (n[0], n[1])
}

fn csv(store: &std::path::Path, run: &str, query: &str) -> Vec<String> {
    let o = robbench(store, &["sql", "--run", run, "--format", "csv", query]);
    assert!(o.status.success(), "{}", stderr(&o));
    stdout(&o).lines().skip(1).map(str::to_string).collect()
}

fn run_id(o: &std::process::Output) -> String {
    let out = stdout(o);
    let line = out.lines().find(|l| l.starts_with("run ")).unwrap_or_else(|| panic!("{out}"));
    line.split_whitespace().nth(1).unwrap().trim_end_matches(':').to_string()
}

const STEPS: &str = "SELECT step, arch_index, round(value, 6), round(best_so_far, 6), round(cost * 3600, 3) \
                     FROM search_steps WHERE algorithm = 'random' AND step <= 3 ORDER BY step";

#[test]
fn live_search_reuses_stored_units() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path();
    // Three random architectures are trained and attacked.
    let first = live(store, "[\"random\"]", 3);
    assert_eq!(train_units(&first), (3, 0), "{}", stdout(&first));
    let run = run_id(&first);
    let steps = csv(store, &run, STEPS);
    assert_eq!(steps.len(), 3, "{steps:?}");
    // Regret is measured against the best this search measured, named as the optimum.
    let optimum = csv(store, &run, "SELECT arch_index, value FROM search_results WHERE role = 'optimum'");
    let best = csv(store, &run, "SELECT arch_index, value FROM search_steps ORDER BY value DESC, arch_index LIMIT 1");
    assert_eq!(optimum, best);
    let regret = csv(store, &run, "SELECT count(*) FROM search_steps WHERE regret < 0 OR step = 3 AND regret <> 0");
    assert_eq!(regret, ["0"]);
    // The measured cost is the seconds the units took: positive, cumulative.
    assert_eq!(csv(store, &run, "SELECT min(cost) > 0 FROM search_steps"), ["true"]);
    let not_growing =
        "SELECT count(*) FROM (SELECT cost - lag(cost) OVER (ORDER BY step) AS d FROM search_steps) WHERE d <= 0";
    assert_eq!(csv(store, &run, not_growing), ["0"]);

    // The same search again trains nothing and records the same trial.
    let again = live(store, "[\"random\"]", 3);
    assert_eq!(train_units(&again), (0, 3), "{}", stdout(&again));
    assert!(stdout(&again).contains("0 search unit(s) executed, 1 reused"), "{}", stdout(&again));

    // A longer search and another algorithm: random's first three
    // architectures are the stored ones (same seed), so only the new ones train.
    let more = live(store, "[\"random\", \"regularized-evolution\"]", 5);
    let (executed, reused) = train_units(&more);
    let out = stdout(&more);
    let measured: usize =
        out.split(" architecture(s) measured").next().unwrap().rsplit(' ').next().unwrap().parse().unwrap();
    assert!(reused >= 3 && executed >= 2 && executed + reused == measured, "{out}");
    // Both random trials (3 and 5 queries) are on record, and their first
    // three steps agree: the same architectures, values and measured cost.
    let run = run_id(&more);
    assert_eq!(csv(store, &run, "SELECT max(step), count(*) FROM search_steps WHERE algorithm = 'random'"), ["5,8"]);
    assert_eq!(csv(store, &run, &STEPS.replace("SELECT", "SELECT DISTINCT")), steps);
    let evolution = csv(store, &run, "SELECT count(*) FROM search_steps WHERE algorithm = 'regularized-evolution'");
    assert_eq!(evolution, ["5"]);
    // The oracle's experiment runs are auxiliary: not the store's default
    // run, and their rows are not mixed into the tables other runs see.
    let o = robbench(store, &["sql", "--format", "csv", "SELECT count(*) FROM evaluations"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).lines().nth(1), Some("0"), "{}", stdout(&o));
}
