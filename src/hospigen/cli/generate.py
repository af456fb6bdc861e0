"""``hospigen generate``: a synthetic cohort in CSV, Parquet and the exchange formats."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from hospigen.cli.common import console, parse_date, progress_bar


def generate_command(
    num_records: int = typer.Option(1000, "--num-records", "-n", help="Number of patients."),
    seed: int = typer.Option(0, "--seed", "-s", help="Run seed: same seed, same bytes."),
    output_dir: Path = typer.Option(Path("output"), "--output-dir", "-o", help="Output folder."),
    output_format: str = typer.Option(
        "both", "--output-format", help="Tabular format: csv, parquet or both."
    ),
    as_of: str = typer.Option(
        None, "--as-of", help="Simulation end date YYYY-MM-DD (default: today, UTC)."
    ),
    formats: list[str] = typer.Option(
        None,
        "--formats",
        help="Extra output formats by name, repeatable or comma-separated (see --list-formats).",
    ),
    list_formats: bool = typer.Option(False, "--list-formats", help="List formats and exit."),
    format_option: list[str] = typer.Option(
        None,
        "--format-option",
        help="Exporter option FORMAT.NAME=VALUE, repeatable (e.g. fhir.bundle_max_entries=500).",
    ),
    state: list[str] = typer.Option(
        None, "--state", help="Limit the population to these states (USPS codes; repeatable)."
    ),
    workers: int = typer.Option(1, "--workers", "-w", help="Worker processes for shards."),
    shard_size: int = typer.Option(25_000, "--shard-size", help="Patients per shard."),
) -> None:
    """Generate a synthetic cohort and write every table."""
    from hospigen import export
    from hospigen.errors import UsageError
    from hospigen.generate import generate

    if list_formats:
        for name, description in export.available().items():
            console.print(f"{name:<14} {description}")
        return
    tabular = {"csv": ["csv"], "parquet": ["parquet"], "both": ["csv", "parquet"]}
    if output_format not in tabular:
        raise UsageError(f"--output-format must be csv, parquet or both, got {output_format!r}")
    chosen = list(tabular[output_format])
    for item in formats or []:
        for name in filter(None, (part.strip() for part in item.split(","))):
            export.get(name)  # unknown names fail here, before any work
            if name not in chosen:
                chosen.append(name)
    options = {}
    for item in format_option or []:
        key, sep, value = item.partition("=")
        if not sep or "." not in key:
            raise UsageError(f"--format-option must look like FORMAT.NAME=VALUE, got {item!r}")
        options[key.strip()] = value.strip()
    date = parse_date(as_of, "--as-of")
    with progress_bar("generating patients", num_records) as advance:
        summary = generate(
            num_records,
            output_dir,
            seed=seed,
            as_of=date,
            formats=chosen,
            states=state or None,
            shard_size=shard_size,
            workers=workers,
            on_shard=advance,
            format_options=options,
        )
    table = Table(title=f"hospigen generate — seed {seed}, as of {date}")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, rows in summary.counts.items():
        table.add_row(name, f"{rows:,}")
    console.print(table)
    console.print(f"wrote {len(summary.files)} files to {output_dir}/ (summary.json lists them)")


def register(app: typer.Typer) -> None:
    """Add ``generate`` to the root app."""
    app.command("generate")(generate_command)
