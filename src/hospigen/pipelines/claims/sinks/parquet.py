"""Parquet sink: hive folders partitioned by day of ``processing_timestamp`` / ``error_timestamp``.

Each batch is written as new files with a unique, deterministic name (first stream position
plus a part number), to a temporary name first and renamed, so readers never see half a file.
A large batch is cut into parts of ``ROWS_PER_FILE`` rows written concurrently: Arrow's Parquet
writer encodes one file on one core (and releases the GIL), so one big file left the other
cores idle while a million rows were compressed.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from hospigen.pipelines.claims.schema import CLAIMS_EVENTS_STREAM, PROCESSING_ERRORS

ROWS_PER_FILE = 250_000


def _parts(table: pa.Table, folder: Path, ts_column: str, name: str) -> list[tuple[pa.Table, Path]]:
    """(rows, target file) of ``table`` cut by UTC day, then into ``ROWS_PER_FILE`` slices."""
    if table.num_rows == 0:
        return []
    # the UTC day as date32: strftime over a million timestamps cost seconds, a cast does not
    days = pc.cast(table.column(ts_column), pa.date32())
    unique = sorted(pc.unique(days).to_pylist())
    out = []
    for day in unique:
        # one day (the usual batch) is the whole table: a filter would copy every byte of it
        rows = (
            table if len(unique) == 1 else table.filter(pc.equal(days, pa.scalar(day, pa.date32())))
        )
        for k, start in enumerate(range(0, rows.num_rows, ROWS_PER_FILE)):
            target = folder / f"day={day}" / f"{name}-{k:05d}.parquet"
            out.append((rows.slice(start, ROWS_PER_FILE), target))
    return out


def _write(part: pa.Table, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".parquet.tmp")
    pq.write_table(part, tmp, compression="zstd")
    os.replace(tmp, target)
    return target


def _write_all(parts: list[tuple[pa.Table, Path]]) -> list[Path]:
    # Arrow's Parquet writer releases the GIL: the parts are encoded on every core at once
    if len(parts) <= 1:
        return [_write(*p) for p in parts]
    with ThreadPoolExecutor(min(len(parts), os.cpu_count() or 1)) as pool:
        return list(pool.map(lambda p: _write(*p), parts))


class ParquetSink:
    """Two folders, ``claims_events_stream/`` and ``processing_errors/``, under a root."""

    def __init__(self, root: str) -> None:
        self.root = Path(root)

    def write(self, claims: pa.Table, errors: pa.Table, name: str) -> list[Path]:
        """Write one batch (output schemas, no internal columns); all its files concurrently."""
        claims = claims.select(CLAIMS_EVENTS_STREAM.names).cast(CLAIMS_EVENTS_STREAM)
        errors = errors.select(PROCESSING_ERRORS.names).cast(PROCESSING_ERRORS)
        return _write_all(
            _parts(claims, self.root / "claims_events_stream", "processing_timestamp", name)
            + _parts(errors, self.root / "processing_errors", "error_timestamp", name)
        )


def open_sink(path: str) -> ParquetSink:
    """A Parquet sink rooted at ``path``."""
    return ParquetSink(path)
