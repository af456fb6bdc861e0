"""DuckDB reads every JSON field of a staged resource from one parse: the folded MERGE gives
exactly the tables the statements as written give, odd values included."""

from __future__ import annotations

import datetime as dt
import shutil

import orjson
import pytest

from hospigen.pipelines.ingest import ensure_tables, land, materialize, wrap_load
from hospigen.pipelines.ingest.materialize import statements
from hospigen.store import open_store
from hospigen.warehouse import open_warehouse, render
from hospigen.warehouse.jsonfold import fold_json_paths
from tests.conftest import CASES
from tests.ingest.helpers import TARGETS, rows

NOW = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)

#: values the field reads meet besides plain strings: numbers, booleans, objects, JSON nulls,
#: empty arrays, unreadable instants, a name list longer than the preferred-entry scan
ODD = [
    {
        "resourceType": "Patient",
        "id": "odd-1",
        "gender": "other",
        "birthDate": None,
        "name": [{"use": None, "family": 7, "given": []}, {"use": "usual", "family": None}],
        "address": [{"city": {"x": 1}, "state": True, "postalCode": 66801}],
        "deceasedDateTime": "not a time",
    },
    {
        "resourceType": "Patient",
        "id": "odd-2",
        "gender": "female",
        "name": [{"family": f"F{i}", "use": "old"} for i in range(6)] + [{"use": "official"}],
        "address": [],
    },
    {
        "resourceType": "Encounter",
        "id": "odd-enc",
        "subject": {"reference": "urn:uuid:odd-1"},
        "status": None,
        "class": {"code": 3},
        "type": [{"coding": [{"code": "x", "display": None}]}],
        "period": {"start": None, "end": "2020-01-01"},
    },
    {
        "resourceType": "Observation",
        "id": "odd-obs",
        "subject": {"reference": "Patient/odd-2"},
        "valueQuantity": {"value": "12.5", "unit": None},
        "effectivePeriod": {"start": "2021-02-03T04:05:06+02:00"},
    },
]


@pytest.fixture
def staged(tmp_path):
    """A DuckDB file with the per-patient, names and odd cases staged, nothing merged yet."""
    src = tmp_path / "src"
    shutil.copytree(CASES / "ingest" / "per_patient", src)
    shutil.copy(CASES / "ingest" / "names" / "patient_names.ndjson", src)
    (src / "odd.ndjson").write_bytes(b"\n".join(orjson.dumps(r) for r in ODD) + b"\n")
    store, db = open_store(tmp_path / "bucket"), tmp_path / "staged.duckdb"
    with open_warehouse(str(db)) as wh:
        ensure_tables(wh)
        land(src, store, "patients", wh, now=NOW)
        wrap_load(store, "patients", wh, now=NOW)
    return db


def test_folded_merge_gives_the_tables_of_the_statements_as_written(staged, tmp_path):
    folded, written = tmp_path / "folded.duckdb", tmp_path / "written.duckdb"
    shutil.copy(staged, folded)
    shutil.copy(staged, written)
    with open_warehouse(str(folded)) as wh:
        materialize(wh, now=NOW)  # through the adapter: folded
    with open_warehouse(str(written)) as wh:
        for _, sql in statements(wh, NOW):
            wh.con.execute(sql)  # the text as written, one parse per field read
    for table in TARGETS:
        assert rows(folded, table) == rows(written, table), table
    assert len(rows(folded, "patients")) >= 6


def test_duckdb_rendering_reads_each_resource_once_and_bigquery_is_untouched():
    wh = open_warehouse(":memory:")
    for table, sql in statements(wh, NOW):
        if not table:
            assert render(sql, "duckdb") == sql  # watermark statements read no JSON
            continue
        assert "raw->>" in sql
        duck = render(sql, "duckdb")
        assert "raw->" not in duck, table
        assert duck.count("json_extract_string(raw, [") == 1, table
        assert "json_extract" not in render(sql, "bigquery")


def test_fold_leaves_statements_of_other_shapes_alone():
    plain = "SELECT raw->>'$.id' FROM t"
    assert fold_json_paths(plain) == plain
    nested = "SELECT x FROM (SELECT raw->>'$.id' AS x FROM t) AS latest"
    assert fold_json_paths(nested) == nested  # the reads are inside the derived table
    qualified = "SELECT s.raw->>'$.id' FROM (SELECT raw FROM t) AS latest"
    assert fold_json_paths(qualified) == qualified
