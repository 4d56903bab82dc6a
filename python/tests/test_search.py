"""robbench.Oracle and robbench.search: a benchmark as a NAS method's oracle,
and robbench's algorithms on the same oracle and budget."""

from __future__ import annotations

import pytest

import robbench

PGD = "val_pgd_8.0_acc"


@pytest.fixture(scope="module")
def bench() -> robbench.NasRobBench201:
    return robbench.NasRobBench201()


def gpu_hours(bench, index, dataset="cifar10"):
    """NAS-RobBench-201's recipe (50 epochs of PGD-7 training on 50,000
    images) at 10 TFLOP/s, from the cell's FLOPs, as `robbench search`."""
    mflops = bench.get_cost_info(index, dataset)["flops"]
    return 2 * mflops * 1e6 * 3 * (1 + 7) * 50 * 50_000 / 10e12 / 3600


def test_the_oracle_answers_the_benchmark_and_counts_classes(bench):
    oracle = robbench.Oracle(bench, "cifar10", PGD, name="mine")
    best_index, best = bench.find_best("cifar10", PGD)
    assert oracle.optimum == best and oracle.regret == best and oracle.queries == 0
    isomorphic = next(i for i in range(15625) if bench.get_uid(i) != str(i))
    first = int(bench.get_uid(isomorphic))
    answers = [oracle.query(i) for i in (first, isomorphic, 1462, bench.arch(1462)["arch"], best_index)]
    assert answers[0] == answers[1] == bench.get_result("cifar10", first, PGD)
    assert answers[2] == answers[3] == bench.get_result("cifar10", 1462, PGD)
    # An isomorphic cell and a repeated query are free: three classes, five calls.
    assert (oracle.queries, oracle.calls) == (3, 5)
    assert oracle.regret == 0.0
    expected = sum(gpu_hours(bench, i) for i in (first, 1462, best_index))
    assert oracle.cost == pytest.approx(expected, rel=1e-12)

    steps = oracle.trajectory().to_pylist()
    assert [s["step"] for s in steps] == [1, 2, 3]
    assert [s["arch_index"] for s in steps] == [first, 1462, best_index]
    assert {s["algorithm"] for s in steps} == {"mine"} and steps[0]["objective"] == PGD
    assert [s["regret"] for s in steps] == [best - s["best_so_far"] for s in steps]
    assert steps[-1]["regret"] == 0.0 and steps[0]["value"] == answers[0]
    assert "3 queries, 5 calls" in repr(oracle)


def test_weighted_and_pareto_objectives(bench):
    weighted = robbench.Oracle(bench, "cifar10", ("val_acc", PGD), beta=0.25)
    clean, robust = bench.get_result("cifar10", 2581, "val_acc"), bench.get_result("cifar10", 2581, PGD)
    assert weighted.query(2581) == pytest.approx(0.75 * clean + 0.25 * robust, abs=1e-15)

    pareto = robbench.Oracle(bench, "cifar10", ["val_acc", PGD])
    assert pareto.query(2581) == (clean, robust)
    assert pareto.trajectory().to_pylist()[0]["best_so_far"] == pytest.approx(clean * robust)
    assert 0 < pareto.regret < pareto.optimum <= 1.0
    # Smaller cells are better: a leading '-' minimises FLOPs.
    small = robbench.Oracle(bench, "cifar10", (PGD, "-flops"))
    assert small.query(2581)[1] == -bench.get_cost_info(2581, "cifar10")["flops"]


