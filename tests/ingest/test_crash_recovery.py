"""SIGKILL a real ``hospigen ingest run`` at each crash point; re-running converges to a clean
run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import hospigen
from hospigen.pipelines.ingest.faults import POINTS
from tests.conftest import CASES
from tests.ingest.helpers import snapshot

SRC = Path(hospigen.__file__).resolve().parents[1]


def _source(tmp_path: Path) -> Path:
    # the per-patient cases plus the bundle: 4 patient files + shared, loaded one per batch
    src = tmp_path / "src"
    for case in ("per_patient", "bundles"):
        for f in (CASES / "ingest" / case).iterdir():
            (src / case).mkdir(parents=True, exist_ok=True)
            (src / case / f.name).write_bytes(f.read_bytes())
            os.utime(src / case / f.name, (0, 0))  # same mtimes in every copy
    return src


def _args(src: Path, out: Path, now: str) -> list[str]:
    return [
        "ingest",
        "run",
        "--source",
        str(src),
        "--bucket",
        str(out / "bucket"),
        "--warehouse",
        str(out / "wh.duckdb"),
        "--load-batch",
        "1",
        "--now",
        now,
    ]


def _subprocess(args: list[str], crash: str | None) -> int:
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    env.pop("HOSPIGEN_INGEST_CRASH_AT", None)
    if crash:
        env["HOSPIGEN_INGEST_CRASH_AT"] = crash
    cmd = [sys.executable, "-m", "hospigen.cli.app", *args]
    return subprocess.run(cmd, env=env, capture_output=True, timeout=120).returncode


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    out = tmp_path_factory.mktemp("clean")
    src = _source(out)
    assert _subprocess(_args(src, out, "2030-01-01T00:00:00Z"), None) == 0
    return src, snapshot(out / "wh.duckdb", volatile=False)


@pytest.mark.parametrize("point", [*POINTS, "load:after-commit#3"])
def test_kill_and_rerun_equals_clean_run(clean, tmp_path, point):
    _, expected = clean
    src = _source(tmp_path)
    killed = _subprocess(_args(src, tmp_path, "2030-01-01T00:00:00Z"), point)
    assert killed == -signal.SIGKILL
    assert _subprocess(_args(src, tmp_path, "2030-01-02T00:00:00Z"), None) == 0
    assert snapshot(tmp_path / "wh.duckdb", volatile=False) == expected
