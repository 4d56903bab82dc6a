"""Type stub of the robbench package (the classes are implemented in Rust)."""

import os
from types import ModuleType, TracebackType
from typing import Any, Literal, TypeAlias

__version__: str
__all__: list[str]

_native: ModuleType

Index: TypeAlias = int | str
"""An architecture index, 0..15624 (as an int, or its str as the official class accepts)."""
Seed: TypeAlias = int | str | None
"""A seed ('1', 2, …), 'threeseed' or 'mean' (the mean over seeds), or None (the default)."""
Dataset: TypeAlias = str
"""'cifar10', 'cifar100' or 'imagenet' (also 'ImageNet16-120', 'imagenet16-120')."""

class Error(Exception): ...
class StoreError(Error): ...
class IncompleteError(StoreError): ...

PartialAnswerError = IncompleteError

class NotFoundError(Error, KeyError, ValueError): ...
class SeedError(NotFoundError): ...
class SqlError(Error, ValueError): ...
class RobbenchWarning(UserWarning): ...
class PartialAnswerWarning(RobbenchWarning): ...

class Table:
    """An Arrow table held by robbench; read without a copy through ``__arrow_c_stream__``."""

    @property
    def num_rows(self) -> int: ...
    @property
    def num_columns(self) -> int: ...
    @property
    def column_names(self) -> list[str]: ...
    @property
    def schema(self) -> str: ...
    def __len__(self) -> int: ...
    def __arrow_c_stream__(self, requested_schema: object | None = None) -> object: ...
    def __arrow_c_schema__(self) -> object: ...
    def to_pylist(self) -> list[dict[str, Any]]: ...
    def to_pyarrow(self) -> Any:
        """A ``pyarrow.Table`` sharing the buffers (needs pyarrow)."""
    def to_pandas(self, numpy: bool = False) -> Any:
        """A ``pandas.DataFrame`` of Arrow-backed columns sharing the buffers (needs pandas and
        pyarrow); ``numpy=True``: NumPy dtypes, copied."""
    def to_polars(self) -> Any:
        """A ``polars.DataFrame`` (needs polars)."""

class Store:
    """The tables of one run of a robbench store; made by ``robbench.open``."""

    @property
    def run_id(self) -> str | None: ...
    @property
    def root(self) -> os.PathLike[str] | str: ...
    def sql(self, query: str) -> Table: ...
    def tables(self) -> Table: ...
    def table(self, name: str) -> Table: ...
    def runs(self) -> Table: ...
    def benchmark(self, run: str | None = None, allow_partial: bool = False) -> NasRobBench201:
        """The run's own benchmark: NasRobBench201's calls answered from its ``evaluations``."""
    def model(self, index: Index, dataset: str | None = None, seed: int | None = None, normalise: bool = True) -> Any:
        """A trained network as a ``torch.nn.Module`` (needs torch and safetensors)."""
    def __enter__(self) -> Store: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> Literal[False]: ...

def open(
    store: str | os.PathLike[str] | None = None,
    run: str | None = None,
    allow_partial: bool = False,
) -> Store: ...

def model(
    index: Index,
    dataset: str | None = None,
    seed: int | None = None,
    *,
    store: str | os.PathLike[str] | None = None,
    run: str | None = None,
    normalise: bool = True,
) -> Any: ...

Objective: TypeAlias = str | tuple[str, str] | list[str]
"""A metric name, or two: weighted with ``beta``, else a Pareto pair."""

class Oracle:
    """A benchmark as the oracle of a NAS method: queries, cost and trajectory."""

    def __init__(
        self,
        bench: NasRobBench201,
        dataset: Dataset,
        objective: Objective,
        *,
        beta: float | None = None,
        seed: Seed = None,
        budget: int | None = None,
        reference: tuple[float, float] = (0.0, 0.0),
        name: str = "user",
    ) -> None: ...
    def query(self, arch: Index) -> float | tuple[float, float]: ...
    @property
    def queries(self) -> int: ...
    @property
    def calls(self) -> int: ...
    @property
    def cost(self) -> float: ...
    @property
    def optimum(self) -> float: ...
    @property
    def regret(self) -> float: ...
    def trajectory(self) -> Table: ...

def search(
    bench: NasRobBench201,
    dataset: Dataset,
    objective: Objective,
    algorithm: str | list[str] | None = None,
    *,
    beta: float | None = None,
    queries: int = 150,
    trials: int = 1,
    seed: int = 0,
    gpu_hours: float | None = None,
    warm_start: str = "nwot",
    warm_start_higher_is_better: bool = True,
    population: int = 20,
    sample: int = 5,
    initial: int = 10,
    candidates: int = 100,
    warm_pool: int = 500,
    reference: tuple[float, float] = (0.0, 0.0),
    benchmark_seed: Seed = None,
) -> Table: ...

class NasRobBench201:
    """NAS-RobBench-201: the shipped release (means over seeds) or the official files."""

    def __init__(
        self,
        metapath: str | os.PathLike[str] | None = None,
        datasetpath: str | os.PathLike[str] | None = None,
    ) -> None: ...
    def get_result(self, dataset: Dataset, architecture_id: Index, metric: str, seed: Seed = None) -> float: ...
    def get_uid(self, i: Index) -> str: ...
    def id_to_string(self, i: Index) -> str: ...
    def string_to_id(self, arch: str) -> str: ...
    def query_index_by_arch(self, arch: str) -> int: ...
    def get_more_info(self, index: Index, dataset: Dataset, seed: Seed = None) -> dict[str, float]: ...
    def get_cost_info(self, index: Index, dataset: Dataset) -> dict[str, float]: ...
    def arch(self, index: Index) -> dict[str, Any]: ...
    def metrics(self, dataset: Dataset, seed: Seed = None) -> Table: ...
    def standard_training(self, index: Index, dataset: Dataset = "cifar10") -> dict[str, float]: ...
    def zero_cost(self, index: Index, dataset: Dataset) -> dict[str, float | None]: ...
    def find_best(
        self,
        dataset: Dataset,
        metric: str,
        flop_max: float | None = None,
        param_max: float | None = None,
        seed: Seed = None,
    ) -> tuple[int, float]: ...
    @property
    def datasets(self) -> list[str]: ...
    @property
    def metric_names(self) -> list[str]: ...
    @property
    def seeds(self) -> list[str]: ...
    @property
    def origin(self) -> str: ...
    def __len__(self) -> int: ...
