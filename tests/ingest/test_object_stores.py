"""The object store API on a local folder, gs:// (gcp-storage-emulator) and s3:// (moto server)."""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hospigen.store import StoreError, open_store
from tests.conftest import CASES
from tests.ingest.helpers import query


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def gcs_emulator():
    exe = Path(sys.executable).with_name("gcp-storage-emulator")
    if not exe.exists():
        pytest.skip("gcp-storage-emulator is not installed (dev extra)")
    port = _free_port()
    proc = subprocess.Popen(
        [
            str(exe),
            "start",
            "--port",
            str(port),
            "--in-memory",
            "--default-bucket",
            "hospigen-test",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(10)


@pytest.fixture(scope="module")
def moto_endpoint():
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    import boto3

    boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    ).create_bucket(Bucket="hospigen-test")
    yield endpoint
    server.stop()


@pytest.fixture
def remote_env(monkeypatch, gcs_emulator, moto_endpoint):
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs_emulator)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    for k, v in {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(k, v)


def _exercise(store, base: str) -> None:
    store.put(f"{base}/a/one.ndjson", b"1\n")
    objects = {f"{base}/a/two.ndjson": b"22\n", f"{base}/b/three.ndjson": b"333\n"}
    written = store.put_many(objects)
    assert {k: w.checksum for k, w in written.items()} == {
        k: hashlib.sha256(v).hexdigest() for k, v in objects.items()
    }
    fingerprints = {o.key: o.fingerprint for o in store.list(base)}
    for key, w in written.items():  # a fingerprint the store gives is the one it lists
        assert w.fingerprint in ("", fingerprints[key])
    listed = store.list(f"{base}/a")
    assert [o.key for o in listed] == [f"{base}/a/one.ndjson", f"{base}/a/two.ndjson"]
    assert [o.size for o in listed] == [2, 3] and all(o.fingerprint for o in listed)
    assert store.get(f"{base}/b/three.ndjson") == b"333\n"
    assert store.get_many([f"{base}/a/one.ndjson"]) == {f"{base}/a/one.ndjson": b"1\n"}
    before = store.list(f"{base}/a")[0].fingerprint
    store.put(f"{base}/a/one.ndjson", b"changed\n")
    assert store.list(f"{base}/a")[0].fingerprint != before  # rewrites are detectable
    assert store.exists(f"{base}/a/one.ndjson") and not store.exists(f"{base}/nope")
    store.delete(f"{base}/a/one.ndjson")
    assert not store.exists(f"{base}/a/one.ndjson")
    with pytest.raises(StoreError):
        store.get(f"{base}/nope")
    for bad in ("../x", "/x", "a//b", "a/./b", "a/../../x"):
        with pytest.raises(StoreError):
            store.put(bad, b"")
    assert store.list("no-such-prefix") == []


def test_local_store(tmp_path):
    store = open_store(tmp_path / "root")
    _exercise(store, "t")
    assert not [p for p in (tmp_path / "root").rglob("*.partial")]
    assert store.uri("t/b/three.ndjson") == str(tmp_path / "root" / "t" / "b" / "three.ndjson")


def test_local_put_many_reports_the_listed_fingerprint(tmp_path):
    # sizes below, at and above the file buffer, and enough objects to use the writer threads
    store = open_store(tmp_path / "root")
    objects = {f"p/o{i:03d}.ndjson": b"x" * (i * 331) for i in range(64)}
    written = store.put_many(objects)
    listed = {o.key: o.fingerprint for o in store.list("p")}
    assert {k: w.fingerprint for k, w in written.items()} == listed
    assert {k: w.checksum for k, w in written.items()} == {
        k: hashlib.sha256(v).hexdigest() for k, v in objects.items()
    }


@pytest.mark.parametrize("scheme", ["gs", "s3"])
def test_remote_store_api(remote_env, scheme):
    store = open_store(f"{scheme}://hospigen-test/api")
    _exercise(store, "t")
    assert store.uri("t/x") == f"{scheme}://hospigen-test/api/t/x"


@pytest.mark.parametrize("scheme", ["gs", "s3"])
def test_pipeline_on_remote_store(remote_env, cli, tmp_path, scheme):
    bucket = f"{scheme}://hospigen-test/run-{tmp_path.name}"
    args = (
        "ingest",
        "run",
        "--source",
        CASES / "ingest" / "per_patient",
        "--bucket",
        bucket,
        "--warehouse",
        tmp_path / "wh.duckdb",
        "--now",
        "2030-01-01T00:00:00Z",
    )
    first = cli(*args)
    assert first.exit_code == 0, first.stderr
    keys = [o.key for o in open_store(bucket).list("")]
    assert keys == [f"patients/patient_000{i}.ndjson" for i in (1, 2, 3)] + [
        f"patients_wrapped/patient_000{i}.ndjson" for i in (1, 2, 3)
    ]
    assert query(tmp_path / "wh.duckdb", "SELECT count(*) FROM synthea_raw.patients") == [(3,)]
    again = cli(*args)  # fingerprints (md5 / ETag) match the ledger: nothing is read again
    assert again.exit_code == 0 and "0 objects loaded (0 rows), 0 unchanged" in again.stdout


def test_missing_extra_names_it(monkeypatch):
    import builtins

    real = builtins.__import__

    def no_s3fs(name, *a, **k):
        if name == "s3fs":
            raise ImportError(name)
        return real(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_s3fs)
    with pytest.raises(Exception, match=r"hospigen\[aws\]"):
        open_store("s3://bucket")
    assert os.environ.get("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false") == "false"
