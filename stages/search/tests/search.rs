//! Each algorithm on hand-made tables with known optima.

use std::collections::HashSet;

use robbench_search::{Algorithm, Budget, Objective, Optimum, Settings, Table, hypervolume, search};
use robbench_space::{Arch, ModelShape, Op, SPACE_SIZE, Space, canonical_form, cost};

/// Every class of the space, valued by how many 3x3 convolutions its
/// canonical form applies (all-conv3x3 uniquely has the most: 7), costing its
/// CIFAR-10 FLOPs / 100 GPU-hours.
fn conv_landscape() -> Table {
    let space = Space::nb201();
    let shape = ModelShape::nb201(10, 32);
    let rows = space.representatives().into_iter().map(|i| {
        let arch = space.archs()[i];
        let value = canonical_form(&arch).matches("nor_conv_3x3").count() as f64;
        (i, vec![value], cost(&arch, &shape).flops / 100.0)
    });
    Table::from_rows(rows).unwrap()
}

fn all_conv3x3() -> usize {
    Space::nb201().index_of(&Arch::new([Op::NorConv3x3; 6]))
}

/// Twelve classes with hand-picked values: (cell, [clean, robust]).
fn tiny_rows() -> Vec<(usize, [f64; 2])> {
    let space = Space::nb201();
    let reps = space.representatives();
    let values = [
        [0.90, 0.30],
        [0.85, 0.40],
        [0.80, 0.46],
        [0.70, 0.44],
        [0.60, 0.50],
        [0.50, 0.20],
        [0.88, 0.10],
        [0.30, 0.30],
        [0.75, 0.35],
        [0.65, 0.25],
        [0.55, 0.48],
        [0.20, 0.05],
    ];
    values.iter().enumerate().map(|(k, v)| (reps[k * 500], *v)).collect()
}

fn tiny(objective: Objective) -> Table {
    let rows = tiny_rows().into_iter().map(|(cell, v)| {
        let values = if objective == Objective::Single { vec![v[1]] } else { v.to_vec() };
        (cell, values, 1.0)
    });
    Table::from_rows(rows).unwrap()
}

const REF: [f64; 2] = [0.0, 0.0];

#[test]
fn every_guided_algorithm_reaches_the_known_optimum_of_the_conv_landscape() {
    // Random search needs about the whole table for one class in 6,466; it
    // reaches the optimum of the tiny table below.
    let table = conv_landscape().with_scores((0..SPACE_SIZE).map(|i| (i, (i % 7) as f64))).unwrap();
    let optimum = all_conv3x3();
    for algorithm in Algorithm::ALL.into_iter().filter(|&a| a != Algorithm::Random) {
        for seed in 0..3 {
            // The GP's fits grow cubically with the queries; it needs fewer.
            let queries = if algorithm == Algorithm::GpBayesopt { 150 } else { 400 };
            let budget = Budget { queries, cost: None };
            let trace = search(&table, Objective::Single, algorithm, &Settings::default(), budget, seed, REF).unwrap();
            assert_eq!(trace.optimum, Optimum::Scalar { class: optimum, value: 7.0 });
            let best = trace.best().unwrap();
            assert_eq!(best.class, optimum, "{} seed {seed}: best {:?}", algorithm.name(), best);
            assert_eq!(trace.final_regret(), Some(0.0));
        }
    }
}

#[test]
fn regret_is_zero_exactly_from_the_query_that_finds_the_optimum() {
    let table = conv_landscape();
    // Random search needs about the whole table; the warm start needs scores.
    for algorithm in [Algorithm::RegularizedEvolution, Algorithm::LocalSearch, Algorithm::GpBayesopt] {
        let budget = Budget { queries: 250, cost: None };
        let trace = search(&table, Objective::Single, algorithm, &Settings::default(), budget, 11, REF).unwrap();
        let found = trace.steps.iter().position(|s| s.class == all_conv3x3()).expect("optimum found");
        for (k, step) in trace.steps.iter().enumerate() {
            assert_eq!(step.regret == 0.0, k >= found, "{} step {}", algorithm.name(), step.step);
            assert!(step.regret >= 0.0);
            assert_eq!(step.regret, 7.0 - step.best_so_far);
        }
    }
}

