"""``hospigen report``: one self-contained HTML file of plots over a warehouse."""

from __future__ import annotations

from pathlib import Path

import typer

from hospigen.cli.common import console


def report_command(
    warehouse: Path = typer.Option(
        Path("hospigen-demo/warehouse.duckdb"), "--warehouse", help="DuckDB warehouse to read."
    ),
    out: Path = typer.Option(Path("report.html"), "--out", "-o", help="HTML file to write."),
) -> None:
    """Write the HTML report (population, encounters, vitals, labs, claims, errors, facilities)."""
    from hospigen.errors import UsageError
    from hospigen.report import write_report

    if not warehouse.is_file():
        raise UsageError(
            f"no warehouse at {warehouse}; run `hospigen demo` first or pass --warehouse"
        )
    sections = write_report(warehouse, out)
    drawn = [s.title for s in sections if not s.missing]
    console.print(f"wrote {out}: {len(drawn)} of {len(sections)} sections drawn")
    for section in sections:
        if section.missing:
            console.print(f"  [dim]skipped {section.title}: {section.caption}[/]")


def register(app: typer.Typer) -> None:
    """Add ``report`` to the root app."""
    app.command("report")(report_command)
