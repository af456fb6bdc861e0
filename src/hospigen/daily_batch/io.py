"""Byte-exact, atomic file output for the daily batch."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv


def write_atomic(path: Path, data: bytes, durable: bool = False) -> None:
    """Write ``data`` to a temporary sibling, then rename it over ``path``.

    Readers see the old file or the new one, never a part. ``durable`` also fsyncs before the
    rename (used for the manifest and the registry: a manifest on disk vouches, by checksum,
    for the data files written before it).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.partial")
    with open(tmp, "wb") as fh:
        fh.write(data)
        if durable:
            fh.flush()
            os.fsync(fh.fileno())
    os.replace(tmp, path)


def csv_bytes(table: pa.Table, header: bool = True) -> bytes:
    """``table`` as RFC 4180 CSV, with a bare header line of its (snake_case) column names.

    Values are written bare; only when some value holds a comma, quote or line break is the
    file written with every string quoted (Arrow refuses to write such a value bare).
    """
    buf = io.BytesIO()
    if header:
        buf.write((",".join(table.column_names) + "\n").encode())
    body = buf.tell()
    try:
        pacsv.write_csv(table, buf, pacsv.WriteOptions(include_header=False, quoting_style="none"))
    except pa.ArrowInvalid:
        buf.seek(body)
        buf.truncate()
        options = pacsv.WriteOptions(include_header=False, quoting_style="needed")
        pacsv.write_csv(table, buf, options)
    return buf.getvalue()


def iso_minutes(minutes: np.ndarray) -> pa.Array:
    """Minutes since the Unix epoch → ``YYYY-MM-DDTHH:MM:SS`` strings."""
    seconds = pa.array(np.asarray(minutes, dtype=np.int64) * 60, pa.timestamp("s"))
    return pc.utf8_replace_slice(seconds.cast(pa.string()), 10, 11, "T")
