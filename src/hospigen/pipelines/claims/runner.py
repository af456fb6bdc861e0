"""The local runner: stream → core → DuckDB in micro-batches, exactly once.

Each micro-batch's rows and the stream position after it are committed in one DuckDB
transaction; on start the runner seeks to the committed position. Killed at any instant
(SIGKILL included), a restart converges to the same tables as an uninterrupted run.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from hospigen import stream
from hospigen.pipelines.claims.core import process_batch
from hospigen.pipelines.claims.sinks.duckdb import DuckDBSink


@dataclass
class RunSummary:
    """What one run consumed and landed."""

    messages: int = 0
    claims: int = 0
    errors: int = 0
    duplicates: int = 0
    batches: int = 0


def _first_unseen(ids: list[str], seen: set[str]) -> np.ndarray:
    """Mask of the messages to process: first copy of each id, not committed before."""
    _, first = np.unique(np.asarray(ids, dtype=object), return_index=True)
    keep = np.zeros(len(ids), dtype=bool)
    keep[first] = True
    if seen:
        keep &= np.array([i not in seen for i in ids])
    return keep


def stream_key(url: str) -> str:
    """A stable name for the stream in the offsets table (local folders resolved)."""
    if stream.scheme_of(url) == "file":
        return "file://" + str(Path(url.removeprefix("file://")).resolve())
    return url


def run(
    source: str,
    warehouse: str,
    *,
    clock: Callable[[], dt.datetime],
    group: str = "claims",
    batch_size: int = 500_000,
    follow: bool = False,
    poll_seconds: float = 0.5,
    on_batch: Callable[[RunSummary], None] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> RunSummary:
    """Consume ``source`` into the DuckDB file ``warehouse`` until the end (or forever)."""
    if not warehouse.startswith("duckdb://"):
        from hospigen.errors import UsageError

        raise UsageError("the local runner writes to duckdb:///path.duckdb")
    sink = DuckDBSink(warehouse.removeprefix("duckdb://"))
    reader = stream.open_reader(source, group)
    key = stream_key(source)
    summary = RunSummary()
    try:
        if reader.ordered:
            reader.seek(sink.position(key, group))
        while not should_stop():
            batch = reader.read(batch_size, timeout=poll_seconds if follow else 0.0)
            if batch is None:
                if not follow:
                    break
                time.sleep(poll_seconds)
                continue
            payloads, ids = batch.payloads, batch.ids
            if ids is not None:  # unordered source: drop redeliveries already committed
                keep = _first_unseen(ids, sink.seen(key, ids))
                if not keep.all():
                    payloads = payloads.filter(pa.array(keep))
                    ids = [i for i, k in zip(ids, keep, strict=True) if k]
            if len(payloads) == 0:  # every message was a redelivery of committed ones
                reader.ack(batch)
                continue
            out = process_batch(payloads, clock())
            n_claims, n_errors, n_dups = sink.commit(
                out.claims,
                out.errors,
                key,
                group,
                position=batch.position,
                ids=ids,
                raw_of=out.raw_of,
            )
            reader.ack(batch)
            summary.messages += len(payloads)
            summary.claims += n_claims
            summary.errors += n_errors
            summary.duplicates += n_dups
            summary.batches += 1
            if on_batch:
                on_batch(summary)
    finally:
        reader.close()
        sink.close()
    return summary
