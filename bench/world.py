"""World-table throughput: patients/s and peak memory (issue 2; target ≥ 200,000/s).

Measures the world tables only (patients, facilities, providers, payers); the clinical
engine has its own benchmark (bench/cohort.py).

Each size runs in a fresh process so peak memory is that run's own. Usage:

    python bench/world.py [N ...]
"""

from __future__ import annotations

import json
import sys

from benchlib import print_machine, run_python, table

TARGET = 200_000

_CODE = """
import datetime as dt, json, resource, tempfile, time
import numpy as np
import pyarrow.parquet as pq
from hospigen.generation import shared_tables
from hospigen.world import World

n = {n}
w = World(7, dt.date(2025, 1, 1))
t0 = time.perf_counter(); w.catalog; catalog = time.perf_counter() - t0
t0 = time.perf_counter()
for start in range(0, n, 50_000):
    w.patients(np.arange(start, min(n, start + 50_000)))
draw = time.perf_counter() - t0
with tempfile.TemporaryDirectory() as out:
    # the world tables only (patients, facilities, providers, payers), as Parquet
    t0 = time.perf_counter()
    writer, used = None, []
    for start in range(0, n, 50_000):
        p = w.patients(np.arange(start, min(n, start + 50_000)))
        writer = writer or pq.ParquetWriter(out + "/patients.parquet", p.schema, compression="zstd")
        writer.write_table(p)
        used += [p.column("home_facility_id"), p.column("hospital_id")]
    writer.close()
    import pyarrow as pa
    ids = pa.chunked_array([c for col in used for c in col.chunks])
    for name, table in shared_tables(w, ids).items():
        pq.write_table(table, out + "/" + name + ".parquet", compression="zstd")
    parquet = time.perf_counter() - t0
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(dict(catalog=catalog, draw=draw, parquet=parquet, rss=rss)))
"""


def main(sizes: list[int]) -> None:
    print("# World generation (patients, facilities, providers, payers)\n")
    print_machine()
    rows = []
    for n in sizes:
        r = json.loads(run_python(_CODE.format(n=n)))
        rows.append(
            [
                f"{n:,}",
                f"{r['catalog']:.2f}",
                f"{n / r['draw']:,.0f}",
                f"{n / r['parquet']:,.0f}",
                f"{r['rss']:,.0f}",
                f"≥ {TARGET:,}",
            ]
        )
    headers = ["patients", "catalogue s", "drawn/s", "to Parquet/s", "peak MiB", "target/s"]
    print(table(headers, rows))


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [100_000, 1_000_000])
