"""Per-patient NDJSON, Synthea bundles, bad lines, failures and resumption, dry runs."""

from __future__ import annotations

import json
import shutil

from tests.conftest import CASES, tree_digest
from tests.ingest.helpers import query, snapshot

NOW = "2030-01-01T00:00:00Z"


def _args(tmp_path, bucket=None):
    return (
        "--bucket",
        bucket or tmp_path / "bucket",
        "--warehouse",
        tmp_path / "wh.duckdb",
        "--now",
        NOW,
    )


def test_per_patient_ndjson_and_bundles(cli, tmp_path):
    src = tmp_path / "src"
    shutil.copytree(CASES / "ingest" / "per_patient", src / "generated")
    shutil.copytree(CASES / "ingest" / "bundles", src / "synthea")
    result = cli("ingest", "run", "--source", src, *_args(tmp_path))
    assert result.exit_code == 0, result.stderr
    db = tmp_path / "wh.duckdb"
    got = dict(
        query(db, "SELECT patient_id, CAST(generated_ts AS VARCHAR) FROM synthea_raw.patients")
    )
    expected = {}
    for f in sorted((CASES / "ingest" / "per_patient").glob("*.ndjson")):
        p = json.loads(f.open().readline())
        expected[p["id"]] = p["meta"]["lastUpdated"][:10]
    bundle = json.loads((CASES / "ingest" / "bundles" / "Bundle_patient.json").read_text())
    bp = bundle["entry"][0]["resource"]
    expected[bp["id"]] = bp["meta"]["generated"][:10]  # the seed's meta.generated is honoured
    assert {k: v[:10] for k, v in got.items()} == expected
    # urn:uuid references resolve to the bundle's patient
    enc = query(db, f"SELECT count(*) FROM synthea_raw.encounters WHERE patient_id = '{bp['id']}'")
    assert enc[0][0] == sum(e["resource"]["resourceType"] == "Encounter" for e in bundle["entry"])
    # the bundle's Organization is a shared resource; meta.generated became meta.lastUpdated
    shared = (tmp_path / "bucket" / "patients" / "shared_resources.ndjson").read_text()
    org = json.loads(shared)
    assert org["resourceType"] == "Organization"
    assert org["meta"] == {"lastUpdated": bp["meta"]["generated"]}
    assert len(list((tmp_path / "bucket" / "patients").glob("patient_*.ndjson"))) == 4


def test_bad_lines_go_to_ingest_errors_and_the_rest_loads(cli, tmp_path):
    bucket = tmp_path / "bucket"
    (bucket / "landed").mkdir(parents=True)
    shutil.copy(CASES / "ingest" / "bad" / "patient_0001.ndjson", bucket / "landed")
    args = ("--bucket", bucket, "--prefix", "landed", "--warehouse", tmp_path / "wh.duckdb")
    result = cli("ingest", "wrap-load", *args, "--now", NOW)
    assert result.exit_code == 6
    assert "4 records rejected" in result.stderr and "ingest_errors" in result.stderr
    errors = query(
        tmp_path / "wh.duckdb",
        "SELECT object, line_number, code, reason, raw_line "
        "FROM synthea_raw.ingest_errors ORDER BY line_number",
    )
    lines = (CASES / "ingest" / "bad" / "patient_0001.ndjson").read_text().splitlines()
    assert [(o, n, c) for o, n, c, _, _ in errors] == [
        ("landed/patient_0001.ndjson", 2, "malformed_json"),
        ("landed/patient_0001.ndjson", 3, "missing_id"),
        ("landed/patient_0001.ndjson", 4, "patient_missing_gender"),
        ("landed/patient_0001.ndjson", 6, "not_an_object"),
    ]
    assert [e[4] for e in errors] == [lines[1], lines[2], lines[3], lines[5]]
    assert all(e[3] for e in errors)
    assert cli("ingest", "materialize", "--warehouse", tmp_path / "wh.duckdb").exit_code == 0
    good = json.loads(lines[0])
    assert query(tmp_path / "wh.duckdb", "SELECT patient_id FROM synthea_raw.patients") == [
        (good["id"],)
    ]
    assert query(tmp_path / "wh.duckdb", "SELECT count(*) FROM synthea_raw.encounters") == [(1,)]
    # re-running neither reloads nor duplicates error rows, and exits 0 (nothing rejected now)
    again = cli("ingest", "wrap-load", *args, "--now", NOW)
    assert again.exit_code == 0 and "0 objects loaded" in again.stdout
    assert query(tmp_path / "wh.duckdb", "SELECT count(*) FROM synthea_raw.ingest_errors") == [(4,)]


