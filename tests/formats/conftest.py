"""Fixtures of the format tests: one exported run on the fixture tables, shared by the module."""

from __future__ import annotations

import pytest

from tests.formats.tables_fixture import export, fixture_world

ALL_FORMATS = ["csv", "fhir", "bulk_ndjson", "patient_ndjson", "hl7v2", "vista", "synthea_csv"]


@pytest.fixture(scope="session")
def world():
    """The fixture world (seed 7, 60 facilities)."""
    return fixture_world()


@pytest.fixture(scope="session")
def exported(tmp_path_factory, world):
    """Every available format of 6 patients exported in two shards (3 + 3)."""
    from hospigen.export import available

    out = tmp_path_factory.mktemp("run")
    formats = [f for f in ALL_FORMATS if f in available()]
    export(out, formats, world, [range(0, 3), range(3, 6)])
    return out
