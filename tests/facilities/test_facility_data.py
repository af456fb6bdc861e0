"""The world's facilities: vectorised nested columns, determinism, export in the seed shape."""

from __future__ import annotations

import datetime as dt
import re

import duckdb
import orjson
import pyarrow.compute as pc

from hospigen.model import schema
from hospigen.pipelines.facilities.reader import load
from hospigen.pipelines.facilities.storage import resolve
from hospigen.world import World
from hospigen.world.facilities import (
    ACCREDITATION_BODIES,
    FACILITY_TYPES,
    LAB_CERTIFICATIONS,
    LAB_NAMES,
    SERVICES,
    facilities_table,
)

AS_OF = dt.date(2025, 8, 11)


def test_schema_and_nested_values_are_plausible():
    table = World(seed=5, as_of=AS_OF, facility_count=3000).facilities
    assert table.schema.equals(schema("facilities"))
    for row in table.to_pylist():
        offered = SERVICES[row["facility_type"]]
        assert 2 <= len(row["services"]) <= min(8, len(offered))
        assert set(row["services"]) <= set(offered) and row["services"] == sorted(row["services"])
        labs = [lab["lab_name"] for lab in row["labs"]]
        assert len(set(labs)) == len(labs) and set(labs) <= set(LAB_NAMES)
        heavy = row["facility_type"] in ("hospital", "laboratory")
        assert (1 <= len(labs) <= 3) if heavy else len(labs) <= 1
        for lab in row["labs"]:
            assert 1 <= len(lab["certifications"]) <= 3
            assert set(lab["certifications"]) <= set(LAB_CERTIFICATIONS)
        bodies = [a["accreditation_body"] for a in row["accreditations"]]
        assert len(bodies) <= 2 and len(set(bodies)) == len(bodies)
        for a in row["accreditations"]:
            prefix = dict(ACCREDITATION_BODIES)[a["accreditation_body"]]
            assert re.fullmatch(re.escape(prefix) + r"\d{4,5}", a["accreditation_id"])
            assert -400 <= (a["valid_until"] - AS_OF).days < 1100
    counts = pc.value_counts(table["facility_type"]).to_pylist()
    shares = {c["values"]: c["counts"] / table.num_rows for c in counts}
    for name, share, *_ in FACILITY_TYPES:
        assert abs(shares[name] - share) < 0.03


def test_facility_k_does_not_depend_on_the_catalogue_size():
    small = facilities_table(9, AS_OF, 40)
    large = facilities_table(9, AS_OF, 400)
    assert small.equals(large.slice(0, 40))
    assert facilities_table(9, AS_OF, 400).equals(large)
    assert not facilities_table(10, AS_OF, 40).equals(small)


def test_export_is_byte_identical_and_reads_back(cli, tmp_path):
    args = ("facilities", "export", "--count", "300", "--seed", "4", "--as-of", "2025-08-11")
    for name, fmt in (("a.ndjson", "ndjson"), ("b.ndjson", "ndjson"), ("c.json", "json-array")):
        assert cli(*args, "--format", fmt, "--output", tmp_path / name).exit_code == 0
    assert (tmp_path / "a.ndjson").read_bytes() == (tmp_path / "b.ndjson").read_bytes()
    first = orjson.loads((tmp_path / "a.ndjson").read_bytes().splitlines()[0])
    assert list(first) == ["facility_id", "facility_name", "location", "employee_count",
                           "services", "labs", "accreditations"]  # fmt: skip
    assert list(first["location"]) == ["address", "city", "state", "zip"]
    for acc in first["accreditations"]:
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", acc["valid_until"])
    tables = []
    for name in ("a.ndjson", "c.json"):
        con = duckdb.connect()
        loaded = load(con, resolve(tmp_path), keys=[name])
        assert loaded.rows == 300 and loaded.clean
        tables.append(con.execute("SELECT * EXCLUDE (_file, _line) FROM facilities_raw").fetchall())
    assert tables[0] == tables[1]
