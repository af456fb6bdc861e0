"""Claims from the real clinical engine (``hospigen.generation.build_shard``): generate, publish,
run, evaluate — the rules must still find the injected fraud on the engine's encounters."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from hospigen.cli.claims import generate_messages
from hospigen.pipelines.claims.evaluate import evaluate
from tests.claims.test_pipeline import PROCESSED, _counts

INGEST = dt.datetime(2025, 1, 1, 12, tzinfo=dt.UTC)


def test_generated_messages_are_deterministic():
    a = generate_messages(60, 3, dt.date(2025, 1, 1), 0.1, 0.05, INGEST)
    assert a == generate_messages(60, 3, dt.date(2025, 1, 1), 0.1, 0.05, INGEST)
    assert a != generate_messages(60, 4, dt.date(2025, 1, 1), 0.1, 0.05, INGEST)


def test_engine_claims_generate_publish_run_evaluate(cli, tmp_path):
    out, log, db = tmp_path / "claims.ndjson", tmp_path / "log", tmp_path / "w.duckdb"
    common = ["--seed", "7", "--as-of", "2025-01-01", "--fraud-rate", "0.1"]
    res = cli("claims", "generate", "-o", out, "-n", "400", *common, "--invalid-rate", "0.05")
    assert res.exit_code == 0, res.stderr
    lines = out.read_bytes().count(b"\n")
    assert lines > 1000  # several encounters per patient
    # publish without --file generates the same world's claims straight into the stream
    assert cli("claims", "publish", "--to", log, "-n", "400", *common).exit_code == 0
    res = cli("claims", "run", "--from", log, "--warehouse", f"duckdb://{db}",
              "--processing-time", PROCESSED)  # fmt: skip
    assert res.exit_code == 0, res.stderr
    claims, errors, distinct = _counts(db)
    assert errors == 0 and distinct == claims  # no --invalid-rate: every message is valid
    con = duckdb.connect(str(db), read_only=True)
    table = con.sql("SELECT * FROM claims_events_stream").to_arrow_table()
    rows = {r["pattern"]: r for r in evaluate(table)}
    con.close()
    assert rows["overall"]["auc"] >= 0.85, rows
    assert len(rows) == 9  # overall + every pattern present
    assert all(r["auc"] >= 0.8 for r in rows.values()), rows


@pytest.mark.parametrize("args", [["-n", "0"], ["--fraud-rate", "2"]])
def test_bad_generator_options_are_usage_errors(cli, tmp_path, args):
    res = cli("claims", "generate", "-o", tmp_path / "x.ndjson", *args)
    assert res.exit_code != 0 and "\n" not in res.stderr.strip()
