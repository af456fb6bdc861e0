"""``hospigen demo``: the whole platform end to end, then a summary of what it made."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from hospigen.cli.common import console, err_console


def demo_command(
    out: Path = typer.Option(Path("hospigen-demo"), "--out", "-o", help="Folder for everything."),
    patients: int = typer.Option(1000, "--patients", "-n", help="Patients in the cohort."),
    days: int = typer.Option(3, "--days", help="Daily hospital batches, ending on --as-of."),
    seed: int = typer.Option(7, "--seed", "-s", help="Run seed."),
    as_of: str = typer.Option("2025-01-01", "--as-of", help="Simulation date YYYY-MM-DD."),
    facilities: int = typer.Option(2000, "--facilities", help="Facilities for seed 004 stages."),
) -> None:
    """Run generation, formats, daily batches, ingestion, claims and facilities; write a report."""
    from hospigen.cli.common import parse_date
    from hospigen.demo import Demo, DemoConfig
    from hospigen.demo_summary import summary_rows
    from hospigen.errors import UsageError

    parse_date(as_of, "--as-of")
    if patients < 1 or days < 1 or facilities < 1:
        raise UsageError("--patients, --days and --facilities must be at least 1")
    demo = Demo(DemoConfig(str(out), patients, days, seed, as_of, facilities))
    if demo.finished_before():
        console.print(f"{out}/ already holds a finished demo with these arguments: nothing to do.")
        console.print(f"report: {out}/report.html   warehouse: {out}/warehouse.duckdb")
        return
    stages = demo.stages()
    with err_console.status("") as status:
        results = demo.execute(lambda name: status.update(f"[bold]{name}[/] …"))
    timing = Table(title="hospigen demo — stages")
    timing.add_column("stage")
    timing.add_column("commands", justify="right")
    timing.add_column("seconds", justify="right")
    for r in results:
        timing.add_row(r.name, str(len(r.commands)), f"{r.seconds:.1f}")
    timing.add_row("[bold]total[/]", "", f"[bold]{sum(r.seconds for r in results):.1f}[/]")
    console.print(timing)
    rows = Table(title="rows per table")
    for column in ("table", "rows", "note"):
        rows.add_column(column, justify="right" if column == "rows" else "left")
    for name, count, note in summary_rows(demo.warehouse):
        rows.add_row(name, f"{count:,}", note)
    console.print(rows)
    console.print(f"ran {sum(len(r.commands) for r in results)} commands in {len(stages)} stages;"
                  f" log: {out}/demo.log")  # fmt: skip
    console.print(f"look at: {out}/report.html (report), {out}/warehouse.duckdb (DuckDB), "
                  f"{out}/cohort/ (formats), {out}/daily/data/raw/ (daily files)")  # fmt: skip


def register(app: typer.Typer) -> None:
    """Add ``demo`` to the root app."""
    app.command("demo")(demo_command)
