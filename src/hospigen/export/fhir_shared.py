"""The shared FHIR resources of a run (Organization, Location, Practitioner, PractitionerRole),
rendered as text once for every FHIR format.

A run's providers are tens of thousands of rows (21,157 for the seed's 2,000 patients), each
giving a Practitioner and a PractitionerRole; built as dicts and dumped one by one they took
~0.4 s at the very end of a run, when every other writer had finished. Their JSON is built here
column by column instead; the ~1,000 facilities and the payers still go through the dict
builders of :func:`hospigen.export.fhir_resources.shared_resources` (a few milliseconds). The
text is that of ``orjson.dumps`` of those dicts, in the same order: each facility's
Organization then its Location, each provider's Practitioner then its PractitionerRole, then
the payers (``tests/formats/test_shared_text.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from hospigen.export import fhir_resources as fr
from hospigen.export.textcols import flat, join, json_string, uuid5_text

# the provider columns the resources are made of (the schema's; only gender may be null: unknown)
PROVIDER_COLUMNS = ("provider_id", "npi", "first_name", "last_name", "gender", "specialty",
                    "taxonomy_code", "facility_id")  # fmt: skip


@dataclass(frozen=True)
class SharedText:
    """Shared resources in bundle order: type, id and JSON text (relative references) each."""

    kinds: pa.Array
    ids: pa.Array
    json: pa.Array

    def __len__(self) -> int:
        return len(self.json)

    def entries(self) -> pa.Array:
        """Each resource as a comma-ended ``batch`` entry that PUTs it under its own id."""
        request = ',"request":{"method":"PUT","url":"'
        return join('{"fullUrl":"urn:uuid:', self.ids, '","resource":', self.json, request,
                    self.kinds, "/", self.ids, '"}},')  # fmt: skip

    def lines_by_kind(self) -> dict[str, pa.Array]:
        """NDJSON lines per resource type, in order inside each type (types as first seen)."""
        lines = join(self.json, "\n")
        kinds = self.kinds.to_numpy(zero_copy_only=False)
        order = dict.fromkeys(kinds.tolist())
        return {kind: lines.filter(pa.array(kinds == kind)) for kind in order}


def shared_text(tables: dict[str, pa.Table], last_updated: str) -> SharedText:
    """The shared resources of ``tables`` (facilities, providers, payers) as text."""
    groups: list[tuple[str, pa.Array, pa.Array]] = []  # (kind, ids, json), bundle order
    facilities = tables.get("facilities")
    if facilities is not None:
        groups.append(_dumped({"facilities": facilities}, last_updated))
    providers = tables.get("providers")
    if providers is not None and providers.num_rows:
        groups.append(_providers(providers, last_updated))
    payers = tables.get("payers")
    if payers is not None:
        groups.append(_dumped({"payers": payers}, last_updated))
    if not groups:
        empty = pa.array([], pa.string())
        return SharedText(empty, empty, empty)
    return SharedText(*(flat(pa.chunked_array([g[i] for g in groups], pa.string()))
                        for i in range(3)))  # fmt: skip


def _dumped(tables: dict[str, pa.Table], last_updated: str) -> tuple[pa.Array, ...]:
    resources = list(fr.shared_resources(tables, last_updated))
    return (pa.array([r["resourceType"] for r in resources], pa.string()),
            pa.array([r["id"] for r in resources], pa.string()),
            pa.array([orjson.dumps(r).decode() for r in resources], pa.string()))  # fmt: skip


def _providers(prov: pa.Table, last_updated: str) -> tuple[pa.Array, ...]:
    """Each provider's Practitioner then its PractitionerRole: (kinds, ids, json)."""
    meta = '"meta":{"lastUpdated":' + orjson.dumps(last_updated).decode() + ',"profile":["'
    prov = _checked(prov)
    pid, fid = prov["provider_id"], prov["facility_id"]
    gender = pc.if_else(pc.equal(prov["gender"], "F"), "female",
                        pc.if_else(pc.equal(prov["gender"], "M"), "male", "unknown"))  # fmt: skip
    practitioner = join(
        '{"resourceType":"Practitioner","id":', json_string(pid), ",", meta, fr.US_CORE,
        'us-core-practitioner"]},"identifier":[{"system":"', fr.NPI_SYSTEM, '","value":',
        json_string(prov["npi"]), '}],"active":true,"name":[{"family":',
        json_string(prov["last_name"]), ',"given":[', json_string(prov["first_name"]),
        '],"prefix":["Dr."]}],"gender":"', pc.fill_null(gender, "unknown"), '"}',
    )  # fmt: skip
    role_ids = uuid5_text(fr.DERIVED_NS, join("role|", pid))  # = fr.derived_id("role", pid)
    specialty = json_string(prov["specialty"])
    taxonomy = join('{"coding":[{"system":"', fr.TAXONOMY_SYSTEM, '","code":',
                    json_string(prov["taxonomy_code"]), ',"display":', specialty, '}],"text":',
                    specialty, "}")  # fmt: skip
    role = join(
        '{"resourceType":"PractitionerRole","id":"', role_ids, '",', meta, fr.US_CORE,
        'us-core-practitionerrole"]},"active":true,"practitioner":{"reference":',
        json_string(join("Practitioner/", pid)), '},"organization":{"reference":',
        json_string(join("Organization/", fid)), '},"code":[', taxonomy, '],"specialty":[',
        taxonomy, '],"location":[{"reference":', json_string(join("Location/", fid)), "}]}",
    )  # fmt: skip
    n = prov.num_rows
    # interleave: row 2i is provider i's Practitioner, row 2i+1 its role
    order = pa.array(np.arange(2 * n).reshape(2, n).T.reshape(-1))
    kinds = pa.array(["Practitioner", "PractitionerRole"] * n, pa.string())
    ids = pa.chunked_array([flat(pid), role_ids]).combine_chunks().take(order)
    text = pa.chunked_array([practitioner, role]).combine_chunks().take(order)
    return kinds, ids, text


def _checked(prov: pa.Table) -> pa.Table:
    """The provider columns as plain strings; a null (but a gender's) fails here, naming its
    column, as it would otherwise make the whole resource's text null."""
    columns = {}
    for name in PROVIDER_COLUMNS:
        column = prov[name].cast(pa.string())
        if column.null_count and name != "gender":
            raise ValueError(f"providers.{name} has {column.null_count} null value(s)")
        columns[name] = column
    return pa.table(columns)
