"""Byte-exact, atomic file output for the daily batch."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary sibling, then rename it over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.partial")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def csv_bytes(table: pa.Table) -> bytes:
    """``table`` as CSV with a header; strings quoted only when needed."""
    buf = io.BytesIO()
    pacsv.write_csv(table, buf, pacsv.WriteOptions(quoting_style="needed"))
    return buf.getvalue()


def iso_minutes(minutes: np.ndarray) -> pa.Array:
    """Minutes since the Unix epoch → ``YYYY-MM-DDTHH:MM:SS`` strings."""
    stamps = np.asarray(minutes, dtype=np.int64).astype("datetime64[m]").astype("datetime64[s]")
    return pa.array(np.datetime_as_string(stamps, unit="s"))
