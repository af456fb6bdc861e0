"""DuckDB sink: ``claims_events_stream``, ``processing_errors`` and ``stream_offsets``.

Rows and the stream position they came from are committed in one transaction, so a consumer
killed at any instant resumes exactly where its last commit ended: nothing lost, nothing twice.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from hospigen.pipelines.claims.dedupe import apply_history, merge_errors
from hospigen.pipelines.claims.schema import CLAIMS_EVENTS_STREAM, PROCESSING_ERRORS

_TYPES = {
    pa.string(): "VARCHAR",
    pa.float64(): "DOUBLE",
    pa.int64(): "BIGINT",
    pa.bool_(): "BOOLEAN",
    pa.date32(): "DATE",
    pa.binary(): "BLOB",
    pa.timestamp("us", tz="UTC"): "TIMESTAMPTZ",
    pa.list_(pa.string()): "VARCHAR[]",
}


def ddl(name: str, schema: pa.Schema) -> str:
    """CREATE TABLE IF NOT EXISTS for one output table (DuckDB types)."""
    cols = ",\n  ".join(
        f"{f.name} {_TYPES[f.type]}{'' if f.nullable else ' NOT NULL'}" for f in schema
    )
    return f"CREATE TABLE IF NOT EXISTS {name} (\n  {cols}\n)"


def _no_raw(seq: np.ndarray) -> pa.Array:
    raise ValueError("a duplicate claim id needs its raw bytes: pass raw_of to commit()")


class DuckDBSink:
    """A DuckDB warehouse file holding the claims tables and consumer offsets."""

    def __init__(self, path: str) -> None:
        if not path:
            raise ValueError("duckdb:// needs a file path, e.g. duckdb:///claims.duckdb")
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.con = duckdb.connect(path)
        self.con.execute("SET TimeZone='UTC'")
        self.con.execute(ddl("claims_events_stream", CLAIMS_EVENTS_STREAM))
        self.con.execute(ddl("processing_errors", PROCESSING_ERRORS))
        self.con.execute(
            "CREATE TABLE IF NOT EXISTS stream_offsets (stream VARCHAR, consumer_group VARCHAR,"
            " position VARCHAR, PRIMARY KEY (stream, consumer_group))"
        )
        self.con.execute(
            "CREATE TABLE IF NOT EXISTS stream_seen_ids (stream VARCHAR, message_id VARCHAR)"
        )

    def position(self, stream: str, group: str) -> str | None:
        """The committed position of (stream, group), if any."""
        row = self.con.execute(
            "SELECT position FROM stream_offsets WHERE stream = ? AND consumer_group = ?",
            [stream, group],
        ).fetchone()
        return row[0] if row else None

    def seen(self, stream: str, ids: list[str]) -> set[str]:
        """Which message ids of an unordered stream were already committed."""
        if not ids:
            return set()
        self.con.register("_ids", pa.table({"id": ids}))
        try:
            rows = self.con.execute(
                "SELECT message_id FROM stream_seen_ids WHERE stream = ? AND message_id IN "
                "(SELECT id FROM _ids)",
                [stream],
            ).fetchall()
        finally:
            self.con.unregister("_ids")
        return {r[0] for r in rows}

    def commit(
        self,
        claims: pa.Table,
        errors: pa.Table,
        stream: str,
        group: str,
        position: str | None = None,
        ids: list[str] | None = None,
        raw_of: Callable[[np.ndarray], pa.Array] | None = None,
    ) -> tuple[int, int, int]:
        """Land one batch and its stream position atomically; (claims, errors, duplicates).

        ``raw_of`` gives the raw bytes of claims at given stream positions (for those that
        turn out to be duplicates), e.g. :meth:`~hospigen.pipelines.claims.core.Processed.raw_of`.
        """
        con = self.con
        con.execute("BEGIN TRANSACTION")
        try:
            landed, dups = apply_history(con, claims, "claims_events_stream", raw_of or _no_raw)
            con.register("_claims", landed.drop_columns(["_seq"]))
            con.register("_errors", merge_errors(errors, dups).drop_columns(["_seq"]))
            con.execute("INSERT INTO claims_events_stream BY NAME SELECT * FROM _claims")
            con.execute("INSERT INTO processing_errors BY NAME SELECT * FROM _errors")
            if position is not None:
                con.execute(
                    "INSERT OR REPLACE INTO stream_offsets VALUES (?, ?, ?)",
                    [stream, group, position],
                )
            if ids:
                con.register("_ids", pa.table({"id": ids}))
                con.execute("INSERT INTO stream_seen_ids SELECT ?, id FROM _ids", [stream])
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        finally:
            for view in ("_claims", "_errors", "_ids"):
                with contextlib.suppress(duckdb.Error):
                    con.unregister(view)
        return landed.num_rows, errors.num_rows, dups.num_rows

    def counts(self) -> dict[str, int]:
        """Row counts of the two tables."""
        return {
            t: self.con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("claims_events_stream", "processing_errors")
        }

    def close(self) -> None:
        """Checkpoint and close the file."""
        self.con.close()


def open_sink(path: str) -> DuckDBSink:
    """A DuckDB sink at ``path`` (the part after ``duckdb://``)."""
    return DuckDBSink(path)