#[test]
fn queries_are_distinct_classes_of_the_table_and_respect_the_budget() {
    let space = Space::nb201();
    let table = conv_landscape().with_scores((0..SPACE_SIZE).map(|i| (i, i as f64))).unwrap();
    for algorithm in Algorithm::ALL {
        let budget = Budget { queries: 150, cost: None };
        let trace = search(&table, Objective::Single, algorithm, &Settings::default(), budget, 5, REF).unwrap();
        assert_eq!(trace.steps.len(), 150, "{}", algorithm.name());
        let classes: HashSet<usize> = trace.steps.iter().map(|s| s.class).collect();
        assert_eq!(classes.len(), 150, "{} queried a class twice", algorithm.name());
        for (k, s) in trace.steps.iter().enumerate() {
            assert_eq!(s.step, k + 1);
            assert_eq!(space.unique_index(s.class).unwrap(), s.class, "a query is a class representative");
            assert_eq!(s.values, table.get(s.class).unwrap().values);
        }
        let total: f64 = trace.steps.iter().map(|s| table.get(s.class).unwrap().cost).sum();
        assert!((trace.steps.last().unwrap().cost - total).abs() < 1e-9);
    }
}

#[test]
fn a_cost_budget_stops_the_search_at_the_first_query_reaching_it() {
    let table = conv_landscape();
    let budget = Budget { queries: 10_000, cost: Some(20.0) };
    for algorithm in [Algorithm::Random, Algorithm::RegularizedEvolution, Algorithm::LocalSearch] {
        let trace = search(&table, Objective::Single, algorithm, &Settings::default(), budget, 3, REF).unwrap();
        let costs: Vec<f64> = trace.steps.iter().map(|s| s.cost).collect();
        assert!(*costs.last().unwrap() >= 20.0);
        assert!(costs[costs.len() - 2] < 20.0, "{}", algorithm.name());
    }
}

#[test]
fn seeded_runs_are_reproducible() {
    let table = conv_landscape().with_scores((0..SPACE_SIZE).map(|i| (i, (i % 13) as f64))).unwrap();
    for algorithm in Algorithm::ALL {
        let run = |seed| {
            let budget = Budget { queries: 60, cost: None };
            search(&table, Objective::Single, algorithm, &Settings::default(), budget, seed, REF).unwrap().steps
        };
        assert_eq!(run(4), run(4), "{}", algorithm.name());
        assert_ne!(run(4), run(5), "{}", algorithm.name());
    }
}

#[test]
fn tiny_table_every_algorithm_finds_the_single_weighted_and_pareto_optima() {
    // Robust accuracy alone: class 4 (0.50) is best.
    let single = tiny(Objective::Single);
    // β = 0.5: (0.80 + 0.46)/2 = 0.63 (class 2) beats (0.85 + 0.40)/2 = 0.625.
    let weighted = Objective::Weighted { beta: 0.5 };
    let two = tiny(Objective::Pareto);
    let rows = tiny_rows();
    let by_position = |k: usize| rows[k].0;
    for algorithm in Algorithm::ALL {
        let settings = Settings { population: 4, sample: 2, initial: 3, ..Settings::default() };
        let budget = Budget { queries: 12, cost: None };
        let scored = |t: &Table| t.clone().with_scores(rows.iter().map(|r| (r.0, r.1[0]))).unwrap();

        let t = search(&scored(&single), Objective::Single, algorithm, &settings, budget, 1, REF).unwrap();
        assert_eq!(t.optimum, Optimum::Scalar { class: by_position(4), value: 0.50 });
        assert_eq!(t.best().unwrap().class, by_position(4), "{}", algorithm.name());
        assert_eq!(t.steps.len(), 12);

        let t = search(&scored(&two), weighted, algorithm, &settings, budget, 1, REF).unwrap();
        assert_eq!(t.optimum, Optimum::Scalar { class: by_position(2), value: 0.5 * 0.80 + 0.5 * 0.46 });
        assert_eq!(t.final_regret(), Some(0.0));

        let t = search(&scored(&two), Objective::Pareto, algorithm, &settings, budget, 1, REF).unwrap();
        // Front: 0.90/0.30, 0.85/0.40, 0.80/0.46, 0.60/0.50; staircase area
        // 0.90·0.30 + 0.85·0.10 + 0.80·0.06 + 0.60·0.04 = 0.427.
        let Optimum::Front { front, hypervolume: hv } = &t.optimum else { panic!("a front") };
        let front_ids: Vec<usize> = front.iter().map(|p| p.0).collect();
        assert_eq!(front_ids, [0, 1, 2, 4].map(by_position));
        assert!((hv - 0.427).abs() < 1e-12, "{hv}");
        assert_eq!(t.front().iter().map(|p| p.0).collect::<Vec<_>>(), front_ids);
        assert!(t.final_regret().unwrap().abs() < 1e-12);
    }
}

