"""Beam streaming: Pub/Sub subscription → core → Parquet on the BundleBasedDirectRunner, against
the fake Pub/Sub server, for a bounded number of messages (the pipeline is then cancelled)."""

from __future__ import annotations

import datetime as dt
import time

import pyarrow.parquet as pq
import pytest

from tests.claims.test_adapters import pubsub_host  # noqa: F401 (fixture)
from tests.claims.test_pipeline import _messages

pytest.importorskip("apache_beam")


def _rows(folder) -> int:
    files = list(folder.rglob("*.parquet"))
    return sum(pq.read_metadata(f).num_rows for f in files)


def test_streaming_pubsub_to_parquet(tmp_path, pubsub_host):  # noqa: F811
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions

    from hospigen import stream
    from hospigen.beam.claims_pipeline import build_streaming

    msgs, kinds = _messages(30)
    w = stream.open_writer("pubsub://projects/demo-project/topics/claims-ingest")
    w.publish(msgs)
    w.close()
    out = tmp_path / "out"
    ts = dt.datetime(2025, 1, 2, tzinfo=dt.UTC)
    p = beam.Pipeline(
        options=PipelineOptions(["--runner", "BundleBasedDirectRunner", "--streaming"])
    )
    sub = "projects/demo-project/subscriptions/claims-sub"
    build_streaming(p, sub, f"parquet://{out}", lambda: ts)
    result = p.run()
    try:
        for _ in range(600):
            if _rows(out / "claims_events_stream") + _rows(out / "processing_errors") >= len(msgs):
                break
            time.sleep(0.2)
    finally:
        result.cancel()
    claims = _rows(out / "claims_events_stream")
    errors = _rows(out / "processing_errors")
    assert claims + errors == len(msgs)
    assert errors == sum(k is not None for k in kinds)
