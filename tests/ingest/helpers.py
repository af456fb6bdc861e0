"""Reading warehouse tables back for comparisons."""

from __future__ import annotations

from pathlib import Path

import duckdb

TARGETS = (
    "patients",
    "encounters",
    "conditions",
    "observations",
    "medication_requests",
    "procedures",
    "immunizations",
)
#: columns that legitimately differ between a clean run and a crashed-and-resumed one
VOLATILE = {
    "raw_records_stg": ("load_id", "loaded_at"),
    "ingest_ledger": ("recorded_at", "fingerprint"),
    "ingest_errors": ("recorded_at",),
}


def rows(db: Path, table: str, exclude: tuple[str, ...] = ()) -> list[tuple]:
    """Every row of ``synthea_raw.table`` (sorted), without the ``exclude`` columns."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        cols = [
            c
            for (c,) in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = "
                "'synthea_raw' AND table_name = ? ORDER BY ordinal_position",
                [table],
            ).fetchall()
            if c not in exclude
        ]
        sel = ", ".join(f'CAST("{c}" AS VARCHAR)' for c in cols)
        return sorted(
            con.execute(f'SELECT {sel} FROM synthea_raw."{table}"').fetchall(),
            key=lambda r: tuple("" if v is None else v for v in r),
        )
    finally:
        con.close()


def snapshot(db: Path, volatile: bool = True) -> dict[str, list[tuple]]:
    """Every table; with ``volatile=False`` minus columns that may differ after a resume."""
    out = {}
    for t in (*TARGETS, "raw_records_stg", "ingest_ledger", "ingest_errors"):
        drop = () if volatile else (*VOLATILE.get(t, ()), "ingestion_ts")
        out[t] = rows(db, t, drop)
    return out


def query(db: Path, sql: str) -> list[tuple]:
    """Run ``sql`` read-only on ``db``."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()
