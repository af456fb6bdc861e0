"""AWS Lambda handler for stage 3: Athena query on upload, CSV + manifest + marker.json to S3.

Environment (as in the seed): ``ATHENA_DATABASE``, ``ATHENA_TABLE``, ``ATHENA_WORKGROUP``
(``primary``), ``RESULTS_S3_PREFIX`` (``s3://bucket/exports/state_counts``); optional ``TODAY``.

Unlike the seed, the query is a plain SELECT (no UNLOAD): the few result rows are read back with
``GetQueryResults`` and written by the same writer as the local stage, so the CSV has exactly the
header ``state,accredited_facilities`` (no ``_order`` column) and a re-run replaces the files
instead of failing on a non-empty prefix. The query counts only the uploaded object
(``"$path"``), matching the local ``on-upload``.

Idempotency: ``ClientRequestToken`` = sha256(bucket|key|etag|sql) — the seed's token plus the
object's ETag, so a changed object starts a new query instead of returning the old one. Polling
backs off ×1.7 up to 10 s and gives up while at least 10 s of Lambda time is left, raising
:class:`QueryStillRunning` so the invocation is retried and resumes the same query (same token).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import time
from collections.abc import Callable
from urllib.parse import unquote_plus

from hospigen.errors import HospigenError

BACKOFF_FACTOR = 1.7
BACKOFF_START = 0.5
BACKOFF_CAP = 10.0
SAFETY_MS = 10_000
TOKEN_LENGTH = 64  # Athena accepts 32–128 characters; a full sha256 hex digest is 64


class QueryStillRunning(HospigenError):
    """Lambda time is nearly up; the retry resumes the same query through its token."""


class QueryFailed(HospigenError):
    """Athena reported FAILED or CANCELLED."""


def client_request_token(bucket: str, key: str, etag: str, sql: str) -> str:
    """sha256(bucket|key|etag|sql) in hex, cut to Athena's limit."""
    digest = hashlib.sha256(f"{bucket}|{key}|{etag}|{sql}".encode()).hexdigest()
    return digest[:TOKEN_LENGTH]


def backoff_delays(start: float = BACKOFF_START) -> Callable[[], float]:
    """A function returning the next delay: start, ×1.7 each time, capped at 10 s."""
    state = {"next": start}

    def nxt() -> float:
        delay = state["next"]
        state["next"] = min(BACKOFF_CAP, delay * BACKOFF_FACTOR)
        return delay

    return nxt


def wait_for_query(
    athena: object,
    execution_id: str,
    remaining_ms: Callable[[], int],
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """Poll until the query ends; returns SUCCEEDED or raises (failed / out of time)."""
    delays = backoff_delays()
    while True:
        status = athena.get_query_execution(QueryExecutionId=execution_id)["QueryExecution"]
        state = status["Status"]["State"]
        if state == "SUCCEEDED":
            return state
        if state in ("FAILED", "CANCELLED"):
            reason = status["Status"].get("StateChangeReason", "")
            raise QueryFailed(f"Athena query {execution_id} {state}: {reason}")
        delay = delays()
        if remaining_ms() - delay * 1000 < SAFETY_MS:
            raise QueryStillRunning(f"query {execution_id} still {state}; retry resumes it")
        sleep(delay)


def result_rows(athena: object, execution_id: str) -> list[tuple[str, int]]:
    """(state, count) rows of a finished query (header row dropped)."""
    rows: list[tuple[str, int]] = []
    pages = athena.get_paginator("get_query_results").paginate(QueryExecutionId=execution_id)
    for i, page in enumerate(pages):
        data = page["ResultSet"]["Rows"]
        for row in data[1:] if i == 0 else data:
            values = [c.get("VarCharValue") for c in row["Data"]]
            rows.append((values[0], int(values[1])))
    return rows


def handler(event: dict, context: object = None, athena: object = None) -> dict:
    """Lambda entry point: one Athena query per uploaded object in the event."""
    import boto3

    from hospigen.pipelines.facilities.state_counts import state_counts_sql, write_outputs
    from hospigen.pipelines.facilities.storage import resolve

    athena = athena or boto3.client("athena")
    table = f"{os.environ['ATHENA_DATABASE']}.{os.environ.get('ATHENA_TABLE', 'facilities_raw')}"
    dest = resolve(os.environ["RESULTS_S3_PREFIX"])
    today = (dt.date.fromisoformat(os.environ["TODAY"]) if os.environ.get("TODAY")
             else dt.datetime.now(dt.UTC).date())  # fmt: skip
    remaining = getattr(context, "get_remaining_time_in_millis", lambda: 900_000)
    done = []
    for record in event.get("Records", []):
        bucket = record["s3"]["bucket"]["name"]
        key = unquote_plus(record["s3"]["object"]["key"])
        etag = record["s3"]["object"].get("eTag", "")
        sql = state_counts_sql(today, "athena", table, f"s3://{bucket}/{key}")
        started = athena.start_query_execution(
            QueryString=sql,
            ClientRequestToken=client_request_token(bucket, key, etag, sql),
            QueryExecutionContext={"Database": os.environ["ATHENA_DATABASE"]},
            WorkGroup=os.environ.get("ATHENA_WORKGROUP", "primary"),
        )
        qid = started["QueryExecutionId"]
        wait_for_query(athena, qid, remaining)
        rows = result_rows(athena, qid)
        write_outputs(dest, bucket, key, today, etag or qid, rows, base="")
        done.append({"key": key, "query_execution_id": qid, "states": len(rows)})
    return {"processed": done, "today": today.isoformat()}
