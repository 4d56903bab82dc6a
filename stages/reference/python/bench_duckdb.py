"""One query with DuckDB over robbench's per-unit Parquet files: prints JSON
{"seconds": query time, "rows": result rows, "peak_rss_mb": process peak}.

Usage: bench_duckdb.py STORE SQL   (SQL names tables as {evaluations}, …)
"""
import json
import resource
import sys
import time

import duckdb

store, query = sys.argv[1], sys.argv[2]
# Every unit's file of a table, as a user globbing the store would read them.
files = {
    name: f"read_parquet('{store}/objects/{stage}/*/tables/{name}.v*.parquet')"
    for stage, name in [
        ("evaluate", "evaluations"),
        ("evaluate", "evaluation_samples"),
        ("architectures", "architectures"),
        ("train", "models"),
        ("train", "training"),
    ]
}
con = duckdb.connect()
start = time.perf_counter()
rows = con.execute(query.format(**files)).fetchall()
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "rows": len(rows), "peak_rss_mb": peak, "result": [list(map(str, r)) for r in rows[:50]]}))
