"""The SQL is written once (DuckDB) and rendered for BigQuery; the BigQuery text is snapshotted."""

from __future__ import annotations

import datetime as dt
import os
from types import SimpleNamespace

import pytest

from hospigen.pipelines.ingest.materialize import statements
from hospigen.pipelines.ingest.schema import TARGETS
from hospigen.pipelines.ingest.tables import all_tables, qualified
from hospigen.warehouse import ident, render
from tests.conftest import CASES

NOW = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
SNAPSHOT = CASES / "ingest" / "bigquery" / "materialize.sql"


def _bigquery_text() -> str:
    wh = SimpleNamespace(dataset="synthea_raw")
    ddl = [
        f"CREATE TABLE IF NOT EXISTS {qualified(wh, t)} "
        f"({', '.join(f'{ident(c)} {k}' for c, k in cols)})"
        for t, cols in all_tables().items()
    ]
    stmts = ddl + [sql for _, sql in statements(wh, NOW)]
    return "".join(render(s, "bigquery") + ";\n\n" for s in stmts)


def test_bigquery_rendering_matches_snapshot():
    text = _bigquery_text()
    if os.environ.get("HOSPIGEN_UPDATE_SNAPSHOTS"):
        SNAPSHOT.write_text(text)
    assert text == SNAPSHOT.read_text()
    assert text.count("MERGE INTO `synthea_raw`.") == len(TARGETS)
    assert "JSON_EXTRACT_SCALAR(raw, '$.gender')" in text and "QUALIFY" in text
    assert "INSERT ROW" not in text  # not supported by BigQuery emulators; columns are listed


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: t.table)
def test_every_target_statement_parses_for_bigquery(target):
    import sqlglot

    wh = SimpleNamespace(dataset="synthea_raw")
    for _, sql in statements(wh, NOW):
        sqlglot.parse_one(render(sql, "bigquery"), read="bigquery")
