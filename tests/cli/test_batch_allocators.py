"""The program keeps freed memory for reuse during batch commands only, never overriding a user,
and never from an in-process call (the settings would outlive the call)."""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys

import pytest

from hospigen.cli import app

VARIABLES = ("NUMPY_MADVISE_HUGEPAGE", "MIMALLOC_PURGE_DELAY")
GLIBC = ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "GLIBC_TUNABLES")


class FakeLibc:
    """Stands in for glibc, so the tests do not change this pytest process's allocator."""

    last: FakeLibc | None = None  # the instance the code under test made

    def __init__(self, _name) -> None:
        self.calls: list[tuple[int, int]] = []
        FakeLibc.last = self

    def mallopt(self, option: int, value: int) -> int:
        self.calls.append((option, value))
        return 1


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in (*VARIABLES, *GLIBC):
        monkeypatch.delenv(name, raising=False)
    FakeLibc.last = None
    monkeypatch.setattr(ctypes, "CDLL", FakeLibc)
    return monkeypatch


def test_generate_asks_to_keep_freed_memory(clean_env: pytest.MonkeyPatch) -> None:
    app._tune_allocators_for_batch(["generate", "-n", "5"])
    assert os.environ["NUMPY_MADVISE_HUGEPAGE"] == "0"
    assert os.environ["MIMALLOC_PURGE_DELAY"] == "-1"
    if sys.platform == "linux":  # M_TRIM_THRESHOLD and M_MMAP_THRESHOLD, 1 GiB each
        assert FakeLibc.last.calls == [(-1, 1 << 30), (-3, 1 << 30)]


def test_long_lived_commands_keep_the_defaults(clean_env: pytest.MonkeyPatch) -> None:
    app._tune_allocators_for_batch(["claims", "run", "--follow"])
    app._tune_allocators_for_batch([])
    assert not any(name in os.environ for name in VARIABLES)
    assert FakeLibc.last is None


@pytest.mark.parametrize("setting", GLIBC)
def test_a_users_settings_win(clean_env: pytest.MonkeyPatch, setting: str) -> None:
    clean_env.setenv("MIMALLOC_PURGE_DELAY", "10")
    clean_env.setenv(
        setting, "glibc.malloc.trim_threshold=1" if setting == "GLIBC_TUNABLES" else "1"
    )
    app._tune_allocators_for_batch(["generate"])
    assert os.environ["MIMALLOC_PURGE_DELAY"] == "10"
    assert FakeLibc.last is None  # glibc left as the user set it


def test_in_process_calls_change_nothing(clean_env: pytest.MonkeyPatch, tmp_path) -> None:
    assert app.main(["generate", "-n", "2", "-o", str(tmp_path), "--as-of", "2025-01-01"]) == 0
    assert not any(name in os.environ for name in VARIABLES)
    assert FakeLibc.last is None


def test_the_settings_reach_numpy_in_the_program(tmp_path) -> None:
    # numpy reads the variable when it is imported, i.e. after run() has set it; the program
    # ends without teardown, so the check runs as an atexit handler
    probe = (
        "import atexit, os, sys; from hospigen.cli import app\n"
        "def report():\n"
        "    import numpy\n"
        "    print(os.environ['NUMPY_MADVISE_HUGEPAGE'],"
        " numpy._core.multiarray._get_madvise_hugepage())\n"
        "atexit.register(report)\n"
        "sys.argv = ['hospigen', *sys.argv[1:]]\n"
        "app.run()\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in VARIABLES}
    done = subprocess.run(
        [sys.executable, "-c", probe, "generate", "-n", "3", "-o", str(tmp_path / "out")],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert done.stdout.strip().splitlines()[-1] == "0 False"
