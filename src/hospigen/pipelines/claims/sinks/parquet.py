"""Parquet sink: hive folders partitioned by day of ``processing_timestamp`` / ``error_timestamp``.

Each batch is written as new files with a unique, deterministic name (first stream position),
to a temporary name first and renamed, so readers never see half a file.
"""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from hospigen.pipelines.claims.schema import CLAIMS_EVENTS_STREAM, PROCESSING_ERRORS


def write_partitioned(table: pa.Table, folder: Path, ts_column: str, name: str) -> list[Path]:
    """Write ``table`` under ``folder/day=YYYY-MM-DD/name.parquet``; returns the files."""
    if table.num_rows == 0:
        return []
    # the UTC day as date32: strftime over a million timestamps cost seconds, a cast does not
    days = pc.cast(table.column(ts_column), pa.date32())
    written = []
    for day in sorted(pc.unique(days).to_pylist()):
        part = table.filter(pc.equal(days, pa.scalar(day, pa.date32())))
        target = folder / f"day={day}" / f"{name}.parquet"
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".parquet.tmp")
        pq.write_table(part, tmp, compression="zstd")
        os.replace(tmp, target)
        written.append(target)
    return written


class ParquetSink:
    """Two folders, ``claims_events_stream/`` and ``processing_errors/``, under a root."""

    def __init__(self, root: str) -> None:
        self.root = Path(root)

    def write(self, claims: pa.Table, errors: pa.Table, name: str) -> list[Path]:
        """Write one batch (output schemas, no internal columns)."""
        claims = claims.select(CLAIMS_EVENTS_STREAM.names).cast(CLAIMS_EVENTS_STREAM)
        errors = errors.select(PROCESSING_ERRORS.names).cast(PROCESSING_ERRORS)
        return write_partitioned(
            claims, self.root / "claims_events_stream", "processing_timestamp", name
        ) + write_partitioned(errors, self.root / "processing_errors", "error_timestamp", name)


def open_sink(path: str) -> ParquetSink:
    """A Parquet sink rooted at ``path``."""
    return ParquetSink(path)
