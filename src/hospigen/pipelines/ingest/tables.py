"""Creating tables (never dropping them) and keeping the ledger and error tables."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

import pyarrow as pa

from hospigen.pipelines.ingest.fhir import BadLine
from hospigen.pipelines.ingest.schema import (
    BOOKKEEPING,
    ERRORS,
    LEDGER,
    SCRATCH_KEYS,
    TARGETS,
)
from hospigen.warehouse import Warehouse, ident

_ARROW = {
    "VARCHAR": pa.string(),
    "BIGINT": pa.int64(),
    "TIMESTAMPTZ": pa.timestamp("us", tz="UTC"),
    "JSON": pa.string(),
}


def qualified(wh: Warehouse, table: str) -> str:
    """``"dataset"."table"``, both identifiers validated."""
    return f"{ident(wh.dataset)}.{ident(table)}"


def const(value: str) -> str:
    """A SQL string literal for one of *our* constants (stage, table names): never user text."""
    if not value.replace("_", "").isalnum():
        raise ValueError(f"not an internal constant: {value!r}")
    return f"'{value}'"


def all_tables() -> dict[str, list[tuple[str, str]]]:
    """Every table of the pipeline: name → [(column, type)]."""
    out = {name: list(cols) for name, cols in BOOKKEEPING.items()}
    out.update({t.table: t.all_columns() for t in TARGETS})
    return out


def ensure_tables(wh: Warehouse) -> None:
    """Create the dataset and every missing table; add missing columns (never drop, never
    retype), so re-running is harmless and new releases extend old tables."""
    run = wh.execute
    wh.ensure_dataset()
    for table, cols in all_tables().items():
        have = wh.columns(table)
        if have is None:
            body = ", ".join(wh.column_ddl(c, kind) for c, kind in cols)
            run(f"CREATE TABLE IF NOT EXISTS {qualified(wh, table)} ({body})")
            continue
        for c, kind in cols:
            if c not in have:
                run(f"ALTER TABLE {qualified(wh, table)} ADD COLUMN {wh.column_ddl(c, kind)}")


def arrow_table(table: str, rows: dict[str, Sequence]) -> pa.Table:
    """Column lists → an Arrow table typed like bookkeeping ``table``."""
    types = dict(BOOKKEEPING[table])
    return pa.table({c: _array(v, types[c]) for c, v in rows.items()})


def _array(values: Sequence, kind: str) -> pa.Array:
    if kind != "TIMESTAMPTZ":
        return pa.array(values, _ARROW[kind])
    # an aware datetime converts slowly (its UTC offset is asked for each value, and hashing
    # one asks again), and a column holds few distinct objects (the load time, each patient's
    # parsed generation time): convert each object once, found by identity
    index: dict[int, int] = {}
    distinct: list = []
    codes = []
    for v in values:
        code = index.get(id(v))
        if code is None:
            code = index[id(v)] = len(distinct)
            distinct.append(v)
        codes.append(code)
    return pa.array(distinct, _ARROW[kind]).take(pa.array(codes, pa.int32()))


def read_ledger(wh: Warehouse, stage: str) -> dict[str, tuple[str, str]]:
    """object → (checksum, fingerprint) for ``stage``; empty if the ledger does not exist."""
    if wh.columns(LEDGER) is None:
        return {}
    rows = wh.query(
        f"SELECT object, checksum, fingerprint FROM {qualified(wh, LEDGER)} "
        f"WHERE stage = {const(stage)}"
    )
    return {o: (c, f) for o, c, f in rows}


def _replace(wh: Warehouse, table: str, stage: str, objects: list[str], rows: pa.Table) -> None:
    """Delete ``table`` rows of (stage, objects), then append ``rows`` (caller's transaction)."""
    if objects:
        wh.append(
            SCRATCH_KEYS,
            arrow_table(
                SCRATCH_KEYS,
                {
                    "stage": [stage] * len(objects),
                    "object": objects,
                },
            ),
        )
        k, t = qualified(wh, SCRATCH_KEYS), qualified(wh, table)
        wh.execute(
            f"DELETE FROM {t} WHERE stage = {const(stage)} AND object IN "
            f"(SELECT object FROM {k} WHERE stage = {const(stage)})"
        )
        wh.execute(f"DELETE FROM {k}")
    if rows.num_rows:
        wh.append(table, rows)


def record(
    wh: Warehouse,
    stage: str,
    entries: Iterable[tuple[str, str, str, int, int, str]],
    now: dt.datetime,
) -> None:
    """Upsert ledger rows ``(object, checksum, fingerprint, size, lines, detail)`` for ``stage``."""
    entries = list(entries)
    if not entries:
        return
    cols = list(zip(*entries, strict=True))
    rows = arrow_table(
        LEDGER,
        {
            "stage": [stage] * len(entries),
            "object": list(cols[0]),
            "checksum": list(cols[1]),
            "fingerprint": list(cols[2]),
            "size": list(cols[3]),
            "lines": list(cols[4]),
            "detail": list(cols[5]),
            "recorded_at": [now] * len(entries),
        },
    )
    _replace(wh, LEDGER, stage, list(cols[0]), rows)


def replace_errors(
    wh: Warehouse, stage: str, objects: list[str], bad: list[BadLine], now: dt.datetime
) -> None:
    """Make the error rows of ``objects`` at ``stage`` exactly ``bad`` (re-runs never duplicate)."""
    rows = arrow_table(
        ERRORS,
        {
            "stage": [stage] * len(bad),
            "object": [b.object for b in bad],
            "line_number": [b.line_number for b in bad],
            "code": [b.code for b in bad],
            "reason": [b.reason for b in bad],
            "raw_line": [b.raw for b in bad],
            "recorded_at": [now] * len(bad),
        },
    )
    _replace(wh, ERRORS, stage, objects, rows)
