"""``hospigen contracts``: list the dataset contracts and check day folders against them."""

from __future__ import annotations

from pathlib import Path

import orjson
import typer
from rich.table import Table

from hospigen.cli.common import console

contracts_app = typer.Typer(
    help="Dataset contracts of the daily batch: list, check.", no_args_is_help=True
)


def _day_folders(folder: Path) -> list[Path]:
    """``folder`` itself when it holds files, else its dated sub-folders."""
    from hospigen.errors import UsageError

    if not folder.is_dir():
        raise UsageError(f"not a folder: {folder}")
    if any(p.is_file() for p in folder.iterdir()):
        return [folder]
    subs = sorted(p for p in folder.iterdir() if p.is_dir())
    if not subs:
        raise UsageError(f"{folder} holds no files to check")
    return subs


@contracts_app.command("check")
def check_command(
    folder: Path = typer.Argument(..., help="A day folder, or a folder of day folders."),
    contracts_dir: Path = typer.Option(None, "--contracts", help="Folder of *.contract.json."),
    output: str = typer.Option("table", "--output", "-o", help="table or json."),
    show_all: bool = typer.Option(False, "--all", help="Also list passing checks."),
) -> None:
    """Check files against their contracts; print the findings; exit 1 on any violation."""
    from hospigen.contracts import ContractViolationError, check_folder
    from hospigen.errors import UsageError

    if output not in ("table", "json"):
        raise UsageError("--output must be table or json")
    failed = 0
    report = {}
    for day in _day_folders(folder):
        findings = check_folder(day, contracts_dir)
        failed += sum(f.status == "fail" for f in findings)
        report[str(day)] = findings
    if output == "json":
        body = {k: [f.as_dict() for f in v] for k, v in report.items()}
        console.print_json(orjson.dumps(body).decode())
    else:
        for day, findings in report.items():
            _print_table(day, findings, show_all)
    if failed:
        raise ContractViolationError(f"{failed} contract check(s) failed")


def _print_table(day: str, findings: list, show_all: bool) -> None:
    shown = [f for f in findings if show_all or f.status != "pass"]
    bad = sum(f.status == "fail" for f in findings)
    table = Table(title=f"{day}: {len(findings)} checks, {bad} failed")
    for col in ("dataset", "check", "target", "violations", "example", "status"):
        table.add_column(col, justify="right" if col == "violations" else "left", overflow="fold")
    for f in shown:
        style = {"fail": "red", "skip": "yellow"}.get(f.status, "green")
        table.add_row(
            f.dataset, f.check, f.target, f"{f.violations:,}", f.example, f"[{style}]{f.status}[/]"
        )
    if shown:
        console.print(table)
    else:
        console.print(f"{day}: all {len(findings)} checks passed", soft_wrap=True)


@contracts_app.command("list")
def list_command() -> None:
    """List the shipped contracts: dataset, file, primary key, number of rules."""
    from hospigen.contracts import load_contracts

    table = Table(title="dataset contracts")
    for col in ("dataset", "file", "primary key", "fields", "rules", "time windows"):
        table.add_column(col)
    for c in load_contracts().values():
        b = c.body
        table.add_row(
            c.dataset,
            c.file,
            ", ".join(b["primary_key"]),
            str(len(c.fields)),
            str(len(b.get("rules", []))),
            str(len(b.get("time_windows", []))),
        )
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add the ``contracts`` group to the root app."""
    app.add_typer(contracts_app, name="contracts")
