"""The shared FHIR resources rendered column by column equal the dict builders' resources."""

from __future__ import annotations

import datetime as dt

import numpy as np
import orjson
import pyarrow as pa
import pytest

from hospigen.export.fhir_r4 import bundle_head
from hospigen.export.fhir_resources import shared_resources
from hospigen.export.fhir_shared import shared_text
from hospigen.generation import build_shard, facility_ids_used, make_plan, shared_tables
from hospigen.world import World

LAST_UPDATED = "2025-01-02T03:04:05Z"
ODD_NAMES = ['O"Brien', "back\\slash", "Zoë 😀", "tab\there", "new\nline", "</script>"]


@pytest.fixture(scope="module")
def tables() -> dict[str, pa.Table]:
    """A run's shared tables, with awkward provider names and genders mixed in."""
    world = World(3, dt.date(2025, 1, 1))
    shard = build_shard(world, np.arange(8), make_plan("general", []))
    shared = shared_tables(world, facility_ids_used(shard))
    providers = shared["providers"]
    names = providers["last_name"].to_pylist()
    names[: len(ODD_NAMES)] = ODD_NAMES
    genders = providers["gender"].to_pylist()
    genders[:3] = ["F", "M", "X"]
    providers = providers.set_column(
        providers.schema.get_field_index("last_name"), "last_name", pa.array(names)
    )
    providers = providers.set_column(
        providers.schema.get_field_index("gender"), "gender", pa.array(genders)
    )
    return {**shared, "providers": providers}


def test_the_text_is_the_dict_builders_json_in_the_same_order(tables):
    expected = list(shared_resources(tables, LAST_UPDATED))
    text = shared_text(tables, LAST_UPDATED)
    kinds = {r["resourceType"] for r in expected}
    assert {"Organization", "Location", "Practitioner", "PractitionerRole"} <= kinds
    assert len(text) == len(expected) > 2 * tables["providers"].num_rows
    assert text.json.to_pylist() == [orjson.dumps(r).decode() for r in expected]
    assert text.kinds.to_pylist() == [r["resourceType"] for r in expected]
    assert text.ids.to_pylist() == [r["id"] for r in expected]


def test_the_batch_bundle_and_the_ndjson_lines(tables):
    expected = list(shared_resources(tables, LAST_UPDATED))
    text = shared_text(tables, LAST_UPDATED)
    entries = "".join(text.entries().to_pylist())[:-1].encode()
    written = bundle_head("batch", LAST_UPDATED) + entries + b"]}"
    as_dicts = {"resourceType": "Bundle", "type": "batch", "meta": {"lastUpdated": LAST_UPDATED},
                "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r,
                           "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"}}
                          for r in expected]}  # fmt: skip
    assert written == orjson.dumps(as_dicts)
    bundle = orjson.loads(written)
    assert bundle["type"] == "batch" and bundle["meta"] == {"lastUpdated": LAST_UPDATED}
    assert [e["resource"] for e in bundle["entry"]] == expected
    assert all(e["fullUrl"] == f"urn:uuid:{e['resource']['id']}" for e in bundle["entry"])
    urls = [e["request"] for e in bundle["entry"]]
    assert urls == [{"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"} for r in expected]
    by_kind = text.lines_by_kind()
    for kind, lines in by_kind.items():
        same = [orjson.dumps(r).decode() + "\n" for r in expected if r["resourceType"] == kind]
        assert lines.to_pylist() == same


def test_without_shared_tables_or_providers():
    assert len(shared_text({}, LAST_UPDATED)) == 0
    world = World(3, dt.date(2025, 1, 1))
    shared = shared_tables(world, pa.array([], pa.string()))
    none = {**shared, "providers": shared["providers"].slice(0, 0)}
    text = shared_text(none, LAST_UPDATED)
    assert text.json.to_pylist() == [
        orjson.dumps(r).decode() for r in shared_resources(none, LAST_UPDATED)
    ]


def test_provider_columns_of_another_string_type_and_a_null(tables):
    providers = tables["providers"]
    wide = providers.cast(pa.schema([f.with_type(pa.large_string()) for f in providers.schema]))
    expected = [orjson.dumps(r).decode() for r in shared_resources(tables, LAST_UPDATED)]
    assert shared_text({**tables, "providers": wide}, LAST_UPDATED).json.to_pylist() == expected
    npi = providers.schema.get_field_index("npi")
    holes = providers.set_column(npi, "npi", pa.array([None] * providers.num_rows, pa.string()))
    with pytest.raises(ValueError, match=r"providers\.npi has \d+ null"):
        shared_text({**tables, "providers": holes}, LAST_UPDATED)
