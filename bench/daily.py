"""Benchmark of ``hospigen daily``: seconds per day at the seed's volume and at 100×.

Run: ``PYTHONPATH=src python bench/daily.py [--days N]``. Prints a table with each figure beside
its target. Steady-state days are measured (the first days after the registry start are small
because the batch holds encounters *discharged* on the date); the registry is grown in a warm-up
run so the timed days measure the batch itself, and the cold figure includes the world load.
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
import yaml

from hospigen import __version__
from hospigen.contracts import check_folder
from hospigen.daily_batch import DailyConfig, run_day

START = dt.date(2025, 1, 1)
STEADY = START + dt.timedelta(days=10)


def _config(folder: Path, scale: int) -> DailyConfig:
    body = {
        "registry": {
            "initial_count": 100 * scale,
            "new_patients_per_day": 5 * scale,
            "max_total": 5000 * scale,
        },
        "encounters": {"per_day": 160 * scale},
    }
    path = folder / f"bench-{scale}.yaml"
    path.write_text(yaml.safe_dump(body))
    return DailyConfig.load(path)


def _bench(scale: int, days: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        cfg = _config(root, scale)
        t = time.perf_counter()
        first = run_day(cfg, STEADY, "raw", root)  # cold: grows the registry from the world
        cold = time.perf_counter() - t
        times, cpu, rows = [], [], 0
        for i in range(1, days + 1):
            t, c = time.perf_counter(), time.process_time()
            r = run_day(cfg, STEADY + dt.timedelta(days=i), "raw", root)
            times.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
            rows += sum(r.counts.values())
        t = time.perf_counter()
        findings = check_folder(first.folder)
        check = time.perf_counter() - t
        failed = sum(f.status == "fail" for f in findings)
        return {
            "encounters": first.counts["encounters.csv"],
            "vitals": first.counts["vitals.csv"],
            "cold": cold,
            "warm": float(np.median(times)),
            "cpu": float(np.median(cpu)),
            "rows_per_s": rows / sum(times),
            "check": check,
            "failed": failed,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, default=3, help="timed days per volume")
    args = parser.parse_args()
    print(f"machine: {platform.machine()} {platform.processor() or ''}, "
          f"{platform.system()} {platform.release()}")  # fmt: skip
    print(f"python {sys.version.split()[0]}, hospigen {__version__}, numpy {np.__version__}, "
          f"pyarrow {pa.__version__}, duckdb {duckdb.__version__}")  # fmt: skip
    header = f"{'volume':<22}{'enc/day':>9}{'vitals/day':>12}{'cold s':>8}{'warm s/day':>12}"
    header += f"{'cpu s/day':>11}{'target':>9}{'rows/s':>12}{'check s':>9}{'violations':>11}"
    print(f"load average before the run: {', '.join(f'{x:.1f}' for x in os.getloadavg())} "
          f"on {os.cpu_count()} cores (other work inflates wall-clock figures)")  # fmt: skip
    print(header)
    for name, scale, target in (("seed (160/day)", 1, "-"), ("100x (16,000/day)", 100, "< 5 s")):
        r = _bench(scale, args.days)
        print(
            f"{name:<22}{r['encounters']:>9,}{r['vitals']:>12,}{r['cold']:>8.2f}"
            f"{r['warm']:>12.2f}{r['cpu']:>11.2f}{target:>9}{r['rows_per_s']:>12,.0f}{r['check']:>9.2f}"
            f"{r['failed']:>11}"
        )


if __name__ == "__main__":
    main()
