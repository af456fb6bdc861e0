# ruff: noqa: E501  (a results table)
"""Claims end to end: local runner and Beam DirectRunner on the same pre-published messages.

PYTHONPATH=src:. python bench/claims.py [--messages 1000000]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import pyarrow

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.claims.test_pipeline import _messages

from hospigen.pipelines.claims.runner import run
from hospigen.stream import open_writer


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=1_000_000)
    args = parser.parse_args()
    import datetime as dt

    clock = lambda: dt.datetime(2025, 1, 2, tzinfo=dt.UTC)  # noqa: E731
    load0 = os.getloadavg()
    msgs, _ = _messages(max(1, args.messages // 5))
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "log"
        w = open_writer(str(log))
        w.publish(msgs)
        w.close()
        t0 = time.perf_counter()
        s = run(str(log), f"duckdb://{tmp}/w.duckdb", clock=clock, batch_size=250_000)
        local = time.perf_counter() - t0
        assert s.claims + s.errors == len(msgs)
        from hospigen.beam.claims_pipeline import run as beam_run

        t0 = time.perf_counter()
        beam_run(["--runner", "DirectRunner", "--input", str(log), "--output",
                  f"parquet://{tmp}/beam", "--processing_time", "2025-01-02T00:00:00Z"])  # fmt: skip
        beam = time.perf_counter() - t0
    import apache_beam

    print(
        f"machine: {platform.machine()} {platform.processor() or ''}, Python {platform.python_version()}"
    )
    print(
        f"duckdb {duckdb.__version__}, pyarrow {pyarrow.__version__}, apache-beam {apache_beam.__version__}"
    )
    print(f"load average before/after: {load0} / {os.getloadavg()} on {os.cpu_count()} cores")
    print(f"{'workload':<40} {'claims/s':>12} {'target':>12}")
    print(
        f"{'local runner, ' + str(len(msgs)) + ' msgs':<40} {len(msgs) / local:>12,.0f} {'1,000,000':>12}"
    )
    print(
        f"{'Beam DirectRunner, ' + str(len(msgs)) + ' msgs':<40} {len(msgs) / beam:>12,.0f} {'100,000':>12}"
    )


if __name__ == "__main__":
    main()
