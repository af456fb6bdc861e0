"""The warehouse interface: a few operations every engine adapter implements.

Adapters live one per file and register themselves by URL scheme; :func:`open_warehouse` picks
one. SQL handed to :meth:`Warehouse.execute` / :meth:`Warehouse.query` is written in the DuckDB
dialect and rendered for the engine by :func:`hospigen.warehouse.sql.render`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pyarrow as pa

from hospigen.errors import HospigenError, UsageError


class WarehouseError(HospigenError):
    """A statement or load failed in the warehouse."""

    exit_code = 5


class Warehouse(ABC):
    """One dataset (schema) in one engine."""

    dialect: str = "duckdb"
    dataset: str
    url: str

    def render(self, sql: str) -> str:
        """``sql`` in this engine's dialect."""
        from hospigen.warehouse.sql import render

        return render(sql, self.dialect)

    def column_ddl(self, name: str, kind: str) -> str:
        """One column of a ``CREATE TABLE`` or ``ADD COLUMN`` (DuckDB types, rendered like any
        statement); an engine may add storage options."""
        from hospigen.warehouse.sql import ident

        return f"{ident(name)} {kind}"

    @abstractmethod
    def execute(self, sql: str) -> int:
        """Run one statement that changes data or schema; returns affected rows if known."""

    @abstractmethod
    def query(self, sql: str) -> list[tuple]:
        """Run one read-only statement and return its rows."""

    @abstractmethod
    def append(self, table: str, data: pa.Table) -> None:
        """Append ``data`` (columns by name) to ``table`` of the dataset."""

    @abstractmethod
    def columns(self, table: str) -> dict[str, str] | None:
        """Column name → type of ``table``, or ``None`` if it does not exist."""

    @abstractmethod
    def ensure_dataset(self) -> None:
        """Create the dataset if it is missing."""

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All-or-nothing for the statements inside, where the engine supports it."""
        yield

    def checkpoint(self) -> None:  # noqa: B027 - engines without a write-ahead log do nothing
        """Make everything committed so far durable in the engine's main storage.

        Pipelines call it once after their last step: engines that would otherwise fold their
        log into storage after every commit (DuckDB) do that work once instead.
        """

    def close(self) -> None:  # noqa: B027 - most adapters have nothing to release
        """Release the connection."""

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


_REGISTRY: dict[str, Callable[[str, str, bool], Warehouse]] = {}


def register(scheme: str):
    """Decorator: ``factory(url, dataset, read_only)`` opens warehouses of URL ``scheme``."""

    def deco(factory):
        _REGISTRY[scheme] = factory
        return factory

    return deco


def open_warehouse(url: str, dataset: str = "synthea_raw", read_only: bool = False) -> Warehouse:
    """The warehouse at ``url``: ``PATH.duckdb``, ``duckdb:///PATH`` or ``bigquery://PROJECT/DS``."""
    import hospigen.warehouse.bigquery
    import hospigen.warehouse.duckdb  # noqa: F401  (adapters register on import)

    scheme, sep, _ = url.partition("://")
    if not sep:
        scheme = "duckdb"
    if scheme not in _REGISTRY:
        raise UsageError(
            f"unknown warehouse {url!r}; use PATH.duckdb, duckdb:///PATH or bigquery://"
        )
    return _REGISTRY[scheme](url, dataset, read_only)
