"""Dry runs: a store and a warehouse that read the real ones but print every write instead."""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa

from hospigen.store import ObjectInfo, ObjectStore, StoreError, check_key, list_prefix
from hospigen.warehouse import Warehouse, ident


class DryRunStore(ObjectStore):
    """Writes go to memory and are announced; reads see them on top of the real store."""

    def __init__(self, inner: ObjectStore, say: Callable[[str], None]) -> None:
        self.inner, self.say, self.url = inner, say, inner.url
        self.pending: dict[str, bytes] = {}

    def put(self, key: str, data: bytes) -> None:
        self.pending[check_key(key)] = data
        self.say(f"would write {self.inner.uri(key)} ({len(data):,} bytes)")

    def get(self, key: str) -> bytes:
        if key in self.pending:
            return self.pending[key]
        return self.inner.get(key)

    def list(self, prefix: str = "") -> list[ObjectInfo]:
        p = list_prefix(prefix)
        found = {o.key: o for o in self._inner_list(prefix)}
        for key, data in self.pending.items():
            if key.startswith(p):
                found[key] = ObjectInfo(key, len(data), f"pending:{len(data)}:{hash(data)}")
        return sorted(found.values(), key=lambda o: o.key)

    def _inner_list(self, prefix: str) -> list[ObjectInfo]:
        try:
            return self.inner.list(prefix)
        except StoreError:
            return []

    def exists(self, key: str) -> bool:
        return key in self.pending or self.inner.exists(key)

    def delete(self, key: str) -> None:
        self.say(f"would delete {self.inner.uri(key)}")


class DryRunWarehouse(Warehouse):
    """Reads the real warehouse (read-only); every statement and load is printed, not run."""

    def __init__(self, inner: Warehouse, say: Callable[[str], None]) -> None:
        self.inner, self.say = inner, say
        self.dialect, self.dataset, self.url = inner.dialect, inner.dataset, inner.url

    def execute(self, sql: str) -> int:
        self.say(self.render(sql).rstrip() + ";")
        return 0

    def query(self, sql: str) -> list[tuple]:
        return self.inner.query(sql)

    def column_ddl(self, name: str, kind: str) -> str:
        return self.inner.column_ddl(name, kind)

    def append(self, table: str, data: pa.Table) -> None:
        cols = ", ".join(data.column_names)
        self.say(f"-- append {data.num_rows:,} rows ({cols}) to {self.dataset}.{table}")

    def columns(self, table: str) -> dict[str, str] | None:
        return self.inner.columns(table)

    def ensure_dataset(self) -> None:
        self.execute(f"CREATE SCHEMA IF NOT EXISTS {ident(self.dataset)}")

    def close(self) -> None:
        self.inner.close()