def test_the_budget_and_bad_input(bench):
    oracle = robbench.Oracle(bench, "cifar10", PGD, budget=2)
    oracle.query(0), oracle.query(1462)
    oracle.query(0)  # known: free
    with pytest.raises(robbench.Error, match="budget of 2 queries is spent"):
        oracle.query(2581)
    assert oracle.queries == 2
    with pytest.raises(robbench.NotFoundError, match=r"unknown metric `val_pgd_8_0_acc`"):
        robbench.Oracle(bench, "cifar10", "val_pgd_8_0_acc")
    with pytest.raises(robbench.NotFoundError, match="unknown dataset `cifar1`"):
        robbench.Oracle(bench, "cifar1", PGD)
    with pytest.raises(TypeError, match="a pair of them"):
        robbench.Oracle(bench, "cifar10", 3)
    with pytest.raises(robbench.NotFoundError, match="beta weights two metrics"):
        robbench.Oracle(bench, "cifar10", PGD, beta=0.5)
    with pytest.raises(robbench.NotFoundError, match="out of range"):
        oracle.query(15625)
    with pytest.raises(robbench.NotFoundError, match="not-a-cell|cell"):
        oracle.query("not-a-cell")


def test_search_runs_the_built_in_algorithms_on_equal_budgets(bench):
    algorithms = ["random", "regularized-evolution", "local-search", "gp-bayesopt", "warm-start-evolution"]
    steps = robbench.search(bench, "cifar10", PGD, queries=40, trials=2, seed=7, candidates=20).to_pylist()
    assert {s["algorithm"] for s in steps} == set(algorithms)
    _, best = bench.find_best("cifar10", PGD)
    for algorithm in algorithms:
        for trial in (0, 1):
            trace = [s for s in steps if s["algorithm"] == algorithm and s["trial"] == trial]
            assert [s["step"] for s in trace] == list(range(1, 41)), (algorithm, trial)
            # Distinct classes, each answered as the benchmark does.
            assert len({s["arch_index"] for s in trace}) == 40
            for s in trace[:5]:
                assert s["value"] == bench.get_result("cifar10", s["arch_index"], PGD)
                assert bench.get_uid(s["arch_index"]) == str(s["arch_index"])
            regrets = [s["regret"] for s in trace]
            assert all(a >= b for a, b in zip(regrets, regrets[1:])) and regrets[-1] >= 0
            assert regrets == [best - s["best_so_far"] for s in trace]
    # Seeded: the same call gives the same rows; another seed, other queries.
    again = robbench.search(bench, "cifar10", PGD, queries=40, trials=2, seed=7, candidates=20).to_pylist()
    assert again == steps
    other = robbench.search(bench, "cifar10", PGD, "random", queries=40, seed=8).to_pylist()
    assert [s["arch_index"] for s in other] != [s["arch_index"] for s in steps if s["algorithm"] == "random"][:40]


def test_a_method_and_the_built_in_ones_compare_row_for_row(bench):
    """A user's method through the Oracle gives the same rows as the built-in
    random search when it asks the same cells."""
    reference = robbench.search(bench, "cifar10", ("val_acc", PGD), "random", beta=0.5, queries=25).to_pylist()
    oracle = robbench.Oracle(bench, "cifar10", ("val_acc", PGD), beta=0.5, name="random")
    for row in reference:
        oracle.query(row["arch"])
    assert oracle.trajectory().to_pylist() == reference


def test_a_cost_budget_stops_the_search(bench):
    steps = robbench.search(bench, "cifar10", PGD, "random", queries=10_000, gpu_hours=50.0).to_pylist()
    assert steps[-1]["cost"] >= 50.0 > steps[-2]["cost"]


def test_search_bad_input(bench):
    with pytest.raises(robbench.NotFoundError, match=r"unknown algorithm `local_search` \(did you mean `local-search`"):
        robbench.search(bench, "cifar10", PGD, "local_search")
    with pytest.raises(robbench.NotFoundError, match="unknown zero-cost proxy `nwott`.*did you mean `nwot`"):
        robbench.search(bench, "cifar10", PGD, "warm-start-evolution", warm_start="nwott")
    with pytest.raises(robbench.NotFoundError, match="sample must be between 1 and population"):
        robbench.search(bench, "cifar10", PGD, "regularized-evolution", sample=50)
    with pytest.raises(robbench.NotFoundError, match="no zero-cost proxies for dataset `cifar100`"):
        robbench.search(bench, "cifar100", PGD, "warm-start-evolution")
