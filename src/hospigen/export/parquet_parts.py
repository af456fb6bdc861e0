"""Sharded Parquet: ``<table>/part-NNNNN.parquet``, one file per shard of patients.

The layout for scale-out: every shard's file is a pure function of (seed, shard keys), so a
local run and an Apache Beam run over the same shards write byte-identical parts, whichever
worker wrote which part. Shared tables (facilities, providers, payers) are written as
``part-00000`` of their own folders.
"""

from __future__ import annotations

from pathlib import Path

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq

from hospigen.export.registry import ExportContext, register

SHARED_TABLES = ("facilities", "providers", "payers")


def part_name(table: str, shard: int) -> str:
    """Relative path of one part file."""
    return f"{table}/part-{shard:05d}.parquet"


def write_part(
    fs: fsspec.AbstractFileSystem, root: str, table: str, shard: int, data: pa.Table
) -> str:
    """Write one part atomically (temp name + rename where the filesystem supports it)."""
    final = f"{root.rstrip('/')}/{part_name(table, shard)}"
    fs.makedirs(final.rsplit("/", 1)[0], exist_ok=True)
    tmp = final.rsplit("/", 1)[0] + f"/.{final.rsplit('/', 1)[1]}.partial"
    with fs.open(tmp, "wb") as f:
        pq.write_table(data, f, compression="zstd")
    fs.mv(tmp, final)
    return final


def write_shard(
    fs: fsspec.AbstractFileSystem, root: str, shard: int, tables: dict[str, pa.Table]
) -> list[str]:
    """Write every table of one shard (shared tables always as part 0)."""
    return [
        write_part(fs, root, name, 0 if name in SHARED_TABLES else shard, table)
        for name, table in tables.items()
    ]


class _PartsWriter:
    def __init__(self, out_dir: Path) -> None:
        self.fs = fsspec.filesystem("file")
        self.root = str(out_dir / "parts")
        self.shard = 0
        self.written: list[str] = []

    def write(self, tables: dict[str, pa.Table]) -> None:
        self.written += write_shard(self.fs, self.root, self.shard, tables)
        if not set(tables) <= set(SHARED_TABLES):
            self.shard += 1

    def close(self) -> list[Path]:
        return [Path(p) for p in self.written]


@register
class ParquetPartsExporter:
    """One Parquet part per shard and table, as the Beam runner writes them."""

    name = "parquet_parts"
    description = "Parquet parts per shard: parts/<table>/part-NNNNN.parquet (scale-out layout)"

    def open(self, out_dir: Path, context: ExportContext) -> _PartsWriter:
        out_dir.mkdir(parents=True, exist_ok=True)
        return _PartsWriter(out_dir)
