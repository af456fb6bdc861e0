"""Write docs/cli.md, the CLI reference, from the Typer app (``make docs``).

Uses Typer's own documentation generator so the reference cannot drift from the code;
``tests/cli/test_cli_docs.py`` fails when docs/cli.md is out of date.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "cli.md"


def render() -> str:
    """The reference as Markdown."""
    typer_bin = Path(sys.executable).with_name("typer")
    out = subprocess.run(
        [str(typer_bin), "hospigen.cli.app", "utils", "docs", "--name", "hospigen",
         "--title", "hospigen CLI reference"],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    return out.rstrip() + "\n"


if __name__ == "__main__":
    DOC.write_text(render())
    print(f"wrote {DOC}")
