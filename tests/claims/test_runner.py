"""The local runner's overlapped batches: the same tables as one batch at a time."""

from __future__ import annotations

import datetime as dt
import itertools
import time
from pathlib import Path

import duckdb

from hospigen import stream
from hospigen.pipelines.claims.runner import run
from tests.claims.test_pipeline import _messages

CLOCK = lambda: dt.datetime(2025, 1, 2, tzinfo=dt.UTC)  # noqa: E731


def _publish(log: Path) -> int:
    msgs, _ = _messages(60)
    w = stream.open_writer(str(log))
    w.publish(msgs)
    w.publish(msgs[::7])  # replays: duplicate claim ids in later batches than their first copy
    w.close()
    return len(msgs) + len(msgs[::7])


def _tables(db: Path) -> dict[str, list[tuple]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {
            t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall()
            for t in ("claims_events_stream", "processing_errors", "stream_offsets")
        }
    finally:
        con.close()


def test_overlapped_run_lands_the_same_rows_as_a_sequential_one(tmp_path):
    log = tmp_path / "log"
    n = _publish(log)
    one, two = tmp_path / "seq.duckdb", tmp_path / "overlap.duckdb"
    seq = run(str(log), f"duckdb://{one}", clock=CLOCK, batch_size=37, overlap=False)
    ovl = run(str(log), f"duckdb://{two}", clock=CLOCK, batch_size=37, overlap=True)
    assert seq == ovl and seq.messages == n and seq.batches > 5 and seq.duplicates > 0
    want, got = _tables(one), _tables(two)
    assert got == want
    # error rows keep their bytes, code and timestamp (duplicates included)
    assert all(r[2] is not None and r[4] is not None and r[5] for r in got["processing_errors"])


def test_a_stopped_overlapped_run_resumes_to_the_same_tables(tmp_path):
    log = tmp_path / "log"
    _publish(log)
    whole, parts = tmp_path / "whole.duckdb", tmp_path / "parts.duckdb"
    run(str(log), f"duckdb://{whole}", clock=CLOCK, batch_size=37, overlap=False)
    stop = itertools.chain([False] * 3, itertools.repeat(True))
    first = run(str(log), f"duckdb://{parts}", clock=CLOCK, batch_size=37,
                should_stop=lambda: next(stop))  # fmt: skip
    assert first.batches == 3  # the batch in flight when told to stop is landed, no more
    run(str(log), f"duckdb://{parts}", clock=CLOCK, batch_size=37)
    assert _tables(parts) == _tables(whole)


def test_follow_lands_each_batch_before_waiting_for_more(tmp_path):
    msgs, _ = _messages(40)
    log, db = tmp_path / "log", tmp_path / "w.duckdb"
    halves = (msgs[: len(msgs) // 2], msgs[len(msgs) // 2 :])
    w = stream.open_writer(str(log))
    w.publish(halves[0])
    w.close()
    landed = [0]
    give_up = time.monotonic() + 120  # a runner that never lands while waiting fails, not hangs

    def publish_rest(summary):  # the second half arrives only once the first has landed
        landed[0] = summary.messages
        if summary.batches == 1:
            assert summary.messages == len(halves[0])
            w = stream.open_writer(str(log))
            w.publish(halves[1])
            w.close()

    def stop() -> bool:
        return landed[0] == len(msgs) or time.monotonic() > give_up

    done = run(str(log), f"duckdb://{db}", clock=CLOCK, batch_size=10_000, follow=True,
               poll_seconds=0.01, on_batch=publish_rest, should_stop=stop)  # fmt: skip
    assert done.messages == len(msgs) and done.batches == 2
    whole = tmp_path / "whole.duckdb"
    run(str(log), f"duckdb://{whole}", clock=CLOCK, batch_size=10_000)
    assert _tables(db) == _tables(whole)
