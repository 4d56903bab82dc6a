"""robbench.NasRobBench201: drop-in for the official class on official-layout
files, the shipped release, NATS-Bench-style calls and bad input."""

from __future__ import annotations

import json
import math
import random

import pytest

import robbench
from conftest import DATA, OFFICIAL_METRIC, shipped_table

DATASETS = ["cifar10", "cifar100", "imagenet"]
METRICS = list(OFFICIAL_METRIC.values())
SAMPLE = random.Random(26).sample(range(15625), 300)


@pytest.fixture(scope="module")
def shipped() -> robbench.NasRobBench201:
    return robbench.NasRobBench201()


@pytest.fixture(scope="module")
def loaded(official_files) -> robbench.NasRobBench201:
    return robbench.NasRobBench201(*[str(p) for p in official_files])


def test_get_result_equals_the_official_class_for_every_metric_of_a_sample(loaded, official):
    checked = 0
    for index in SAMPLE:
        for dataset in DATASETS:
            for metric in METRICS:
                expected = official.get_result(dataset, index, metric)
                assert loaded.get_result(dataset, index, metric) == expected, (dataset, index, metric)
                checked += 1
    assert checked == len(SAMPLE) * 3 * 6


def test_other_seeds_and_the_mean(loaded, official):
    for index in SAMPLE[:50]:
        for metric in METRICS:
            for seed in ["1", "2", "3", "threeseed"]:
                expected = official.get_result("cifar100", index, metric, seed)
                assert loaded.get_result("cifar100", index, metric, seed=seed) == expected
            # ints name seeds too, as does "mean"
            assert loaded.get_result("cifar100", index, metric, seed=2) == official.get_result(
                "cifar100", index, metric, "2"
            )
            assert loaded.get_result("cifar100", index, metric, seed="mean") == official.get_result(
                "cifar100", index, metric, "threeseed"
            )
    assert loaded.seeds == ["1", "2", "3", "threeseed"]


def test_indices_as_strings_and_isomorphic_cells(loaded, official):
    for index in SAMPLE[:20]:
        assert loaded.get_result("cifar10", str(index), "val_acc") == official.get_result("cifar10", index, "val_acc")
        assert loaded.get_uid(index) == official.get_uid(index)
        rep = int(official.get_uid(index))
        assert loaded.get_result("imagenet", index, "autoattack") == loaded.get_result("imagenet", rep, "autoattack")


def test_the_whole_space_through_one_vectorised_call(loaded, official):
    pa = pytest.importorskip("pyarrow")
    for dataset in DATASETS:
        table = pa.table(loaded.metrics(dataset))
        assert table.num_rows == 15625
        assert table.column_names == ["arch_index", "representative", "arch", *METRICS]
        for metric in METRICS:
            column = table.column(metric).to_pylist()
            assert column == [official.get_result(dataset, i, metric) for i in range(15625)], metric
    seed3 = pa.table(loaded.metrics("cifar10", seed="3")).column("val_acc").to_pylist()
    assert seed3[:100] == [official.get_result("cifar10", i, "val_acc", "3") for i in range(100)]


def test_the_shipped_release_serves_the_released_means(shipped):
    table = shipped_table()
    columns = [c.split("#") for c in table[""]]
    for index in SAMPLE:
        row = table[str(index)]
        rep = index if isinstance(row, list) else int(row)
        values = table[str(rep)]
        for (dataset, metric), value in zip(columns, values):
            assert shipped.get_result(dataset, index, OFFICIAL_METRIC[metric]) == value
            # the project page's name, robbench's name and the explicit mean
            assert shipped.get_result(dataset, index, metric) == value
            assert shipped.get_result(dataset, index, OFFICIAL_METRIC[metric], seed="threeseed") == value
    assert shipped.get_result("cifar10", 2581, "pgd@8") == shipped.get_result("cifar10", 2581, "val_pgd_8.0_acc")
    assert shipped.get_result("ImageNet16-120", 2581, "clean") == shipped.get_result("imagenet", 2581, "val_acc")
    assert shipped.seeds == ["threeseed"]
    assert len(shipped) == 15625
    assert "shipped:" in shipped.origin and "threeseed" in repr(shipped)


