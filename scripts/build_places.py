"""Rebuild ``src/hospigen/world/data/places.parquet`` from the ``zipcodes`` package.

The runtime reads the compact Parquet file (milliseconds) instead of parsing the package's
JSON on every start (about a second). Run after upgrading ``zipcodes``:

    python scripts/build_places.py
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from hospigen.world.reference import state_population

OUT = Path(__file__).resolve().parents[1] / "src/hospigen/world/data/places.parquet"


def places_from_zipcodes() -> pa.Table:
    """Active STANDARD ZIPs with coordinates in the 50 states and DC, sorted by state and ZIP."""
    import zipcodes

    pops = state_population()
    rows = [
        z
        for z in zipcodes.list_all()
        if z["active"] and z["zip_code_type"] == "STANDARD" and z["state"] in pops and z["lat"]
    ]
    rows.sort(key=lambda z: (z["state"], z["zip_code"]))
    return pa.table(
        {
            "zip": [z["zip_code"] for z in rows],
            "city": [z["city"] for z in rows],
            "state": [z["state"] for z in rows],
            "county": [z["county"] or None for z in rows],
            "lat": [float(z["lat"]) for z in rows],
            "lon": [float(z["long"]) for z in rows],
            "area_code": [(z["area_codes"] or ["555"])[0] for z in rows],
        }
    )


if __name__ == "__main__":
    table = places_from_zipcodes()
    pq.write_table(table, OUT, compression="zstd")
    print(f"wrote {table.num_rows} places to {OUT.name}")
