"""Every command's --help renders, and docs/cli.md matches the Typer app."""

from __future__ import annotations

import pytest
from scripts.cli_docs import DOC, render

GROUPS = ("generate", "modules", "terminology", "validate", "daily", "contracts", "ingest",
          "claims", "facilities", "demo", "report")  # fmt: skip


@pytest.mark.parametrize("group", GROUPS)
def test_help_renders(cli, group):
    result = cli(group, "--help")
    assert result.exit_code == 0, result.stderr
    assert "Usage" in result.stdout


def test_cli_reference_is_up_to_date():
    assert DOC.read_text() == render(), "docs/cli.md is stale: run `make docs`"
