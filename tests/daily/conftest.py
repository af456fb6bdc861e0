"""Fixtures of the daily-batch tests: 30 consecutive days generated once through the CLI."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from hospigen.cli.app import main

START = dt.date(2025, 1, 1)
DAYS = 30


def day(i: int) -> dt.date:
    """The i-th day of the fixture range (0-based)."""
    return START + dt.timedelta(days=i)


@pytest.fixture(scope="session")
def month(tmp_path_factory) -> Path:
    """A root holding data/raw/<30 days> and state/, written by ``hospigen daily --from --to``."""
    root = tmp_path_factory.mktemp("daily-month")
    code = main(["daily", "--from", str(day(0)), "--to", str(day(DAYS - 1)), "--mode", "raw",
                 "--root", str(root)])  # fmt: skip
    assert code == 0
    return root


@pytest.fixture(scope="session")
def month_db(month) -> duckdb.DuckDBPyConnection:
    """The 30 days loaded into DuckDB tables (encounters, vitals, labs, notes)."""
    con = duckdb.connect()
    raw = month / "data" / "raw"
    for name in ("encounters", "vitals", "labs", "patients"):
        glob = str(raw / "*" / f"{name}.csv").replace("'", "''")
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM read_csv('{glob}', filename = true)")
    glob = str(raw / "*" / "notes.jsonl").replace("'", "''")
    con.execute(f"CREATE TABLE notes AS SELECT * FROM read_json('{glob}', format = 'nd')")
    return con
