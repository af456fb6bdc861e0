"""The fast path of the processing core: a whole batch parsed at once by Arrow's JSON reader.

Most messages are well-formed claims. They are joined into one newline-delimited buffer and
parsed by ``pyarrow.json`` (C++, no per-row Python) straight into typed columns. First one
vectorised DuckDB pass (:func:`likely_ok`) sets aside the lines the reader would reject
(invalid JSON, a field of the wrong JSON type), so the rest is read in a few large calls. A line
the reader still rejects (duplicate keys, …) is found
from the reader's error ("… in row N"), set aside, and the reader resumes after it; the
well-formed lines are then parsed in one go. Lines that are set aside, and lines that cannot
take the fast path at all (byte-level errors, escapes, anything that is not one ``{…}`` per
line), go to the exact DuckDB path in :mod:`.core`, which gives every error its code and
message. The fast path only ever *accepts*: a row it would reject is re-run on the exact path,
so both paths give identical outputs (tested).
"""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from hospigen.pipelines.claims.schema import MESSAGE_FIELDS

_ARROW = {
    "string": pa.string(),
    "date": pa.string(),
    "timestamp": pa.string(),
    "number": pa.float64(),
    # read as float64: Arrow's int64 conversion errors carry no row number; integrality is
    # checked afterwards (45.0 is the integer 45, 4.5 is a wrong type)
    "integer": pa.float64(),
    "strings": pa.list_(pa.string()),
}
SCHEMA = pa.schema([pa.field(f.name, _ARROW[f.kind]) for f in MESSAGE_FIELDS])
_OPTIONS = pj.ParseOptions(explicit_schema=SCHEMA, unexpected_field_behavior="ignore")
_ROW = re.compile(r" in row (\d+)")


WINDOW = 512  # rows per reader call: a rejected line costs a re-read of at most this many
BLOCK = 50_000  # rows per reader call once the likely rejects are set aside

# JSON types (as DuckDB's json_type names them) that the reader accepts for each field kind;
# NULL is an explicit null, None an absent key
_JSON_TYPES = {
    "string": ("VARCHAR",),
    "date": ("VARCHAR",),
    "timestamp": ("VARCHAR",),
    "number": ("BIGINT", "UBIGINT", "DOUBLE"),
    "integer": ("BIGINT", "UBIGINT", "DOUBLE"),
    "strings": ("ARRAY",),
}


def _likely_sql() -> str:
    paths = "[" + ", ".join(f"'$.\"{f.name}\"'" for f in MESSAGE_FIELDS) + "]"
    checks = " AND ".join(
        f"coalesce(t[{i + 1}] IN ('NULL', {', '.join(repr(x) for x in _JSON_TYPES[f.kind])}), true)"
        for i, f in enumerate(MESSAGE_FIELDS)
    )
    return (
        f"SELECT coalesce({checks}, false) AS ok FROM (SELECT _i, CASE WHEN json_valid(s) "
        f"THEN json_type(s, {paths}) END AS t FROM lines) ORDER BY _i"
    )


_LIKELY = _likely_sql()


def likely_ok(con, rows: pa.Array) -> np.ndarray:
    """Mask of rows that are valid JSON with every field of a JSON type the reader accepts.

    One DuckDB query over the whole batch (C++, no per-row Python). It only predicts: a row it
    passes may still be rejected by the reader (then the windowed path sets it aside), and a
    row it fails goes to the exact path, which is always allowed.
    """
    if len(rows) == 0:
        return np.zeros(0, dtype=bool)
    lines = pa.table({"_i": pa.array(np.arange(len(rows))), "s": rows.cast(pa.string())})
    con.register("lines", lines)
    try:
        ok = con.sql(_LIKELY).to_arrow_table().column(0)
    finally:
        con.unregister("lines")
    return ok.to_numpy(zero_copy_only=False)


def _offsets(arr: pa.Array) -> np.ndarray:
    return np.frombuffer(arr.buffers()[1], np.int32)[arr.offset : arr.offset + len(arr) + 1]


