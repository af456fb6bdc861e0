"""Throughput of every exchange-format exporter on the real engine output, beside the targets.

Input: ``build_shard`` with the seed's multi-module plan (``--scenario oncology_survivorship
--module ckd_dialysis_planning --module mental_health_integrated_care --seed 42``) and the
``general`` scenario. Each format is timed alone on the same in-memory shards (building the
tables is not timed), ``--repeat`` times (best and median shown: the machine is shared), then
the three FHIR formats together (one rendering shared by the three writers, as ``generate``
does). Then the whole ``hospigen generate`` process is timed in a fresh interpreter (writing into
a folder beside this script, the project's disk, where a user's output would go; ~10 GB for
2,000 patients, kept until the runs are done), best of
``--process-repeat``, for every format and for the seed's own set (csv, parquet, fhir, hl7v2,
vista), with the CPU seconds of each run and the load average beside it.

    PYTHONPATH=src python bench/formats.py --patients 2000
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

from benchlib import print_machine
from hospigen import export
from hospigen.export.fhir_group import group
from hospigen.generation import (
    build_shard,
    facility_ids_used,
    generated_at,
    make_plan,
    shared_tables,
)
from hospigen.world import World

TARGETS = {"bulk_ndjson": 50.0, "patient_ndjson": 50.0}  # MB/s per core (FHIR NDJSON)
FORMATS = ["csv", "parquet", "fhir", "bulk_ndjson", "patient_ndjson", "hl7v2", "vista",
           "synthea_csv"]  # fmt: skip
FHIR = ["fhir", "bulk_ndjson", "patient_ndjson"]  # rendered once for all three by generate
SEED_FORMATS = ["csv", "parquet", "fhir", "hl7v2", "vista"]  # what the seed wrote
SEED_SECONDS_2000 = 57.5  # the seed's time for 2,000 patients with all its formats
SEED_VOLUME = "240,000 encounters, 422,000 observations"
SEED_PLAN = ("oncology_survivorship", ["ckd_dialysis_planning", "mental_health_integrated_care"])
AS_OF = dt.date(2025, 1, 1)


def shards(scenario: str, modules: list[str], seed: int, patients: int, size: int) -> tuple:
    """The engine's tables for ``patients`` patients in shards of ``size``, plus shared tables."""
    world = World(seed, AS_OF)
    plan = make_plan(scenario, modules)
    data = [build_shard(world, np.arange(s, min(patients, s + size)), plan)
            for s in range(0, patients, size)]  # fmt: skip
    used = pa.chunked_array([facility_ids_used(t) for t in data], pa.string())
    return data, shared_tables(world, used)


def run(fmts: list[str], data: list[dict], shared: dict, out: Path, seed: int) -> tuple:
    """(wall seconds, CPU seconds, bytes) of exporting ``data`` in ``fmts`` (FHIR grouped)."""
    ctx = export.ExportContext(seed, AS_OF, generated_at(AS_OF))
    start, cpu = time.perf_counter(), time.process_time()
    writers = [export.get(fmt).open(out, ctx) for fmt in fmts]
    feeds = group(writers)
    for tables in data:
        for feed in feeds:
            feed.write(tables)
    for feed in feeds:
        feed.write(shared)
    files = [path for writer in writers for path in writer.close()]
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    return elapsed, cpu, sum(p.stat().st_size for p in files)


def resources(out: Path) -> int:
    """FHIR resources written (lines of the bulk NDJSON files)."""
    return sum(p.read_bytes().count(b"\n") for p in (out / "bulk").glob("*.ndjson"))


def measure(label: str, data: list[dict], shared: dict, seed: int, repeat: int) -> tuple:
    """Print one table of per-format figures; returns (sum of median walls, sum of best CPU)."""
    rows = {name: sum(t[name].num_rows for t in data) for name in data[0]}
    count = sum(rows.values())
    print(f"## {label}: {rows['patients']:,} patients, {rows.get('encounters', 0):,} encounters, "
          f"{rows.get('observations', 0):,} observations, {count:,} canonical rows")  # fmt: skip
    print(f"(seed run: 2,000 patients, {SEED_VOLUME})\n")
    print(f"{'format':<15}{'wall s':>8}{'CPU s':>8}{'MB':>8}{'MB/s':>8}{'MB/CPU-s':>10}"
          f"{'rows/s':>11}{'res/s':>10}  target (MB/s per core = MB/CPU-s)")  # fmt: skip
    total = total_cpu = 0.0
    for fmts in [[fmt] for fmt in FORMATS] + [FHIR]:
        walls, cpus, size, res = [], [], 0, 0
        for _ in range(repeat):
            with tempfile.TemporaryDirectory() as tmp:
                secs, cpu, size = run(fmts, data, shared, Path(tmp), seed)
                if fmts == ["bulk_ndjson"]:
                    res = resources(Path(tmp))
            walls.append(secs)
            cpus.append(cpu)
        best, cpu = min(walls), min(cpus)
        label = fmts[0] if len(fmts) == 1 else "3 FHIR shared"
        if fmts == FHIR or fmts[0] not in FHIR:  # generate renders the 3 FHIR ones together
            total += statistics.median(walls)
            total_cpu += cpu
        target = f"≥ {TARGETS[fmts[0]]:.0f} MB/s" if label in TARGETS else ""
        per_res = f"{res / best:>10,.0f}" if res else f"{'':>10}"
        print(f"{label:<15}{best:>8.2f}{cpu:>8.2f}{size / 1e6:>8.1f}{size / 1e6 / best:>8.1f}"
              f"{size / 1e6 / cpu:>10.1f}{count / best:>11,.0f}{per_res}  {target}")  # fmt: skip
    print(f"\nall formats (the FHIR ones shared, as generate writes them): {total:.2f} s wall "
          f"(sum of medians), {total_cpu:.2f} CPU-s (sum of bests) for {rows['patients']:,} "
          "patients\n")  # fmt: skip
    return total, total_cpu


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _load() -> float:
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def _drop_page_cache() -> bool:
    """Drop the clean page cache (root only): each run then starts without the gigabytes of
    the previous runs' output in the cache, as a user's first run would; True if dropped."""
    try:
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("1")
    except OSError:
        return False
    return True


