"""FHIR exporters (fhir, bulk_ndjson, patient_ndjson) checked by the independent validators."""

from __future__ import annotations

import base64
import copy

import orjson
import pytest

from hospigen.validate.fhir import check_bundle, check_ndjson, check_resource
from hospigen.validate.findings import Report
from tests.conftest import tree_digest
from tests.formats.tables_fixture import clinical_tables, export, fixture_world


def _ndjson(path):
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def test_bulk_and_bundles_pass_structure_schema_and_us_core(exported):
    report = Report()
    for path in sorted((exported / "bulk").glob("*.ndjson")):
        check_ndjson(path, report)
    for path in sorted((exported / "fhir").glob("*.json")):
        check_bundle(path, report)
    for path in sorted((exported / "patient_ndjson").glob("*.ndjson")):
        check_ndjson(path, report)
    assert report.checked["fhir bundles"] == 7  # 6 patients + shared
    assert report.checked["fhir resources"] > 1000
    assert report.findings == []


def test_real_synthea_export_passes_the_same_checks(shared_dir):
    report = Report()
    for path in sorted((shared_dir / "data" / "synthea-bulk-10").glob("*.ndjson")):
        check_ndjson(path, report, sample=150)
    assert report.checked["fhir resources"] > 900
    assert report.findings == []


def test_each_layer_rejects_a_broken_resource(exported):
    obs = _ndjson(exported / "bulk" / "Observation.ndjson")
    bp = next(o for o in obs if o["code"]["coding"][0]["code"] == "85354-9")
    broken_status = {**bp, "status": "done"}  # required binding: only the schema knows
    heart = next(o for o in obs if o["code"]["coding"][0]["code"] == "8867-4")
    two_values = {**heart, "valueString": "a"}  # two value[x]: only the models know
    no_diastolic = copy.deepcopy(bp)
    no_diastolic["component"] = no_diastolic["component"][:1]  # only US Core rules know
    checkers = [
        {f.checker for f in check_resource(r, "x", "1")}
        for r in (broken_status, two_values, no_diastolic)
    ]
    assert checkers == [{"fhir-schema"}, {"fhir-structure"}, {"us-core"}]
    patient = _ndjson(exported / "bulk" / "Patient.ndjson")[0]
    patient["extension"][0]["extension"] = patient["extension"][0]["extension"][:1]
    assert [f.code for f in check_resource(patient, "x", "1")] == ["race-text"]


def test_bundle_checker_rejects_dangling_local_reference(exported, tmp_path):
    path = next(p for p in sorted((exported / "fhir").glob("*.json")) if p.name != "shared.json")
    bundle = orjson.loads(path.read_bytes())
    bundle["entry"] = bundle["entry"][1:]  # drop the Patient: every urn:uuid to it dangles
    bad = tmp_path / "bad.json"
    bad.write_bytes(orjson.dumps(bundle))
    report = Report()
    check_bundle(bad, report)
    assert {f.code for f in report.findings} == {"dangling-reference"}


def test_vital_signs_and_labs_follow_us_core(exported):
    obs = {o["id"]: o for o in _ndjson(exported / "bulk" / "Observation.ndjson")}
    by_code = {}
    for o in obs.values():
        by_code.setdefault(o["code"]["coding"][0]["code"], []).append(o)
    bp = by_code["85354-9"][0]
    assert [c["code"]["coding"][0]["code"] for c in bp["component"]] == ["8462-4", "8480-6"]
    assert "valueQuantity" not in bp and bp["effectiveDateTime"].endswith("Z")
    spo2 = by_code["59408-5"][0]
    assert [c["code"] for c in spo2["code"]["coding"]] == ["59408-5", "2708-6"]
    assert spo2["valueQuantity"]["system"] == "http://unitsofmeasure.org"
    sodium = by_code["2951-2"][0]
    assert sodium["referenceRange"][0]["low"]["value"] == 135.0
    assert sodium["interpretation"][0]["coding"][0]["code"] == "L"
    reports = _ndjson(exported / "bulk" / "DiagnosticReport.ndjson")
    assert {r["code"]["coding"][0]["code"] for r in reports} == {"58410-2", "51990-0"}
    for r in reports:
        assert all(ref["reference"].split("/")[1] in obs for ref in r["result"])


