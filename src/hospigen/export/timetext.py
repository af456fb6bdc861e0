"""Timestamps and dates as text, for whole columns at a time.

The text formats write timestamps millions of times (FHIR ``effectiveDateTime``, HL7 ``DTM``,
Synthea CSV). Each such text has a fixed width, so a column's text is built as one byte matrix,
filled with numpy digit by digit, rather than by formatting each row (``strftime``) or joining
per-row parts.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from hospigen.export.textcols import flat, plain_strings
from hospigen.model.calendar import civil_dates

# A text field: a constant string, or (values, digits) written zero-padded.
Field = str | tuple[np.ndarray, int]


def fixed_width_text(rows: int, fields: list[Field]) -> pa.Array:
    """``rows`` strings of the same width: the fields in order, numbers zero-padded."""
    template = b"".join(f.encode() if isinstance(f, str) else b"0" * f[1] for f in fields)
    width = len(template)
    text = np.tile(np.frombuffer(template, np.uint8), (rows, 1))
    at = 0
    for field in fields:
        if isinstance(field, str):
            at += len(field.encode())
            continue
        values, digits = field
        for place in range(at + digits - 1, at - 1, -1):  # the last digit first
            text[:, place] += (values % 10).astype(np.uint8)
            values = values // 10
        at += digits
    return plain_strings(np.arange(0, width * (rows + 1), width), text.reshape(-1))


def _date_fields(days: np.ndarray, sep: str) -> list[Field]:
    year, month, day = civil_dates(days)
    if len(year) and (year.min() < 0 or year.max() > 9999):
        raise ValueError("a date's year is outside 0-9999, which four digits cannot hold")
    return [(year, 4), sep, (month, 2), sep, (day, 2)]


_PER_SECOND = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}


def whole_seconds(column: pa.ChunkedArray | pa.Array) -> tuple[pa.Array, np.ndarray]:
    """(a timestamp column's int64 ticks, with its nulls; whole seconds since 1970, nulls 0).

    Rounded down, so a time before 1970 with a fraction of a second keeps its second (a cast
    to seconds rounds towards zero, into the next second). Dates count from their midnight.
    """
    if pa.types.is_date(column.type):
        column = column.cast(pa.date32(), safe=False).cast(pa.timestamp("s"))
    ticks = flat(column.cast(pa.int64()))
    per_second = _PER_SECOND[column.type.unit]
    return ticks, np.floor_divide(pc.fill_null(ticks, 0).to_numpy(), per_second)


def epoch_seconds(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Timestamps or dates as int64 whole seconds since 1970 (nulls: the minimum int64)."""
    ticks, secs = whole_seconds(column)
    if ticks.null_count:
        valid = ticks.is_valid().to_numpy(zero_copy_only=False)
        secs = np.where(valid, secs, np.iinfo(np.int64).min)
    return secs


def _with_nulls(text: pa.Array, source: pa.Array) -> pa.Array:
    if not source.null_count:
        return text
    return flat(pc.if_else(source.is_valid(), text, pa.scalar(None, pa.string())))


def seconds_text(
    column: pa.ChunkedArray | pa.Array, date_sep: str, between: str, clock: str, suffix: str
) -> pa.Array:
    """UTC timestamps as ``YYYY?MM?DD`` + between + ``HH?MM?SS`` + suffix.

    ``date_sep`` separates the date's parts and ``clock`` the time's: ``"-", "T", ":", "Z"``
    is ISO 8601, ``"", "", "", "+0000"`` is HL7 DTM. Sub-second parts are dropped; nulls stay
    null; a year outside 0-9999 raises ``ValueError``.
    """
    ticks, secs = whole_seconds(column)
    days, sod = np.divmod(secs, 86400)
    fields = [*_date_fields(days, date_sep), between, (sod // 3600, 2), clock,
              (sod // 60 % 60, 2), clock, (sod % 60, 2), suffix]  # fmt: skip
    return _with_nulls(fixed_width_text(len(ticks), fields), ticks)


def date_text(column: pa.ChunkedArray | pa.Array, sep: str = "-") -> pa.Array:
    """Dates (or UTC timestamps: their day) as ``YYYY-MM-DD``, or with another separator."""
    ticks, secs = whole_seconds(column)
    days = np.floor_divide(secs, 86400)
    return _with_nulls(fixed_width_text(len(ticks), _date_fields(days, sep)), ticks)


def iso_seconds(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    """UTC timestamps as ``YYYY-MM-DDTHH:MM:SSZ`` strings (sub-second part dropped)."""
    return seconds_text(column, "-", "T", ":", "Z")


def iso_date(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    """Dates (or timestamps) as ``YYYY-MM-DD`` strings."""
    return date_text(column, "-")
