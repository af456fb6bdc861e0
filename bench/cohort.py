"""Cohort generator benchmark: the seed's multi-module cohort and a `general` population.

Runs the real CLI in a child process per workload (whole-process time, peak RSS of the child)
and prints our row counts beside the seed's reported volumes. Usage:
``python bench/cohort.py [--big | --small] [--repeat K]`` (``--big`` adds a 200,000-patient
general run beside the 20,000 and 100,000 ones, to show that peak memory stays flat as N
grows; ``--small`` runs only the start-up floor and the 200-patient seed cohort, the small-run
target; each workload runs K times, default 3, and the best wall time is kept). CPU seconds
(user + system of the child) are printed beside wall time: on a shared machine they are the
steadier figure.

Children run with compiled bytecode, as an installed package does: if PYTHONDONTWRITEBYTECODE
is set (it is in some sandboxes), every start would recompile hospigen's ~50 modules (~0.07 s),
so the children get a private PYTHONPYCACHEPREFIX and a warm-up run fills it. The start-up
floor (interpreter + numpy + pyarrow imports, and a 1-patient run) is printed first; after the
runs, the encoding floor of the 2,000-patient cohort (its tables encoded as Parquet and CSV in
memory, nothing simulated) shows how much of the 100x target those fixed costs already take.
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


_ENV: dict[str, str] = {}


def _child_env(cache: Path) -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(cache)
    return env


def _timed(cmd: list[str]) -> tuple[float, float, int]:
    """(wall s, CPU s, peak RSS KB) of ``cmd`` run in a fresh helper process."""
    # ru_maxrss of children is the largest of any child so far: run each workload in a fresh
    # helper process so the figure is this workload's own
    probe = (
        "import resource, subprocess, sys, json; subprocess.run(sys.argv[1:], check=True, "
        "capture_output=True); u = resource.getrusage(resource.RUSAGE_CHILDREN); "
        "print(json.dumps([u.ru_maxrss, u.ru_utime + u.ru_stime]))"
    )
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", probe, *cmd], check=True, capture_output=True, env=_ENV or None
    )
    elapsed = time.perf_counter() - start
    peak_kb, cpu = json.loads(done.stdout)
    return elapsed, cpu, peak_kb


def run(args: list[str], out: Path, repeat: int = 3) -> tuple[float, float, float, dict]:
    """Best (lowest wall) of ``repeat`` runs: (wall s, CPU s, peak RSS MB, row counts)."""
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
    best = min(_timed(cmd) for _ in range(repeat))
    counts = json.loads((out / "summary.json").read_text())["counts"]
    return best[0], best[1], best[2] / 1024, counts


def floor(tmp: Path, repeat: int) -> list[tuple[str, float, float]]:
    """Whole-process start-up floor: bare imports, and a 1-patient run (fixed costs)."""
    imports = [sys.executable, "-c", "import numpy, pyarrow, pyarrow.compute, pyarrow.parquet, "
               "pyarrow.csv, yaml, orjson, rich.console"]  # fmt: skip
    one = [sys.executable, "-m", "hospigen.cli.app", "generate", "--as-of", "2025-01-01",
           "-n", "1", "-o", str(tmp / "one"), "--output-format", "both"]  # fmt: skip
    rows = []
    for name, cmd in (
        ("python + numpy/pyarrow/yaml/rich imports", imports),
        ("generate -n 1", one),
    ):
        wall, cpu, _ = min(_timed(cmd) for _ in range(repeat))
        rows.append((name, wall, cpu))
    return rows


def encoding_floor(folder: Path, repeat: int) -> tuple[float, float]:
    """CPU seconds (Parquet, CSV) to encode a run's tables in memory, read back from the run's
    Parquet files: Parquet by Arrow alone (zstd, as the exporter writes it), CSV by Arrow's
    writer after hospigen's text conversion (the exporter's path, and 4-5x faster here than
    Arrow's own CSV writer on the typed tables, whose timestamps dominate). Best of ``repeat``."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    from hospigen.export.tabular import for_text

    tables = [pq.read_table(path) for path in sorted(folder.glob("*.parquet"))]

    def best(encode) -> float:
        least = float("inf")
        for _ in range(repeat):
            start = time.process_time()
            for table in tables:
                encode(table)
            least = min(least, time.process_time() - start)
        return least

    return (
        best(lambda t: pq.write_table(t, pa.BufferOutputStream(), compression="zstd")),
        best(lambda t: pacsv.write_csv(for_text(t), pa.BufferOutputStream())),
    )


