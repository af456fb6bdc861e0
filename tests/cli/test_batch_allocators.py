"""The CLI keeps freed memory for reuse during batch commands only, and never overrides a user."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from hospigen.cli import app

VARIABLES = ("NUMPY_MADVISE_HUGEPAGE", "MIMALLOC_PURGE_DELAY")


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_generate_asks_to_keep_freed_memory(clean_env: pytest.MonkeyPatch) -> None:
    app._tune_allocators_for_batch(["generate", "-n", "5"])
    assert os.environ["NUMPY_MADVISE_HUGEPAGE"] == "0"
    assert os.environ["MIMALLOC_PURGE_DELAY"] == "-1"


def test_long_lived_commands_keep_the_defaults(clean_env: pytest.MonkeyPatch) -> None:
    app._tune_allocators_for_batch(["claims", "run", "--follow"])
    app._tune_allocators_for_batch([])
    assert not any(name in os.environ for name in VARIABLES)


def test_a_users_setting_wins(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("MIMALLOC_PURGE_DELAY", "10")
    app._tune_allocators_for_batch(["generate"])
    assert os.environ["MIMALLOC_PURGE_DELAY"] == "10"


def test_the_settings_reach_numpy_in_a_real_run(tmp_path) -> None:
    # numpy reads the variable when it is imported, i.e. after main() has set it
    probe = (
        "import sys; from hospigen.cli import app; code = app.main(sys.argv[1:]); "
        "import numpy, os; print(os.environ['NUMPY_MADVISE_HUGEPAGE'], "
        "numpy._core.multiarray._get_madvise_hugepage()); sys.exit(code)"
    )
    env = {k: v for k, v in os.environ.items() if k not in VARIABLES}
    done = subprocess.run(
        [sys.executable, "-c", probe, "generate", "-n", "3", "-o", str(tmp_path / "out")],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert done.stdout.strip().splitlines()[-1] == "0 False"
