"""Throughput of every exchange-format exporter (resources/s, MB/s), beside the targets.

Input: the engine's tables when ``build_shard`` returns encounters, else the test fixture tables
(real World patients + hand-made clinical rows) for ``--patients`` patients. Each format is
timed alone on the same in-memory shards (table building is not timed).

    PYTHONPATH=src:. python bench/formats.py --patients 2000
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hospigen import export
from hospigen.generation import build_shard, generated_at
from hospigen.world import World

TARGETS = {"bulk_ndjson": 50.0}  # MB/s per core (FHIR NDJSON)
FORMATS = ["csv", "parquet", "fhir", "bulk_ndjson", "patient_ndjson", "hl7v2", "vista",
           "synthea_csv"]  # fmt: skip
SEED_SECONDS_2000 = 57.5  # the seed's time for 2,000 patients with all its formats


def shards(world: World, patients: int, shard_size: int) -> tuple[list[dict], str]:
    keys = [np.arange(s, min(patients, s + shard_size)) for s in range(0, patients, shard_size)]
    probe = build_shard(world, keys[0][:2])
    if "encounters" in probe:
        return [build_shard(world, k) for k in keys], "engine build_shard"
    from tests.formats.tables_fixture import clinical_tables

    return [clinical_tables(world, k) for k in keys], "test fixture tables"


def run(fmt: str, data: list[dict], shared: dict, out: Path) -> tuple[float, int]:
    ctx = export.ExportContext(1, dt.date(2025, 1, 1), generated_at(dt.date(2025, 1, 1)))
    start = time.perf_counter()
    writer = export.get(fmt).open(out, ctx)
    for tables in data:
        writer.write(tables)
    writer.write(shared)
    files = writer.close()
    elapsed = time.perf_counter() - start
    return elapsed, sum(p.stat().st_size for p in files)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--patients", type=int, default=2000)
    parser.add_argument("--shard-size", type=int, default=500)
    args = parser.parse_args()
    world = World(1, dt.date(2025, 1, 1), facility_count=300)
    data, source = shards(world, args.patients, args.shard_size)
    rows = sum(t.num_rows for tables in data for t in tables.values())
    obs = sum(tables["observations"].num_rows for tables in data)
    enc = sum(tables["encounters"].num_rows for tables in data)
    used = pa.concat_tables([d["patients"] for d in data])
    facilities = world.facilities_in_use(
        pa.chunked_array(used["home_facility_id"].chunks + used["hospital_id"].chunks)
    )
    shared = {"facilities": facilities, "providers": world.providers_of(facilities),
              "payers": world.payers}  # fmt: skip
    print(
        f"machine: {platform.machine()} {platform.processor() or ''}, Python "
        f"{platform.python_version()}, pyarrow {version('pyarrow')}, orjson {version('orjson')}"
    )
    print(
        f"input: {source}, {args.patients:,} patients, {enc:,} encounters, {obs:,} "
        f"observations, {rows:,} canonical rows\n"
    )
    print(f"{'format':<15}{'seconds':>9}{'MB':>9}{'MB/s':>9}{'rows/s':>12}  target")
    total = 0.0
    for fmt in FORMATS:
        with tempfile.TemporaryDirectory() as tmp:
            secs, size = run(fmt, data, shared, Path(tmp))
        total += secs
        target = f"≥ {TARGETS[fmt]:.0f} MB/s" if fmt in TARGETS else ""
        print(
            f"{fmt:<15}{secs:>9.2f}{size / 1e6:>9.1f}{size / 1e6 / secs:>9.1f}"
            f"{rows / secs:>12,.0f}  {target}"
        )
    scaled = total * 2000 / args.patients
    print(
        f"\nall formats: {total:.2f} s → {scaled:.1f} s per 2,000 patients "
        f"(seed: {SEED_SECONDS_2000} s; target ≥ 10× faster = ≤ {SEED_SECONDS_2000 / 10:.2f} s; "
        f"volume here: {enc / args.patients:.0f} encounters and {obs / args.patients:.0f} "
        "observations per patient vs the seed's 120 and 211)"
    )


if __name__ == "__main__":
    main()
