"""The Beam DirectRunner gives the same tables as the local runner on the same input."""

from __future__ import annotations

import duckdb
import pyarrow.parquet as pq
import pytest

from tests.claims.test_pipeline import PROCESSED, _file, _messages

pytest.importorskip("apache_beam")


def _sorted(table, key):
    return table.sort_by([(key, "ascending")]).to_pylist()


def test_beam_direct_runner_matches_local_runner(cli, tmp_path):
    from hospigen.beam.claims_pipeline import run

    msgs, _ = _messages(300)
    msgs = msgs + msgs[:20]  # redeliveries: duplicate claim ids
    path = _file(tmp_path, msgs)
    log, db, out = tmp_path / "log", tmp_path / "w.duckdb", tmp_path / "beam"
    cli("claims", "publish", "--to", log, "--file", path)
    assert cli("claims", "run", "--from", log, "--warehouse", f"duckdb://{db}",
               "--processing-time", PROCESSED, "--batch-size", "500").exit_code == 0  # fmt: skip
    run(["--runner", "DirectRunner", "--input", str(log), "--output", f"parquet://{out}",
         "--processing_time", PROCESSED, "--chunk", "400"])  # fmt: skip
    con = duckdb.connect(str(db), read_only=True)
    local_claims = con.sql("SELECT * FROM claims_events_stream").to_arrow_table()
    local_errors = con.sql("SELECT * FROM processing_errors").to_arrow_table()
    beam_claims = pq.read_table(out / "claims_events_stream", partitioning=None)
    beam_errors = pq.read_table(out / "processing_errors", partitioning=None)
    assert local_claims.num_rows + local_errors.num_rows == len(msgs)
    assert _sorted(beam_claims.select(local_claims.column_names), "claim_id") == _sorted(
        local_claims, "claim_id"
    )
    assert _sorted(beam_errors.select(local_errors.column_names), "raw_message") == _sorted(
        local_errors, "raw_message"
    )
