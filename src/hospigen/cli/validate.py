"""``hospigen validate DIR``: check exported files with independent validators."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from hospigen.cli.common import console


def validate_command(
    folder: Path = typer.Argument(..., help="Output folder of `hospigen generate`."),
    sample: int = typer.Option(
        None,
        "--sample",
        help="Large runs: at most N lines / messages per file and N per-patient files per folder.",
    ),
    gtm: bool = typer.Option(True, "--gtm/--no-gtm", help="Load ZWR files into GT.M if found."),
    show: int = typer.Option(20, "--show", help="Findings to list."),
) -> None:
    """Validate FHIR, HL7 v2 and VistA files and their agreement with the canonical CSV."""
    from hospigen.errors import HospigenError, UsageError
    from hospigen.validate.run import validate_folder

    if not folder.is_dir():
        raise UsageError(f"{folder} is not a folder")
    report = validate_folder(folder, sample=sample, gtm=gtm)
    summary = Table(title=f"hospigen validate {folder}")
    for col in ("checked", "count", "errors"):
        summary.add_column(col, justify="right" if col != "checked" else "left")
    by_checker: dict[str, int] = {}
    for f in report.errors:
        by_checker[f.checker] = by_checker.get(f.checker, 0) + 1
    for what, count in sorted(report.checked.items()):
        summary.add_row(what, f"{count:,}", "")
    for checker, count in sorted(by_checker.items()):
        summary.add_row(f"errors: {checker}", "", f"{count:,}")
    console.print(summary)
    if report.findings:
        findings = Table(title="findings")
        for col in ("checker", "file", "where", "code", "message"):
            findings.add_column(col)
        for f in report.findings[:show]:
            findings.add_row(f.checker, Path(f.file).name, f.location, f.code, f.message)
        console.print(findings)
    if not report.checked:
        raise UsageError(f"nothing to validate in {folder} (no fhir/, bulk/, hl7v2/, vista/)")
    if not report.ok:
        raise HospigenError(f"{len(report.errors)} error(s) found")
    console.print("no errors")


def register(app: typer.Typer) -> None:
    """Add ``validate`` to the root app."""
    app.command("validate")(validate_command)
