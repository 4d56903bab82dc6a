"""The module itself: no torch, no required library, panics as exceptions,
the typed stub."""

from __future__ import annotations

import ast
import pathlib
import subprocess
import sys
import textwrap

import pytest

import robbench


def run_python(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_importing_and_answering_loads_no_torch_and_no_other_library():
    out = run_python(
        """
        import sys
        import robbench
        bench = robbench.NasRobBench201()
        bench.get_result("cifar10", 0, "val_acc")
        bench.metrics("cifar10")
        print(sorted(m for m in ("torch", "pyarrow", "pandas", "polars", "numpy") if m in sys.modules))
        if sys.platform.startswith("linux"):
            maps = open("/proc/self/maps").read()
            print("libtorch" in maps, "libc10" in maps)
        """
    )
    lines = out.split("\n")
    assert lines[0] == "[]"
    if sys.platform.startswith("linux"):
        assert lines[1] == "False False"


def test_a_panic_is_a_robbench_error_not_an_abort():
    with pytest.raises(robbench.Error, match="internal error in robbench.*deliberate panic"):
        robbench._native._panic_for_test()
    # the interpreter goes on
    assert robbench.NasRobBench201().get_result("cifar10", 0, "val_acc") > 0


def test_the_exception_hierarchy():
    assert issubclass(robbench.StoreError, robbench.Error)
    assert issubclass(robbench.IncompleteError, robbench.StoreError)
    assert robbench.PartialAnswerError is robbench.IncompleteError
    assert issubclass(robbench.NotFoundError, KeyError) and issubclass(robbench.NotFoundError, ValueError)
    assert issubclass(robbench.SeedError, robbench.NotFoundError)
    assert issubclass(robbench.SqlError, ValueError)
    assert issubclass(robbench.PartialAnswerWarning, robbench.RobbenchWarning)
    assert robbench.NotFoundError.__module__ == "robbench"


def test_the_stub_covers_every_public_name_and_method():
    package = pathlib.Path(robbench.__file__).parent
    assert (package / "py.typed").exists()
    stub = ast.parse((package / "__init__.pyi").read_text())
    top = {n.name for n in stub.body if isinstance(n, (ast.ClassDef, ast.FunctionDef))}
    top |= {t.id for n in stub.body if isinstance(n, (ast.Assign, ast.AnnAssign))
            for t in (n.targets if isinstance(n, ast.Assign) else [n.target]) if isinstance(t, ast.Name)}
    assert set(robbench.__all__) <= top, set(robbench.__all__) - top
    classes = {n.name: n for n in stub.body if isinstance(n, ast.ClassDef)}
    for name in ("NasRobBench201", "Store", "Table"):
        stubbed = {f.name for f in classes[name].body if isinstance(f, ast.FunctionDef)}
        public = {m for m in dir(getattr(robbench, name)) if not m.startswith("_")}
        public |= {"__arrow_c_stream__"} if name == "Table" else set()
        assert public <= stubbed, (name, public - stubbed)
