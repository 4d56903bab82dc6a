//! The oracle abstraction: tabular results are those of the table-only code
//! it replaced, and a search reads an oracle only through its batches.

use robbench_search::{
    Algorithm, Budget, Entry, Objective, Optimum, Oracle, SearchError, Settings, Step, Table, explore, search,
};
use robbench_space::{ModelShape, SPACE_SIZE, Space, canonical_form, cost};

/// Every class valued by (3x3 convolutions, 1x1 convolutions) in its canonical form, FLOPs-costed.
fn landscape(two: bool) -> Table {
    let space = Space::nb201();
    let shape = ModelShape::nb201(10, 32);
    let rows = space.representatives().into_iter().map(|i| {
        let arch = space.archs()[i];
        let form = canonical_form(&arch);
        let conv3 = form.matches("nor_conv_3x3").count() as f64;
        let conv1 = form.matches("nor_conv_1x1").count() as f64 + (i % 5) as f64 / 10.0;
        let values = if two { vec![conv3, conv1] } else { vec![conv3 + (i % 7) as f64 / 100.0] };
        (i, values, cost(&arch, &shape).flops / 100.0)
    });
    Table::from_rows(rows).unwrap().with_scores((0..SPACE_SIZE).map(|i| (i, (i % 11) as f64))).unwrap()
}

/// FNV-1a over every field of every step: a fingerprint of a whole trace.
fn fingerprint(steps: &[Step]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |x: u64| {
        for b in x.to_le_bytes() {
            h = (h ^ b as u64).wrapping_mul(0x100_0000_01b3);
        }
    };
    for s in steps {
        eat(s.step as u64);
        eat(s.class as u64);
        s.values.iter().for_each(|v| eat(v.to_bits()));
        eat(s.best_so_far.to_bits());
        eat(s.regret.to_bits());
        eat(s.cost.to_bits());
    }
    h
}

/// Per algorithm (in `Algorithm::ALL` order) × objective × budget.
const GOLDEN: [&str; 30] = [
    "f448d94731d126cb",
    "1e605d669c834144",
    "7297b2600d7af07e",
    "52a887c00a95b932",
    "65fde00ce5ca4351",
    "02552e98ed291d6c",
    "e17471503a022f51",
    "dc754fa9cc89e9e1",
    "f24f6122282712e0",
    "a4a83e92e1d70f19",
    "8498057ca582cd24",
    "8498057ca582cd24",
    "be7042fbf69f3a9f",
    "2e5e3c0ae93d518c",
    "9217a01afe902de2",
    "ac612009e7d6ba54",
    "fdf1f63a19939adc",
    "94203ecae79a8c4f",
    "5aac2ca86957c65c",
    "eabd9366021f2d98",
    "6f1ed778d122c103",
    "115025a37bff5e5a",
    "b6eab4f263f116cb",
    "3933dab5ff959376",
    "d47ea9d74076e6ec",
    "96c3b16fb141f471",
    "5ea3bc2ebfca2c0f",
    "ced571964a3dd593",
    "3145f18cd1fab5ee",
    "eb5c3ead94e1ed2c",
];

#[test]
fn tabular_traces_are_those_of_the_table_only_search() {
    let single = landscape(false);
    let two = landscape(true);
    let settings = Settings { population: 8, sample: 3, initial: 5, candidates: 40, warm_pool: 100 };
    let mut got = Vec::new();
    for algorithm in Algorithm::ALL {
        for (table, objective) in
            [(&single, Objective::Single), (&two, Objective::Weighted { beta: 0.3 }), (&two, Objective::Pareto)]
        {
            for budget in [Budget { queries: 40, cost: None }, Budget { queries: 1000, cost: Some(30.0) }] {
                let t = search(table, objective, algorithm, &settings, budget, 17, [0.0, 0.0]).unwrap();
                got.push(format!("{:016x}", fingerprint(&t.steps)));
            }
        }
    }
    // Recorded from the search before the oracle abstraction (commit 1c4e241):
    // the refactoring must not change a single query, value, regret or cost.
    let before = GOLDEN;
    assert_eq!(got, before);
}

/// A table behind the trait, recording every batch it is asked for; it
/// fails once asked for more than `fail_after` classes.
struct Recording<'a> {
    table: &'a Table,
    batches: Vec<Vec<usize>>,
    fail_after: usize,
}

impl Oracle for Recording<'_> {
    fn arity(&self) -> usize {
        self.table.arity()
    }
    fn cells(&self) -> &[usize] {
        self.table.cells()
    }
    fn classes(&self) -> usize {
        self.table.len()
    }
    fn answers(&self, class: usize) -> bool {
        self.table.get(class).is_some()
    }
    fn score(&self, class: usize) -> Option<f64> {
        self.table.score(class)
    }
    fn evaluate(&mut self, classes: &[usize]) -> Result<Vec<Entry>, SearchError> {
        self.batches.push(classes.to_vec());
        if self.batches.iter().map(Vec::len).sum::<usize>() > self.fail_after {
            return Err(SearchError::Oracle("the cluster is down".into()));
        }
        Ok(classes.iter().map(|&c| self.table.get(c).unwrap().clone()).collect())
    }
}

