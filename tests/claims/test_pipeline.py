"""End to end through the CLI: publish → run → tables; accounting, SIGKILL, quality, evaluate."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from hospigen.pipelines.claims.evaluate import evaluate
from hospigen.pipelines.claims.generator import claims_from_tables, fraud_rates, inject_fraud
from hospigen.pipelines.claims.messages import corrupt, to_messages
from hospigen.stream.local_log import encode
from tests.claims import fixtures

INGEST = dt.datetime(2025, 1, 1, 12, tzinfo=dt.UTC)
PROCESSED = "2025-01-02T00:00:00Z"


def _messages(patients: int, fraud: float = 0.1, invalid: float = 0.05, seed: int = 7):
    tables, world = fixtures.tables(patients, 5, seed)
    claims = inject_fraud(claims_from_tables(tables, world, seed), seed, fraud_rates(fraud))
    return corrupt(to_messages(claims, INGEST), seed, invalid)


def _file(tmp_path: Path, msgs: list[bytes]) -> Path:
    path = tmp_path / "claims.ndjson"
    path.write_bytes(b"".join(encode(m) for m in msgs))
    return path


def _counts(db: Path) -> tuple[int, int, int]:
    con = duckdb.connect(str(db), read_only=True)
    claims = con.execute("SELECT count(*) FROM claims_events_stream").fetchone()[0]
    errors = con.execute("SELECT count(*) FROM processing_errors").fetchone()[0]
    distinct = con.execute("SELECT count(DISTINCT claim_id) FROM claims_events_stream").fetchone()[
        0
    ]
    con.close()
    return claims, errors, distinct


def test_generation_is_deterministic():
    assert _messages(50)[0] == _messages(50)[0]
    assert _messages(50)[0] != _messages(50, seed=8)[0]


def test_publish_run_quality_evaluate(cli, tmp_path):
    msgs, kinds = _messages(2000)
    log, db = tmp_path / "log", tmp_path / "w.duckdb"
    assert cli("claims", "publish", "--to", log, "--file", _file(tmp_path, msgs)).exit_code == 0
    res = cli("claims", "run", "--from", log, "--warehouse", f"duckdb://{db}",
              "--processing-time", PROCESSED, "--batch-size", "3000")  # fmt: skip
    assert res.exit_code == 0, res.stderr
    claims, errors, distinct = _counts(db)
    assert claims + errors == len(msgs) and distinct == claims
    assert errors == sum(k is not None for k in kinds)
    # a second run consumes nothing more: offsets were committed with the rows
    assert cli("claims", "run", "--from", log, "--warehouse", f"duckdb://{db}").exit_code == 0
    assert _counts(db)[:2] == (claims, errors)
    con = duckdb.connect(str(db), read_only=True)
    rows = evaluate(con.sql("SELECT * FROM claims_events_stream").to_arrow_table())
    con.close()
    overall = rows[0]
    assert overall["auc"] >= 0.85, rows
    assert {r["pattern"] for r in rows[1:]} >= {"unbundling", "outlier_amount"}
    out = cli("claims", "evaluate", "--warehouse", f"duckdb://{db}")
    assert out.exit_code == 0 and "overall" in out.stdout
    # 5 % invalid sits right at the seed's alert threshold; a 1 % limit must fail the check
    assert cli("claims", "quality", "--warehouse", f"duckdb://{db}",
               "--max-error-rate", "0.2").exit_code == 0  # fmt: skip
    failed = cli("claims", "quality", "--warehouse", f"duckdb://{db}", "--max-error-rate", "0.01")
    assert failed.exit_code != 0 and "error rate" in failed.stderr


def test_replayed_messages_become_duplicate_errors(cli, tmp_path):
    msgs, _ = _messages(40, invalid=0.0)
    log, db = tmp_path / "log", tmp_path / "w.duckdb"
    path = _file(tmp_path, msgs)
    cli("claims", "publish", "--to", log, "--file", path)
    cli("claims", "publish", "--to", log, "--file", path)  # the same claims again
    assert cli("claims", "run", "--from", log, "--warehouse", f"duckdb://{db}").exit_code == 0
    con = duckdb.connect(str(db), read_only=True)
    codes = con.sql("SELECT DISTINCT error_code FROM processing_errors").fetchall()
    assert codes == [("duplicate_claim_id",)]
    assert _counts(db)[0] + _counts(db)[1] == 2 * len(msgs)


def test_sigkill_consumer_converges(cli, tmp_path):
    msgs, _ = _messages(10_000)  # about 50k messages
    log, db = tmp_path / "log", tmp_path / "w.duckdb"
    assert cli("claims", "publish", "--to", log, "--file", _file(tmp_path, msgs)).exit_code == 0
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    cmd = [sys.executable, "-m", "hospigen.cli.app", "claims", "run", "--from", str(log),
           "--warehouse", f"duckdb://{db}", "--batch-size", "2000",
           "--processing-time", PROCESSED]  # fmt: skip
    for delay in (2.5, 3.0, 3.5):
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(delay)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    done = subprocess.run(cmd, env=env, capture_output=True, timeout=240)
    assert done.returncode == 0, done.stderr
    claims, errors, distinct = _counts(db)
    assert claims + errors == len(msgs)
    assert distinct == claims


@pytest.mark.slow
def test_one_million_messages_with_five_percent_invalid_and_sigkill_restarts(cli, tmp_path):
    msgs, kinds = _messages(200_000)
    log, db = tmp_path / "log", tmp_path / "w.duckdb"
    assert cli("claims", "publish", "--to", log, "--file", _file(tmp_path, msgs)).exit_code == 0
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    cmd = [sys.executable, "-m", "hospigen.cli.app", "claims", "run", "--from", str(log),
           "--warehouse", f"duckdb://{db}", "--batch-size", "100000",
           "--processing-time", PROCESSED]  # fmt: skip
    for delay in (6.0, 9.0, 12.0):  # killed mid-batch, mid-commit or between batches
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(delay)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    done = subprocess.run(cmd, env=env, capture_output=True, timeout=1200)
    assert done.returncode == 0, done.stderr
    claims, errors, distinct = _counts(db)
    assert claims + errors == len(msgs) >= 1_000_000
    assert errors == sum(k is not None for k in kinds) and distinct == claims