def test_lines_bad_deep_inside_are_rejected_whole(cli, tmp_path):
    # ingest builds objects only for a resource's top-level fields: the rest of each line must
    # still be checked, as JSON and as UTF-8, or a bad line would reach the warehouse
    patient = b'{"resourceType":"Patient","id":"p1","gender":"female"}'
    obs = b'{"resourceType":"Observation","id":"%s","subject":{"reference":"Patient/p1"},%s}'
    lines = [
        patient,
        obs % (b"o1", b'"note":[{"text":"caf\xe9"}]'),  # Latin-1, not UTF-8
        obs % (b"o2", b'"component":[{"code":1},]'),  # trailing comma, two levels down
        obs % (b"o3", b'"valueQuantity":{"value":123456789012345678901234567890}'),  # valid
    ]
    src = tmp_path / "src"
    src.mkdir()
    (src / "patient_0001.ndjson").write_bytes(b"\n".join(lines) + b"\n")
    result = cli("ingest", "run", "--source", src, *_args(tmp_path))
    assert result.exit_code == 6, result.stderr
    db = tmp_path / "wh.duckdb"
    errors = query(db, "SELECT line_number, code FROM synthea_raw.ingest_errors ORDER BY 1")
    assert errors == [(2, "malformed_json"), (3, "malformed_json")]
    assert query(db, "SELECT observation_id FROM synthea_raw.observations") == [("o3",)]


def test_failed_upload_stops_and_rerun_resumes(cli, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the bucket folder should be")
    src = CASES / "ingest" / "per_patient"
    failed = cli("ingest", "run", "--source", src, *_args(tmp_path, blocker / "bucket"))
    assert failed.exit_code == 4
    assert "cannot write" in failed.stderr and "Traceback" not in failed.stderr
    ok = cli("ingest", "run", "--source", src, *_args(tmp_path))
    assert ok.exit_code == 0, ok.stderr
    assert query(tmp_path / "wh.duckdb", "SELECT count(*) FROM synthea_raw.patients") == [(3,)]


def test_failed_warehouse_stops_with_a_clear_message(cli, tmp_path):
    (tmp_path / "wh.duckdb").mkdir()  # a folder where the database file should be
    result = cli("ingest", "run", "--source", CASES / "ingest" / "per_patient", *_args(tmp_path))
    assert result.exit_code == 5
    assert "cannot open" in result.stderr and "Traceback" not in result.stderr


def test_keys_cannot_escape_the_prefix(cli, tmp_path):
    for bad in ("../outside", "/abs", "a/../../b"):
        result = cli(
            "ingest",
            "wrap-load",
            "--bucket",
            tmp_path,
            "--prefix",
            bad,
            "--warehouse",
            tmp_path / "wh.duckdb",
        )
        assert result.exit_code == 4 and "key" in result.stderr
    result = cli(
        "ingest",
        "wrap-load",
        "--bucket",
        tmp_path,
        "--file",
        "../x.ndjson",
        "--warehouse",
        tmp_path / "wh.duckdb",
    )
    assert result.exit_code == 4


def test_bad_dataset_name_is_refused(cli, tmp_path):
    result = cli(
        "ingest",
        "materialize",
        "--warehouse",
        tmp_path / "wh.duckdb",
        "--dataset",
        'x"; DROP TABLE y; --',
    )
    assert result.exit_code == 2 and "invalid SQL identifier" in result.stderr


def test_dry_run_prints_everything_and_touches_nothing(cli, tmp_path):
    src = CASES / "ingest" / "per_patient"
    result = cli("ingest", "run", "--source", src, "--dry-run", *_args(tmp_path))
    assert result.exit_code == 0
    assert tree_digest(tmp_path) == {}  # no bucket, no database
    out = result.stdout
    for name in ("patient_0001", "patient_0002", "patient_0003"):
        assert f"would write {tmp_path / 'bucket' / 'patients' / name}.ndjson" in out
        assert f"patients_wrapped/{name}.ndjson" in out
    assert 'CREATE TABLE IF NOT EXISTS "synthea_raw"."patients"' in out
    assert out.count("MERGE INTO") == 7
    assert "append 21 rows" in out  # the staging load: 3 files × 7 resources
    # after a real run, a dry run plans nothing but the (idempotent) MERGEs
    assert cli("ingest", "run", "--source", src, *_args(tmp_path)).exit_code == 0
    before = snapshot(tmp_path / "wh.duckdb")
    again = cli("ingest", "run", "--source", src, "--dry-run", *_args(tmp_path))
    assert "would write" not in again.stdout and "CREATE TABLE" not in again.stdout
    assert snapshot(tmp_path / "wh.duckdb") == before
