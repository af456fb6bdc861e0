"""BigQuery DDL snapshot (DAY partitioning) and identifier validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from hospigen.errors import UsageError
from hospigen.pipelines.claims.sinks.bigquery import ddl

SNAPSHOT = Path(__file__).resolve().parents[1] / "cases" / "claims" / "bigquery_ddl.sql"


def test_bigquery_ddl_matches_snapshot(cli):
    assert ddl("demo", "aetna") == SNAPSHOT.read_text()
    out = cli("claims", "ddl", "--project", "demo", "--dataset", "aetna")
    assert out.exit_code == 0 and "PARTITION BY DATE(processing_timestamp)" in out.stdout


def test_identifiers_are_validated():
    with pytest.raises(UsageError):
        ddl("demo", "aetna`; DROP TABLE x; --")
