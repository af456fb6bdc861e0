"""Benchmark: 10,000 per-patient NDJSON files landed → wrapped → loaded → merged (DuckDB,
local object store), then a no-change re-run.

Input: the per-patient test cases (tests/cases/ingest/per_patient, cut from Synthea) replicated
with fresh ids. Run: ``PYTHONPATH=src python bench/ingest.py [--patients N]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import orjson

from hospigen.pipelines.ingest import ensure_tables, land, materialize, wrap_load
from hospigen.store import open_store
from hospigen.warehouse import open_warehouse

CASES = Path(__file__).resolve().parents[1] / "tests" / "cases" / "ingest" / "per_patient"


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


def create_rate(folder: Path, count: int = 1000) -> float:
    """New files per second this filesystem sustains (the floor under any per-file pipeline)."""
    (folder / "probe").mkdir()
    t = time.perf_counter()
    for i in range(count):
        (folder / "probe" / f"{i}").write_bytes(b"x" * 4096)
    return count / (time.perf_counter() - t)


def timed(fn):
    t = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--dir", default=None, help="where to put the workload (default: temp)")
    opts = parser.parse_args()
    n = opts.patients
    now = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    with tempfile.TemporaryDirectory(dir=opts.dir) as tmp:
        root = Path(tmp)
        creates = create_rate(root)
        (root / "src").mkdir()
        resources = make_source(root / "src", n)
        store = open_store(root / "bucket")
        wh = open_warehouse(str(root / "wh.duckdb"))

        def once():
            ensure_tables(wh)
            steps = {}
            _, steps["land"] = timed(lambda: land(root / "src", store, "patients", wh, now=now))
            _, steps["wrap-load"] = timed(lambda: wrap_load(store, "patients", wh, now=now))
            _, steps["materialize"] = timed(lambda: materialize(wh, now=now))
            return steps

        first = once()
        second = once()
        rows = wh.query('SELECT count(*) FROM "synthea_raw"."patients"')[0][0]
        wh.close()
    assert rows == n, (rows, n)
    t1, t2 = sum(first.values()), sum(second.values())
    print(f"machine: {platform.machine()} {os.cpu_count()} cpus, {platform.platform()}")
    print(
        f"python {sys.version.split()[0]}, duckdb {duckdb.__version__}, orjson {orjson.__version__}"
    )
    print(f"workload: {n:,} patient files, {resources:,} resources (+ wrapped copies)")
    print(f"filesystem: {creates:,.0f} new files/s (each patient creates 2: landed + wrapped)\n")
    print(f"{'measure':<38}{'value':>14}   target")
    print(f"{'first run, end to end (s)':<38}{t1:>14.2f}")
    for step, secs in first.items():
        print(f"{'  ' + step + ' (s)':<38}{secs:>14.2f}")
    ok = "OK" if n / t1 >= 2000 else "MISSED"
    print(f"{'patient files/s, end to end':<38}{n / t1:>14,.0f}   >= 2,000  {ok}")
    print(f"{'resources/s, end to end':<38}{resources / t1:>14,.0f}")
    ok = "OK" if t2 <= 0.1 * t1 else "MISSED"
    print(f"{'no-change re-run (s)':<38}{t2:>14.2f}   <= {0.1 * t1:.2f} (10%)  {ok}")
    print(f"{'  re-run / first run':<38}{t2 / t1:>14.1%}")


if __name__ == "__main__":
    main()
