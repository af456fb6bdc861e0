"""Cohort generator benchmark: the seed's multi-module cohort and a `general` population.

Runs the real CLI in a child process per workload (whole-process time, peak RSS of the child)
and prints our row counts beside the seed's reported volumes. Usage:
``python bench/cohort.py [--big]`` (``--big`` adds 100,000- and 200,000-patient general runs, to
show that peak memory stays flat as N grows). CPU seconds (user + system of the child) are
printed beside wall time: on a shared machine they are the steadier figure.
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SEED_MODULES = [
    "--scenario",
    "oncology_survivorship",
    "--module",
    "ckd_dialysis_planning",
    "--module",
    "mental_health_integrated_care",
    "--seed",
    "42",
]
SEED_REF = {200: 5.5, 2000: 57.5}  # the seed's own code, seconds (whole process)
SEED_ROWS_2000 = {"encounters": 240_000, "observations": 422_000, "procedures": 49_000}


def run(args: list[str], out: Path) -> tuple[float, float, float, dict]:
    cmd = [
        sys.executable,
        "-m",
        "hospigen.cli.app",
        "generate",
        "--as-of",
        "2025-01-01",
        "-o",
        str(out),
        *args,
    ]
    # ru_maxrss of children is the largest of any child so far: run each workload in a fresh
    # helper process so the figure is this workload's own
    probe = (
        "import resource, subprocess, sys, json; subprocess.run(sys.argv[1:], check=True, "
        "capture_output=True); u = resource.getrusage(resource.RUSAGE_CHILDREN); "
        "print(json.dumps([u.ru_maxrss, u.ru_utime + u.ru_stime]))"
    )
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", probe, *cmd], check=True, capture_output=True)
    elapsed = time.perf_counter() - start
    peak_kb, cpu = json.loads(done.stdout)
    counts = json.loads((out / "summary.json").read_text())["counts"]
    return elapsed, cpu, peak_kb / 1024, counts


def main() -> None:
    import os

    import numpy
    import pyarrow

    print(
        f"machine: {platform.machine()} {platform.processor() or ''}, {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.1f}, python {platform.python_version()}, "
        f"numpy {numpy.__version__}, pyarrow {pyarrow.__version__}"
    )
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in (200, 2000):
            secs, cpu, rss, counts = run(
                ["-n", str(n), *SEED_MODULES, "--output-format", "both"], Path(tmp) / f"seed{n}"
            )
            target = 10 if n == 200 else 100
            rows.append(
                (
                    f"seed cohort {n} (csv+parquet)",
                    secs,
                    cpu,
                    n / secs,
                    rss,
                    f"{SEED_REF[n] / secs:.1f}x faster (target {target}x)",
                    counts,
                )
            )
        general = [(20_000, 1), (20_000, 2)]
        if "--big" in sys.argv:
            general += [(100_000, 1), (200_000, 1)]
        for n, workers in general:
            secs, cpu, rss, counts = run(
                ["-n", str(n), "--output-format", "parquet", "-w", str(workers)],
                Path(tmp) / f"general{n}-{workers}",
            )
            rows.append(
                (
                    f"general {n} (parquet, 10 y, -w {workers})",
                    secs,
                    cpu,
                    n / secs,
                    rss,
                    f"{n / secs:,.0f} patients/s (target 20,000)",
                    counts,
                )
            )
    print(f"load average after the runs {os.getloadavg()[0]:.1f}")
    print(
        f"{'workload':<40}{'wall s':>8}{'CPU s':>8}{'patients/s':>12}{'peak RSS MB':>13}  vs target"
    )
    for name, secs, cpu, rate, rss, versus, _ in rows:
        print(f"{name:<40}{secs:>8.1f}{cpu:>8.1f}{rate:>12,.0f}{rss:>13,.0f}  {versus}")
    print("\nrow counts (ours; the seed's 2,000-patient run in brackets)")
    for name, *_, counts in rows:
        shown = ", ".join(
            f"{t} {c:,}"
            + (f" [{SEED_ROWS_2000[t]:,}]" if "2000" in name and t in SEED_ROWS_2000 else "")
            for t, c in counts.items()
        )
        print(f"  {name}: {shown}")


if __name__ == "__main__":
    main()