def test_the_shipped_release_has_no_per_seed_values(shipped):
    with pytest.raises(robbench.SeedError, match=r"no seed `1`.*means over the seeds"):
        shipped.get_result("cifar10", 0, "val_acc", seed="1")
    with pytest.raises(robbench.SeedError, match="no seed `7`"):
        shipped.get_result("cifar10", 0, "val_acc", seed=7)


def test_a_metric_without_per_seed_values_says_so(tmp_path):
    results = {"cifar10": {"0": {"val_acc": {"1": 0.5, "2": 0.6}, "autoattack": 0.25}}}
    path = tmp_path / "res.json"
    path.write_text(json.dumps(results))
    bench = robbench.NasRobBench201(datasetpath=str(path))  # the shipped meta.json
    assert bench.get_result("cifar10", 0, "val_acc") == 0.5
    assert bench.get_result("cifar10", 0, "autoattack", seed="threeseed") == 0.25
    with pytest.raises(robbench.SeedError, match=r"no value of `autoattack`.*seed `1`"):
        bench.get_result("cifar10", 0, "autoattack")
    with pytest.raises(robbench.SeedError, match="no value of `val_acc`"):
        bench.get_result("cifar10", 1, "val_acc")  # an index the file does not hold


def test_query_index_by_arch_and_cells(shipped, loaded):
    meta = json.loads((DATA / "robustness-dataset" / "meta.json").read_text())
    for bench in (shipped, loaded):
        for index in SAMPLE[:100]:
            arch = meta["ids"][str(index)]["nb201-string"]
            assert bench.query_index_by_arch(arch) == index
            assert bench.string_to_id(arch) == str(index)
            assert bench.id_to_string(index) == arch
            cell = bench.arch(index)
            assert cell["index"] == index and cell["arch"] == arch
            assert cell["representative"] == int(meta["ids"][str(index)]["isomorph"])
            assert "|".join(f"{op}~" for op in cell["ops"]) == "|".join(
                part.split("~")[0] + "~" for part in arch.replace("+", "").split("|") if part
            )
        assert bench.query_index_by_arch("|nor_conv_3x3~0|+|nor_conv_3x3~0|") == -1
        assert bench.query_index_by_arch("") == -1
        with pytest.raises(robbench.NotFoundError, match="bad NAS-Bench-201 cell string"):
            bench.string_to_id("|conv_5x5~0|+|none~0|none~1|+|none~0|none~1|none~2|")


def test_get_more_info_is_every_metric(shipped, loaded, official):
    info = shipped.get_more_info(2581, "cifar10")
    assert list(info) == METRICS
    assert info["val_pgd_8.0_acc"] == shipped.get_result("cifar10", 2581, "val_pgd_8.0_acc")
    info = loaded.get_more_info(123, "cifar100", seed="2")
    assert info == {m: official.get_result("cifar100", 123, m, "2") for m in METRICS}


def test_get_cost_info_matches_nas_bench_201(shipped):
    # NAS-Bench-201's published counts (robbench-space's tests pin the same).
    cost = shipped.get_cost_info(1462, "cifar10")
    assert cost["params_count"] == 1_531_546 and math.isclose(cost["flops"], 220.11969, abs_tol=1e-5)
    assert math.isclose(cost["params"], 1.531546)
    assert shipped.get_cost_info(0, "imagenet")["params_count"] == 136_456
    assert shipped.get_cost_info(2581, "cifar100")["params_count"] == 1_079_316


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda b: b.get_result("cifar", 0, "val_acc"), r"unknown dataset `cifar` \(did you mean `cifar10`\?"),
        (lambda b: b.get_result("cifar10", 0, "val_pgd_8_accc"), r"unknown metric `val_pgd_8_accc` \(did you mean"),
        (lambda b: b.get_result("cifar10", 0, "loss"), r"metrics: val_acc, val_fgsm_3.0_acc"),
        (lambda b: b.get_result("cifar10", 15625, "val_acc"), r"index `15625` is out of range.*0\.\.15624"),
        (lambda b: b.get_result("cifar10", -1, "val_acc"), r"index `-1` is out of range"),
        (lambda b: b.get_result("cifar10", "12a", "val_acc"), r"index `12a` is out of range"),
        (lambda b: b.get_more_info(0, "mnist"), r"unknown dataset `mnist`"),
        (lambda b: b.get_cost_info(99999, "cifar10"), r"out of range"),
        (lambda b: b.arch(10**30), r"out of range"),
        (lambda b: b.metrics("cifar1000"), r"did you mean `cifar100`"),
    ],
)
def test_bad_input_names_the_value_and_the_valid_ones(shipped, call, match):
    with pytest.raises(robbench.NotFoundError, match=match) as caught:
        call(shipped)
    # also what the official class's dict lookups raise, and a ValueError
    assert isinstance(caught.value, KeyError) and isinstance(caught.value, ValueError)
    assert isinstance(caught.value, robbench.Error)
    assert not str(caught.value).startswith("'")  # not KeyError's quoting


