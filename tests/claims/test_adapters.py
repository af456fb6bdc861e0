"""Redis Streams (a real redis-server) and Pub/Sub (the official client against a fake gRPC
server) behind the stream interface: CLI publish → run accounting, redelivery, exactly once."""

from __future__ import annotations

import datetime as dt
import shutil
import socket
import subprocess
import time

import duckdb
import pytest

from hospigen import stream
from hospigen.pipelines.claims.runner import run
from tests.claims.test_pipeline import PROCESSED, _counts, _file, _messages

CLOCK = lambda: dt.datetime(2025, 1, 2, tzinfo=dt.UTC)  # noqa: E731


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def redis_url(tmp_path):
    """A real redis-server on a free loopback port, data in tmp_path; yields its base URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (scripts/system-deps.sh installs it)")
    redis = pytest.importorskip("redis")
    port = _free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(tmp_path),
         "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    client = redis.Redis(port=port)
    for _ in range(100):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}"
    client.close()
    proc.terminate()
    proc.wait(10)


@pytest.fixture
def pubsub_host(monkeypatch):
    """The fake Pub/Sub server with topic ``claims-ingest`` and subscription ``claims-sub``."""
    pubsub_v1 = pytest.importorskip("google.cloud.pubsub_v1")
    from tests.claims.pubsub_fake import FakePubSub

    with FakePubSub() as server:
        monkeypatch.setenv("PUBSUB_EMULATOR_HOST", server.host)
        pub, sub = pubsub_v1.PublisherClient(), pubsub_v1.SubscriberClient()
        pub.create_topic(name="projects/demo-project/topics/claims-ingest")
        sub.create_subscription(
            name="projects/demo-project/subscriptions/claims-sub",
            topic="projects/demo-project/topics/claims-ingest",
        )
        sub.close()
        yield server


def _accounting(cli, tmp_path, to: str, source: str, patients: int = 300) -> None:
    msgs, kinds = _messages(patients)
    db = tmp_path / "w.duckdb"
    assert cli("claims", "publish", "--to", to, "--file", _file(tmp_path, msgs)).exit_code == 0
    res = cli("claims", "run", "--from", source, "--warehouse", f"duckdb://{db}",
              "--processing-time", PROCESSED, "--batch-size", "400")  # fmt: skip
    assert res.exit_code == 0, res.stderr
    claims, errors, distinct = _counts(db)
    assert claims + errors == len(msgs)  # published = claims + errors
    assert errors == sum(k is not None for k in kinds) and distinct == claims
    again = cli("claims", "run", "--from", source, "--warehouse", f"duckdb://{db}")
    assert again.exit_code == 0 and "consumed 0 messages" in again.stdout
    assert _counts(db) == (claims, errors, distinct)


def test_redis_publish_run_accounting(cli, tmp_path, redis_url):
    _accounting(cli, tmp_path, f"{redis_url}/claims", f"{redis_url}/claims")


def test_redis_pending_entries_are_redelivered_and_committed_ones_skipped(tmp_path, redis_url):
    url = f"{redis_url}/claims"
    msgs, _ = _messages(60, invalid=0.0)
    w = stream.open_writer(url)
    w.publish(msgs)
    w.close()
    crashed = stream.open_reader(url, "g")  # reads, never acknowledges: a crash
    first = crashed.read(100)
    crashed.close()
    again = stream.open_reader(url, "g")
    redelivered = again.read(100)
    assert redelivered.payloads.to_pylist() == first.payloads.to_pylist()
    again.close()
    # committed up to the first batch's position but killed before XACK: skipped, not re-run
    resumed = stream.open_reader(url, "g")
    resumed.seek(first.position)
    rest = resumed.read(10_000)
    assert rest.payloads.to_pylist() == msgs[len(first) :]
    resumed.ack(rest)
    assert resumed.read(10) is None
    assert resumed.client.xpending(url.rsplit("/", 1)[1], "g")["pending"] == 0
    resumed.close()


def test_redis_runner_resumes_exactly_once(tmp_path, redis_url):
    url = f"{redis_url}/claims"
    msgs, _ = _messages(200)
    w = stream.open_writer(url)
    w.publish(msgs)
    w.close()
    db = f"duckdb://{tmp_path / 'w.duckdb'}"
    stop_after = iter([False, False, True])
    first = run(url, db, clock=CLOCK, batch_size=150, should_stop=lambda: next(stop_after))
    assert first.messages == 300
    # a consumer that died after reading a batch it never committed
    ghost = stream.open_reader(url, "claims")
    ghost.seek(None)
    ghost.read(150)
    ghost.close()
    rest = run(url, db, clock=CLOCK, batch_size=150)
    assert first.messages + rest.messages == len(msgs)
    claims, errors, distinct = _counts(tmp_path / "w.duckdb")
    assert claims + errors == len(msgs) and distinct == claims


def test_pubsub_publish_run_accounting(cli, tmp_path, pubsub_host):
    _accounting(
        cli,
        tmp_path,
        "pubsub://projects/demo-project/topics/claims-ingest",
        "pubsub://projects/demo-project/subscriptions/claims-sub",
    )


def test_pubsub_redeliveries_of_committed_messages_are_dropped(tmp_path, pubsub_host, monkeypatch):
    from hospigen.stream import pubsub

    msgs, _ = _messages(100)
    w = stream.open_writer("pubsub://projects/demo-project/topics/claims-ingest")
    w.publish(msgs)
    w.close()
    source = "pubsub://projects/demo-project/subscriptions/claims-sub"
    db = tmp_path / "w.duckdb"
    # commit everything but "crash" before acknowledging ...
    leased: list[str] = []
    acknowledge = pubsub.PubSubReader.ack
    monkeypatch.setattr(pubsub.PubSubReader, "ack", lambda self, b: leased.extend(b.token))
    first = run(source, f"duckdb://{db}", clock=CLOCK, batch_size=250)
    assert first.messages == len(msgs)
    monkeypatch.setattr(pubsub.PubSubReader, "ack", acknowledge)
    # ... so the leases lapse and Pub/Sub delivers every message again
    reader = stream.open_reader(source)
    reader._modify(leased, 0)
    reader.close()
    second = run(source, f"duckdb://{db}", clock=CLOCK, batch_size=250)
    assert second.messages == 0  # all redelivered, all recognised as committed
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT count(*) FROM stream_seen_ids").fetchone()[0] == len(msgs)
    con.close()
    claims, errors, _ = _counts(db)
    assert claims + errors == len(msgs)


def test_pubsub_streaming_pull_with_the_official_client(pubsub_host):
    from google.cloud import pubsub_v1

    w = stream.open_writer("pubsub://projects/demo-project/topics/claims-ingest")
    w.publish([b"m%d" % i for i in range(50)])
    w.close()
    got: list[bytes] = []

    def callback(message):
        got.append(message.data)
        message.ack()

    sub = pubsub_v1.SubscriberClient()
    future = sub.subscribe("projects/demo-project/subscriptions/claims-sub", callback)
    for _ in range(200):
        if len(got) >= 50:
            break
        time.sleep(0.05)
    future.cancel()
    sub.close()
    assert sorted(got) == sorted(b"m%d" % i for i in range(50))


def test_bad_urls_are_usage_errors(cli):
    out = cli("claims", "run", "--from", "pubsub://projects/demo-project/topics/claims-ingest")
    assert out.exit_code != 0 and "subscriptions" in out.stderr
    out = cli("claims", "publish", "--to", "redis://127.0.0.1:1/", "--file", "x")
    assert out.exit_code != 0
