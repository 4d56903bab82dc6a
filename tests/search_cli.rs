//! `robbench search` end to end on the shipped NAS-RobBench-201 release.

mod common;

use common::{robbench, stderr, stdout};

fn csv(store: &std::path::Path, run: &str, query: &str) -> Vec<String> {
    let o = robbench(store, &["sql", "--run", run, "--format", "csv", query]);
    assert!(o.status.success(), "{}", stderr(&o));
    stdout(&o).lines().skip(1).map(str::to_string).collect()
}

const SMALL: &[&str] = &[
    "search",
    "--set",
    "search.trials=2",
    "--set",
    "search.queries=30",
    "--set",
    "search.algorithms=[\"random\", \"local-search\"]",
    "--set",
    "search.objectives=[{ kind = \"metric\", metric = \"pgd@8\" }]",
];

#[test]
fn a_search_on_the_release_writes_steps_and_results_and_reruns_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let o = robbench(dir.path(), &["import", "nasrobbench201-html"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = robbench(dir.path(), SMALL);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("4 search unit(s) executed, 0 reused"), "{out}");
    let run = out.split_whitespace().nth(1).unwrap().trim_end_matches(':').to_string();
    // The regret table names the released optimum of PGD@8 on CIFAR-10.
    assert!(out.contains("median_regret") && out.contains("2581"), "{out}");

    let steps = csv(
        dir.path(),
        &run,
        "SELECT algorithm, trial, count(*), count(DISTINCT arch_index), max(step), min(regret) >= 0 FROM search_steps GROUP BY algorithm, trial ORDER BY algorithm, trial",
    );
    assert_eq!(
        steps,
        [
            "local-search,0,30,30,30,true",
            "local-search,1,30,30,30,true",
            "random,0,30,30,30,true",
            "random,1,30,30,30,true"
        ]
    );
    let optimum =
        csv(dir.path(), &run, "SELECT DISTINCT arch_index, round(value, 4) FROM search_results WHERE role = 'optimum'");
    assert_eq!(optimum, ["2581,0.4811"]);
    // Regret is the optimum minus the best so far, at every step.
    let off = csv(
        dir.path(),
        &run,
        "SELECT count(*) FROM search_steps WHERE abs(regret - (0.4811333318551381 - best_so_far)) > 1e-9",
    );
    assert_eq!(off, ["0"]);

    // Content-addressed: the same search again reuses every unit; one more trial runs one per algorithm.
    let o = robbench(dir.path(), SMALL);
    assert!(stdout(&o).contains("0 search unit(s) executed, 4 reused"), "{}", stdout(&o));
    let mut more = SMALL.to_vec();
    more.extend(["--set", "search.trials=3"]);
    let o = robbench(dir.path(), &more);
    assert!(stdout(&o).contains("2 search unit(s) executed, 4 reused"), "{}", stdout(&o));
}

#[test]
fn a_missing_metric_or_source_is_named() {
    let dir = tempfile::tempdir().unwrap();
    assert!(robbench(dir.path(), &["import", "nasrobbench201-html"]).status.success());
    let random = "search.algorithms=[\"random\"]";
    let o = robbench(
        dir.path(),
        &["search", "--set", random, "--set", "search.objectives=[{ kind = \"metric\", metric = \"pgd@4\" }]"],
    );
    assert!(!o.status.success());
    assert!(stderr(&o).contains("no metric `pgd@4`"), "{}", stderr(&o));
    let o = robbench(dir.path(), &["search", "--set", random, "--set", "search.source=\"nope\""]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("search.source `nope`"), "{}", stderr(&o));
    // The warm start needs its score imported.
    let o = robbench(dir.path(), &["search", "--set", "search.trials=1"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("robbench import zero-cost"), "{}", stderr(&o));
}
