"""Export the world's facilities in the seed's JSON record shape (NDJSON or a JSON array)."""

from __future__ import annotations

import duckdb
import pyarrow as pa

from hospigen.errors import UsageError
from hospigen.pipelines.facilities.common import copy_to
from hospigen.pipelines.facilities.storage import Location

FORMATS = {"ndjson": "FORMAT json", "json-array": "FORMAT json, ARRAY true"}

# The seed's record: location nested, dates as YYYY-MM-DD (DuckDB's JSON writer renders DATE so)
RECORD_SQL = """
SELECT facility_id, facility_name,
       {'address': address, 'city': city, 'state': state, 'zip': zip} AS location,
       employee_count, services, labs, accreditations
FROM facilities
"""


def export_facilities(facilities: pa.Table, dest: Location, key: str, fmt: str = "ndjson") -> str:
    """Write ``facilities`` (the world's table) as seed-shaped records to ``key``; its URL."""
    if fmt not in FORMATS:
        raise UsageError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    con = duckdb.connect(":memory:")
    con.register("facilities", facilities)
    return copy_to(con, RECORD_SQL, dest, key, FORMATS[fmt])
