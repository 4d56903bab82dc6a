"""Results as Arrow through the PyCapsule interface: every column type,
zero-copy, and the conveniences."""

from __future__ import annotations

import datetime
import decimal
import sys

import pytest

import robbench

pa = pytest.importorskip("pyarrow")


@pytest.fixture(scope="module")
def bench():
    return robbench.NasRobBench201()


def test_reading_twice_shares_the_same_buffers(bench):
    table = bench.metrics("cifar10")
    first, second = pa.table(table), pa.table(table)
    for name in ("arch_index", "arch", "val_acc"):
        a, b = first.column(name).chunks[0], second.column(name).chunks[0]
        assert [x.address for x in a.buffers() if x] == [x.address for x in b.buffers() if x], name
    assert first.equals(second)


def test_pyarrow_allocates_nothing_to_read_a_result(bench, store):
    table = bench.metrics("cifar100")
    sql = robbench.open(store).sql("SELECT * FROM benchmark")
    before = pa.total_allocated_bytes()
    read = [pa.table(table), pa.table(sql)]
    assert pa.total_allocated_bytes() == before
    assert read[1].num_rows == 6466 * 18


def test_every_column_type_round_trips(store):
    db = robbench.open(store)
    table = pa.table(
        db.sql(
            """SELECT arrow_cast(-1, 'Int8') AS i8, arrow_cast(2, 'UInt16') AS u16, CAST(3 AS INT) AS i32,
                      CAST(4 AS BIGINT) AS i64, arrow_cast(5, 'UInt64') AS u64, CAST(1.5 AS FLOAT) AS f32,
                      2.5 AS f64, true AS b, 'text' AS s, arrow_cast('big', 'LargeUtf8') AS ls,
                      arrow_cast('view', 'Utf8View') AS sv, arrow_cast('a string longer than twelve bytes', 'Utf8View') AS svl,
                      arrow_cast('bin', 'Binary') AS bin, CAST(NULL AS INT) AS null_int, NULL AS n,
                      DATE '2024-02-29' AS d, arrow_cast(TIMESTAMP '2024-01-02T03:04:05', 'Timestamp(Microsecond, Some("UTC"))') AS ts,
                      CAST(12.34 AS DECIMAL(10, 2)) AS dec,
                      named_struct('x', 1, 'y', 'z') AS st, arrow_cast('k', 'Dictionary(Int32, Utf8)') AS dict,
                      arrow_cast(INTERVAL '2 days', 'Interval(MonthDayNano)') AS iv"""
        )
    )
    table.validate(full=True)
    row = table.to_pylist()[0]
    assert row["i8"] == -1 and row["u16"] == 2 and row["i32"] == 3 and row["i64"] == 4 and row["u64"] == 5
    assert row["f32"] == 1.5 and row["f64"] == 2.5 and row["b"] is True
    assert (row["s"], row["ls"], row["sv"], row["svl"]) == ("text", "big", "view", "a string longer than twelve bytes")
    assert row["bin"] == b"bin" and row["null_int"] is None and row["n"] is None
    assert row["d"] == datetime.date(2024, 2, 29)
    assert row["ts"] == datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
    assert row["dec"] == decimal.Decimal("12.34")
    assert row["st"] == {"x": 1, "y": "z"}
    assert row["dict"] == "k" and pa.types.is_dictionary(table.schema.field("dict").type)
    assert pa.types.is_string_view(table.schema.field("sv").type)
    assert not table.schema.field("i32").nullable and table.schema.field("null_int").nullable
    assert row["iv"] is not None
    lists = pa.table(db.sql("SELECT g, array_agg(v ORDER BY v) AS l FROM (VALUES (1, 1), (1, 2), (2, 3)) t(g, v) GROUP BY g ORDER BY g"))
    assert lists.to_pylist() == [{"g": 1, "l": [1, 2]}, {"g": 2, "l": [3]}]


