"""Benchmark: 10,000 per-patient NDJSON files landed → wrapped → loaded → merged (DuckDB,
local object store), then a no-change re-run; repeated in fresh folders.

``--mode run`` (the default) times what ``hospigen ingest run`` does: the landing is planned,
then written while it is wrapped and loaded, then merged. ``--mode steps`` times ``land``,
``wrap-load`` and ``materialize`` one after the other (with land's hand-off, as before).

Input: the per-patient test cases (tests/cases/ingest/per_patient, cut from Synthea) replicated
with fresh ids. Run: ``PYTHONPATH=src python bench/ingest.py [--patients N] [--repeat R]``.
The machine's load average and the process's CPU time are printed beside the wall-clock
figures, because on a shared machine the wall clock mostly measures the neighbours. The
file-creation rate of the folder (``--dir``, default: a new folder beside this script) is printed
too: on a journal-less ext4 it collapses where many files were deleted in the last hours.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
# as the command line does (hospigen.cli.app): no idle BLAS thread spinning beside the work
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from benchlib import print_machine
from hospigen.pipelines.ingest import ensure_tables, land, materialize, wrap_load
from hospigen.pipelines.ingest.land import start_landing
from hospigen.pipelines.ingest.pipelined import land_and_load
from hospigen.store import open_store
from hospigen.warehouse import open_warehouse

CASES = Path(__file__).resolve().parents[1] / "tests" / "cases" / "ingest" / "per_patient"
TARGET_FILES_PER_S = 2000
TARGET_RERUN = 0.10


def make_source(out: Path, patients: int) -> int:
    """Write ``patients`` per-patient files; returns the number of resources."""
    templates = []
    for f in sorted(CASES.glob("*.ndjson")):
        lines = f.read_bytes().splitlines()
        ids = [json.loads(line)["id"].encode() for line in lines]
        templates.append((lines, ids))
    total = 0
    for i in range(patients):
        lines, ids = templates[i % len(templates)]
        body = b"\n".join(lines)
        for old in ids:  # fresh ids everywhere (references included), same length
            body = body.replace(old, old[:-8] + f"{i:08d}".encode())
        (out / f"patient_{i + 1:05d}.ndjson").write_bytes(body + b"\n")
        total += len(lines)
    return total


def file_rates(folder: Path, count: int = 2000) -> tuple[float, float]:
    """New files per second: plain writes, and temp file + rename (what the store does)."""
    data = b"x" * 8192
    (folder / "plain").mkdir()
    (folder / "renamed").mkdir()
    t = time.perf_counter()
    for i in range(count):
        with open(folder / "plain" / str(i), "wb") as fh:
            fh.write(data)
    plain = count / (time.perf_counter() - t)
    t = time.perf_counter()
    for i in range(count):
        tmp = folder / "renamed" / f".{i}.partial"
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.replace(tmp, folder / "renamed" / str(i))
    return plain, count / (time.perf_counter() - t)


def cpu_seconds() -> tuple[float, float]:
    """User and system CPU time of this process so far (all threads, DuckDB's included)."""
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime, ru.ru_stime


def one_workload(base: Path, n: int, now: dt.datetime, mode: str) -> dict:
    """Land → wrap-load → materialize twice over a fresh workload in a new folder below
    ``base``; timings of each step. Nothing is deleted until every run is done (see main)."""
    root = Path(tempfile.mkdtemp(dir=base))
    (root / "src").mkdir()
    resources = make_source(root / "src", n)
    store = open_store(root / "bucket")
    wh = open_warehouse(str(root / "wh.duckdb"))

    def once() -> dict[str, float]:
        steps: dict[str, float] = {}
        t = time.perf_counter()
        ensure_tables(wh)
        if mode == "run":
            landing = start_landing(root / "src", store, "patients", wh, now=now)
            steps["plan"] = time.perf_counter() - t
            t = time.perf_counter()
            land_and_load(landing, store, "patients", wh, now=now)
            steps["write+load"] = time.perf_counter() - t
        else:
            landed = land(root / "src", store, "patients", wh, now=now)
            steps["land"] = time.perf_counter() - t
            t = time.perf_counter()
            wrap_load(store, "patients", wh, now=now, handoff=landed.handoff)
            steps["wrap-load"] = time.perf_counter() - t
        t = time.perf_counter()
        materialize(wh, now=now)
        wh.checkpoint()
        steps["merge"] = time.perf_counter() - t
        return steps

    load_before = os.getloadavg()[0]
    user, system = cpu_seconds()
    first = once()
    user, system = (a - b for a, b in zip(cpu_seconds(), (user, system), strict=True))
    second = once()
    load_after = os.getloadavg()[0]
    rows = wh.query('SELECT count(*) FROM "synthea_raw"."patients"')[0][0]
    wh.close()
    assert rows == n, (rows, n)
    return {
        "resources": resources,
        "first": first,
        "second": second,
        "cpu": user + system,
        "sys": system,
        "load": (load_before, load_after),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3, help="fresh workloads to time")
    parser.add_argument(
        "--dir",
        default=str(Path(__file__).resolve().parent),
        help="where to put the workload (default: a new folder beside this script, on the "
        "project's disk, where a user's bucket folder would be; the system temp folder may be "
        "RAM, or a folder test suites churn)",
    )
    parser.add_argument(
        "--mode", choices=["run", "steps"], default="run", help="ingest run, or one step at a time"
    )
    opts = parser.parse_args()
    n = opts.patients
    now = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    # Nothing is deleted until every run is done: on an ext4 file system without a journal
    # (this machine's), creating a file skips, one by one, every inode of its block group freed
    # in the last hours (the kernel's recently_deleted check), so a folder where many files were
    # just deleted (the previous run's, a test suite's temp files) creates files 10-20x slower.
    # The probe, first, shows the rate the runs meet; compare runs only at similar rates.
    with tempfile.TemporaryDirectory(dir=opts.dir, prefix="ingest-bench-") as work:
        base = Path(work)
        (base / "probe").mkdir()
        plain, renamed = file_rates(base / "probe")
        runs = [one_workload(base, n, now, opts.mode) for _ in range(opts.repeat)]

    print_machine()
    print(f"workload: {n:,} patient files, {runs[0]['resources']:,} resources (+ wrapped copies)")
    print(f"mode: {opts.mode}")
    print(
        f"filesystem, before the runs: {plain:,.0f} new files/s plain, {renamed:,.0f}/s temp + "
        f"rename (each patient creates 2: landed + wrapped)"
    )
    loads = [x for r in runs for x in r["load"]]
    print(f"load average (1 min) during the runs: {min(loads):.1f}-{max(loads):.1f} on 2 cores\n")

    names = list(runs[0]["first"])
    heads = "".join(f"{k + ' s':>13}" for k in names)
    # "sys s": the kernel's share of "cpu s", mostly creating files (it varies with the neighbours)
    print(
        f"{'run':<5}{heads}{'total s':>9}{'files/s':>9}{'cpu s':>8}{'sys s':>7}"
        f"{'re-run s':>10}{'ratio':>8}"
    )
    for i, r in enumerate(runs, start=1):
        t1, t2 = sum(r["first"].values()), sum(r["second"].values())
        steps = "".join(f"{r['first'][k]:>13.2f}" for k in names)
        print(
            f"{i:<5}{steps}{t1:>9.2f}{n / t1:>9,.0f}{r['cpu']:>8.2f}{r['sys']:>7.2f}"
            f"{t2:>10.2f}{t2 / t1:>8.1%}"
        )
    totals = [sum(r["first"].values()) for r in runs]
    best, median = min(totals), statistics.median(totals)
    rerun = max(sum(r["second"].values()) / sum(r["first"].values()) for r in runs)
    cpu = min(r["cpu"] for r in runs)
    print(f"\n{'measure':<44}{'value':>12}   target")
    ok = "OK" if n / best >= TARGET_FILES_PER_S else "MISSED"
    print(
        f"{'patient files/s, end to end (best run)':<44}{n / best:>12,.0f}   "
        f">= {TARGET_FILES_PER_S:,}  {ok}"
    )
    print(f"{'patient files/s, end to end (median run)':<44}{n / median:>12,.0f}")
    print(f"{'resources/s, end to end (best run)':<44}{runs[0]['resources'] / best:>12,.0f}")
    print(f"{'patient files per CPU-second (best run)':<44}{n / cpu:>12,.0f}")
    ok = "OK" if rerun <= TARGET_RERUN else "MISSED"
    print(
        f"{'no-change re-run / first run (worst run)':<44}{rerun:>12.1%}   "
        f"<= {TARGET_RERUN:.0%}  {ok}"
    )


if __name__ == "__main__":
    main()
