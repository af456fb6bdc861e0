"""BigQuery sink: DDL for DAY-partitioned tables and streaming inserts (``gcp`` extra).

The DDL is plain text (snapshot-tested); identifiers are validated before use.
"""

from __future__ import annotations

import re

import pyarrow as pa

from hospigen.errors import MissingExtraError, UsageError
from hospigen.pipelines.claims.schema import CLAIMS_EVENTS_STREAM, PROCESSING_ERRORS

_BQ = {
    pa.string(): "STRING",
    pa.float64(): "FLOAT64",
    pa.int64(): "INT64",
    pa.bool_(): "BOOL",
    pa.date32(): "DATE",
    pa.binary(): "BYTES",
    pa.timestamp("us", tz="UTC"): "TIMESTAMP",
    pa.list_(pa.string()): "ARRAY<STRING>",
}
_PARTITION = {
    "claims_events_stream": "processing_timestamp",
    "processing_errors": "error_timestamp",
}
_IDENT = re.compile(r"^[A-Za-z0-9_-]{1,1024}$")


def _check(name: str, what: str) -> str:
    if not _IDENT.match(name):
        raise UsageError(f"invalid BigQuery {what} {name!r}")
    return name


def ddl(project: str, dataset: str) -> str:
    """CREATE TABLE IF NOT EXISTS statements for both tables, DAY-partitioned."""
    out = []
    for name, schema in (
        ("claims_events_stream", CLAIMS_EVENTS_STREAM),
        ("processing_errors", PROCESSING_ERRORS),
    ):
        # ARRAY columns cannot be NOT NULL in BigQuery (an empty array is their "null")
        required = lambda f: not f.nullable and not _BQ[f.type].startswith("ARRAY")  # noqa: E731
        cols = ",\n  ".join(
            f"{f.name} {_BQ[f.type]}{' NOT NULL' if required(f) else ''}" for f in schema
        )
        table = f"`{_check(project, 'project')}.{_check(dataset, 'dataset')}.{name}`"
        out.append(
            f"CREATE TABLE IF NOT EXISTS {table} (\n  {cols}\n)\n"
            f"PARTITION BY DATE({_PARTITION[name]});"
        )
    return "\n\n".join(out) + "\n"


class BigQuerySink:
    """Streams rows into the two tables of ``project.dataset`` (created if missing)."""

    def __init__(self, target: str) -> None:
        project, _, dataset = target.partition("/")
        self.project, self.dataset = _check(project, "project"), _check(dataset, "dataset")
        try:
            from google.cloud import bigquery
        except ImportError:
            raise MissingExtraError("gcp", "the BigQuery sink") from None
        self.client = bigquery.Client(project=self.project)
        self.client.query(ddl(self.project, self.dataset)).result()

    def write(self, claims: pa.Table, errors: pa.Table, name: str) -> None:
        """Insert one batch; ``insertId`` = claim_id / stream position for best-effort dedupe."""
        import base64

        for table, rows, key in (
            ("claims_events_stream", claims.select(CLAIMS_EVENTS_STREAM.names), "claim_id"),
            ("processing_errors", errors.select(PROCESSING_ERRORS.names), None),
        ):
            records = rows.to_pylist()
            for r in records:
                for k, v in list(r.items()):
                    if isinstance(v, bytes):
                        r[k] = base64.b64encode(v).decode()
                    elif hasattr(v, "isoformat"):
                        r[k] = v.isoformat()
            ids = [r[key] for r in records] if key else None
            ref = f"{self.project}.{self.dataset}.{table}"
            errs = self.client.insert_rows_json(ref, records, row_ids=ids)
            if errs:
                raise RuntimeError(f"BigQuery rejected rows in {ref}: {errs[:3]}")


def open_sink(target: str) -> BigQuerySink:
    """A BigQuery sink for ``project/dataset``."""
    return BigQuerySink(target)