def test_nulls_and_sliced_batches_survive(store):
    db = robbench.open(store)
    query = """SELECT arch_index, CASE WHEN arch_index % 3 = 0 THEN NULL ELSE value END AS v,
                      CASE WHEN arch_index % 5 = 0 THEN NULL ELSE metric END AS m
               FROM benchmark WHERE dataset = 'cifar10' ORDER BY arch_index, metric, eps LIMIT 20000 OFFSET 7"""
    read = pa.table(db.sql(query))
    read.validate(full=True)
    got = read.to_pylist()
    expected = db.sql(query).to_pylist()  # through Arrow's JSON writer, no C interface
    assert got == expected and len(got) == 20000
    assert any(r["v"] is None for r in got) and any(r["m"] is None for r in got)


def test_conveniences(bench, store):
    table = bench.metrics("imagenet")
    assert table.to_pyarrow().num_rows == 15625
    pd = pytest.importorskip("pandas")
    frame = table.to_pandas()
    assert isinstance(frame, pd.DataFrame) and frame.shape == (15625, 9)
    assert frame["val_acc"].iloc[2581] == bench.get_result("imagenet", 2581, "val_acc")
    # Arrow-backed columns over robbench's own buffers: no copy.
    shared = table.to_pyarrow().column("val_acc").chunk(0).buffers()[1].address
    assert frame["val_acc"].array._pa_array.chunk(0).buffers()[1].address == shared
    classic = table.to_pandas(numpy=True)
    assert str(classic["val_acc"].dtype) == "float64" and classic.equals(frame.astype(classic.dtypes))


def test_a_large_result_reaches_pandas_without_a_copy(store):
    pd = pytest.importorskip("pandas")
    db = robbench.open(store)
    table = db.sql("SELECT arch_index, value FROM benchmark CROSS JOIN (VALUES (1), (2), (3), (4)) c")
    assert table.num_rows == 4 * 6466 * 18
    frame = table.to_pandas()
    arrow = table.to_pyarrow()
    for name in ("arch_index", "value"):
        ours = [c.buffers()[1].address for c in arrow.column(name).chunks]
        theirs = [c.buffers()[1].address for c in frame[name].array._pa_array.chunks]
        assert len(ours) > 1 and theirs == ours


def test_polars_reads_the_capsule(bench):
    pl = pytest.importorskip("polars")
    frame = pl.DataFrame(bench.metrics("cifar10"))
    assert frame.shape == (15625, 9)
    assert frame["val_acc"][2581] == bench.get_result("cifar10", 2581, "val_acc")
    assert bench.metrics("cifar10").to_polars().shape == (15625, 9)


def test_duckdb_reads_the_capsule(bench):
    duckdb = pytest.importorskip("duckdb")
    metrics = bench.metrics("cifar10")  # a robbench.Table, found by name
    best = duckdb.sql('SELECT arch_index FROM metrics ORDER BY "val_pgd_8.0_acc" DESC LIMIT 1').fetchall()
    assert best == [(2581,)]


def test_missing_libraries_are_named(bench, monkeypatch):
    monkeypatch.setitem(sys.modules, "polars", None)
    with pytest.raises(ImportError, match=r"to_polars\(\) needs polars"):
        bench.metrics("cifar10").to_polars()


def test_the_capsule_protocol_directly(bench):
    table = bench.metrics("cifar10")
    capsule = table.__arrow_c_stream__()
    assert type(capsule).__name__ == "PyCapsule"
    reader = pa.RecordBatchReader._import_from_c_capsule(capsule)
    assert reader.read_all().num_rows == 15625
    unread = table.__arrow_c_stream__()
    del unread  # released by the capsule's destructor
    assert pa.schema(table).names[:3] == ["arch_index", "representative", "arch"]  # __arrow_c_schema__


def test_an_empty_result_keeps_its_schema(store):
    result = robbench.open(store).sql("SELECT arch_index, value, metric FROM benchmark WHERE arch_index < 0")
    assert result.num_rows == 0 and result.to_pylist() == []
    table = pa.table(result)
    assert table.num_rows == 0 and table.column_names == ["arch_index", "value", "metric"]
