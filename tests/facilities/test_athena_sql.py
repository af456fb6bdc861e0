"""The seed's Athena SQL runs unchanged on DuckDB and agrees with our own query."""

from __future__ import annotations

import datetime as dt
import os
import shutil

import duckdb
import pytest

from hospigen.pipelines.facilities import athena, schema
from hospigen.pipelines.facilities.metrics import run_metrics
from hospigen.pipelines.facilities.records import export_facilities
from hospigen.pipelines.facilities.state_counts import state_counts_sql
from hospigen.pipelines.facilities.storage import resolve
from hospigen.world.facilities import facilities_table
from tests.facilities.conftest import CASES

SEED_SQL = (CASES / "seed_stage1.athena.sql").read_text()
SNAPSHOT = CASES / "seed_stage1.duckdb.sql"


def _lake(tmp_path, data_dir):
    lake = tmp_path / "lake"
    shutil.copytree(data_dir, lake / "data")
    return lake, lambda url: resolve(url.replace("s3://medlaunch", str(lake)))


def _ours(data_dir, tmp_path):
    result = run_metrics(resolve(data_dir), resolve(tmp_path / "ours"), dt.date(2025, 8, 11))
    return duckdb.sql(
        f"SELECT * FROM read_parquet('{result.outputs[0]}') ORDER BY facility_id"
    ).fetchall()


@pytest.fixture
def generated(tmp_path):
    folder = tmp_path / "generated"
    table = facilities_table(3, dt.date(2025, 8, 11), 500)
    export_facilities(table, resolve(folder), "facilities.ndjson")
    return folder


@pytest.mark.parametrize("data", ["sample", "generated"])
def test_seed_script_matches_our_metrics(tmp_path, sample_dir, generated, data):
    data_dir = sample_dir if data == "sample" else generated
    _, rewrite = _lake(tmp_path, data_dir)
    results = athena.run_script(SEED_SQL, rewrite)
    assert [r.kind for r in results] == ["database", "use", "external_table", "select", "ctas"]
    selected = sorted(tuple(r.values()) for r in results[3].rows.to_pylist())
    ours = _ours(data_dir, tmp_path)
    assert selected == ours
    ctas = duckdb.sql(
        f"SELECT * FROM read_parquet('{results[4].location}') ORDER BY facility_id"
    ).fetchall()
    assert ctas == ours
    assert os.path.dirname(results[4].location).endswith("run_YYYY_MM_DD_1")


def test_ctas_refuses_a_non_empty_location(tmp_path, sample_dir):
    _, rewrite = _lake(tmp_path, sample_dir)
    athena.run_script(SEED_SQL, rewrite)
    with pytest.raises(Exception, match="HIVE_PATH_ALREADY_EXISTS"):
        athena.run_script(SEED_SQL, rewrite)


def test_transpiled_text_snapshot(tmp_path, sample_dir):
    _, rewrite = _lake(tmp_path, sample_dir)
    text = athena.transpiled(athena.run_script(SEED_SQL, rewrite), "<location>")
    if os.environ.get("UPDATE_SNAPSHOTS"):
        SNAPSHOT.write_text(text)
    assert text == SNAPSHOT.read_text()


def test_schema_comes_from_the_ddl_and_matches_the_seed():
    seed_columns = schema.ddl_columns(SEED_SQL)
    assert {k: schema.duckdb_type(v) for k, v in seed_columns.items()} == {
        k: schema.duckdb_type(v) for k, v in schema.raw_columns().items()
    }
    assert schema.ddl_location(SEED_SQL) == "s3://medlaunch/data/"


def test_state_counts_sql_runs_on_duckdb_for_the_sample(tmp_path, sample_dir):
    _, rewrite = _lake(tmp_path, sample_dir)
    con = duckdb.connect()
    athena.run_script(SEED_SQL.split("WITH acc_min")[0], rewrite, con)  # DDL only
    rows = con.execute(state_counts_sql(dt.date(2025, 8, 11))).fetchall()
    assert rows == [("FL", 1), ("TX", 1)]
    assert con.execute(state_counts_sql(dt.date(2027, 1, 1))).fetchall() == []


def test_packaged_state_counts_equal_the_seed_unnest_query(tmp_path, generated):
    """Our filter() form and the seed's CROSS JOIN UNNEST form count the same facilities."""
    _, rewrite = _lake(tmp_path, generated)
    con = duckdb.connect()
    athena.run_script(SEED_SQL.split("WITH acc_min")[0], rewrite, con)
    seed = (CASES / "seed_stage3_inner.athena.sql").read_text()
    seed_rows = athena.run_script(seed.replace("current_date", "DATE '2025-08-11'"), rewrite, con)
    expected = sorted(tuple(r.values()) for r in seed_rows[0].rows.to_pylist())
    ours = con.execute(state_counts_sql(dt.date(2025, 8, 11))).fetchall()
    assert ours == expected and len(ours) > 10
