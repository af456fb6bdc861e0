"""Real Synthea bulk NDJSON end to end through the CLI: columns, idempotence, updates."""

from __future__ import annotations

import json
import shutil

from tests.ingest.helpers import TARGETS, query, rows, snapshot

T1, T2, T3 = "2030-01-01T00:00:00Z", "2030-01-02T00:00:00Z", "2030-01-03T00:00:00Z"
EXPECTED_ROWS = {
    "encounters": "Encounter",
    "conditions": "Condition",
    "medication_requests": "MedicationRequest",
    "procedures": "Procedure",
    "immunizations": "Immunization",
}


def _bulk(shared_dir):
    return shared_dir / "data" / "synthea-bulk-10"


def _run(cli, source, tmp_path, now, *extra):
    return cli(
        "ingest",
        "run",
        "--source",
        source,
        "--bucket",
        tmp_path / "bucket",
        "--warehouse",
        tmp_path / "wh.duckdb",
        "--now",
        now,
        *extra,
    )


def _source_lines(folder, rtype):
    return [json.loads(line) for line in (folder / f"{rtype}.000.ndjson").open()]


def test_bulk_ingest_fills_every_column(cli, shared_dir, tmp_path):
    src = _bulk(shared_dir)
    result = _run(cli, src, tmp_path, T1)
    assert result.exit_code == 0, result.stderr
    db = tmp_path / "wh.duckdb"
    got = {
        r[0]: r
        for r in query(
            db,
            """
        SELECT patient_id, gender, CAST(birth_date AS VARCHAR), family_name, given_name, city,
               state, postal_code, raw->>'$.id', generated_ts, ingestion_ts
        FROM synthea_raw.patients""",
        )
    }
    patients = _source_lines(src, "Patient")
    assert len(got) == len(patients) == 13
    for p in patients:
        row = got[p["id"]]
        assert None not in row, row
        addr, name = p["address"][0], p["name"][0]
        assert row[1:9] == (
            p["gender"],
            p["birthDate"],
            name["family"],
            name["given"][0],
            addr["city"],
            addr["state"],
            addr["postalCode"],
            p["id"],
        )
        assert str(row[10]).startswith("2030-01-01")
    for table, rtype in EXPECTED_ROWS.items():
        source = _source_lines(src, rtype)
        ((n, with_patient),) = query(
            db, f"SELECT count(*), count(patient_id) FROM synthea_raw.{table}"
        )
        assert n == with_patient == len({r["id"] for r in source}), table
    # the patient of every encounter is the one Synthea references
    enc = {
        r["id"]: r["subject"]["reference"].split("/")[1] for r in _source_lines(src, "Encounter")
    }
    assert dict(query(db, "SELECT encounter_id, patient_id FROM synthea_raw.encounters")) == enc
    # shared resources are landed and staged, not lost
    shared = sum(
        len(_source_lines(src, t))
        for t in ("Organization", "Location", "Practitioner", "PractitionerRole")
    )
    landed = (tmp_path / "bucket" / "patients" / "shared_resources.ndjson").read_text()
    assert len(landed.splitlines()) == shared
    assert query(db, "SELECT count(*) FROM synthea_raw.raw_records_stg")[0][0] == sum(
        len(_source_lines(src, p.name.split(".")[0])) for p in src.glob("*.ndjson")
    )
    # every landed resource is stamped with meta.lastUpdated (valid FHIR, no meta.generated)
    first = json.loads((tmp_path / "bucket" / "patients" / "patient_0001.ndjson").open().readline())
    assert first["resourceType"] == "Patient" and first["meta"]["lastUpdated"].endswith("Z")
    assert first["id"] == min(p["id"] for p in patients)  # numbered by sorted patient id


def test_second_run_changes_nothing(cli, shared_dir, tmp_path):
    src = _bulk(shared_dir)
    assert _run(cli, src, tmp_path, T1).exit_code == 0
    before = snapshot(tmp_path / "wh.duckdb")
    second = _run(cli, src, tmp_path, T2)
    assert second.exit_code == 0
    assert "input unchanged" in second.stdout and "0 objects loaded" in second.stdout
    assert snapshot(tmp_path / "wh.duckdb") == before  # ingestion_ts included


def test_updated_patient_changes_exactly_that_row(cli, shared_dir, tmp_path):
    src = tmp_path / "src"
    shutil.copytree(_bulk(shared_dir), src)
    # Bulk exports carry no meta.lastUpdated: a fixed --generated-at keeps the stamps of
    # unchanged resources stable across landings (the default, file mtime, would move them all)
    stamp = ("--generated-at", "2029-12-31T00:00:00Z")
    assert _run(cli, src, tmp_path, T1, *stamp).exit_code == 0
    before = {r[0]: r for r in rows(tmp_path / "wh.duckdb", "patients")}
    lines = (src / "Patient.000.ndjson").read_text().splitlines()
    changed = json.loads(lines[5])
    changed["address"][0]["city"] = "Springfield"
    changed["meta"]["lastUpdated"] = "2031-05-05T00:00:00Z"  # a newer generation of the patient
    lines[5] = json.dumps(changed)
    (src / "Patient.000.ndjson").write_text("\n".join(lines) + "\n")
    assert _run(cli, src, tmp_path, T3, *stamp).exit_code == 0
    after = {r[0]: r for r in rows(tmp_path / "wh.duckdb", "patients")}
    assert after.keys() == before.keys()
    differing = [pid for pid in after if after[pid] != before[pid]]
    assert differing == [changed["id"]]
    ((city, gen, ing),) = query(
        tmp_path / "wh.duckdb",
        f"SELECT city, generated_ts, ingestion_ts FROM synthea_raw.patients "
        f"WHERE patient_id = '{changed['id']}'",
    )
    assert city == "Springfield" and gen.year == 2031 and str(ing).startswith("2030-01-03")
    for table in TARGETS[1:]:  # nothing else moved
        assert {r[-1] for r in rows(tmp_path / "wh.duckdb", table)} <= {"2030-01-01 00:00:00+00"}
