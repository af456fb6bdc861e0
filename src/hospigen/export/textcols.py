"""Column-at-a-time text building with Arrow string kernels (JSON, HL7 and ZWR fragments).

The text exporters render a whole table at once: every row's text is the element-wise join of
constant fragments and string columns (``pc.binary_join_element_wise``). Values that need
escaping or a lookup (free text, code displays) are rendered once per distinct value with
:func:`per_distinct` and spread back with a ``take``. :class:`Rendered` holds the text of one
row group (one string per row, rows grouped by patient) and hands out each patient's bytes as
a slice of the Arrow data buffer, with no per-row Python.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

Text = pa.Array | pa.ChunkedArray | str
# Characters JSON strings must escape (RFC 8259 §7): quote, backslash, C0 controls.
_JSON_UNSAFE = r'["\\\x00-\x1f]'


def flat(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    """One contiguous array (chunks combined; a single chunk is returned without a copy)."""
    if isinstance(column, pa.ChunkedArray):
        return column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()
    return column


def join(*parts: Text) -> pa.Array:
    """Element-wise concatenation of columns and constant strings (null if any part is null)."""
    return flat(pc.binary_join_element_wise(*parts, ""))


def when(mask: pa.Array | pa.ChunkedArray, *parts: Text) -> pa.Array:
    """``join(*parts)`` where ``mask`` is true, else the empty string (nulls in mask → empty)."""
    mask = pc.fill_null(mask, False)
    return flat(pc.if_else(mask, pc.binary_join_element_wise(*parts, ""), ""))


def per_distinct(column: pa.Array | pa.ChunkedArray, render: Callable[[object], str]) -> pa.Array:
    """``render(value)`` for each row, computed once per distinct value (nulls stay null)."""
    encoded = pc.dictionary_encode(flat(column))
    values = [render(v) for v in encoded.dictionary.to_pylist()]
    return flat(pa.array(values, pa.string()).take(encoded.indices))


def json_string(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Each value as a quoted JSON string (escaped only where needed); nulls stay null."""
    column = flat(column)
    if not pc.any(pc.match_substring_regex(column, _JSON_UNSAFE)).as_py():
        return join('"', column, '"')
    return per_distinct(column, lambda v: orjson.dumps(v).decode())


def number(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Floats as JSON numbers (shortest round-trip text, e.g. ``72``, ``1.5``, ``1e-7``)."""
    return flat(pc.cast(column, pa.string()))


def key(*columns: pa.Array | pa.ChunkedArray) -> pa.Array:
    """A composite key string of several string columns (nulls as empty), for grouping."""
    filled = [pc.fill_null(c, "") for c in columns]
    return join(*[x for c in filled for x in (c, "\x1f")][:-1])


@dataclass
class Rendered:
    """Text per row (rows grouped by patient) and the row where each patient starts."""

    kind: str
    text: pa.Array  # string, no nulls
    starts: np.ndarray  # len = patients + 1

    def __post_init__(self) -> None:
        text = flat(self.text)
        if text.null_count:
            raise ValueError(f"{self.kind}: a rendered row is null")
        if text.type != pa.string():
            text = text.cast(pa.string())
        self.text = text
        first = text.offset
        offsets = np.frombuffer(text.buffers()[1], np.int32)[first : first + len(text) + 1]
        self.byte_starts = offsets[self.starts].astype(np.int64)
        data = text.buffers()[2]
        self.data = memoryview(data) if data is not None else memoryview(b"")

    def patient_bytes(self, i: int) -> memoryview:
        """The text of patient ``i``'s rows, concatenated."""
        return self.data[self.byte_starts[i] : self.byte_starts[i + 1]]

    def all_bytes(self) -> memoryview:
        """The text of every row, concatenated."""
        return self.data[self.byte_starts[0] : self.byte_starts[-1]]

    def rows(self, i: int) -> list[str]:
        """Patient ``i``'s rows as Python strings (for the rare per-row paths)."""
        return self.text.slice(self.starts[i], self.starts[i + 1] - self.starts[i]).to_pylist()
