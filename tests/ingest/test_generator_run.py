"""``ingest run`` without --source: generate TOTAL patients with the patient_ndjson exporter."""

from __future__ import annotations

import pytest

from hospigen import export
from tests.ingest.helpers import query, snapshot

needs_exporter = pytest.mark.skipif(
    "patient_ndjson" not in export.available(),
    reason="exporter patient_ndjson is not registered yet (arrives with the formats branch)",
)


@needs_exporter
def test_generated_run_is_complete_and_idempotent(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("TOTAL", "12")
    monkeypatch.setenv("BATCH_SIZE", "5")
    args = (
        "ingest",
        "run",
        "--as-of",
        "2025-01-01",
        "--seed",
        "7",
        "--bucket",
        tmp_path / "bucket",
        "--warehouse",
        tmp_path / "wh.duckdb",
    )
    first = cli(*args, "--now", "2030-01-01T00:00:00Z")
    assert first.exit_code == 0, first.stderr
    db = tmp_path / "wh.duckdb"
    ((n, filled),) = query(
        db,
        "SELECT count(*), count(*) FILTER (WHERE gender IS NOT NULL AND "
        "birth_date IS NOT NULL AND family_name IS NOT NULL AND generated_ts "
        "IS NOT NULL) FROM synthea_raw.patients",
    )
    assert n == filled == 12
    landed = sorted(p.name for p in (tmp_path / "bucket" / "patients").glob("patient_*.ndjson"))
    assert landed == [f"patient_{i:04d}.ndjson" for i in range(1, 13)]
    before = snapshot(db)
    again = cli(*args, "--now", "2030-01-02T00:00:00Z")  # same seed + as-of: same bytes
    assert again.exit_code == 0 and snapshot(db) == before
