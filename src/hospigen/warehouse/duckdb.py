"""DuckDB file (the default warehouse): the dataset is a schema inside the database file."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa

from hospigen.warehouse.base import Warehouse, WarehouseError, register
from hospigen.warehouse.sql import ident

#: how large the write-ahead log may grow before DuckDB checkpoints on its own
WAL_LIMIT = "1GB"


class DuckDBWarehouse(Warehouse):
    """A DuckDB database file; ``read_only`` opens it without taking the write lock."""

    dialect = "duckdb"

    def __init__(self, path: str, dataset: str, read_only: bool = False) -> None:
        import duckdb

        self.path = path
        self.url = f"duckdb:///{path}"
        self.dataset = dataset
        self._ds = ident(dataset)
        try:
            if read_only and path != ":memory:" and not Path(path).exists():
                self.con = duckdb.connect(":memory:")
            else:
                self.con = duckdb.connect(path, read_only=read_only)
        except duckdb.Error as exc:
            raise WarehouseError(f"cannot open {path}: {exc}") from None
        self._depth = 0
        self._columns: dict[str, dict[str, str]] | None = None
        if not read_only:
            # DuckDB folds its write-ahead log into the file at the commit that takes the log
            # past 16 MiB: every load batch paid that (compressing all its strings again).
            # With a larger bound the log is folded once, by checkpoint() (or close()); a
            # crash before then loses nothing, as the log is replayed when the file is opened.
            self._run(f"SET checkpoint_threshold = '{WAL_LIMIT}'")

    def column_ddl(self, name: str, kind: str) -> str:
        # JSON documents (a FHIR resource per row) compress about 6x smaller with zstd than
        # with DuckDB's own choice (dictionary + FSST), which also made the checkpoint that
        # compresses them the slowest step of an ingest: bench/ingest.py, 10,000 patients,
        # 84 -> 12 MB and 1.05 -> 0.25 CPU-s. zstd reads back at memory speed.
        ddl = super().column_ddl(name, kind)
        return f"{ddl} USING COMPRESSION zstd" if kind == "JSON" else ddl

    def _run(self, sql: str):
        import duckdb

        try:
            return self.con.execute(sql)
        except duckdb.Error as exc:
            first = str(exc).splitlines()[0]
            raise WarehouseError(f"DuckDB: {first}\n  in: {sql.splitlines()[0][:120]}") from None

    def execute(self, sql: str) -> int:
        if sql.lstrip()[:6].upper() in ("CREATE", "ALTER ", "DROP T"):
            self._columns = None  # the schema changes: read it again when next asked
        rows = self._run(self.render(sql)).fetchall()
        return int(rows[0][0]) if rows and len(rows[0]) == 1 and isinstance(rows[0][0], int) else 0

    def query(self, sql: str) -> list[tuple]:
        return self._run(sql).fetchall()

    def append(self, table: str, data: pa.Table) -> None:
        self.con.register("_hospigen_append", data)
        try:
            cols = ", ".join(ident(c) for c in data.column_names)
            target = f"{self._ds}.{ident(table)}"
            self._run(f"INSERT INTO {target} ({cols}) SELECT {cols} FROM _hospigen_append")
        finally:
            self.con.unregister("_hospigen_append")

    def columns(self, table: str) -> dict[str, str] | None:
        # one information_schema query for the whole dataset, kept until a DDL statement:
        # each such query costs milliseconds, and every step asks about many tables
        if self._columns is None:
            rows = self.con.execute(
                "SELECT table_name, column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = ? ORDER BY table_name, ordinal_position",
                [self.dataset],
            ).fetchall()
            self._columns = {}
            for t, name, kind in rows:
                self._columns.setdefault(t, {})[name] = kind
        got = self._columns.get(table)
        return dict(got) if got else None

    def ensure_dataset(self) -> None:
        self._run(f"CREATE SCHEMA IF NOT EXISTS {self._ds}")

    @contextmanager
    def transaction(self) -> Iterator[None]:
        if self._depth:  # nested: the outer transaction decides
            yield
            return
        self._run("BEGIN TRANSACTION")
        self._depth = 1
        try:
            yield
        except BaseException:
            self._depth = 0
            self._columns = None  # DDL inside the transaction is undone too
            self.con.execute("ROLLBACK")
            raise
        self._depth = 0
        self._run("COMMIT")

    def checkpoint(self) -> None:
        self._run("CHECKPOINT")

    def close(self) -> None:
        self.con.close()


@register("duckdb")
def _open(url: str, dataset: str, read_only: bool) -> DuckDBWarehouse:
    path = url.removeprefix("duckdb://")
    if url.startswith("duckdb://"):
        path = path[1:] if path.startswith("/") else path  # duckdb:///rel or duckdb:////abs
    return DuckDBWarehouse(path or ":memory:", dataset, read_only)