def eligible(raw: pa.Array, pre_ok: np.ndarray) -> np.ndarray:
    """Rows that may take the fast path: one ``{…}`` on a single line, no byte-level error."""
    if len(raw) == 0:
        return pre_ok.copy()
    offsets = _offsets(raw).astype(np.int64)
    buf = raw.buffers()[2]
    data = np.frombuffer(buf, np.uint8) if buf is not None and buf.size else np.zeros(0, np.uint8)
    if len(data) == 0:
        return np.zeros(len(raw), dtype=bool)
    starts, ends = offsets[:-1], offsets[1:]
    nonempty = ends > starts
    first = data[np.minimum(starts, len(data) - 1)]
    last = data[np.maximum(ends - 1, 0)]
    ok = pre_ok & nonempty & (first == ord("{")) & (last == ord("}"))
    # a line break inside a message: one pass for bytes <= 13, then only those are looked at
    low = np.flatnonzero(data <= 13)
    breaks = low[(data[low] == 10) | (data[low] == 13)]
    if len(breaks):
        ok[np.searchsorted(starts, breaks, side="right") - 1] = False
    return ok


def _joined(rows: pa.Array) -> tuple[pa.Buffer, np.ndarray]:
    """(rows joined by newlines, byte offset of each row's start) without a Python loop."""
    lines = pc.binary_join_element_wise(rows, pa.scalar(b"", pa.binary()), b"\n")
    offsets = _offsets(lines).astype(np.int64)
    data = lines.buffers()[2].slice(int(offsets[0]), int(offsets[-1] - offsets[0]))
    return data, offsets - offsets[0]


def _read(data: pa.Buffer, threads: bool = False) -> pa.Table:
    block = max(1 << 16, data.size + 1) if not threads else max(1 << 20, data.size // 4 + 1)
    options = pj.ReadOptions(use_threads=threads, block_size=block)
    return pj.read_json(pa.BufferReader(data), read_options=options, parse_options=_OPTIONS)


def _window(data: pa.Buffer, starts: np.ndarray, a: int, b: int, accepted, parts) -> None:
    """Parse rows [a, b); set aside each rejected row and resume after it."""
    while a < b:
        chunk = data.slice(int(starts[a]), int(starts[b] - starts[a]))
        try:
            table = _read(chunk)
        except pa.ArrowInvalid as exc:
            found = _ROW.search(str(exc))
            if found is None or int(found.group(1)) >= b - a:
                return  # no usable row number: the exact path takes the rest of the window
            r = int(found.group(1))
            if r:
                _window(data, starts, a, a + r, accepted, parts)
            a += r + 1
            continue
        if table.num_rows == b - a:  # else a line held several values: the exact path judges
            accepted[a:b] = True
            parts.append(table)
        return


def parse(rows: pa.Array) -> tuple[pa.Table | None, np.ndarray]:
    """(typed table of the accepted rows or None, mask of rows the reader accepted).

    The table's rows are the accepted rows in order. Rows are read in windows of
    :data:`WINDOW`; a rejected row is set aside and reading resumes after it. A reader error
    without a row number, or a line holding several JSON values, sends its window to the
    exact path.
    """
    n = len(rows)
    accepted = np.zeros(n, dtype=bool)
    if n == 0:
        return None, accepted
    data, starts = _joined(rows)
    parts: list[pa.Table] = []
    for a0 in range(0, n, BLOCK):
        b0 = min(n, a0 + BLOCK)
        try:  # the common case: the whole block is read in one call
            table = _read(data.slice(int(starts[a0]), int(starts[b0] - starts[a0])), True)
        except pa.ArrowInvalid:
            table = None
        if table is not None and table.num_rows == b0 - a0:
            accepted[a0:b0] = True
            parts.append(table)
            continue
        for a in range(a0, b0, WINDOW):
            _window(data, starts, a, min(b0, a + WINDOW), accepted, parts)
    if not parts:
        return None, accepted
    return pa.concat_tables(parts), accepted