def whole_process(
    args: argparse.Namespace, formats: list[str], work: Path
) -> tuple[float, float, float]:
    """(wall, CPU, load average) of ``hospigen generate`` writing ``formats`` (csv and parquet
    always) into a new folder under ``work``, in a fresh interpreter; the run with the least
    CPU of ``--process-repeat``."""
    cmd = [sys.executable, "-m", "hospigen.cli.app", "generate", "-n", str(args.patients),
           "--seed", str(args.seed), "--as-of", AS_OF.isoformat(), "--scenario", SEED_PLAN[0],
           "--formats", ",".join(f for f in formats if f not in ("csv", "parquet"))]  # fmt: skip
    for module in SEED_PLAN[1]:
        cmd += ["--module", module]
    runs = []
    for _ in range(args.process_repeat):
        out = tempfile.mkdtemp(dir=work)
        # the previous run's gigabytes are still being written back to the disk: wait for
        # that (untimed), or this run would pay for it in throttled writes and kernel time
        os.sync()
        _drop_page_cache()
        load, before = _load(), _children_cpu()
        start = time.perf_counter()
        subprocess.run([*cmd, "-o", out], check=True, capture_output=True)
        runs.append((time.perf_counter() - start, _children_cpu() - before, load))
    return min(runs, key=lambda run: run[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--patients", type=int, default=2000)
    parser.add_argument("--shard-size", type=int, default=500)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-general", action="store_true")
    parser.add_argument("--skip-process", action="store_true")
    parser.add_argument("--process-repeat", type=int, default=2)
    args = parser.parse_args()
    print_machine()
    with open("/proc/loadavg") as f:
        print(f"load average at start: {f.read().split()[:3]}\n")
    data, shared = shards(*SEED_PLAN, args.seed, args.patients, args.shard_size)
    total, cpu = measure("seed plan (oncology_survivorship + ckd + mental health)", data,
                         shared, args.seed, args.repeat)  # fmt: skip
    scale = 2000 / args.patients
    print(f"export, all formats, per 2,000 patients: {total * scale:.2f} s wall, "
          f"{cpu * scale:.2f} CPU-s (seed: {SEED_SECONDS_2000} s; target ≥ 10× faster = "
          f"≤ {SEED_SECONDS_2000 / 10:.2f} s)\n")  # fmt: skip
    if not args.skip_general:
        data, shared = shards("general", [], args.seed, args.patients, args.shard_size)
        measure("general scenario", data, shared, args.seed, args.repeat)
    if not args.skip_process:
        # The runs write where a user's output folder would be, the project's disk (beside
        # this script), not the system temp folder, and nothing is deleted until every run is
        # done: on a disk without a journal (this benchmark machine's) ext4 creates files
        # 10-20x slower in block groups where many were deleted in the last minutes, so a
        # clean-up between runs, or a temp folder the test suites churn, would be measured too.
        # ~1.7 GB per patient-thousand and run for every format, ~0.8 for the seed's set
        need = args.patients / 1000 * 2.5e9 * args.process_repeat
        free = shutil.disk_usage(Path(__file__).parent).free
        if free < need:
            sys.exit(f"bench/formats.py: the whole-process runs need ~{need / 1e9:.0f} GB on "
                     f"this disk until they finish; {free / 1e9:.0f} GB are free")  # fmt: skip
        os.sync()
        dropped = "dropped" if _drop_page_cache() else "not dropped (needs root)"
        print(f"whole-process runs: page cache synced and {dropped} before each run")
        with tempfile.TemporaryDirectory(dir=Path(__file__).parent, prefix="formats-bench-") as w:
            for label, formats in (("every format", FORMATS), ("the seed's formats", SEED_FORMATS)):
                secs, cpu, load = whole_process(args, formats, Path(w))
                print(f"whole process `hospigen generate -n {args.patients}` (seed plan, engine "
                      f"included), {label} ({', '.join(formats)}): {secs:.2f} s wall, {cpu:.2f} "
                      f"CPU-s, load average {load:.1f} at start (target ≤ "
                      f"{SEED_SECONDS_2000 / 10:.2f} s)")  # fmt: skip
    with open("/proc/loadavg") as f:
        print(f"load average at end: {f.read().split()[:3]}")


if __name__ == "__main__":
    main()
