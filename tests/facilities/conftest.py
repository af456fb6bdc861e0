"""Fixtures: the seed's sample records, and real S3 (moto) and GCS emulators over HTTP."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

CASES = Path(__file__).resolve().parents[1] / "cases" / "facilities"
TODAY = "2025-08-11"


@pytest.fixture
def sample_dir(tmp_path) -> Path:
    """A folder holding the challenge's three sample records as ``data.json``."""
    folder = tmp_path / "data"
    folder.mkdir()
    shutil.copy(CASES / "sample" / "data.json", folder / "data.json")
    return folder


@pytest.fixture(scope="session")
def moto_endpoint():
    """A moto S3 server on a free port (real boto3/s3fs over HTTP)."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3(moto_endpoint, monkeypatch):
    """A boto3 S3 client on moto with a fresh bucket ``medlaunch``; env points s3fs there."""
    import boto3

    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    client = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    client.create_bucket(Bucket="medlaunch")
    yield client
    for page in client.get_paginator("list_objects_v2").paginate(Bucket="medlaunch"):
        for obj in page.get("Contents", []):
            client.delete_object(Bucket="medlaunch", Key=obj["Key"])
    client.delete_bucket(Bucket="medlaunch")


@pytest.fixture(scope="session")
def gcs_endpoint():
    """gcp-storage-emulator in memory on a free port, with bucket ``medlaunch``."""
    from gcp_storage_emulator.server import create_server

    server = create_server("127.0.0.1", 0, in_memory=True, default_bucket="medlaunch")
    server.start()
    port = server._api._httpd.server_address[1]
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def gcs(gcs_endpoint, monkeypatch):
    """Environment pointing gcsfs at the emulator."""
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs_endpoint)
    monkeypatch.setenv("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")
    return gcs_endpoint