#[test]
fn two_objective_regret_is_the_hypervolume_gap() {
    let two = tiny(Objective::Pareto);
    let budget = Budget { queries: 5, cost: None };
    let t = search(&two, Objective::Pareto, Algorithm::Random, &Settings::default(), budget, 2, REF).unwrap();
    for (k, step) in t.steps.iter().enumerate() {
        let seen: Vec<[f64; 2]> = t.steps[..=k].iter().map(|s| [s.values[0], s.values[1]]).collect();
        assert!((step.best_so_far - hypervolume(&seen, REF)).abs() < 1e-12);
        assert!((step.regret - (0.427 - step.best_so_far)).abs() < 1e-12);
    }
}

#[test]
fn isomorphic_rows_are_one_class_and_bad_input_is_named() {
    let space = Space::nb201();
    // Two cells of the all-none class.
    let none = space.index_of(&Arch::new([Op::None; 6]));
    let mut other = [Op::None; 6];
    other[0] = Op::NorConv3x3; // 0→1 leads nowhere: same function
    let other = space.index_of(&Arch::new(other));
    assert_eq!(space.unique_index(none).unwrap(), space.unique_index(other).unwrap());
    let table = Table::from_rows([(none, vec![0.1], 1.0), (other, vec![0.3], 3.0)]).unwrap();
    assert_eq!(table.len(), 1);
    let entry = table.get(space.unique_index(none).unwrap()).unwrap();
    assert!((entry.values[0] - 0.2).abs() < 1e-12 && entry.cost == 2.0);
    assert!(table.cells().contains(&none) && table.cells().contains(&other));

    let e = Table::from_rows([(3, vec![0.1], 1.0), (4, vec![0.1, 0.2], 1.0)]).unwrap_err().to_string();
    assert!(e.contains("cell 4"), "{e}");
    let e = Table::from_rows([(3, vec![f64::NAN], 1.0)]).unwrap_err().to_string();
    assert!(e.contains("cell 3") && e.contains("NaN"), "{e}");
    assert!(Table::from_rows([(20_000, vec![0.1], 1.0)]).is_err());
    let budget = Budget { queries: 5, cost: None };
    let e = search(&table, Objective::Pareto, Algorithm::Random, &Settings::default(), budget, 0, REF).unwrap_err();
    assert!(e.to_string().contains("needs 2"), "{e}");
    let e = search(&table, Objective::Single, Algorithm::WarmStartEvolution, &Settings::default(), budget, 0, REF);
    assert!(e.unwrap_err().to_string().contains("training-free score"));
}

#[test]
fn warm_start_begins_with_the_best_scored_of_its_pool() {
    let table = conv_landscape();
    // A perfect proxy: the score is the value itself.
    let scores: Vec<(usize, f64)> = table.entries().map(|(c, e)| (c, e.values[0])).collect();
    let table = table.with_scores(scores).unwrap();
    let settings = Settings { population: 10, warm_pool: 200, ..Settings::default() };
    let budget = Budget { queries: 30, cost: None };
    let t = search(&table, Objective::Single, Algorithm::WarmStartEvolution, &settings, budget, 9, REF).unwrap();
    let first: Vec<f64> = t.steps[..10].iter().map(|s| s.values[0]).collect();
    assert!(first.windows(2).all(|w| w[0] >= w[1]), "ranked by score: {first:?}");
    let random = search(&table, Objective::Single, Algorithm::Random, &settings, budget, 9, REF).unwrap();
    assert!(t.steps[9].best_so_far >= random.steps[9].best_so_far);
}
