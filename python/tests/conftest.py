"""Fixtures: the shipped release, official-layout files generated from it
with per-seed values, and a tiny store made by the `robbench` binary."""

from __future__ import annotations

import json
import os
import pathlib
import random
import shutil
import subprocess
import tempfile

import pytest

# The parse cache of official files (robbench's python/src/cache.rs) goes to
# a directory of this session, not the user's ~/.cache.
os.environ["ROBBENCH_CACHE_DIR"] = tempfile.mkdtemp(prefix="robbench-cache-")

REPO = pathlib.Path(os.environ.get("ROBBENCH_REPO", pathlib.Path(__file__).resolve().parents[2]))
DATA = REPO / "data"

#: The project page's columns (`dataset#metric`) → the official results JSON's names.
OFFICIAL_METRIC = {
    "val_acc": "val_acc",
    "val_fgsm_3_acc": "val_fgsm_3.0_acc",
    "val_fgsm_8_acc": "val_fgsm_8.0_acc",
    "val_pgd_3_acc": "val_pgd_3.0_acc",
    "val_pgd_8_acc": "val_pgd_8.0_acc",
    "autoattack": "autoattack",
}


def shipped_table() -> dict:
    """The shipped project-page table (`acc={...}`), read as plain JSON."""
    text = (DATA / "nas-robbench-201" / "NAS-RobBench-201_html.json").read_text()
    return json.loads(text[text.index("=") + 1 :].strip().rstrip(";"))


class OfficialNasRobBench201:
    """The official class's lookup rule, restated from its documented
    semantics: `res[dataset][meta["ids"][str(id)]["isomorph"]][metric]["1"]`
    (plus the seed, which the official class fixes to "1")."""

    def __init__(self, metapath, datasetpath):
        with open(metapath) as f:
            self.meta = json.load(f)
        with open(datasetpath) as f:
            self.res = json.load(f)

    def get_uid(self, i):
        return self.meta["ids"][str(i)]["isomorph"]

    def get_result(self, dataset, architecture_id, metric, seed="1"):
        return self.res[dataset][self.get_uid(architecture_id)][metric][seed]


def write_official_files(directory: pathlib.Path) -> tuple[pathlib.Path, pathlib.Path]:
    """meta.json (the shipped copy, byte-identical to NAS-RobBench-201's) and a
    results JSON in the official layout `res[dataset][uid][metric][seed]`,
    made from the shipped release: three seeds around each released mean,
    and `threeseed`, their mean. (Also python/bench.py's input.)"""
    table = shipped_table()
    columns = [c.split("#") for c in table[""]]
    rng = random.Random(201)
    res: dict = {}
    for key, row in table.items():
        if key == "" or not isinstance(row, list):
            continue  # the column list, or a non-representative (it names its representative)
        for (dataset, metric), mean in zip(columns, row):
            seeds = [min(1.0, max(0.0, mean + rng.uniform(-0.01, 0.01))) for _ in range(3)]
            entry = {str(s + 1): v for s, v in enumerate(seeds)}
            entry["threeseed"] = sum(seeds) / 3
            res.setdefault(dataset, {}).setdefault(key, {})[OFFICIAL_METRIC[metric]] = entry
    meta = directory / "meta.json"
    shutil.copyfile(DATA / "robustness-dataset" / "meta.json", meta)
    results = directory / "NAS-RobBench-201_all.json"
    results.write_text(json.dumps(res))
    return meta, results


@pytest.fixture(scope="session")
def official_files(tmp_path_factory) -> tuple[pathlib.Path, pathlib.Path]:
    return write_official_files(tmp_path_factory.mktemp("official"))


@pytest.fixture(scope="session")
def official(official_files) -> OfficialNasRobBench201:
    return OfficialNasRobBench201(*official_files)


@pytest.fixture(scope="session")
def robbench_bin() -> pathlib.Path:
    path = os.environ.get("ROBBENCH_BIN")
    if path is None:
        target = os.environ.get("CARGO_TARGET_DIR", REPO / "target")
        path = pathlib.Path(target) / "debug" / "robbench"
    path = pathlib.Path(path)
    if not path.exists():
        why = f"no robbench binary at {path} (`make build`, or set ROBBENCH_BIN)"
        # A check that did not run is not a pass: under CI it fails.
        pytest.fail(why) if os.environ.get("CI") else pytest.skip(why)
    return path


@pytest.fixture(scope="session")
def store(tmp_path_factory, robbench_bin) -> pathlib.Path:
    """A store holding one import: the shipped NAS-RobBench-201 table."""
    root = tmp_path_factory.mktemp("store")
    subprocess.run(
        [robbench_bin, "--store", root, "import", "nasrobbench201-html"], check=True, capture_output=True
    )
    return root
