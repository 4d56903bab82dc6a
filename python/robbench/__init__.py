"""robbench from Python: the released NAS-RobBench-201 and SQL over your own
robbench store, answered by the same Rust engine as the ``robbench`` CLI.

Importing robbench loads no PyTorch, and needs no other package; results are
Arrow tables (``robbench.Table``) that pyarrow, polars, pandas and DuckDB read
without a copy.

The released benchmark, shipped inside the module (means over seeds):

>>> import robbench
>>> bench = robbench.NasRobBench201()
>>> round(bench.get_result("cifar10", 2581, "val_pgd_8.0_acc"), 4)
0.4811
>>> bench.query_index_by_arch(bench.arch(2581)["arch"])
2581
>>> bench.query_index_by_arch("not a cell")
-1

Every metric of every architecture in one call, as an Arrow table:

>>> table = bench.metrics("cifar10")
>>> table.num_rows, table.column_names[:4]
(15625, ['arch_index', 'representative', 'arch', 'val_acc'])

Bad input names the value and the valid ones:

>>> bench.get_result("cifar", 0, "val_acc")
Traceback (most recent call last):
...
robbench.NotFoundError: unknown dataset `cifar` (did you mean `cifar10`? datasets: cifar10, cifar100, imagenet)

A store (``robbench.open``) answers SQL over the tables of one run, with the
CLI's rules: see ``robbench.open`` and ``robbench.Store``; ``Store.benchmark()``
answers the calls above from the run's own ``evaluations``, and
``robbench.model`` loads its trained networks into PyTorch.

An oracle for a NAS method, and robbench's own algorithms on equal budgets:

>>> oracle = robbench.Oracle(bench, "cifar10", ("val_acc", "val_pgd_8.0_acc"), beta=0.5)
>>> _ = [oracle.query(i) for i in (0, 1462, 2581, 2581)]
>>> oracle.queries, oracle.calls
(3, 4)
>>> steps = robbench.search(bench, "cifar10", ("val_acc", "val_pgd_8.0_acc"), "regularized-evolution",
...                         beta=0.5, queries=3)
>>> steps.column_names == oracle.trajectory().column_names
True
"""

from __future__ import annotations

from . import _native
from ._native import NasRobBench201 as _NativeNasRobBench201
from ._native import Oracle, Store, Table, search

__version__ = _native.__version__

__all__ = [
    "Error",
    "StoreError",
    "IncompleteError",
    "PartialAnswerError",
    "NotFoundError",
    "SeedError",
    "SqlError",
    "RobbenchWarning",
    "PartialAnswerWarning",
    "NasRobBench201",
    "Oracle",
    "Store",
    "Table",
    "model",
    "open",
    "search",
]


class Error(Exception):
    """Every error robbench raises (a Rust panic included: it never aborts
    the interpreter)."""


class StoreError(Error):
    """No store at the path, or a store that cannot be read."""


class IncompleteError(StoreError):
    """The chosen run is not complete, so its tables would be partial; pass
    ``allow_partial=True`` to ``robbench.open`` for the units it finished."""


#: The name issue 26 uses for a refused partial answer.
PartialAnswerError = IncompleteError


