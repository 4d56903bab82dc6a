"""A store made by `robbench run` (the default pipeline's, `make pipeline`):
the run's own benchmark through NasRobBench201's calls, and its trained
networks as PyTorch modules."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import pytest

import robbench
from conftest import REPO


@pytest.fixture(scope="module")
def db() -> robbench.Store:
    """The default pipeline's store (`make python-test` runs `make pipeline` first)."""
    root = pathlib.Path(os.environ.get("ROBBENCH_PIPELINE_STORE", REPO / "artifacts"))
    if not (root / "runs").is_dir():
        pytest.fail(f"no pipeline store at {root}: run `make pipeline` (make python-test does) first")
    return robbench.open(root)


def test_the_runs_benchmark_answers_from_its_evaluations(db):
    bench = db.benchmark()
    assert bench.origin.startswith("store:run ")
    rows = db.sql(
        "SELECT arch_index, dataset, attack, eps, avg(accuracy) AS accuracy FROM evaluations "
        "WHERE attack IN ('clean', 'pgd', 'fgsm') GROUP BY ALL ORDER BY arch_index, attack, eps"
    ).to_pylist()
    assert rows
    for row in rows:
        name = "val_acc" if row["attack"] == "clean" else f"val_{row['attack']}_{row['eps']:.1f}_acc"
        assert name in bench.metric_names
        value = bench.get_result(row["dataset"], row["arch_index"], name)
        assert value == pytest.approx(row["accuracy"], abs=1e-12)
    # A cell answers for its isomorphism class, as in the released benchmark.
    trained = rows[0]["arch_index"]
    uid = bench.get_uid(trained)
    member = next(i for i in range(15625) if bench.get_uid(i) == uid and i != trained)
    metric = bench.metric_names[0]
    dataset = rows[0]["dataset"]
    assert bench.get_result(dataset, member, metric) == bench.get_result(dataset, trained, metric)
    # Per seed, and untrained cells say so.
    seeds = [s for s in bench.seeds if s != "threeseed"]
    assert seeds and bench.get_result(dataset, trained, metric, seed=int(seeds[0])) >= 0
    untrained = next(i for i in range(15625) if bench.get_uid(i) not in {bench.get_uid(r["arch_index"]) for r in rows})
    with pytest.raises(robbench.SeedError, match=rf"no value of `{metric}`.*architecture {untrained}"):
        bench.get_result(dataset, untrained, metric)
    # The built-in search runs on the run's own benchmark too.
    steps = robbench.search(bench, dataset, metric, "random", queries=3).to_pylist()
    assert len(steps) == 3 and {s["source"] for s in steps} == {"evaluations"}


def test_an_import_only_store_has_no_run_benchmark(store):
    with pytest.raises(robbench.NotFoundError, match=r"imports only, no run\) has no `evaluations` rows"):
        robbench.open(store).benchmark()


def test_a_checkpoint_loads_into_pytorch(db):
    torch = pytest.importorskip("torch")
    safetensors = pytest.importorskip("safetensors.torch")
    model = db.sql("SELECT arch_index, dataset, seed, checkpoint, params FROM models ORDER BY arch_index LIMIT 1")
    row = model.to_pylist()[0]
    net = db.model(row["arch_index"], row["dataset"], row["seed"])
    assert isinstance(net, torch.nn.Module) and not net.training
    stored = safetensors.load_file(str(db.root / row["checkpoint"]))
    state = net.state_dict()
    assert state.keys() == stored.keys()
    assert all(torch.equal(state[k], stored[k]) for k in stored)
    assert sum(p.numel() for p in net.parameters()) == row["params"]
    # It normalises pixels itself; normalise=False takes normalised inputs.
    raw = robbench.model(row["arch_index"], row["dataset"], row["seed"], store=db.root, normalise=False)
    x = torch.rand(4, 3, 16, 16)
    with torch.no_grad():
        assert torch.allclose(net(x), raw((x - net.mean) / net.std), atol=1e-6)
    # By cell string too.
    cell = robbench.NasRobBench201().arch(row["arch_index"])["arch"]
    assert torch.equal(db.model(cell, row["dataset"], row["seed"]).classifier.weight, net.classifier.weight)


def test_a_missing_checkpoint_names_the_command_that_trains_it(db):
    trained = {r["arch_index"] for r in db.sql("SELECT arch_index FROM models").to_pylist()}
    missing = next(i for i in range(15625) if i not in trained)
    with pytest.raises(robbench.NotFoundError, match=rf"no checkpoint of architecture {missing}.*robbench --store .* run"):
        db.model(missing)
    with pytest.raises(robbench.NotFoundError, match=r"no dataset `cifar10`.*datasets: "):
        db.model(min(trained), "cifar10")
    with pytest.raises(robbench.NotFoundError, match=r"no seed `99`"):
        db.model(min(trained), seed=99)


def test_a_read_only_store_answers_the_same_without_being_written(db, tmp_path):
    """The pipeline's store on a real read-only mount (a private mount
    namespace: root's permission bypass cannot hide a write): the query's
    derived tables go to the user's cache, and the answer is the same."""
    root = pathlib.Path(os.environ.get("ROBBENCH_PIPELINE_STORE", REPO / "artifacts")).resolve()
    query = "SELECT arch_index, attack, eps, avg(accuracy) AS accuracy FROM evaluations GROUP BY ALL ORDER BY 1, 2, 3"
    program = (
        "import json, sys, robbench\n"
        f"rows = robbench.open({str(root)!r}).sql({query!r}).to_pylist()\n"
        "json.dump(rows, sys.stdout)\n"
    )
    script = 'mount --bind "$1" "$1" && mount -o remount,ro,bind "$1" "$1" || exit 97\nshift; exec "$@"'
    cache = tmp_path / "cache"
    done = subprocess.run(
        ["unshare", "--map-root-user", "--mount", "sh", "-c", script, "sh", str(root), sys.executable, "-c", program],
        capture_output=True,
        text=True,
        env={**os.environ, "ROBBENCH_STORE_CACHE": str(cache)},
    )
    assert done.returncode != 97, f"cannot make a read-only bind mount: {done.stderr}"
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == db.sql(query).to_pylist()
    assert any(cache.rglob("_SUCCESS.json")), "the derived tables were not built in the cache"
