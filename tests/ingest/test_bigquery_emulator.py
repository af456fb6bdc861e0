"""The BigQuery adapter end to end against a real local emulator (bqemulator, REST).

The emulator needs DuckDB 1.5.5 and its spatial extension, so it lives in its own venv,
``.venv-bq/`` in the project folder, made by ``scripts/bq-emulator-venv.sh``; without it these
tests are skipped. The emulator runs as a subprocess on a free loopback port, ephemeral (in
memory), with HOME pointed inside the venv where the script put the spatial extension.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / ".venv-bq"
EMULATOR = VENV / "bin" / "bqemulator"
# the script bumps its stamp suffix when its pins change; any stamp means a finished install
READY = sorted(VENV.glob(".hospigen-ready-*"))
PROJECT = "hospigen-test"
T1, T2 = "2030-01-01T00:00:00Z", "2030-01-02T00:00:00Z"
PATIENT_COLUMNS = (
    "patient_id, gender, CAST(birth_date AS STRING), family_name, given_name, city, state, "
    "postal_code, JSON_VALUE(raw, '$.id'), raw_hash, generated_ts, ingestion_ts"
)

pytestmark = pytest.mark.skipif(
    not (EMULATOR.exists() and READY),
    reason="BigQuery emulator venv .venv-bq/ missing: run `bash scripts/bq-emulator-venv.sh`",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def bq_emulator(tmp_path_factory):
    """``host:port`` of a fresh emulator (REST); stopped after the module."""
    port = _free_port()
    log = tmp_path_factory.mktemp("bqemulator") / "emulator.log"
    env = {**os.environ, "HOME": str(VENV / "duckdb-home")}
    env.pop("BIGQUERY_EMULATOR_HOST", None)
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                str(EMULATOR),
                "start",
                "--rest-port",
                str(port),
                "--grpc-port",
                "0",
                "--project",
                PROJECT,
                "--ephemeral",
                "--log-level",
                "warning",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    host = f"127.0.0.1:{port}"
    url = f"http://{host}/bigquery/v2/projects/{PROJECT}/datasets"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:
                if resp.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"bqemulator did not start:\n{log.read_text()[-2000:]}")
        time.sleep(0.2)
    yield host
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


@pytest.fixture
def bigquery(bq_emulator, monkeypatch):
    """A ``query(sql)`` function on the emulator, and the emulator host set for the CLI."""
    monkeypatch.setenv("BIGQUERY_EMULATOR_HOST", bq_emulator)
    from google.api_core.client_options import ClientOptions
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import bigquery as bq

    client = bq.Client(
        project=PROJECT,
        client_options=ClientOptions(api_endpoint=f"http://{bq_emulator}"),
        credentials=AnonymousCredentials(),
    )

    def query(sql: str) -> list[tuple]:
        return [tuple(r.values()) for r in client.query(sql).result()]

    yield query
    client.close()


def _run(cli, source, bucket, dataset, now):
    return cli(
        "ingest",
        "run",
        "--source",
        source,
        "--bucket",
        bucket,
        "--warehouse",
        f"bigquery://{PROJECT}/{dataset}",
        "--now",
        now,
    )


def test_synthea_bulk_into_bigquery_emulator(cli, bigquery, shared_dir, tmp_path):
    src = shared_dir / "data" / "synthea-bulk-10"
    first = _run(cli, src, tmp_path / "bucket", "bulk", T1)
    assert first.exit_code == 0, first.stderr
    # affected-row counts come from the job statistics (13 patients inserted)
    assert "patients 13," in " ".join(first.stdout.split()), first.stdout

    got = {r[0]: r for r in bigquery(f"SELECT {PATIENT_COLUMNS} FROM bulk.patients")}
    patients = [json.loads(line) for line in (src / "Patient.000.ndjson").open()]
    assert len(got) == len(patients) == 13
    for p in patients:
        row = got[p["id"]]
        assert None not in row, row
        name = next((n for n in p["name"] if n.get("use") == "official"), p["name"][0])
        addr = next((a for a in p["address"] if a.get("use") == "home"), p["address"][0])
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
        assert row[11].isoformat().startswith("2030-01-01")
    deceased = {p["id"] for p in patients if "deceasedDateTime" in p}
    assert {
        r[0] for r in bigquery("SELECT patient_id FROM bulk.patients WHERE deceased_ts IS NOT NULL")
    } == deceased

    encounters = [json.loads(line) for line in (src / "Encounter.000.ndjson").open()]
    ((n, with_patient),) = bigquery("SELECT count(*), count(patient_id) FROM bulk.encounters")
    assert n == with_patient == len(encounters)
    staged = sum(len(p.read_text().splitlines()) for p in src.glob("*.ndjson"))
    assert bigquery("SELECT count(*) FROM bulk.raw_records_stg") == [(staged,)]
    ledger = dict(bigquery("SELECT stage, count(*) FROM bulk.ingest_ledger GROUP BY stage"))
    assert ledger == {"source": 1, "landed": 14, "wrapped": 14, "loaded": 14}

    before = sorted(bigquery(f"SELECT {PATIENT_COLUMNS} FROM bulk.patients"))
    second = _run(cli, src, tmp_path / "bucket", "bulk", T2)
    assert second.exit_code == 0, second.stderr
    assert "input unchanged" in second.stdout and "0 objects loaded" in second.stdout
    assert "patients 0," in " ".join(second.stdout.split())
    assert sorted(bigquery(f"SELECT {PATIENT_COLUMNS} FROM bulk.patients")) == before
    assert bigquery("SELECT count(*) FROM bulk.raw_records_stg") == [(staged,)]


@pytest.mark.slow  # ~10 s more; the default suite keeps the bulk run and its no-change re-run
def test_changed_object_reloads_into_bigquery_emulator(cli, bigquery, tmp_path):
    from tests.conftest import CASES

    src = tmp_path / "src"
    src.mkdir()
    for f in sorted((CASES / "ingest" / "per_patient").glob("*.ndjson")):
        (src / f.name).write_bytes(f.read_bytes())
    assert _run(cli, src, tmp_path / "bucket", "cases", T1).exit_code == 0
    lines = (src / "patient_0002.ndjson").read_text().splitlines()
    patient = json.loads(lines[0])
    patient["address"][0]["city"] = "Springfield"
    patient["meta"] = {"lastUpdated": "2031-01-01T00:00:00Z"}
    lines[0] = json.dumps(patient)
    (src / "patient_0002.ndjson").write_text("\n".join(lines) + "\n")
    again = _run(cli, src, tmp_path / "bucket", "cases", T2)
    assert again.exit_code == 0, again.stderr
    assert "patients 1," in " ".join(again.stdout.split())
    rows = bigquery("SELECT patient_id, city, ingestion_ts FROM cases.patients")
    moved = {pid: (city, ts.isoformat()[:10]) for pid, city, ts in rows}
    assert moved[patient["id"]] == ("Springfield", "2030-01-02")
    assert sorted(v[1] for v in moved.values()) == ["2030-01-01", "2030-01-01", "2030-01-02"]
