"""Claims → JSON messages (seed fields + ours), and labelled invalid messages for testing.

Invalid kinds map one to one onto the processing core's error codes, so a test (or a user
replaying a file) can check that each bad message lands in ``processing_errors`` with the
right code.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from hospigen.pipelines.claims.schema import MAX_MESSAGE_BYTES, MESSAGE_FIELDS
from hospigen.rng import KeyedRandom

# invalid kind → the error code the pipeline must give it
INVALID_KINDS = {
    "malformed_json": "malformed_json",
    "non_object_json": "not_an_object",
    "missing_required": "missing_field",
    "null_required": "null_field",
    "wrong_type": "wrong_type",
    "amount_out_of_range": "amount_out_of_range",
    "age_out_of_range": "age_out_of_range",
    "bad_date": "bad_date",
    "bad_enum": "bad_enum",
    "submission_before_service": "submission_before_service",
    "oversized": "oversized",
    "invalid_utf8": "invalid_utf8",
}


def to_messages(claims: pa.Table, ingest_ts: dt.datetime) -> list[bytes]:
    """One JSON object per claim with the message fields (dates ISO, real nulls)."""
    cols = {}
    for f in MESSAGE_FIELDS:
        if f.name == "ingest_ts":
            continue
        col = claims.column(f.name) if f.name in claims.column_names else None
        if col is None:
            cols[f.name] = pa.nulls(claims.num_rows)
        elif f.kind == "date":
            cols[f.name] = pc.strftime(col, "%Y-%m-%d")
        else:
            cols[f.name] = col
    stamp = ingest_ts.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    rows = pa.table(cols).to_pylist()
    dumps = orjson.dumps
    return [dumps({**r, "ingest_ts": stamp}) for r in rows]


def _edit(message: bytes, kind: str, u: float) -> bytes:
    obj = orjson.loads(message)
    if kind == "malformed_json":
        return message[: max(1, int(len(message) * (0.2 + 0.6 * u)))]
    if kind == "non_object_json":
        return [b"[1, 2, 3]", b'"a claim"', b"42", b"null", b"true"][int(u * 5)]
    if kind == "missing_required":
        obj.pop(["claim_id", "patient_id", "claim_amount", "service_date"][int(u * 4)])
    elif kind == "null_required":
        obj[["claim_id", "provider_id", "claim_status", "submission_date"][int(u * 4)]] = None
    elif kind == "wrong_type":
        if u < 0.5:
            obj["claim_amount"] = str(obj["claim_amount"])
        else:
            obj["diagnosis_codes"] = ",".join(obj["diagnosis_codes"] or [])
    elif kind == "amount_out_of_range":
        obj["claim_amount"] = -12.5 if u < 0.5 else 2_500_000.0
    elif kind == "age_out_of_range":
        obj["patient_age"] = 212 if u < 0.5 else -4
    elif kind == "bad_date":
        obj["service_date"] = ["2024-02-30", "yesterday", "03/15/2024"][int(u * 3)]
    elif kind == "bad_enum":
        obj["claim_status"] = "MAYBE"
    elif kind == "submission_before_service":
        sd = dt.date.fromisoformat(obj["service_date"])
        obj["submission_date"] = (sd - dt.timedelta(days=1 + int(u * 20))).isoformat()
    elif kind == "oversized":
        obj["notes"] = "x" * (MAX_MESSAGE_BYTES + 1)
    elif kind == "invalid_utf8":
        return message.replace(b'"claim_status":"', b'"claim_status":"\xff\xfe', 1)
    return orjson.dumps(obj)


def corrupt(
    messages: list[bytes], seed: int, rate: float, keys: np.ndarray | None = None
) -> tuple[list[bytes], list[str | None]]:
    """Replace a ``rate`` share of ``messages`` by invalid ones; returns (messages, kinds)."""
    keys = np.arange(len(messages)) if keys is None else keys
    rnd = KeyedRandom(seed, "claim/invalid")
    names = list(INVALID_KINDS)
    hit = np.flatnonzero(rnd.uniform(keys, "pick") < rate)
    which = rnd.choice(keys, "kind", np.ones(len(names)))
    u = rnd.uniform(keys, "detail")
    out, kinds = list(messages), [None] * len(messages)
    for i in hit:
        kinds[i] = names[which[i]]
        out[i] = _edit(messages[i], kinds[i], float(u[i]))
    return out, kinds
