"""``hospigen daily``: the daily hospital batch (registry update + five files + manifest)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from hospigen.cli.common import console, err_console, parse_date, progress_bar


def daily_command(
    date: str = typer.Option(None, "--date", "-d", help="Batch date YYYY-MM-DD (default: today)."),
    mode: str = typer.Option("raw", "--mode", "-m", help="raw or sample: data/<mode>/<date>/."),
    root: Path = typer.Option(Path("."), "--root", help="Folder holding data/ and state/."),
    config: Path = typer.Option(None, "--config", "-c", help="YAML file over the defaults."),
    seed: int = typer.Option(None, "--seed", "-s", help="Override the config's seed."),
    date_from: str = typer.Option(None, "--from", help="First date of a range."),
    date_to: str = typer.Option(None, "--to", help="Last date of a range (inclusive)."),
) -> None:
    """Write one day's (or a range's) encounters, patients, vitals, labs and notes."""
    from hospigen.daily_batch import DailyConfig, date_range, day_folder, run_day
    from hospigen.errors import UsageError

    cfg = DailyConfig.load(config, seed=seed)
    if (date_from is None) != (date_to is None):
        raise UsageError("--from and --to go together")
    if date_from is not None:
        if date is not None:
            raise UsageError("give either --date or --from/--to, not both")
        dates = date_range(parse_date(date_from, "--from"), parse_date(date_to, "--to"))
    else:
        dates = [parse_date(date, "--date")]
    day_folder(root, mode, dates[0])  # validates --mode before any work
    results = []
    with progress_bar("daily batches", len(dates)) as advance:
        for d in dates:
            results.append(run_day(cfg, d, mode, root))
            advance(1)
    table = Table(title=f"hospigen daily — seed {cfg.seed}, mode {mode}")
    for col in ("date", "registry", "encounters", "patients", "vitals", "labs", "notes"):
        table.add_column(col, justify="left" if col == "date" else "right")
    for r in results:
        c = r.counts
        table.add_row(
            r.date.isoformat(),
            f"{r.registry_size:,}",
            f"{c['encounters.csv']:,}",
            f"{c['patients.csv']:,}",
            f"{c['vitals.csv']:,}",
            f"{c['labs.csv']:,}",
            f"{c['notes.jsonl']:,}",
        )
    console.print(table)
    rebuilt = [r.date.isoformat() for r in results if r.registry_status == "rebuilt"]
    if rebuilt:
        err_console.print(
            "[yellow]warning:[/] the registry file did not match its checksum "
            "and was rebuilt from the seed"
        )
    where = results[0].folder if len(results) == 1 else results[0].folder.parent
    console.print(f"wrote {len(results)} day folder(s) under {where}")


def register(app: typer.Typer) -> None:
    """Add ``daily`` to the root app."""
    app.command("daily")(daily_command)
