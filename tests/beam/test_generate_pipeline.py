"""`hospigen generate --runner beam` (Apache Beam DirectRunner) equals the local run byte for
byte, per shard, on a local folder and on s3:// (moto's S3 server over real HTTP)."""

from __future__ import annotations

import hashlib

import pyarrow.parquet as pq
import pytest

from tests.conftest import tree_digest

COMMON = ("--seed", 7, "--as-of", "2025-01-01", "--scenario", "ckd_dialysis")


def _local_parts(cli, out, n: int, shard_size: int) -> dict[str, str]:
    result = cli("generate", "-n", n, *COMMON, "--shard-size", shard_size, "-o", out,
                 "--output-format", "parquet", "--formats", "parquet_parts")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    return tree_digest(out / "parts")


def _beam(cli, out, n: int, shard_size: int) -> None:
    result = cli("generate", "-n", n, *COMMON, "--shard-size", shard_size, "-o", out,
                 "--runner", "beam", "--", "--runner=DirectRunner")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert "shard(s) of Parquet parts" in result.stdout


def test_beam_generation_equals_local_parts(cli, tmp_path):
    _beam(cli, tmp_path / "beam", 1_200, 400)
    beam = tree_digest(tmp_path / "beam/parts")
    assert beam == _local_parts(cli, tmp_path / "local", 1_200, 400)
    assert sum(name.startswith("patients/") for name in beam) == 3
    total = sum(pq.read_metadata(p).num_rows for p in (tmp_path / "beam/parts/patients").iterdir())
    assert total == 1_200
    assert pq.read_metadata(tmp_path / "beam/parts/encounters/part-00000.parquet").num_rows > 0


def test_beam_generation_writes_to_s3(cli, tmp_path, monkeypatch):
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    try:
        host, port = server.get_host_and_port()
        for key, value in {
            "AWS_ENDPOINT_URL": f"http://{host}:{port}",
            "AWS_ACCESS_KEY_ID": "t",
            "AWS_SECRET_ACCESS_KEY": "t",
            "AWS_DEFAULT_REGION": "us-east-1",
        }.items():
            monkeypatch.setenv(key, value)  # fmt: skip
        s3 = boto3.client("s3", endpoint_url=f"http://{host}:{port}", region_name="us-east-1")
        s3.create_bucket(Bucket="cohort")
        _beam(cli, "s3://cohort/run1", 300, 150)
        objects = {
            o["Key"]: hashlib.sha256(
                s3.get_object(Bucket="cohort", Key=o["Key"])["Body"].read()
            ).hexdigest()
            for o in s3.list_objects_v2(Bucket="cohort")["Contents"]
        }
    finally:
        server.stop()
    remote = {k.removeprefix("run1/parts/"): v for k, v in objects.items()}
    assert remote == _local_parts(cli, tmp_path / "local", 300, 150)


@pytest.mark.slow
def test_beam_generation_equals_local_parts_at_10k(cli, tmp_path):
    _beam(cli, tmp_path / "beam", 10_000, 2_500)
    assert tree_digest(tmp_path / "beam/parts") == _local_parts(cli, tmp_path / "l", 10_000, 2_500)