def test_wrong_types_and_paths(shipped, tmp_path):
    with pytest.raises(TypeError, match="int"):
        shipped.get_result("cifar10", 1.5, "val_acc")
    with pytest.raises(TypeError, match="seed must be"):
        shipped.get_result("cifar10", 1, "val_acc", seed=1.0)
    with pytest.raises(ValueError, match="without datasetpath"):
        robbench.NasRobBench201(metapath="meta.json")
    with pytest.raises(robbench.Error, match="does-not-exist.json"):
        robbench.NasRobBench201(datasetpath=str(tmp_path / "does-not-exist.json"))
    bad = tmp_path / "bad.json"
    bad.write_text('{"cifar10": {"0": {"val_acc": {"1": 93.1}}}}')
    with pytest.raises(robbench.Error, match="not a fraction"):
        robbench.NasRobBench201(datasetpath=str(bad))


def test_find_best_with_and_without_cost_limits(shipped, loaded, official):
    pa = pytest.importorskip("pyarrow")
    # The guide's robust optimum (docs/src/guide/search.md): cell 2581, PGD@8 0.4811.
    index, value = shipped.find_best("cifar10", "val_pgd_8.0_acc")
    assert index == 2581 and value == shipped.get_result("cifar10", 2581, "val_pgd_8.0_acc")
    table = pa.table(shipped.metrics("cifar100")).to_pylist()
    for flop_max, param_max in [(50.0, None), (None, 0.5), (100.0, 1.0)]:
        index, value = shipped.find_best("cifar100", "val_acc", flop_max=flop_max, param_max=param_max)
        cost = shipped.get_cost_info(index, "cifar100")
        assert flop_max is None or cost["flops"] <= flop_max
        assert param_max is None or cost["params"] <= param_max
        allowed = [
            r["val_acc"]
            for r in table
            if r["arch_index"] == r["representative"]
            and (flop_max is None or shipped.get_cost_info(r["arch_index"], "cifar100")["flops"] <= flop_max)
            and (param_max is None or shipped.get_cost_info(r["arch_index"], "cifar100")["params"] <= param_max)
        ]
        assert value == max(allowed)
    index, value = loaded.find_best("imagenet", "autoattack", seed="2")
    assert value == official.get_result("imagenet", index, "autoattack", "2")
    with pytest.raises(robbench.NotFoundError, match="no architecture has `val_acc`.*flop_max=0.001"):
        shipped.find_best("cifar10", "val_acc", flop_max=0.001)


def test_numpy_integers_are_indices_and_seeds(loaded, official):
    np = pytest.importorskip("numpy")
    for index in np.array(SAMPLE[:20], dtype=np.int64):
        assert loaded.get_result("cifar10", index, "val_acc") == official.get_result("cifar10", int(index), "val_acc")
        assert loaded.get_result("cifar10", np.uint16(index), "val_acc", seed=np.int32(3)) == official.get_result(
            "cifar10", int(index), "val_acc", "3"
        )
    with pytest.raises(robbench.NotFoundError, match="out of range"):
        loaded.get_result("cifar10", 2**70, "val_acc")