def main() -> None:
    import os

    import numpy
    import pyarrow

    repeat = int(sys.argv[sys.argv.index("--repeat") + 1]) if "--repeat" in sys.argv else 3
    print(
        f"machine: {platform.machine()} {platform.processor() or ''}, {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.1f}, python {platform.python_version()}, "
        f"numpy {numpy.__version__}, pyarrow {pyarrow.__version__}; best of {repeat}"
    )
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        _ENV.update(_child_env(Path(tmp) / "pycache"))
        run(["-n", "1", "--output-format", "both"], Path(tmp) / "warm-up", repeat=1)
        floors = floor(Path(tmp), repeat)
        for name, wall, cpu in floors:
            print(f"start-up floor: {name:<42} wall {wall:.2f} s, CPU {cpu:.2f} s")
        # -w 2 needs at least 2 shards: 2,000 patients in shards of 1,000
        seed = [(200, 1, 5_000), (2000, 1, 5_000), (2000, 2, 1_000)]
        small = "--small" in sys.argv
        if small:
            seed = seed[:1]
        for n, workers, shard in seed:
            secs, cpu, rss, counts = run(
                ["-n", str(n), *SEED_MODULES, "--output-format", "both", "-w", str(workers),
                 "--shard-size", str(shard)],
                Path(tmp) / f"seed{n}-{workers}",
                repeat,
            )  # fmt: skip
            target = 10 if n == 200 else 100
            label = f"seed cohort {n} (csv+parquet)" + (f" -w {workers}" if workers > 1 else "")
            rows.append(
                (
                    label,
                    secs,
                    cpu,
                    n / secs,
                    rss,
                    f"{SEED_REF[n] / secs:.1f}x faster (target {target}x)",
                    counts,
                )
            )
        # -w 0: the command line's default worker count (one process on 2 cores)
        general = [] if small else [(20_000, 1), (20_000, 2), (100_000, 0)]
        if "--big" in sys.argv:
            general += [(200_000, 0)]
        for n, workers in general:
            secs, cpu, rss, counts = run(
                ["-n", str(n), "--output-format", "parquet", "-w", str(workers)],
                Path(tmp) / f"general{n}-{workers}",
                repeat if n <= 100_000 else 1,
            )
            shown = f"-w {workers}" if workers else "default -w"
            rows.append(
                (
                    f"general {n} (parquet, 10 y, {shown})",
                    secs,
                    cpu,
                    n / secs,
                    rss,
                    f"{n / secs:,.0f} patients/s (target 20,000)",
                    counts,
                )
            )
        if not small:
            parquet, csv = encoding_floor(Path(tmp) / "seed2000-1", repeat)
            imports = floors[0][1]
            cores = os.cpu_count() or 1
            print(
                f"floor of the 2,000-patient seed cohort: encoding its tables takes {parquet:.2f}"
                f" CPU-s as Parquet (Arrow alone) and {csv:.2f} as CSV; with the imports' "
                f"{imports:.2f} s that is at least {imports + (parquet + csv) / cores:.2f} s on "
                f"{cores} cores before anything is simulated (100x target: "
                f"{SEED_REF[2000] / 100:.3f} s)"
            )
    print(f"load average after the runs {os.getloadavg()[0]:.1f}")
    print(
        f"{'workload':<44}{'wall s':>8}{'CPU s':>8}{'patients/s':>12}{'peak RSS MB':>13}  vs target"
    )
    for name, secs, cpu, rate, rss, versus, _ in rows:
        print(f"{name:<44}{secs:>8.2f}{cpu:>8.2f}{rate:>12,.0f}{rss:>13,.0f}  {versus}")
    print("\nrow counts (ours; the seed's 2,000-patient run in brackets)")
    for name, *_, counts in rows:
        shown = ", ".join(
            f"{t} {c:,}"
            + (
                f" [{SEED_ROWS_2000[t]:,}]"
                if name.startswith("seed cohort 2000") and t in SEED_ROWS_2000
                else ""
            )
            for t, c in counts.items()
        )
        print(f"  {name}: {shown}")


if __name__ == "__main__":
    main()
