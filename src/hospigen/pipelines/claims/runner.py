"""The local runner: stream → core → DuckDB in micro-batches, exactly once.

Each micro-batch's rows and the stream position after it are committed in one DuckDB
transaction; on start the runner seeks to the committed position. Killed at any instant
(SIGKILL included), a restart converges to the same tables as an uninterrupted run.

Batches are overlapped on two threads: while the main thread lands batch k (history,
inserts, commit: DuckDB releases the GIL), a worker thread parses, validates and enriches
batch k+1 (DuckDB and Arrow, which release it too). Only the main thread touches the reader
and the warehouse, in stream order, so landing is exactly as in a sequential run.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from hospigen import stream
from hospigen.pipelines.claims.core import Processed, process_batch
from hospigen.pipelines.claims.sinks.duckdb import DuckDBSink


@dataclass
class RunSummary:
    """What one run consumed and landed."""

    messages: int = 0
    claims: int = 0
    errors: int = 0
    duplicates: int = 0
    batches: int = 0


@dataclass
class _InFlight:
    """A batch read and handed to processing, not landed yet."""

    batch: stream.Batch
    ids: list[str] | None
    messages: int
    processed: Future[Processed]


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


class _Now:
    """Runs a function at once on the calling thread, returning a finished future."""

    def submit(self, fn: Callable[..., Processed], *args: object) -> Future[Processed]:
        done: Future[Processed] = Future()
        done.set_result(fn(*args))
        return done

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Nothing runs in the background."""


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
    overlap: bool = True,
) -> RunSummary:
    """Consume ``source`` into the DuckDB file ``warehouse`` until the end (or forever).

    ``overlap`` processes the next batch on a worker thread while the current one lands
    (same tables as ``overlap=False``, which does one batch at a time on this thread).
    """
    if not warehouse.startswith("duckdb://"):
        from hospigen.errors import UsageError

        raise UsageError("the local runner writes to duckdb:///path.duckdb")
    sink = DuckDBSink(warehouse.removeprefix("duckdb://"))
    reader = stream.open_reader(source, group)
    key = stream_key(source)
    summary = RunSummary()
    worker = ThreadPoolExecutor(1, thread_name_prefix="claims-core") if overlap else _Now()
    pending: _InFlight | None = None

    def land(item: _InFlight) -> None:
        out = item.processed.result()
        n_claims, n_errors, n_dups = sink.commit(
            out.claims,
            out.errors,
            key,
            group,
            position=item.batch.position,
            ids=item.ids,
            raw_of=out.raw_of,
        )
        reader.ack(item.batch)
        summary.messages += item.messages
        summary.claims += n_claims
        summary.errors += n_errors
        summary.duplicates += n_dups
        summary.batches += 1
        if on_batch:
            on_batch(summary)

    try:
        if reader.ordered:
            reader.seek(sink.position(key, group))
        while not should_stop():
            batch = reader.read(batch_size, timeout=poll_seconds if follow else 0.0)
            if batch is None:
                if pending is not None:  # land what is processed before waiting for more
                    land(pending)
                    pending = None
                if not follow:
                    break
                time.sleep(poll_seconds)
                continue
            payloads, ids = batch.payloads, batch.ids
            if ids is not None:  # unordered source: drop redeliveries already committed
                # ... or about to be: the batch in flight lands before this one
                seen = sink.seen(key, ids)
                if pending is not None and pending.ids:
                    seen |= set(pending.ids)
                keep = _first_unseen(ids, seen)
                if not keep.all():
                    payloads = payloads.filter(pa.array(keep))
                    ids = [i for i, k in zip(ids, keep, strict=True) if k]
            if len(payloads) == 0:  # every message was a redelivery of committed ones
                if pending is not None:  # acknowledge in stream order
                    land(pending)
                    pending = None
                reader.ack(batch)
                continue
            item = _InFlight(
                batch, ids, len(payloads), worker.submit(process_batch, payloads, clock())
            )
            if pending is not None:
                land(pending)  # overlaps with the worker processing ``item``
            pending = item
        if pending is not None:
            land(pending)
            pending = None
    finally:
        worker.shutdown(wait=True, cancel_futures=True)
        reader.close()
        sink.close()
    return summary