def test_standard_training_and_zero_cost_beside_the_adversarial_results(shipped):
    import csv

    with open(DATA / "nas-bench-201" / "cifar10_200epoch.csv") as f:
        rows = {int(r["index"]): r for r in csv.DictReader(f)}
    for index in SAMPLE[:50]:
        standard = shipped.standard_training(index)
        assert standard["test_acc"] == float(rows[index]["test-accuracy"]) / 100
        assert standard["train_loss"] == float(rows[index]["train-loss"])
    # NB201's standard-training optimum (docs/src/guide/search.md) is a near miss under PGD@8.
    assert round(shipped.standard_training(1459)["test_acc"], 4) == 0.9152
    with open(DATA / "zero-cost" / "nb201_cifar10_zc_proxies.csv") as f:
        proxies = list(csv.DictReader(f))
    meta = json.loads((DATA / "robustness-dataset" / "meta.json").read_text())
    index_of = {m["nb201-string"]: int(i) for i, m in meta["ids"].items()}
    for row in proxies[:50]:
        index = index_of[row["net_str"]]
        got = shipped.zero_cost(index, "cifar10")
        assert got["synflow"] == float(row["synflow"]) and got["flops"] == float(row["flops"])
    assert "nwot" in shipped.zero_cost(index_of[proxies[0]["net_str"]], "ImageNet16-120")
    with pytest.raises(robbench.NotFoundError, match=r"shipped: cifar10\)"):
        shipped.standard_training(0, "cifar100")
    with pytest.raises(robbench.NotFoundError, match="shipped: cifar10, imagenet"):
        shipped.zero_cost(0, "cifar100")
    dead = next(i for i in range(15625) if "none~0|+|none~0|none~1|" in shipped.id_to_string(i))
    with pytest.raises(robbench.NotFoundError, match="dead"):
        shipped.zero_cost(dead, "cifar10")


def test_official_files_are_parsed_once_and_cached_by_content(official_files, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("ROBBENCH_CACHE_DIR", str(cache))
    meta, results = official_files
    first = robbench.NasRobBench201(str(meta), str(results))
    files = list(cache.glob("*.bin"))
    assert len(files) == 1
    # The same bytes at another path: answered from the cache, identically.
    copy = tmp_path / "copy.json"
    copy.write_bytes(results.read_bytes())
    second = robbench.NasRobBench201(str(meta), str(copy))
    assert list(cache.glob("*.bin")) == files
    for dataset in ("cifar10", "imagenet"):
        assert second.metrics(dataset, seed="2").to_pylist() == first.metrics(dataset, seed="2").to_pylist()
    assert second.seeds == first.seeds and second.metric_names == first.metric_names
    # A damaged cache file is parsed again, not trusted.
    files[0].write_bytes(files[0].read_bytes()[:-8])
    third = robbench.NasRobBench201(str(meta), str(copy))
    assert third.get_result("cifar10", 7, "val_acc", seed=3) == first.get_result("cifar10", 7, "val_acc", seed=3)
    # Other bytes, another entry.
    data = json.loads(results.read_text())
    data["cifar10"].popitem()
    copy.write_text(json.dumps(data))
    robbench.NasRobBench201(str(meta), str(copy))
    assert len(list(cache.glob("*.bin"))) == 2


def test_a_file_changed_in_place_is_hashed_again(official_files, tmp_path, monkeypatch):
    """The cache trusts a file's size, time and inode only while they are
    unchanged: a same-size edit is read and parsed again."""
    monkeypatch.setenv("ROBBENCH_CACHE_DIR", str(tmp_path / "cache"))
    meta, results = official_files
    copy = tmp_path / "results.json"
    copy.write_bytes(results.read_bytes())
    before = robbench.NasRobBench201(str(meta), str(copy))
    data = json.loads(copy.read_text())
    uid, entry = next(iter(data["cifar10"].items()))
    old = entry["val_acc"]["1"]
    text = copy.read_text()
    needle = json.dumps({"1": old})[1:-1]  # '"1": 0.123…'
    assert needle in text
    new = 0.5 if old != 0.5 else 0.25
    replacement = ('"1": ' + repr(new)).ljust(len(needle))[: len(needle)]
    copy.write_text(text.replace(needle, replacement, 1))
    assert len(copy.read_text()) == len(text)
    after = robbench.NasRobBench201(str(meta), str(copy))
    assert before.get_result("cifar10", int(uid), "val_acc") == old
    assert after.get_result("cifar10", int(uid), "val_acc") == float(replacement.split(":")[1])
