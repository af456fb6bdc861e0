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
         "--processing_time", PROCESSED, "--chunk_bytes", "100000"])  # fmt: skip
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
    # the redelivered copies keep their own bytes (fetched back by position, not carried)
    dups = [r for r in local_errors.to_pylist() if r["error_code"] == "duplicate_claim_id"]
    assert dups and {r["raw_message"] for r in dups} <= set(msgs[:20])
    assert all(r["raw_claim"].encode() == r["raw_message"] for r in dups)


def test_byte_ranges_cover_every_whole_line_once_in_order(tmp_path):
    import numpy as np

    from hospigen.beam.claims_pipeline import ranges_of, read_range
    from hospigen.stream.local_log import LocalLogWriter

    msgs = [b'{"n":%d,"pad":"%s"}' % (i, b"x" * (i % 97)) for i in range(3000)]
    msgs[7] = b"two\nlines"  # escaped by the log: still one message
    writer = LocalLogWriter(tmp_path / "log", segment_bytes=50_000)  # several segment files
    for i in range(0, len(msgs), 500):
        writer.publish(msgs[i : i + 500])
    writer.close()
    segments = sorted((tmp_path / "log" / "segments").glob("*.log"))
    assert len(segments) > 2
    with open(segments[-1], "ab") as f:
        f.write(b'{"torn":')  # a crash mid-write: not a message yet
    for chunk in (1, 977, 10_000, 1 << 30):
        got, positions = [], []
        for element in ranges_of(str(tmp_path / "log"), chunk):
            seq, payloads = read_range(element)
            got += payloads.to_pylist()
            positions.append(seq)
        assert got == msgs, chunk
        assert (np.diff(np.concatenate(positions)) > 0).all()


def _parquet_files(folder):
    return {str(f.relative_to(folder)): f.read_bytes() for f in sorted(folder.rglob("*.parquet"))}


def test_worker_threads_and_file_parts_do_not_change_the_output(tmp_path):
    """One worker and one Parquet file (in process) or the command line's worker thread per
    core with many parts (in a subprocess: the threaded runner leaves gRPC threads behind, and
    this test process forks later): the same rows, and the same bytes run after run."""
    import subprocess
    import sys

    from hospigen.beam.claims_pipeline import run
    from hospigen.pipelines.claims.sinks import parquet

    msgs, _ = _messages(400)
    path = _file(tmp_path, msgs)
    common = ["--input", str(path), "--chunk_bytes", "20000", "--processing_time", PROCESSED]
    one = tmp_path / "one"
    run(["--runner", "DirectRunner", *common, "--output", f"parquet://{one}"])
    # parts of 90 rows: the module's constant, changed in the child before the pipeline runs
    child = (
        "import sys; from hospigen.pipelines.claims.sinks import parquet; "
        "parquet.ROWS_PER_FILE = 90; from hospigen.beam.claims_pipeline import run; "
        "run(sys.argv[1:], worker_per_core=True)"
    )
    many = {}
    for label in ("cores", "again"):
        many[label] = tmp_path / label
        args = ["--runner", "DirectRunner", *common, "--output", f"parquet://{many[label]}"]
        subprocess.run([sys.executable, "-c", child, *args], check=True, capture_output=True)
    assert len(_parquet_files(one)) == 2  # one claims file, one errors file
    assert len(_parquet_files(many["cores"])) > 4  # 400 messages cut into parts of 90 rows
    assert _parquet_files(many["cores"]) == _parquet_files(many["again"])
    for table, key in (("claims_events_stream", "claim_id"), ("processing_errors", "raw_message")):
        assert _sorted(pq.read_table(one / table, partitioning=None), key) == _sorted(
            pq.read_table(many["cores"] / table, partitioning=None), key
        )
    total = sum(
        pq.read_table(one / t, partitioning=None).num_rows
        for t in ("claims_events_stream", "processing_errors")
    )
    assert total == len(msgs)
    assert parquet.ROWS_PER_FILE == 250_000  # this process kept the default


def test_direct_runner_gets_a_worker_per_core_unless_told_otherwise(monkeypatch):
    from hospigen.beam import claims_pipeline

    monkeypatch.setattr(claims_pipeline.os, "cpu_count", lambda: 4)
    assert claims_pipeline.direct_defaults(["--runner", "DirectRunner"]) == [
        "--runner", "DirectRunner", "--direct_num_workers=4",
        "--direct_running_mode=multi_threading",
    ]  # fmt: skip
    for chosen in (
        ["--runner", "DirectRunner", "--direct_num_workers", "1"],
        ["--runner=DataflowRunner", "--project", "p"],
    ):
        assert claims_pipeline.direct_defaults(chosen) == chosen
    assert (
        claims_pipeline.direct_defaults(
            ["--runner", "DirectRunner", "--direct_running_mode", "multi_processing"]
        )[-1]
        == "--direct_num_workers=4"
    )
