"""``hospigen terminology``: build the DuckDB code database and look codes up."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from hospigen.cli.common import console

terminology_app = typer.Typer(help="Code tables: build terminology.duckdb, look codes up.",
                              no_args_is_help=True)  # fmt: skip


@terminology_app.command("build")
def build_command(
    output: Path = typer.Option(
        Path("terminology.duckdb"), "--output", "-o", help="DuckDB file to write."
    ),
) -> None:
    """Write every shipped code table into one DuckDB file (set TERMINOLOGY_DB_PATH to use it)."""
    from hospigen.terminology import build_database

    counts = build_database(output)
    table = Table(title=f"terminology → {output}")
    table.add_column("system")
    table.add_column("codes", justify="right")
    for system, n in counts.items():
        table.add_row(system, str(n))
    console.print(table)


@terminology_app.command("lookup")
def lookup_command(
    system: str = typer.Argument(
        ..., help="loinc, icd10cm, rxnorm, cvx, hcpcs, snomed, cdcrec, ucum"
    ),
    code: str = typer.Argument(..., help="The code to look up."),
) -> None:
    """Print one code's display and system URI (exit 2 when the code is unknown)."""
    from hospigen.terminology import default_terminology

    terms = default_terminology()
    concept = terms.lookup(system, code)
    console.print(f"{concept.system} {concept.code}  {concept.display or '(no display shipped)'}")
    console.print(f"system: {concept.uri}   source: {terms.source}")
    for key, value in concept.extra:
        console.print(f"{key}: {value}")


def register(app: typer.Typer) -> None:
    """Add the ``terminology`` group to the root app."""
    app.add_typer(terminology_app, name="terminology")
