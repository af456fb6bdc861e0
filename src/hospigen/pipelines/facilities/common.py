"""Pieces shared by the stages: a DuckDB connection, run reports, dates, exit status."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import duckdb
import orjson

from hospigen.errors import HospigenError
from hospigen.pipelines.facilities.reader import Loaded
from hospigen.pipelines.facilities.storage import Location

EXIT_SKIPPED = 4  # some records were malformed (skipped) or had unreadable values


class RecordsSkipped(HospigenError):
    """The stage finished, but some input records were skipped or had unreadable values."""

    exit_code = EXIT_SKIPPED


def connect() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection for one stage run."""
    return duckdb.connect(":memory:")


def add_months(today: dt.date, months: float) -> dt.date:
    """The seed's horizon: ``today + round(months × 30.5)`` days (183 days for 6 months)."""
    return today + dt.timedelta(days=round(months * 30.5))


@dataclass
class StageResult:
    """What a stage read and wrote."""

    stage: str
    loaded: Loaded
    outputs: list[str] = field(default_factory=list)
    issues_report: str | None = None
    details: dict = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        """0 when every record was processed cleanly, ``EXIT_SKIPPED`` otherwise."""
        return 0 if self.loaded.clean else EXIT_SKIPPED

    def summary(self) -> str:
        """One line on what was skipped or unreadable."""
        ld = self.loaded
        return (
            f"{ld.records} records in {len(ld.files)} file(s): {ld.rows} processed, "
            f"{ld.malformed} malformed skipped, {ld.bad_values} unreadable dates read as NULL"
        )


def write_issues(
    con: duckdb.DuckDBPyConnection, dest: Location, stage: str, run_id: str
) -> str | None:
    """Write ``facility_issues`` as NDJSON to ``issues/<stage>/<run_id>.ndjson`` (if any)."""
    rows = con.execute("SELECT * FROM facility_issues").fetchall()
    if not rows:
        return None
    cols = ["file", "line", "code", "message", "raw"]
    body = b"".join(orjson.dumps(dict(zip(cols, r, strict=True))) + b"\n" for r in rows)
    return dest.write_bytes(f"issues/{stage}/{run_id}.ndjson", body)


def copy_to(con: duckdb.DuckDBPyConnection, query: str, dest: Location, key: str, options: str,
            params: dict | None = None) -> str:  # fmt: skip
    """``COPY (query) TO`` ``key`` of ``dest``, published atomically; returns its URL."""
    with dest.staged(key) as local:
        # the path is ours (a temp name), never user text; quotes are doubled all the same
        target = str(local).replace("'", "''")
        con.execute(f"COPY ({query}) TO '{target}' ({options})", params)
    return dest.url_of(key)
