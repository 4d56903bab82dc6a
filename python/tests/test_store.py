"""robbench.open(): SQL over a store with the CLI's run choice, completeness
rules and messages."""

from __future__ import annotations

import json
import math
import os
import shutil
import warnings

import pytest

import robbench


def test_sql_over_an_imported_release(store):
    db = robbench.open(str(store))
    assert db.run_id is None  # imports only: no experiment run
    table = db.sql(
        "SELECT dataset, count(*) AS n FROM benchmark WHERE source = 'nas-robbench-201' AND metric = 'clean' "
        "GROUP BY dataset ORDER BY dataset"
    )
    assert table.column_names == ["dataset", "n"]
    assert table.to_pylist() == [
        {"dataset": "cifar10", "n": 6466},
        {"dataset": "cifar100", "n": 6466},
        {"dataset": "imagenet16-120", "n": 6466},
    ]
    assert len(table) == table.num_rows == 3 and table.num_columns == 2
    assert "dataset" in table.schema and "3 rows" in repr(table)


def test_the_shipped_module_and_the_store_agree(store):
    pa = pytest.importorskip("pyarrow")
    bench = robbench.NasRobBench201()
    rows = pa.table(
        robbench.open(store).sql(
            "SELECT arch_index, value FROM benchmark WHERE dataset = 'cifar10' AND metric = 'pgd' AND eps = 8 "
            "ORDER BY arch_index LIMIT 500"
        )
    ).to_pylist()
    assert len(rows) == 500
    for row in rows:
        # The CLI's import parses with serde_json's fast float parser (no
        # `float_roundtrip`), up to one unit in the last place off the
        # published decimal; the module's values are exact.
        exact = bench.get_result("cifar10", row["arch_index"], "val_pgd_8.0_acc")
        assert abs(exact - row["value"]) <= math.ulp(exact)


def test_tables_table_and_runs(store):
    db = robbench.open(store)
    tables = {r["table"]: r for r in db.tables().to_pylist()}
    assert tables["benchmark"]["rows"] == 6466 * 18
    assert "arch_index" in tables["benchmark"]["columns"]
    assert db.table("benchmark").num_rows == 6466 * 18
    runs = db.runs().to_pylist()
    assert len(runs) == 1 and runs[0]["kind"] == "shared" and runs[0]["complete"]
    assert db.table("runs").column_names[:2] == ["run_id", "stage"]
    with pytest.raises(robbench.NotFoundError, match=r"no table `benchmarks` \(did you mean `benchmark`\?"):
        db.table("benchmarks")
    with robbench.open(store) as again:
        assert again.root == db.root


def test_sql_errors_carry_datafusion_messages(store):
    db = robbench.open(store)
    with pytest.raises(robbench.SqlError, match="SQL error in: SELEC 1") as caught:
        db.sql("SELEC 1")
    assert isinstance(caught.value, ValueError)
    with pytest.raises(robbench.SqlError, match="no_such_table"):
        db.sql("SELECT * FROM no_such_table")


def test_store_resolution_as_the_cli(store, tmp_path, monkeypatch):
    with pytest.raises(robbench.StoreError, match=r"no robbench store at .*nowhere: the path does not exist"):
        robbench.open(tmp_path / "nowhere")
    monkeypatch.setenv("ROBBENCH_STORE", str(store))
    assert robbench.open().root == store
    monkeypatch.delenv("ROBBENCH_STORE")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(robbench.StoreError, match="no robbench store at artifacts"):
        robbench.open()
    os.symlink(store, tmp_path / "artifacts")
    assert robbench.open().sql("SELECT 1 AS one").to_pylist() == [{"one": 1}]


def test_an_unknown_run_lists_the_runs(store):
    run_id = robbench.open(store).runs().to_pylist()[0]["run_id"]
    with pytest.raises(robbench.NotFoundError, match=rf"no run `{run_id[:-1]}X`.*did you mean `{run_id}`"):
        robbench.open(store, run=run_id[:-1] + "X")
    assert robbench.open(store, run=run_id).run_id == run_id


@pytest.fixture()
def interrupted(store, tmp_path):
    """A copy of the store with an experiment run that never finished: its
    log holds the import's unit, a unit whose files are gone, and no
    `finished` line."""
    root = tmp_path / "store"
    shutil.copytree(store, root)
    log = next((root / "runs").glob("*.jsonl")).read_text().splitlines()
    header = json.loads(log[0])["header"]
    run_id = "20990101T000000Z-000-test-0"
    header.update(run_id=run_id, kind="experiment", config="", config_hash="0" * 16, started_at="20990101T000000Z")
    lost = json.loads(log[1])
    lost["unit"].update(key="ab" * 32, label="a unit whose files are gone")
    lines = [json.dumps({"header": header}), log[1], json.dumps(lost)]
    (root / "runs" / f"{run_id}.jsonl").write_text("\n".join(lines) + "\n")
    return root, run_id


def test_an_incomplete_run_refuses_without_allow_partial(interrupted):
    root, run_id = interrupted
    with pytest.raises(robbench.IncompleteError, match=rf"(?s)no complete run.*{run_id}.*allow_partial=True"):
        robbench.open(root)
    db = robbench.open(root, run=run_id)
    with pytest.raises(robbench.IncompleteError, match=rf"run {run_id} is not complete") as caught:
        db.sql("SELECT count(*) AS n FROM benchmark")
    assert isinstance(caught.value, robbench.StoreError)


def test_a_partial_answer_warns_with_what_is_missing(interrupted):
    root, run_id = interrupted
    db = robbench.open(root, run=run_id, allow_partial=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rows = db.sql("SELECT count(*) AS n FROM benchmark").to_pylist()
    assert rows == [{"n": 6466 * 18}]
    messages = [str(w.message) for w in caught if issubclass(w.category, robbench.RobbenchWarning)]
    assert any(f"partial answer" in m and run_id in m for m in messages), messages
    assert any(issubclass(w.category, robbench.PartialAnswerWarning) for w in caught)
