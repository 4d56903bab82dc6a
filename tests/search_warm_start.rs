//! `warm-start-evolution` ranking by this project's own scores: a column of
//! `ntk` or `bounds` of a tiny run, searched over that run's `evaluations`.

mod common;

use std::path::Path;

use common::{TINY, device, robbench, run_tiny, stderr, stdout};

/// Class representatives (their `arch_index` is what `search_steps` shows),
/// each trained with two seeds so that scores are averaged over seeds.
const RUN: &[&str] = &[
    "architectures.indices=[1462, 7581, 2581, 1000, 4317]",
    "train.seeds=[0, 1]",
    "evaluation.fgsm.eps=[]",
    "evaluation.pgd.eps=[]",
    "evaluation.autoattack.eps=[]",
    "evaluation.sweep.eps=[8.0]",
];

/// The first population: the warm start's first `POPULATION` queries.
const POPULATION: usize = 3;

fn csv(store: &Path, run: Option<&str>, query: &str) -> Vec<String> {
    let mut args = vec!["sql", "--format", "csv"];
    if let Some(run) = run {
        args.extend(["--run", run]);
    }
    args.push(query);
    let o = robbench(store, &args);
    assert!(o.status.success(), "{}", stderr(&o));
    stdout(&o).lines().skip(1).map(str::to_string).collect()
}

/// `robbench search` of the warm start alone over the run's evaluations, ranking by `warm_start`.
fn search(store: &Path, warm_start: &str) -> std::process::Output {
    search_table(store, ["evaluations", "synthetic", "clean"], None, warm_start)
}

