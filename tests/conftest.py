"""Shared fixtures: run the real CLI in-process, locate the shared reference data."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pytest

from hospigen.cli.app import main

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
CASES = Path(__file__).resolve().parent / "cases"


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str


@pytest.fixture
def cli(capsys):
    """Run ``hospigen ARGS…`` in-process through the console entry point."""

    def run(*args: str) -> CliResult:
        code = main([str(a) for a in args])
        out = capsys.readouterr()
        return CliResult(code, out.out, out.err)

    return run


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The project's ``shared/`` folder beside the repository (read-only test data)."""
    if not SHARED.is_dir():
        pytest.skip("shared/ reference folder is not beside the repository")
    return SHARED


def tree_digest(folder: Path) -> dict[str, str]:
    """sha256 of every file below ``folder``, by relative path."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }
