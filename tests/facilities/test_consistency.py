"""The stages agree with an independent Python computation over the world's facilities."""

from __future__ import annotations

import collections
import datetime as dt

import duckdb
import orjson
import pytest

from hospigen.pipelines.facilities.expiring import run_expiring
from hospigen.pipelines.facilities.metrics import run_metrics
from hospigen.pipelines.facilities.records import export_facilities
from hospigen.pipelines.facilities.state_counts import run_state_counts
from hospigen.pipelines.facilities.storage import resolve
from hospigen.world.facilities import facilities_table
from tests.conftest import tree_digest

TODAY = dt.date(2025, 8, 11)


def _check(tmp_path, count):
    table = facilities_table(11, dt.date(2025, 6, 1), count)
    data = resolve(tmp_path / "data")
    export_facilities(table, data, "f.ndjson")
    rows = table.to_pylist()
    until = TODAY + dt.timedelta(days=183)

    runs = [resolve(tmp_path / name) for name in ("a", "b")]
    for out in runs:
        m = run_metrics(data, out, TODAY)
        e = run_expiring(data, out, 6, TODAY)
        s = run_state_counts(data, "f.ndjson", out, TODAY)
        assert m.exit_code == e.exit_code == s.exit_code == 0
    a, b = (tree_digest(tmp_path / name) for name in ("a", "b"))
    assert a == b  # same input, same date: same bytes

    got = duckdb.sql(f"SELECT * FROM '{m.outputs[0]}'").fetchall()
    expected = [
        (r["facility_id"], r["facility_name"], r["employee_count"], len(r["services"]),
         min((x["valid_until"] for x in r["accreditations"]), default=None))
        for r in rows
    ]  # fmt: skip
    assert got == expected

    kept = [
        orjson.loads(x)["facility_id"]
        for x in (tmp_path / "a" / "f_filtered.ndjson").read_bytes().splitlines()
    ]
    assert kept == [
        r["facility_id"]
        for r in rows
        if any(TODAY <= x["valid_until"] <= until for x in r["accreditations"])
    ]

    per_state = collections.Counter(
        r["state"] for r in rows if any(x["valid_until"] >= TODAY for x in r["accreditations"])
    )
    csv = (tmp_path / "a/exports/state_counts/data/f.ndjson/2025-08-11/000000").read_text()
    assert csv == "state,accredited_facilities\n" + "".join(
        f"{k},{v}\n" for k, v in sorted(per_state.items())
    )


def test_stages_match_python_on_2000_facilities(tmp_path):
    _check(tmp_path, 2000)


@pytest.mark.slow
def test_stages_match_python_on_200k_facilities(tmp_path):
    _check(tmp_path, 200_000)
