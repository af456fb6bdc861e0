"""Load the demo's file outputs into the warehouse, where the report reads them.

The pipelines own their own tables (ingestion's ``synthea_raw.*``, the claims tables); this
module adds read-only copies of the file outputs under their own schemas — ``cohort``
(generated Parquet), ``daily`` (daily-batch CSV/JSONL), ``facilities`` (stage outputs) — and a
``quality.checks`` table of every check the demo ran. They are rebuilt on every demo run.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

COHORT_TABLES = ("patients", "encounters", "conditions", "observations", "medications",
                 "procedures", "immunizations", "careplans", "allergies", "notes", "claims",
                 "facilities", "providers", "payers")  # fmt: skip
DAILY_FILES = {"encounters": "csv", "patients": "csv", "vitals": "csv", "labs": "csv",
               "notes": "jsonl"}  # fmt: skip


def _replace_from(con: duckdb.DuckDBPyConnection, table: str, reader: str, files: list[Path]):
    """``CREATE OR REPLACE table AS SELECT * FROM reader([files])`` with bound file names."""
    if files:
        con.execute(
            f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM {reader}($files)",
            {"files": [str(f) for f in files]},
        )


def load_demo_tables(root: Path, warehouse: Path, results: list) -> None:
    """Copy the demo's file outputs and check results into ``warehouse``."""
    with duckdb.connect(str(warehouse)) as con:
        for schema in ("cohort", "daily", "facilities", "quality"):
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        for name in COHORT_TABLES:
            path = root / "cohort" / f"{name}.parquet"
            _replace_from(con, f"cohort.{name}", "read_parquet", [path] if path.is_file() else [])
        days = sorted((root / "daily/data/raw").glob("*/"))
        for name, kind in DAILY_FILES.items():
            files = [d / f"{name}.{kind}" for d in days if (d / f"{name}.{kind}").is_file()]
            reader = "read_json_auto" if kind == "jsonl" else "read_csv_auto"
            _replace_from(con, f"daily.{name}", reader, files)
        counts = sorted((root / "facilities/exports/state_counts").rglob("000000"))
        _replace_from(con, "facilities.state_counts", "read_csv_auto", counts[-1:])
        metrics = sorted((root / "facilities/results/facility_metrics").rglob("*.parquet"))
        _replace_from(con, "facilities.facility_metrics", "read_parquet", metrics)
        con.execute(
            "CREATE OR REPLACE TABLE quality.checks "
            "(check_name VARCHAR, status VARCHAR, detail VARCHAR)"
        )
        con.executemany("INSERT INTO quality.checks VALUES (?, ?, ?)", _checks(results))


def _checks(results: list) -> list[tuple[str, str, str]]:
    """One row per checking command the demo ran (contracts, validate, claims quality)."""
    rows = []
    for stage in results:
        for command, code in zip(stage.commands, stage.exit_codes, strict=False):
            words = command.split()
            if words[1:3] == ["contracts", "check"]:
                rows.append((f"contracts {Path(words[3]).name}", _status(code), command))
            elif words[1] == "validate":
                rows.append(("formats validate", _status(code), command))
            elif words[1:3] == ["claims", "quality"]:
                rows.append(("claims quality", _status(code), command))
    return rows


def _status(code: int) -> str:
    return "passed" if code == 0 else "failed"
