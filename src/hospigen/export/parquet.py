"""Parquet: one ``<table>.parquet`` per entity with the canonical Arrow schema, zstd."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from hospigen.export.registry import ExportContext, register
from hospigen.export.tabular import atomic_path

# Row groups have a fixed size whatever the shard size, so the file bytes do not depend on how
# the run was sharded.
ROW_GROUP_ROWS = 65_536


def _dictionary_columns(schema: pa.Schema) -> list[str]:
    """Columns worth dictionary-encoding: all but the row's own identifier and note text.

    Those are unique per row, so the writer would build a dictionary only to fall back to plain
    encoding (~15% of the write time, for a file no smaller).
    """
    unique = {"text"}
    if schema.names and schema.names[0].endswith("_id"):
        unique.add(schema.names[0])
    return [name for name in schema.names if name not in unique]


class _ParquetWriter:
    # write() takes any of a shard's tables, in any number of calls (see hospigen.feeding)
    streams_tables = True

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self._writers: dict[str, pq.ParquetWriter] = {}
        self._pending: dict[str, list[pa.Table]] = {}
        self._done: list[Path] = []

    def write(self, tables: dict[str, pa.Table]) -> None:
        for name, table in tables.items():
            if name not in self._writers:
                path = atomic_path(self.out_dir / f"{name}.parquet")
                self._writers[name] = pq.ParquetWriter(
                    path,
                    table.schema,
                    compression="zstd",
                    use_dictionary=_dictionary_columns(table.schema),
                )
                self._pending[name] = []
            self._pending[name].append(table)
            self._flush(name, final=False)

    def _flush(self, name: str, final: bool) -> None:
        buffered = pa.concat_tables(self._pending[name])
        start = 0
        while buffered.num_rows - start >= ROW_GROUP_ROWS or (final and start < buffered.num_rows):
            # one chunk per row group: page and dictionary-fallback boundaries inside a row
            # group otherwise follow the shard boundaries, and the bytes would depend on them
            self._writers[name].write_table(
                buffered.slice(start, ROW_GROUP_ROWS).combine_chunks(),
                row_group_size=ROW_GROUP_ROWS,
            )
            start += ROW_GROUP_ROWS
        self._pending[name] = [buffered.slice(start)]

    def table_done(self, name: str) -> None:
        """No more rows of ``name`` will come: write its last row group and finish the file
        now (the bytes are those :meth:`close` would write)."""
        if name in self._writers:
            self._flush(name, final=True)
            self._writers.pop(name).close()
            del self._pending[name]
            final = self.out_dir / f"{name}.parquet"
            atomic_path(final).replace(final)
            self._done.append(final)

    def close(self) -> list[Path]:
        for name in list(self._writers):
            self.table_done(name)
        return self._done


@register
class ParquetExporter:
    """Canonical tables as Parquet."""

    name = "parquet"
    description = "one Parquet file per entity table (canonical Arrow schema, zstd)"

    def open(self, out_dir: Path, context: ExportContext) -> _ParquetWriter:
        out_dir.mkdir(parents=True, exist_ok=True)
        return _ParquetWriter(out_dir)
