"""Which name and address fill the patients table: official/usual name, home address."""

from __future__ import annotations

import csv

from tests.conftest import CASES
from tests.ingest.helpers import query

CASE = CASES / "ingest" / "names"


def test_name_and_address_come_from_the_preferred_entry(cli, tmp_path):
    result = cli(
        "ingest",
        "run",
        "--source",
        CASE,
        "--bucket",
        tmp_path / "bucket",
        "--warehouse",
        tmp_path / "wh.duckdb",
        "--now",
        "2030-01-01T00:00:00Z",
    )
    assert result.exit_code == 0, result.stderr
    got = query(
        tmp_path / "wh.duckdb",
        "SELECT patient_id, family_name, given_name, city, state, postal_code "
        "FROM synthea_raw.patients ORDER BY patient_id",
    )
    with (CASE / "expected_patients.csv").open() as fh:
        expected = [tuple(row) for row in csv.reader(fh)][1:]
    assert got == expected
