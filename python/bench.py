"""`make bench`'s Python step: the robbench package against the official
NAS-RobBench-201 class's way of answering (json.load of its files, then dict
lookups: `res[dataset][meta["ids"][id]["isomorph"]][metric]["1"]`, restated
in python/tests/conftest.py), on the same numbers, side by side in one run.

    python bench.py [--repeat 5] [--results ../docs/bench/python.json]

Every first-answer figure is a fresh interpreter (median of --repeat runs),
timed from before `import` to the answer, with its peak RSS. Writes the
figures as JSON (the shape `robbench bench render` reads) and prints them.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import tempfile
import textwrap

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent
# The installed package, not the source folder beside this script (it has no
# compiled module).
sys.path = [p for p in sys.path if pathlib.Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(HERE / "tests"))
from conftest import write_official_files  # noqa: E402

# Peak RSS from VmHWM, not getrusage: its ru_maxrss carries the parent's peak
# across fork and exec.
PROLOGUE = "import time, json\nt0 = time.perf_counter()\n"
EPILOGUE = (
    "\nhwm = next(l for l in open('/proc/self/status') if l.startswith('VmHWM:'))"
    "\nprint(json.dumps({'s': time.perf_counter() - t0, 'rss_mb': int(hwm.split()[1]) / 1024, 'value': value}))\n"
)

FIRST_SHIPPED = """
import robbench
value = robbench.NasRobBench201().get_result("cifar10", 2581, "val_pgd_8.0_acc")
"""

FIRST_FILES = """
import robbench
value = robbench.NasRobBench201({meta!r}, {results!r}).get_result("cifar10", 2581, "val_pgd_8.0_acc")
"""

FIRST_OFFICIAL = """
import sys
sys.path.insert(0, {tests!r})
from conftest import OfficialNasRobBench201
value = OfficialNasRobBench201({meta!r}, {results!r}).get_result("cifar10", 2581, "val_pgd_8.0_acc")
"""


def child(code: str, env: dict | None = None) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", PROLOGUE + textwrap.dedent(code) + EPILOGUE],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def median_of(repeat: int, code: str, env_for=lambda i: None) -> dict:
    runs = [child(code, env_for(i)) for i in range(repeat)]
    return {"s": statistics.median(r["s"] for r in runs), "rss_mb": statistics.median(r["rss_mb"] for r in runs)}


def sweeps(meta: pathlib.Path, results: pathlib.Path) -> dict:
    """Every metric of all 15,625 indices of every dataset: the official
    loop, robbench's loop of get_result, and robbench's vectorised call."""
    import time

    import pyarrow as pa

    import robbench
    from conftest import OfficialNasRobBench201

    official = OfficialNasRobBench201(meta, results)
    bench = robbench.NasRobBench201(str(meta), str(results))
    datasets = ["cifar10", "cifar100", "imagenet"]
    metrics = bench.metric_names
    calls = len(datasets) * len(metrics) * 15625

    def timed(f):
        best = float("inf")
        for _ in range(3):
            t0 = time.perf_counter()
            f()
            best = min(best, time.perf_counter() - t0)
        return best

    def loop(get):
        for d in datasets:
            for m in metrics:
                for i in range(15625):
                    get(d, i, m)

    official_loop = timed(lambda: loop(official.get_result))
    robbench_loop = timed(lambda: loop(bench.get_result))
    vectorised = timed(lambda: [pa.table(bench.metrics(d, seed="1")) for d in datasets])
    return {"calls": calls, "official_loop": official_loop, "robbench_loop": robbench_loop, "vectorised": vectorised}


def pandas_ten_million(robbench_bin: pathlib.Path, scratch: pathlib.Path) -> dict:
    """A 10 M-row SQL result into pandas: peak RSS over the Arrow data."""
    store = scratch / "store"
    subprocess.run([robbench_bin, "--store", store, "import", "nasrobbench201-html"], check=True, capture_output=True)
    code = f"""
    import gc
    import pyarrow as pa
    import robbench
    db = robbench.open({str(store)!r})
    copies = ", ".join(f"({{k}})" for k in range(87))
    table = db.sql(f"SELECT b.arch_index, b.value, c.column1 AS copy FROM benchmark b CROSS JOIN (VALUES {{copies}}) c")
    arrow_mb = pa.table(table).nbytes / 2**20
    gc.collect()
    def status(field):
        line = next(l for l in open("/proc/self/status") if l.startswith(field))
        return int(line.split()[1]) / 1024
    before = status("VmRSS:")
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # resets the peak (VmHWM) to the current RSS
    frame = table.to_pandas()
    after = status("VmHWM:")
    value = {{"rows": len(frame), "arrow_mb": arrow_mb, "peak_before_mb": before, "peak_after_mb": after}}
    """
    return child(code)["value"]


def machine() -> dict:
    model = ""
    try:
        model = next(
            line.split(":", 1)[1].strip()
            for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        model = platform.processor()
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {"cpus": os.cpu_count(), "cpu_model": model, "memory_gb": round(memory, 1), "device": "cpu"}


def git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--results", type=pathlib.Path, default=REPO / "docs" / "bench" / "python.json")
    parser.add_argument("--robbench-bin", type=pathlib.Path, default=None)
    args = parser.parse_args()
    target = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    robbench_bin = args.robbench_bin or target / "debug" / "robbench"

    with tempfile.TemporaryDirectory() as scratch:
        scratch = pathlib.Path(scratch)
        meta, results = write_official_files(scratch)
        paths = {"meta": str(meta), "results": str(results), "tests": str(HERE / "tests")}
        caches = scratch / "caches"
        # The first open after an install parses the shipped table and caches
        # it (a fresh cache per run); later ones read the cache.
        shipped_parse = median_of(
            args.repeat, FIRST_SHIPPED, lambda i: {"ROBBENCH_CACHE_DIR": str(caches / f"shipped{i}")}
        )
        child(FIRST_SHIPPED, {"ROBBENCH_CACHE_DIR": str(caches / "warm")})
        shipped = median_of(args.repeat, FIRST_SHIPPED, lambda i: {"ROBBENCH_CACHE_DIR": str(caches / "warm")})
        official = median_of(args.repeat, FIRST_OFFICIAL.format(**paths))
        # A fresh cache per run: the parse; then one shared, warm cache.
        parse = median_of(
            args.repeat, FIRST_FILES.format(**paths), lambda i: {"ROBBENCH_CACHE_DIR": str(caches / f"cold{i}")}
        )
        child(FIRST_FILES.format(**paths), {"ROBBENCH_CACHE_DIR": str(caches / "warm")})
        cached = median_of(args.repeat, FIRST_FILES.format(**paths), lambda i: {"ROBBENCH_CACHE_DIR": str(caches / "warm")})
        os.environ["ROBBENCH_CACHE_DIR"] = str(caches / "sweep")
        sweep = sweeps(meta, results)
        pandas = pandas_ten_million(robbench_bin, scratch)
        results_mb = results.stat().st_size / 2**20

    per_call = {k: sweep[k] / sweep["calls"] * 1e6 for k in ("official_loop", "robbench_loop")}
    figures = [
        {"name": "import + NasRobBench201() + first get_result (shipped release)", "value": shipped["s"], "unit": "s",
         "reference": "official class: json.load of its files + first answer", "ratio": shipped["s"] / official["s"],
         "headline": True},
        {"name": "peak RSS of that first answer", "value": shipped["rss_mb"], "unit": "MB",
         "reference": "official class", "ratio": shipped["rss_mb"] / official["rss_mb"]},
        {"name": "the same, first open after install (reads the shipped table in one pass, writes the cache)",
         "value": shipped_parse["s"], "unit": "s", "reference": "official class", "ratio": shipped_parse["s"] / official["s"],
         "headline": True},
        {"name": "official class: first answer from its JSON", "value": official["s"], "unit": "s",
         "reference": f"results JSON of {results_mb:.0f} MB with 3 seeds", "ratio": None},
        {"name": "NasRobBench201(meta, results): first open (parse)", "value": parse["s"], "unit": "s",
         "reference": "official class's first answer", "ratio": parse["s"] / official["s"]},
        {"name": "NasRobBench201(meta, results): later opens (parse cache)", "value": cached["s"], "unit": "s",
         "reference": "shipped release's first answer", "ratio": cached["s"] / shipped["s"], "headline": True},
        {"name": f"sweep of every metric of all indices ({sweep['calls']:,} values), one metrics() per dataset",
         "value": sweep["vectorised"], "unit": "s", "reference": "official loop of get_result",
         "ratio": sweep["vectorised"] / sweep["official_loop"], "headline": True},
        {"name": "get_result in a Python loop, per call", "value": per_call["robbench_loop"], "unit": "µs",
         "reference": f"official: {per_call['official_loop']:.2f} µs", "ratio": per_call["robbench_loop"] / per_call["official_loop"]},
        {"name": f"Store.sql of {pandas['rows']:,} rows to pandas: peak memory for the data (Arrow + what to_pandas() adds) over the Arrow data",
         "value": 1 + (pandas["peak_after_mb"] - pandas["peak_before_mb"]) / pandas["arrow_mb"], "unit": "x",
         "reference": f"Arrow data {pandas['arrow_mb']:.0f} MB", "ratio": None},
    ]
    # What `make bench` itself writes does not make the tree dirty (as in
    # src/cli/bench_results.rs).
    status = git(
        "status", "--porcelain", "--untracked-files=no", "--", ".",
        ":(exclude)docs/bench", ":(exclude)docs/src/benchmarks.md", ":(exclude)README.md",
    )
    report = {
        "bench": "python",
        "command": "python python/bench.py " + " ".join(sys.argv[1:]),
        "commit": git("rev-parse", "--short", "HEAD") or "unknown",
        "dirty": bool(status),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": machine(),
        "figures": figures,
        "notes": [
            f"median of {args.repeat} fresh interpreters per first-answer figure, timed from before `import`;"
            " sweeps: best of 3 in one process",
            "ratio: robbench's figure over the reference's, as every bench (below 1: robbench is faster or smaller)",
        ],
    }
    args.results.parent.mkdir(parents=True, exist_ok=True)
    temporary = args.results.with_suffix(".tmp")
    temporary.write_text(json.dumps(report, indent=2) + "\n")
    temporary.replace(args.results)
    for f in figures:
        ratio = f" ({f['ratio']:.3g}x {f['reference']})" if f["ratio"] else (f" ({f['reference']})" if f["reference"] else "")
        print(f"{f['name']}: {f['value']:.4g} {f['unit']}{ratio}")
    print(f"wrote {args.results}")


if __name__ == "__main__":
    main()