/// The same over `[source, dataset, objective metric]`, with `--run` when given.
fn search_table(
    store: &Path,
    [source, dataset, metric]: [&str; 3],
    run: Option<&str>,
    warm_start: &str,
) -> std::process::Output {
    let sets = [
        format!("search.source={source}"),
        format!("search.dataset={dataset}"),
        "search.algorithms=[\"warm-start-evolution\"]".into(),
        format!("search.objectives=[{{ kind = \"metric\", metric = \"{metric}\" }}]"),
        "search.trials=1".into(),
        format!("search.queries={POPULATION}"),
        format!("search.settings.population={POPULATION}"),
        "search.settings.sample=2".into(),
        // Far more draws than the ten cells of the five classes: the pool holds every class.
        "search.settings.warm_pool=1000".into(),
        format!("search.warm_start={warm_start}"),
    ];
    let mut args = vec!["search".to_string()];
    if let Some(run) = run {
        args.extend(["--run".to_string(), run.to_string()]);
    }
    for set in sets {
        args.extend(["--set".to_string(), set]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    robbench(store, &args)
}

/// The first population of a successful search over the run's evaluations, in query order.
fn first_population(store: &Path, o: &std::process::Output) -> Vec<String> {
    first_population_of(store, o, "evaluations")
}

/// The same for a search of `source` (a store's search results accumulate,
/// one set per objective, source and dataset).
fn first_population_of(store: &Path, o: &std::process::Output, source: &str) -> Vec<String> {
    assert!(o.status.success(), "{}\n{}", stdout(o), stderr(o));
    let out = stdout(o);
    assert!(out.contains("1 search unit(s) executed"), "{out}");
    let run = out.split_whitespace().nth(1).unwrap().trim_end_matches(':').to_string();
    csv(
        store,
        Some(&run),
        &format!(
            "SELECT arch_index FROM search_steps WHERE algorithm = 'warm-start-evolution' AND source = '{source}' \
             AND step <= {POPULATION} ORDER BY step"
        ),
    )
}

/// The best `POPULATION` cells of the oracle by `value` (an aggregate over
/// `table`'s rows matching `filter`), ranked in SQL.
fn ranked(store: &Path, table: &str, filter: &str, value: &str, direction: &str) -> Vec<String> {
    csv(
        store,
        None,
        &format!(
            "SELECT arch_index FROM {table} WHERE dataset = 'synthetic' AND {filter} \
               AND arch_index IN (SELECT arch_index FROM evaluations WHERE attack = 'clean') \
             GROUP BY arch_index ORDER BY {value} {direction}, arch_index LIMIT {POPULATION}"
        ),
    )
}

#[test]
fn the_warm_start_ranks_by_ntk_and_bounds_columns_of_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path();
    let o = run_tiny(store, RUN);
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    // Every architecture has an NTK per seed.
    let counts = csv(
        store,
        None,
        "SELECT count(DISTINCT arch_index), count(DISTINCT seed) FROM ntk WHERE weights = 'init' AND kernel = 'robust'",
    );
    assert_eq!(counts, ["5,2"]);

    // lambda_min: higher is better by default.
    let ntk = "{ table = \"ntk\", column = \"lambda_min\", weights = \"init\", kernel = \"robust\", beta = 0.0 }";
    let filter = "weights = 'init' AND kernel = 'robust' AND beta = 0";
    let best = ranked(store, "ntk", filter, "avg(lambda_min)", "DESC");
    assert_eq!(best.len(), POPULATION);
    assert_eq!(first_population(store, &search(store, ntk)), best);
    // The other way round when asked: a unit of its own, starting from the worst.
    let flipped = ntk.replace(" }", ", higher_is_better = false }");
    let worst = ranked(store, "ntk", filter, "avg(lambda_min)", "ASC");
    assert_ne!(best, worst);
    assert_eq!(first_population(store, &search(store, &flipped)), worst);

    // A bound: lower is better by default.
    let bound = "{ table = \"bounds\", column = \"robust_bound\", beta = 0.5 }";
    let best_bound = ranked(store, "bounds", "weights = 'init' AND beta = 0.5", "avg(robust_bound)", "ASC");
    assert_eq!(first_population(store, &search(store, bound)), best_bound);

    // The released table searched with the run's NTKs, computed on another
    // dataset (the proxy study's way): `dataset` names it.
    let import = robbench(store, &["import", "nasrobbench201-html"]);
    assert!(import.status.success(), "{}", stderr(&import));
    let run = csv(store, None, "SELECT DISTINCT run_id FROM runs WHERE stage = 'ntk'").remove(0);
    let released = ["nas-robbench-201", "cifar10", "pgd@8"];
    let elsewhere = ntk.replace(" }", ", dataset = \"synthetic\" }");
    let o = search_table(store, released, Some(&run), &elsewhere);
    assert_eq!(first_population_of(store, &o, "nas-robbench-201"), best);
    let o = search_table(store, released, Some(&run), ntk);
    assert!(!o.status.success(), "{}", stdout(&o));
    assert!(stderr(&o).contains("has no rows for dataset `cifar10` (it has synthetic"), "{}", stderr(&o));

    // What is not there is named, with what is.
    let refused = |warm_start: &str, needles: &[&str]| {
        let o = search(store, warm_start);
        assert!(!o.status.success(), "{warm_start}: {}", stdout(&o));
        let e = stderr(&o);
        assert!(needles.iter().all(|n| e.contains(n)), "{warm_start}: {e}");
    };
    refused(
        "{ table = \"ntk\", column = \"lambda_min\", weights = \"trained\", kernel = \"robust\" }",
        &["search.warm_start", "weights `trained`", "it has weights init"],
    );
    refused(
        "{ table = \"ntk\", column = \"lambda_min\", kernel = \"all\", beta = 0.3 }",
        &["ntk.all.lambda_min (weights init, beta 0.3)", "kernel all beta 0.5"],
    );
    refused(
        "{ table = \"ntk\", column = \"lambda_mean\", kernel = \"robust\" }",
        &["search.warm_start", "lambda_mean", "lambda_min"],
    );
    refused(
        "{ table = \"ntk\", column = \"trace\", kernel = \"robust\" }",
        &["search.warm_start.higher_is_better", "ntk.robust.trace"],
    );
}

/// A live search of the warm start alone on the tiny recipe: a pool of four
/// random cells scored by `warm_start` at initialisation, the best two trained.
fn live(store: &Path, warm_start: &str) -> std::process::Output {
    let mut args: Vec<String> =
        ["search", "--config", "configs/live-search.toml", "--device", &device(), "--jobs", "2"]
            .map(String::from)
            .to_vec();
    let sets = [
        "search.algorithms=[\"warm-start-evolution\"]".to_string(),
        "search.objectives=[{ kind = \"metric\", metric = \"clean\" }]".into(),
        "search.queries=2".into(),
        "search.settings.population=2".into(),
        "search.settings.sample=1".into(),
        "search.settings.warm_pool=4".into(),
        format!("search.warm_start={warm_start}"),
    ];
    let recipe = TINY.iter().filter(|s| !s.starts_with("architectures.")).map(|s| s.to_string());
    for set in sets.into_iter().chain(recipe) {
        args.extend(["--set".to_string(), set]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    robbench(store, &args)
}

#[test]
fn a_live_warm_start_computes_the_ntk_of_its_pool_at_initialisation() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path();
    let ntk = "{ table = \"ntk\", column = \"lambda_min\", kernel = \"robust\" }";
    let o = live(store, ntk);
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    let out = stdout(&o);
    // Only the first population is trained.
    assert!(out.contains("train units 2 executed, 0 reused"), "{out}");

    // One auxiliary run computed the pool's NTKs at initialisation.
    let scoring = csv(store, None, "SELECT DISTINCT run_id FROM runs WHERE stage = 'ntk'");
    let [scoring] = scoring.as_slice() else { panic!("{scoring:?}") };
    let pool = csv(store, Some(scoring), "SELECT count(DISTINCT arch_index), min(weights), max(weights) FROM ntk");
    let pool_size: usize = pool[0].split(',').next().unwrap().parse().unwrap();
    assert!((2..=4).contains(&pool_size) && pool[0].ends_with(",init,init"), "{pool:?}");
    let best = csv(
        store,
        Some(scoring),
        "SELECT arch_index FROM ntk WHERE weights = 'init' AND kernel = 'robust' AND beta = 0 \
         GROUP BY arch_index ORDER BY avg(lambda_min) DESC, arch_index LIMIT 2",
    );
    let run = out.lines().find(|l| l.starts_with("run ")).unwrap().split_whitespace().nth(1).unwrap();
    let first = csv(
        store,
        Some(run.trim_end_matches(':')),
        "SELECT arch_index FROM search_steps WHERE algorithm = 'warm-start-evolution' ORDER BY step",
    );
    assert_eq!(first, best);

    // Again: every unit is reused, the NTKs as well.
    let again = live(store, ntk);
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(stdout(&again).contains("train units 0 executed, 2 reused"), "{}", stdout(&again));
    let ntk_units = csv(
        store,
        None,
        "SELECT status, count(*) FROM runs WHERE stage = 'ntk' GROUP BY run_id, status ORDER BY run_id",
    );
    assert_eq!(ntk_units, [format!("executed,{pool_size}"), format!("reused,{pool_size}")]);

    // A live warm start scores untrained networks, with the recipe's betas.
    let refused = |warm_start: &str, needles: &[&str]| {
        let o = live(store, warm_start);
        assert!(!o.status.success(), "{warm_start}: {}", stdout(&o));
        let e = stderr(&o);
        assert!(needles.iter().all(|n| e.contains(n)), "{warm_start}: {e}");
    };
    refused(
        "{ table = \"ntk\", column = \"lambda_min\", kernel = \"robust\", weights = \"trained\" }",
        &["search.warm_start.weights", "init"],
    );
    refused("{ table = \"ntk\", column = \"lambda_min\", kernel = \"all\", beta = 0.3 }", &["beta 0.3", "ntk.betas"]);
    refused("{ metric = \"nwot\" }", &["search.warm_start", "`ntk` or `bounds`"]);
    refused(
        "{ table = \"ntk\", column = \"lambda_min\", kernel = \"robust\", dataset = \"cifar10\" }",
        &["search.warm_start.dataset", "recipe's dataset", "not `cifar10`"],
    );
}