def test_notes_are_base64_text_and_identifiers_are_canonical(exported, world):
    tables = clinical_tables(world, range(6))
    docs = {d["id"]: d for d in _ndjson(exported / "bulk" / "DocumentReference.ndjson")}
    for note in tables["notes"].to_pylist():
        data = docs[note["note_id"]]["content"][0]["attachment"]["data"]
        assert base64.b64decode(data).decode() == note["text"]
    patients = _ndjson(exported / "bulk" / "Patient.ndjson")
    assert [p["id"] for p in patients] == tables["patients"].column("patient_id").to_pylist()
    mrn = [i["value"] for i in patients[0]["identifier"] if i.get("type", {}).get("coding", [{}])
           [0].get("code") == "MR"]  # fmt: skip
    assert mrn == [tables["patients"]["mrn"][0].as_py()]
    encounters = {e["id"] for e in _ndjson(exported / "bulk" / "Encounter.ndjson")}
    assert encounters == set(tables["encounters"].column("encounter_id").to_pylist())


def test_output_does_not_depend_on_shard_boundaries(tmp_path):
    world = fixture_world()
    formats = ["fhir", "bulk_ndjson", "patient_ndjson"]
    export(tmp_path / "a", formats, world, [range(0, 4)])
    export(tmp_path / "b", formats, world, [range(0, 1), range(1, 3), range(3, 4)])
    assert tree_digest(tmp_path / "a") == tree_digest(tmp_path / "b")


def test_bundle_cap_splits_large_patients_without_losing_resources(tmp_path):
    world = fixture_world()
    export(tmp_path / "whole", ["fhir"], world, [range(0, 2)])
    export(tmp_path / "cap", ["fhir"], world, [range(0, 2)], **{"fhir.bundle_max_entries": 20})

    def ids(folder):
        out, sizes = set(), []
        for p in sorted(folder.glob("*.json")):
            if p.name != "shared.json":
                entries = orjson.loads(p.read_bytes())["entry"]
                sizes.append(len(entries))
                out |= {e["resource"]["id"] + e["resource"]["resourceType"] for e in entries}
        return out, sizes

    whole, whole_sizes = ids(tmp_path / "whole" / "fhir")
    capped, sizes = ids(tmp_path / "cap" / "fhir")
    assert capped == whole and max(sizes) == 20 and len(sizes) > len(whole_sizes)
    report = Report()
    for p in sorted((tmp_path / "cap" / "fhir").glob("*.json")):
        check_bundle(p, report)
    assert report.findings == []


def test_patient_ndjson_layout(exported):
    files = sorted(p.name for p in (exported / "patient_ndjson").iterdir())
    assert files == [f"patient_{n:04d}.ndjson" for n in range(1, 7)]
    raw = (exported / "patient_ndjson" / "patient_0001.ndjson").read_bytes()
    assert b"\r" not in raw and raw.endswith(b"\n")
    lines = [orjson.loads(x) for x in raw.splitlines()]
    assert lines[0]["resourceType"] == "Patient"
    assert all(r["meta"]["lastUpdated"] == "2025-01-02T00:00:00Z" for r in lines)
    assert {r["subject"]["reference"] for r in lines if "subject" in r} == {
        f"Patient/{lines[0]['id']}"
    }


@pytest.mark.parametrize("fmt", ["fhir", "bulk_ndjson", "patient_ndjson"])
def test_cli_generate_writes_format(cli, tmp_path, fmt):
    result = cli("generate", "-n", "3", "--as-of", "2025-01-01", "-o", tmp_path,
                 "--formats", fmt, "--output-format", "csv")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    folder = {"fhir": "fhir", "bulk_ndjson": "bulk", "patient_ndjson": "patient_ndjson"}[fmt]
    assert any((tmp_path / folder).iterdir())


def test_synthea_csv_headers_and_rows(exported, world):
    import pyarrow.csv as pacsv

    from tests.conftest import CASES

    expected = {}
    for line in (CASES / "formats" / "synthea_headers.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, cols = line.split(": ", 1)
            expected[name] = cols.split(",")
    expected.pop("patient_expenses")  # excluded by Synthea's default configuration
    folder = exported / "synthea"
    assert sorted(p.stem for p in folder.glob("*.csv")) == sorted(expected)
    tables = clinical_tables(world, range(6))
    for name, cols in expected.items():
        table = pacsv.read_csv(folder / f"{name}.csv")
        assert table.column_names == cols, name
        if name in tables:
            assert table.num_rows == tables[name].num_rows, name
    patients = pacsv.read_csv(folder / "patients.csv")
    assert patients["Id"].to_pylist() == tables["patients"]["patient_id"].to_pylist()
    claims = pacsv.read_csv(folder / "claims.csv")
    assert claims["DIAGNOSIS1"].to_pylist() == [c[0] for c in tables["claims"]["diagnosis_codes"]
                                                .to_pylist()]  # fmt: skip