#[test]
fn a_search_asks_an_oracle_for_each_query_once_in_batches_within_the_budget() {
    let table = landscape(false);
    let settings = Settings { population: 8, sample: 3, initial: 5, candidates: 40, warm_pool: 100 };
    for algorithm in Algorithm::ALL {
        for budget in [Budget { queries: 30, cost: None }, Budget { queries: 1000, cost: Some(20.0) }] {
            let mut oracle = Recording { table: &table, batches: Vec::new(), fail_after: usize::MAX };
            let explored =
                explore(&mut oracle, Objective::Single, algorithm, &settings, budget, 3, [0.0, 0.0]).unwrap();
            let optimum =
                Optimum::of(table.entries().map(|(c, e)| (c, e.values.as_slice())), Objective::Single, [0.0; 2]);
            let trace = explored.against(optimum.unwrap());
            let direct = search(&table, Objective::Single, algorithm, &settings, budget, 3, [0.0, 0.0]).unwrap();
            assert_eq!(trace, direct, "{}", algorithm.name());
            // Exactly the queried classes were asked for, each once, in query order.
            let asked: Vec<usize> = oracle.batches.concat();
            let queried: Vec<usize> = trace.steps.iter().map(|s| s.class).collect();
            assert_eq!(asked, queried, "{}", algorithm.name());
            let largest = oracle.batches.iter().map(Vec::len).max().unwrap();
            match (algorithm, budget.cost) {
                // Under a cost budget the oracle is asked one class at a time.
                (_, Some(_)) => assert_eq!(largest, 1, "{}", algorithm.name()),
                // Random search asks for its whole budget at once, the others for a
                // population, initial sample or neighbourhood.
                (Algorithm::Random, None) => assert_eq!(oracle.batches, std::slice::from_ref(&queried)),
                (_, None) => assert!(largest >= 5, "{}: {:?}", algorithm.name(), oracle.batches),
            }
        }
    }
}

#[test]
fn an_oracle_failure_ends_the_search_with_its_error() {
    let table = landscape(false);
    for algorithm in [Algorithm::RegularizedEvolution, Algorithm::LocalSearch, Algorithm::GpBayesopt] {
        let mut oracle = Recording { table: &table, batches: Vec::new(), fail_after: 12 };
        let budget = Budget { queries: 50, cost: None };
        let e = explore(&mut oracle, Objective::Single, algorithm, &Settings::default(), budget, 1, [0.0, 0.0]);
        assert_eq!(e.unwrap_err().to_string(), "the cluster is down", "{}", algorithm.name());
        // The failing batch was the last one asked for.
        let (last, before) = oracle.batches.split_last().unwrap();
        let before = before.iter().map(Vec::len).sum::<usize>();
        assert!(before <= 12 && before + last.len() > 12, "{}: {:?}", algorithm.name(), oracle.batches);
    }
}

#[test]
fn the_optimum_of_points_breaks_ties_by_index_whatever_their_order() {
    let points = [(9, vec![0.5]), (4, vec![0.5]), (7, vec![0.2])];
    let optimum = Optimum::of(points.iter().map(|(c, v)| (*c, v.as_slice())), Objective::Single, [0.0; 2]);
    assert_eq!(optimum, Some(Optimum::Scalar { class: 4, value: 0.5 }));
    assert_eq!(Optimum::of(std::iter::empty(), Objective::Single, [0.0; 2]), None);
}

/// A table whose scores are computed on request: `cost` per class asked for.
struct Scoring<'a> {
    table: &'a Table,
    computed: std::collections::HashMap<usize, f64>,
    requests: Vec<Vec<usize>>,
    cost: f64,
}

impl Oracle for Scoring<'_> {
    fn arity(&self) -> usize {
        self.table.arity()
    }
    fn cells(&self) -> &[usize] {
        self.table.cells()
    }
    fn classes(&self) -> usize {
        self.table.len()
    }
    fn answers(&self, class: usize) -> bool {
        self.table.get(class).is_some()
    }
    fn score(&self, class: usize) -> Option<f64> {
        self.computed.get(&class).copied()
    }
    fn scores_on_request(&self) -> bool {
        true
    }
    fn compute_scores(&mut self, classes: &[usize]) -> Result<f64, SearchError> {
        self.requests.push(classes.to_vec());
        // Every third class has no score (a singular kernel, say).
        self.computed.extend(classes.iter().filter(|&&c| c % 3 != 0).map(|&c| (c, self.table.score(c).unwrap())));
        Ok(self.cost * classes.len() as f64)
    }
    fn evaluate(&mut self, classes: &[usize]) -> Result<Vec<Entry>, SearchError> {
        Ok(classes.iter().map(|&c| self.table.get(c).unwrap().clone()).collect())
    }
}

#[test]
fn a_warm_start_on_request_scores_its_pool_in_one_batch_and_pays_for_it() {
    let table = landscape(false);
    let settings = Settings { population: 6, warm_pool: 40, ..Settings::default() };
    let budget = Budget { queries: 20, cost: None };
    let mut oracle = Scoring { table: &table, computed: Default::default(), requests: Vec::new(), cost: 0.5 };
    let explored =
        explore(&mut oracle, Objective::Single, Algorithm::WarmStartEvolution, &settings, budget, 5, [0.0, 0.0]);
    let visits = explored.unwrap().visits;
    // One request: the distinct classes of the pool's draws.
    let [pool] = oracle.requests.as_slice() else { panic!("{:?}", oracle.requests) };
    assert!(pool.len() > settings.population && pool.len() <= settings.warm_pool, "{pool:?}");
    let mut distinct = pool.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), pool.len());
    // The first population: the best scored classes of the pool, best first.
    let mut ranked: Vec<(usize, f64)> = pool.iter().filter_map(|&c| oracle.computed.get(&c).map(|&s| (c, s))).collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let first: Vec<usize> = visits[..settings.population].iter().map(|v| v.class).collect();
    let best: Vec<usize> = ranked[..settings.population].iter().map(|r| r.0).collect();
    assert_eq!(first, best);
    // Scoring costs before the first query.
    let scoring = 0.5 * pool.len() as f64;
    assert!((visits[0].cost - scoring - table.get(first[0]).unwrap().cost).abs() < 1e-9, "{}", visits[0].cost);
    assert_eq!(visits.len(), budget.queries);
}
