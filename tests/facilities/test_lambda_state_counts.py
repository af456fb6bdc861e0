"""Stage 3 Lambda: token, backoff and time budget with a fake Athena client; output on moto S3.

moto's Athena runs no SQL, so the query itself is tested on DuckDB (test_athena_sql.py); here
a small fake client plays Athena's part of the protocol.
"""

from __future__ import annotations

import hashlib

import pytest

from hospigen.pipelines.facilities import lambda_state_counts as lsc
from tests.facilities.conftest import TODAY


class FakeAthena:
    """Athena's StartQueryExecution / GetQueryExecution / GetQueryResults, in memory."""

    def __init__(self, states, rows=(("FL", "1"), ("TX", "1"))):
        self.states = list(states)
        self.rows = rows
        self.tokens: dict[str, str] = {}
        self.started: list[dict] = []
        self.polls = 0

    def start_query_execution(self, **kwargs):
        self.started.append(kwargs)
        token = kwargs["ClientRequestToken"]
        qid = self.tokens.setdefault(token, f"q{len(self.tokens) + 1}")  # idempotent by token
        return {"QueryExecutionId": qid}

    def get_query_execution(self, QueryExecutionId):
        state = self.states[min(self.polls, len(self.states) - 1)]
        self.polls += 1
        return {"QueryExecution": {"Status": {"State": state}}}

    def get_paginator(self, name):
        assert name == "get_query_results"
        header = {"Data": [{"VarCharValue": "state"}, {"VarCharValue": "accredited_facilities"}]}
        data = [{"Data": [{"VarCharValue": s}, {"VarCharValue": n}]} for s, n in self.rows]

        class Pages:
            def paginate(self, QueryExecutionId):
                return [{"ResultSet": {"Rows": [header, *data[:1]]}},
                        {"ResultSet": {"Rows": data[1:]}}]  # fmt: skip

        return Pages()


def test_token_is_sha256_of_bucket_key_etag_sql():
    token = lsc.client_request_token("b", "k", "e", "SELECT 1")
    assert token == hashlib.sha256(b"b|k|e|SELECT 1").hexdigest()
    assert 32 <= len(token) <= 128


def test_backoff_grows_by_1_7_and_caps_at_10_seconds():
    nxt = lsc.backoff_delays(1.0)
    delays = [round(nxt(), 3) for _ in range(7)]
    assert delays == [1.0, 1.7, 2.89, 4.913, 8.352, 10.0, 10.0]


def test_wait_sleeps_with_backoff_until_success():
    athena = FakeAthena(["QUEUED", "RUNNING", "RUNNING", "SUCCEEDED"])
    slept = []
    assert lsc.wait_for_query(athena, "q1", lambda: 60_000, slept.append) == "SUCCEEDED"
    assert slept == pytest.approx([0.5, 0.85, 1.445])


def test_wait_stops_while_ten_seconds_are_left():
    athena = FakeAthena(["RUNNING"])
    clock = {"ms": 14_000}

    def sleep(s):
        clock["ms"] -= int(s * 1000)

    with pytest.raises(lsc.QueryStillRunning):
        lsc.wait_for_query(athena, "q1", lambda: clock["ms"], sleep)
    assert clock["ms"] >= 10_000  # it gave up before eating into the last 10 s


def test_failed_query_is_an_error():
    with pytest.raises(lsc.QueryFailed):
        lsc.wait_for_query(FakeAthena(["FAILED"]), "q1", lambda: 60_000, lambda s: None)


def _event(etag):
    return {"Records": [{"s3": {"bucket": {"name": "medlaunch"},
                                "object": {"key": "data/data.json", "eTag": etag}}}]}  # fmt: skip


def test_handler_writes_csv_manifest_marker_and_is_idempotent(s3, monkeypatch):
    monkeypatch.setenv("ATHENA_DATABASE", "medlaunch_db")
    monkeypatch.setenv("ATHENA_TABLE", "facilities_raw")
    monkeypatch.setenv("RESULTS_S3_PREFIX", "s3://medlaunch/exports/state_counts")
    monkeypatch.setenv("TODAY", TODAY)
    athena = FakeAthena(["RUNNING", "SUCCEEDED"])
    out = lsc.handler(_event("etag1"), athena=athena)
    assert out["processed"][0]["states"] == 2
    prefix = "exports/state_counts/medlaunch/data%2Fdata.json/2025-08-11"
    body = s3.get_object(Bucket="medlaunch", Key=f"{prefix}/000000")["Body"].read()
    assert body == b"state,accredited_facilities\nFL,1\nTX,1\n"
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket="medlaunch", Prefix=prefix)["Contents"]}
    assert keys == {f"{prefix}/000000", f"{prefix}/manifest", f"{prefix}/marker.json"}
    sql = athena.started[0]["QueryString"]
    assert "_order" not in sql and "\"$path\" = 's3://medlaunch/data/data.json'" in sql
    assert "CAST('2025-08-11' AS DATE)" in sql
    # a retry of the same event reuses the query; a changed object starts a new one
    lsc.handler(_event("etag1"), athena=athena)
    lsc.handler(_event("etag2"), athena=athena)
    assert [athena.tokens[s["ClientRequestToken"]] for s in athena.started] == ["q1", "q1", "q2"]