class NotFoundError(Error, KeyError, ValueError):
    """An unknown dataset, metric, architecture index or cell, seed, run or
    table; the message names the value and the valid ones (or the closest).

    Also a ``KeyError`` (what the official classes' dict lookups raise) and a
    ``ValueError``."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class SeedError(NotFoundError):
    """A seed (or a value at a seed) the loaded data does not hold: the
    shipped release holds means over seeds only."""


class SqlError(Error, ValueError):
    """A query that does not parse, plan or run (DataFusion's message)."""


class RobbenchWarning(UserWarning):
    """Notices the CLI prints on stderr (repairs of damaged files, …)."""


class PartialAnswerWarning(RobbenchWarning):
    """An answer from an incomplete run (``allow_partial=True``): the message
    lists the missing units."""


_native._register(
    {
        cls.__name__: cls
        for cls in (
            Error,
            StoreError,
            IncompleteError,
            NotFoundError,
            SeedError,
            SqlError,
            RobbenchWarning,
            PartialAnswerWarning,
        )
    }
)


class NasRobBench201(_NativeNasRobBench201):
    """NAS-RobBench-201 (Wu et al., ICLR 2024): adversarially trained
    NAS-Bench-201 cells on CIFAR-10, CIFAR-100 and ImageNet16-120.

    ``NasRobBench201()`` serves the release shipped inside robbench (no file
    is read); its values are **means over the seeds**, so ``get_result``
    returns the mean. ``NasRobBench201(metapath, datasetpath)`` loads the
    official ``meta.json`` and results JSON and answers exactly as the
    official class (seed ``'1'`` by default, ``seed=`` for the others and
    ``'threeseed'`` for the mean).

    >>> bench = NasRobBench201()
    >>> bench.datasets
    ['cifar10', 'cifar100', 'imagenet']
    >>> bench.metric_names
    ['val_acc', 'val_fgsm_3.0_acc', 'val_fgsm_8.0_acc', 'val_pgd_3.0_acc', 'val_pgd_8.0_acc', 'autoattack']
    >>> bench.seeds
    ['threeseed']

    Isomorphic cells share one result (their class representative's):

    >>> bench.get_uid(4)
    '4'
    >>> bench.arch(1)["representative"], bench.get_result("cifar10", 1, "val_acc") > 0
    (1, True)

    NATS-Bench-style calls:

    >>> sorted(bench.get_more_info(2581, "cifar10"))[:2]
    ['autoattack', 'val_acc']
    >>> cost = bench.get_cost_info(1462, "cifar10")
    >>> cost["params_count"], round(cost["flops"], 5)
    (1531546, 220.11969)
    >>> bench.arch(0)["ops"]
    ['avg_pool_3x3', 'nor_conv_1x1', 'skip_connect', 'nor_conv_1x1', 'skip_connect', 'skip_connect']

    NAS-Bench-201's standard training and NAS-Bench-Suite-Zero's proxies,
    shipped too, beside the adversarial results:

    >>> round(bench.standard_training(1459)["test_acc"], 4), round(bench.get_result("cifar10", 1459, "val_pgd_8.0_acc"), 4)
    (0.9152, 0.4775)
    >>> "synflow" in bench.zero_cost(2581, "cifar10")
    True

    The best cell, optionally within a FLOP or parameter budget (millions):

    >>> index, value = bench.find_best("cifar10", "val_pgd_8.0_acc")
    >>> index, round(value, 4)
    (2581, 0.4811)
    >>> bench.find_best("cifar10", "val_pgd_8.0_acc", flop_max=50)[0] != 2581
    True

    The shipped release has no per-seed values:

    >>> bench.get_result("cifar10", 0, "val_acc", seed="1")
    Traceback (most recent call last):
    ...
    robbench.SeedError: no seed `1` in shipped:nas-robbench-201/NAS-RobBench-201_html.json (seeds: threeseed); the shipped release holds means over the seeds only: load the official files (NasRobBench201(metapath, datasetpath)) for per-seed values
    """

    __slots__ = ()


def open(store=None, run=None, allow_partial=False) -> Store:  # noqa: A001 (the issue's name)
    """Opens a robbench store for SQL, choosing the run as ``robbench sql``.

    ``store`` defaults as the CLI's ``--store``: ``$ROBBENCH_STORE``, else
    ``artifacts`` in the working directory. ``run`` is a run id
    (``Store.runs()`` lists them); without it, the latest complete run. An
    incomplete run raises ``IncompleteError`` unless ``allow_partial`` is
    true; then answers hold the units it finished, and a
    ``PartialAnswerWarning`` lists the missing ones.

    >>> import robbench
    >>> robbench.open("/nonexistent/store")
    Traceback (most recent call last):
    ...
    robbench.StoreError: no robbench store at /nonexistent/store: the path does not exist (...)

    With a store (``robbench import nasrobbench201-html`` makes one)::

        db = robbench.open()
        db.sql("SELECT dataset, metric, eps, avg(value) FROM benchmark GROUP BY ALL").to_pandas()
    """
    return _native.open(store, run, allow_partial)


def model(index, dataset=None, seed=None, *, store=None, run=None, normalise=True):
    """The trained network of architecture ``index`` (an int or a cell
    string) as a ``torch.nn.Module`` in eval mode, from a store's checkpoint
    (``robbench.open(store, run).model(...)``; see ``Store.model``): the
    NAS-Bench-201 TinyNetwork of ``robbench.nb201`` with the stored weights
    loaded strictly, taking pixels in [0, 1]. Needs torch and safetensors;
    a network the store has not trained raises ``NotFoundError`` naming the
    command that trains it.

    With a store made by ``robbench run``::

        net = robbench.model(2581, "cifar10", seed=0)
        logits = net(images)          # images: (N, 3, 32, 32) in [0, 1]
    """
    return open(store, run).model(index, dataset, seed, normalise)


# Shown as robbench.X in tracebacks and docs.
for _cls in (Error, StoreError, IncompleteError, NotFoundError, SeedError, SqlError, RobbenchWarning,
             PartialAnswerWarning, NasRobBench201, Oracle):
    _cls.__module__ = "robbench"
del _cls
