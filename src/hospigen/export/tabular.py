"""Shared helpers of the tabular exporters (CSV, Parquet): one file per entity table."""

from __future__ import annotations

from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.compute as pc


def text_column(column: pa.ChunkedArray | pa.Array) -> pa.Array | pa.ChunkedArray:
    """A column as CSV-friendly text: ISO 8601 times, JSON for nested values."""
    t = column.type
    if pa.types.is_timestamp(t) and t.tz == "UTC" and t.unit in ("ms", "us"):
        return _utc_text(column)
    if pa.types.is_timestamp(t):
        return pc.strftime(column, format="%Y-%m-%dT%H:%M:%SZ")
    if pa.types.is_date(t):
        return column.cast(pa.string())  # ISO YYYY-MM-DD, as strftime("%Y-%m-%d") but faster
    if pa.types.is_nested(t):
        values = column.to_pylist()
        return pa.array(
            [None if v is None else orjson.dumps(v, default=str).decode() for v in values],
            pa.string(),
        )
    return column


def _utc_text(column: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """UTC timestamps as ``strftime("%Y-%m-%dT%H:%M:%SZ")`` writes them (fractional seconds
    included), built from Arrow's plain cast: ~3x faster, no time-zone database lookups."""
    text = pc.replace_substring(
        column.cast(pa.timestamp(column.type.unit)).cast(pa.string()), " ", "T", max_replacements=1
    )
    return pc.binary_join_element_wise(text, pc.if_else(pc.is_null(text), None, "Z"), "")


def for_text(table: pa.Table) -> pa.Table:
    """``table`` with every column converted by :func:`text_column`."""
    return pa.table({name: text_column(table.column(name)) for name in table.column_names})


def atomic_path(path: Path) -> Path:
    """The temporary sibling a file is written to before it is renamed into place."""
    return path.with_name(f".{path.name}.partial")
