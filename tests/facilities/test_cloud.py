"""s3:// through moto (ThreadedMotoServer) and gs:// through gcp-storage-emulator, over HTTP."""

from __future__ import annotations

import datetime as dt

import duckdb
import orjson
import pytest

from hospigen.pipelines.facilities import lambda_filter
from hospigen.pipelines.facilities.storage import resolve
from tests.facilities.conftest import CASES, TODAY

SAMPLE = (CASES / "sample" / "data.json").read_bytes()


def _body(s3, key):
    return s3.get_object(Bucket="medlaunch", Key=key)["Body"].read()


def test_expiring_cli_on_s3(cli, s3):
    s3.put_object(Bucket="medlaunch", Key="data/data.json", Body=SAMPLE)
    result = cli("facilities", "expiring", "-i", "s3://medlaunch/data", "-o",
                 "s3://medlaunch/filtered", "--today", TODAY)  # fmt: skip
    assert result.exit_code == 0, result.stderr
    lines = _body(s3, "filtered/data_filtered.ndjson").splitlines()
    assert [orjson.loads(x)["facility_id"] for x in lines] == ["FAC67890"]


def test_metrics_cli_on_s3_never_reuses_a_run_folder(cli, s3, tmp_path):
    s3.put_object(Bucket="medlaunch", Key="data/data.json", Body=SAMPLE)
    for _ in range(2):
        result = cli("facilities", "metrics", "-i", "s3://medlaunch/data", "-o", "s3://medlaunch",
                     "--today", TODAY)  # fmt: skip
        assert result.exit_code == 0, result.stderr
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="medlaunch")["Contents"]]
    runs = sorted(k for k in keys if k.startswith("results/"))
    assert runs == [
        "results/facility_metrics/run_2025_08_11_1/part-00000.parquet",
        "results/facility_metrics/run_2025_08_11_2/part-00000.parquet",
    ]
    local = tmp_path / "run1.parquet"
    local.write_bytes(_body(s3, runs[0]))
    rows = duckdb.sql(f"SELECT facility_id, number_of_offered_services FROM '{local}'").fetchall()
    assert sorted(rows) == [("FAC12345", 5), ("FAC54321", 2), ("FAC67890", 4)]


def _lambda_env(monkeypatch, **extra):
    monkeypatch.setenv("BUCKET", "medlaunch")
    monkeypatch.setenv("INPUT_PREFIX", "data/")
    monkeypatch.setenv("OUTPUT_PREFIX", "filtered/")
    monkeypatch.setenv("MONTHS", "6")
    monkeypatch.setenv("TODAY", TODAY)
    for k, v in extra.items():
        monkeypatch.setenv(k, v)


def _put_event(key):
    s3 = {"bucket": {"name": "medlaunch"}, "object": {"key": key}}
    return {"Records": [{"eventName": "ObjectCreated:Put", "s3": s3}]}


def test_lambda_filter_on_put_event(s3, monkeypatch):
    _lambda_env(monkeypatch)
    s3.put_object(Bucket="medlaunch", Key="data/my data.json", Body=SAMPLE)
    out = lambda_filter.handler(_put_event("data/my+data.json"))  # keys arrive URL-encoded
    assert out["processed"] == ["data/my data.json"] and out["kept"] == 1
    lines = _body(s3, "filtered/my data_filtered.ndjson").splitlines()
    assert [orjson.loads(x)["facility_id"] for x in lines] == ["FAC67890"]


def test_lambda_filter_manual_run_and_refuses_its_own_output(s3, monkeypatch):
    _lambda_env(monkeypatch)
    s3.put_object(Bucket="medlaunch", Key="data/a.json", Body=SAMPLE)
    s3.put_object(Bucket="medlaunch", Key="data/b.ndjson", Body=SAMPLE + b"{oops\n")
    out = lambda_filter.handler({})
    assert out["processed"] == ["data/a.json", "data/b.ndjson"] and out["malformed"] == 1
    assert any(k.startswith("filtered/issues/") for k in out["written"])
    again = lambda_filter.handler(_put_event("filtered/a_filtered.ndjson"))
    assert again["refused"] == ["filtered/a_filtered.ndjson"] and again["processed"] == []


def test_lambda_filter_rejects_overlapping_prefixes(s3, monkeypatch):
    _lambda_env(monkeypatch, OUTPUT_PREFIX="data/filtered/")
    with pytest.raises(Exception, match="overlaps"):
        lambda_filter.handler({})


def test_on_upload_on_gcs(cli, gcs):
    import gcsfs

    fs = gcsfs.GCSFileSystem(endpoint_url=gcs, token="anon", skip_instance_cache=True)
    fs.pipe_file("medlaunch/data/data.json", SAMPLE)
    result = cli("facilities", "on-upload", "-i", "gs://medlaunch/data", "--key", "data.json",
                 "-o", "gs://medlaunch", "--today", TODAY)  # fmt: skip
    assert result.exit_code == 0, result.stderr
    prefix = "medlaunch/exports/state_counts/medlaunch/data%2Fdata.json/2025-08-11"
    assert fs.cat_file(f"{prefix}/000000") == b"state,accredited_facilities\nFL,1\nTX,1\n"
    marker = orjson.loads(fs.cat_file(f"{prefix}/marker.json"))
    assert marker["source"] == "medlaunch/data/data.json" and marker["status"] == "succeeded"
    loc = resolve("gs://medlaunch/data")
    assert loc.files() == ["data.json"] and dt.date.fromisoformat(marker["date"])


def test_seed_athena_script_runs_unchanged_against_moto_s3(cli, s3):
    """LOCATION 's3://medlaunch/data/' is read through s3fs registered in DuckDB."""
    s3.put_object(Bucket="medlaunch", Key="data/data.json", Body=SAMPLE)
    result = cli("facilities", "athena-sql", CASES / "seed_stage1.athena.sql")
    assert result.exit_code == 0, result.stderr
    assert "FAC67890,Lakeside Medical Center,320,4,2025-12-31" in result.stdout
    key = "results/facility_metrics/run_YYYY_MM_DD_1/part-00000.parquet"
    assert _body(s3, key)[:4] == b"PAR1"


def test_external_table_over_gcs(gcs):
    import gcsfs

    from hospigen.pipelines.facilities.athena import create_external_table

    fs = gcsfs.GCSFileSystem(endpoint_url=gcs, token="anon", skip_instance_cache=True)
    fs.pipe_file("medlaunch/ext/data.json", SAMPLE)
    con = duckdb.connect()
    create_external_table(con, resolve("gs://medlaunch/ext"))
    rows = con.execute("SELECT facility_id, location.state FROM facilities_raw ORDER BY 1")
    assert rows.fetchall() == [("FAC12345", "TX"), ("FAC54321", "CA"), ("FAC67890", "FL")]
