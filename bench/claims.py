# ruff: noqa: E501  (a results table)
"""Claims end to end: local runner and Beam DirectRunner on the same pre-published messages.

PYTHONPATH=src:. python bench/claims.py [--messages 1000000] [--repeat 3] [--log DIR]

Each workload runs ``--repeat`` times on the same log (a fresh warehouse / output each time);
the table shows the best and the median throughput and the load average around the runs (the
machine is shared, so the spread is part of the result).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import pyarrow

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hospigen.pipelines.claims.runner import run
from hospigen.stream import open_writer

CLOCK = dt.datetime(2025, 1, 2, tzinfo=dt.UTC)


def _publish(log: Path, messages: int) -> None:
    from tests.claims.test_pipeline import _messages

    msgs, _ = _messages(max(1, messages // 5))
    w = open_writer(str(log))
    w.publish(msgs)
    w.close()


def _count(log: Path) -> int:
    from hospigen.stream.local_log import _segments

    return sum(p.read_bytes().count(b"\n") for _, p in _segments(log))


def _local(log: Path, tmp: Path, i: int) -> None:
    s = run(str(log), f"duckdb://{tmp}/w{i}.duckdb", clock=lambda: CLOCK)
    assert s.messages == s.claims + s.errors + s.duplicates


def _beam(log: Path, tmp: Path, i: int) -> None:
    from hospigen.beam.claims_pipeline import run as beam_run

    beam_run(["--runner", "DirectRunner", "--input", str(log), "--output",
              f"parquet://{tmp}/beam{i}", "--processing_time", "2025-01-02T00:00:00Z"])  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--log", help="an already published local log to reuse")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        log = Path(args.log) if args.log else tmp / "log"
        if not args.log:
            _publish(log, args.messages)
        n = _count(log)
        for name, fn, target in (
            ("local runner", _local, 1_000_000),
            ("Beam DirectRunner", _beam, 100_000),
        ):
            rates, loads = [], []
            for i in range(args.repeat):
                loads.append(os.getloadavg()[0])
                t0 = time.perf_counter()
                fn(log, tmp, i)
                rates.append(n / (time.perf_counter() - t0))
            loads.append(os.getloadavg()[0])
            rows.append(
                (name, max(rates), statistics.median(rates), min(loads), max(loads), target)
            )
    import apache_beam

    print(
        f"machine: {platform.machine()} {platform.processor() or ''}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(
        f"duckdb {duckdb.__version__}, pyarrow {pyarrow.__version__}, apache-beam {apache_beam.__version__}"
    )
    print(f"{n:,} messages, 5 % invalid, {args.repeat} runs each")
    print(
        f"{'workload':<20} {'best msgs/s':>14} {'median':>10} {'load avg (1 min)':>17} {'target':>11}"
    )
    for name, best, med, lo, hi, target in rows:
        print(f"{name:<20} {best:>14,.0f} {med:>10,.0f} {lo:>8.1f} – {hi:<6.1f} {target:>11,}")


if __name__ == "__main__":
    main()
