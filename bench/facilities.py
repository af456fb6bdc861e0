"""Benchmark: the three facility stages on 1,000,000 generated facilities.

Usage: ``PYTHONPATH=src python bench/facilities.py [--count N]``. Generation and export are
timed separately; the target is the three stages together in under 10 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from hospigen.pipelines.facilities.expiring import run_expiring
from hospigen.pipelines.facilities.metrics import run_metrics
from hospigen.pipelines.facilities.records import export_facilities
from hospigen.pipelines.facilities.state_counts import run_state_counts
from hospigen.pipelines.facilities.storage import resolve
from hospigen.world.facilities import facilities_table
from hospigen.world.geography import places

TODAY = dt.date(2025, 8, 11)


CPU: dict[str, float] = {}


def _timed(fn, *args):
    """(result, wall seconds); CPU seconds of all threads go to ``CPU[fn name]``."""
    start, cpu = time.perf_counter(), time.process_time()
    out = fn(*args)
    CPU[fn.__name__] = time.process_time() - cpu
    return out, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=1_000_000)
    args = parser.parse_args()
    places()  # the ZIP table loads once per process; not part of either figure
    load_before = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    with tempfile.TemporaryDirectory(prefix="hospigen-bench-") as tmp:
        data, out = resolve(Path(tmp, "data")), resolve(Path(tmp, "out"))
        table, t_gen = _timed(facilities_table, 1, TODAY, args.count)
        _, t_export = _timed(export_facilities, table, data, "facilities.ndjson")
        size = os.path.getsize(Path(tmp, "data", "facilities.ndjson"))
        m, t1 = _timed(run_metrics, data, out, TODAY)
        e, t2 = _timed(run_expiring, data, out, 6, TODAY)
        s, t3 = _timed(run_state_counts, data, "facilities.ndjson", out, TODAY)
    total = t1 + t2 + t3
    n = args.count
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}")
    print(f"python {sys.version.split()[0]}, numpy {np.__version__}, pyarrow {pa.__version__}, "
          f"duckdb {duckdb.__version__}")  # fmt: skip
    print(f"{n:,} facilities, NDJSON {size / 1e6:.0f} MB, today {TODAY}")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"load average before/after: {load_before} / {load} (the machine is shared)")
    print()
    print(f"{'step':<34}{'wall s':>8}{'cpu s':>8}{'rows/s':>12}  target")
    cpu_total = sum(CPU[f.__name__] for f in (run_metrics, run_expiring, run_state_counts))
    rows = [
        ("generate (facilities_table)", t_gen, CPU["facilities_table"], "reported separately"),
        ("export NDJSON", t_export, CPU["export_facilities"], "reported separately"),
        (f"stage 1 metrics ({m.details['rows']:,} rows)", t1, CPU["run_metrics"], ""),
        (f"stage 2 expiring ({e.details['kept']:,} kept)", t2, CPU["run_expiring"], ""),
        (f"stage 3 on-upload ({s.details['states']} states)", t3, CPU["run_state_counts"], ""),
        ("stages 1-3 together", total, cpu_total, f"< 10 s: {'MET' if total < 10 else 'MISSED'}"),
    ]
    for name, secs, cpu, target in rows:
        print(f"{name:<34}{secs:>8.2f}{cpu:>8.2f}{n / secs:>12,.0f}  {target}")


if __name__ == "__main__":
    main()
