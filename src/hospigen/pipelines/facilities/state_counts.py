"""Stage 3: accredited facilities per state, on the upload of one object.

Output, below the destination::

    exports/state_counts/<bucket>/<url-encoded key>/<YYYY-MM-DD>/
        000000        CSV, header exactly ``state,accredited_facilities``
        manifest      the data file URL(s), one per line (as Athena's UNLOAD writes)
        marker.json   source, date, run id, status, row count, source checksum

A facility counts when any accreditation is valid on ``today`` (``valid_until ≥ today``).
Each file is replaced atomically and ``marker.json`` is written last, so a reader that trusts
the marker never sees a half-written result. Re-running for the same upload and day writes the
same bytes; a changed object (new checksum) yields a new run id and new counts.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from urllib.parse import quote

import orjson
import sqlglot
from sqlglot import exp

from hospigen.pipelines.facilities.common import StageResult, connect, write_issues
from hospigen.pipelines.facilities.reader import load
from hospigen.pipelines.facilities.schema import sql_text
from hospigen.pipelines.facilities.storage import Location, safe_key

EXPORT_PREFIX = "exports/state_counts"
HEADER = ("state", "accredited_facilities")


def state_counts_sql(today: dt.date, dialect: str = "duckdb", table: str | None = None,
                     source_url: str | None = None) -> str:  # fmt: skip
    """The packaged Athena query with ``current_date`` → ``DATE 'today'``, in ``dialect``.

    ``table`` replaces ``facilities_raw`` (e.g. ``db.facilities_raw``); ``source_url`` adds
    ``"$path" = '<url>'`` so Athena counts only the uploaded object. Both go through the
    sqlglot AST (quoted literals and identifiers), never through string pasting.
    """
    tree = sqlglot.parse_one(sql_text("state_counts.athena.sql"), read="athena")
    day = exp.cast(exp.Literal.string(today.isoformat()), exp.DataType.build("date"))
    tree = tree.transform(lambda n: day.copy() if isinstance(n, exp.CurrentDate) else n)
    if table:
        target = exp.to_table(table, dialect="athena")
        for t in tree.find_all(exp.Table):
            if t.name == "facilities_raw":
                t.set("this", target.this)
                t.set("db", target.args.get("db"))
    if source_url:
        path = exp.column(exp.to_identifier("$path", quoted=True), table="r")
        tree = tree.where(exp.EQ(this=path, expression=exp.Literal.string(source_url)))
    return tree.sql(dialect, pretty=True, comments=False)


def output_prefix(bucket: str, key: str, today: dt.date, base: str = EXPORT_PREFIX) -> str:
    """``<base>/<bucket>/<url-encoded key>/<YYYY-MM-DD>`` (base: ``exports/state_counts``)."""
    parts = [quote(bucket, safe=""), quote(key, safe=""), today.isoformat()]
    return "/".join([base, *parts] if base else parts)


def run_id(bucket: str, key: str, checksum: str, today: dt.date) -> str:
    """Deterministic id of one (upload, content, day)."""
    return hashlib.sha256(f"{bucket}|{key}|{checksum}|{today}".encode()).hexdigest()[:16]


def render_csv(rows: list[tuple[str, int]]) -> bytes:
    """The CSV text: exactly the two columns, header first."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows(rows)
    return buf.getvalue().encode()


def write_outputs(dest: Location, bucket: str, key: str, today: dt.date, checksum: str,
                  rows: list[tuple[str, int]], base: str = EXPORT_PREFIX) -> list[str]:  # fmt: skip
    """Write ``000000``, ``manifest`` then ``marker.json``; returns their URLs."""
    prefix = output_prefix(bucket, key, today, base)
    data_url = dest.write_bytes(f"{prefix}/000000", render_csv(rows))
    listed = data_url if dest.scheme != "file" else f"{prefix}/000000"  # no machine paths
    manifest = dest.write_bytes(f"{prefix}/manifest", (listed + "\n").encode())
    marker = {
        "source": f"{bucket}/{key}",
        "date": today.isoformat(),
        "run_id": run_id(bucket, key, checksum, today),
        "status": "succeeded",
        "rows": len(rows),
        "source_sha256": checksum,
        "files": ["000000"],
    }
    body = orjson.dumps(marker, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"
    return [data_url, manifest, dest.write_bytes(f"{prefix}/marker.json", body)]


def run_state_counts(source: Location, key: str, dest: Location, today: dt.date) -> StageResult:
    """Count accredited facilities per state in the uploaded object ``key`` of ``source``."""
    key = safe_key(key)
    con = connect()
    loaded = load(con, source, keys=[key], columns=["location", "accreditations"])
    rows = [(s, int(n)) for s, n in con.execute(state_counts_sql(today)).fetchall()]
    checksum = source.checksum(key)
    result = StageResult("on-upload", loaded, details={"states": len(rows)})
    full_key = source.object_key(key)  # the event's key: relative to the bucket, not the prefix
    result.outputs = write_outputs(dest, source.bucket, full_key, today, checksum, rows)
    result.details["run_id"] = run_id(source.bucket, full_key, checksum, today)
    result.issues_report = write_issues(con, dest, "on-upload", result.details["run_id"])
    return result
