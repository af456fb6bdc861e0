"""Rows per table of a demo warehouse, for the closing summary."""

from __future__ import annotations

from pathlib import Path

import duckdb

NOTES = {
    "synthea_raw.ingest_errors": "rejected FHIR lines (raw kept)",
    "processing_errors": "rejected claim messages (raw kept)",
    "claims_events_stream": "valid, enriched claims",
    "synthea_raw.patients": "ingested from per-patient NDJSON",
    "quality.checks": "contract, validation and quality checks",
}


def summary_rows(warehouse: Path) -> list[tuple[str, int, str]]:
    """(schema.table, rows, note) for every table of the warehouse, sorted by name."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_type = 'BASE TABLE' ORDER BY 1, 2"
        ).fetchall()
        rows = []
        for schema, table in tables:
            name = table if schema == "main" else f"{schema}.{table}"
            count = con.execute(f'SELECT count(*) FROM "{schema}"."{table}"').fetchone()[0]
            rows.append((name, count, NOTES.get(name, "")))
    return rows
