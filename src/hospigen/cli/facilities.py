"""``hospigen facilities``: facility records, metrics, expiring accreditations, state counts.

Every stage takes ``--input`` and ``--output`` (a local folder, ``s3://…`` or ``gs://…``) and
``--today`` (default: the current UTC date, read here and nowhere else). Exit status: 0 when
every record was processed cleanly, 4 when some were skipped as malformed or had unreadable
dates (the count is printed and the issues report written).
"""

from __future__ import annotations

from pathlib import Path

import typer

from hospigen.cli.common import console, parse_date, progress_bar

app = typer.Typer(
    help="Facility metrics pipeline (seed 004): export, metrics, expiring, on-upload."
)

INPUT = typer.Option("data", "--input", "-i", help="Folder, s3://bucket/prefix or gs://…")
OUTPUT = typer.Option("out", "--output", "-o", help="Folder, s3://bucket/prefix or gs://…")
TODAY = typer.Option(None, "--today", help="Reference date YYYY-MM-DD (default: today, UTC).")


def _show(url: str | None) -> str:
    """A local path relative to the working folder when it lies below it (shorter output)."""
    import os

    if url and "://" not in url and os.path.isabs(url):
        rel = os.path.relpath(url)
        return url if rel.startswith("..") else rel
    return str(url)


def _finish(result) -> None:
    """Print what a stage did and exit with its status."""
    for url in result.outputs:
        console.print(f"wrote {_show(url)}")
    from hospigen.pipelines.facilities.common import RecordsSkipped

    if result.exit_code:
        raise RecordsSkipped(f"{result.summary()}; issues in {_show(result.issues_report)}")
    console.print(result.summary())


@app.command("export")
def export_command(
    count: int = typer.Option(1000, "--count", "-n", help="Number of facilities."),
    seed: int = typer.Option(0, "--seed", "-s", help="Run seed: same seed, same bytes."),
    as_of: str = typer.Option(None, "--as-of", help="World date YYYY-MM-DD (default: today)."),
    fmt: str = typer.Option("ndjson", "--format", help="ndjson or json-array."),
    output: str = typer.Option(
        "data/facilities.ndjson", "--output", "-o", help="File path or s3:// / gs:// URL."
    ),
) -> None:
    """Export the world's facilities in the seed's JSON record shape."""
    from hospigen.errors import UsageError
    from hospigen.pipelines.facilities.records import export_facilities
    from hospigen.pipelines.facilities.storage import resolve
    from hospigen.world.facilities import facilities_table

    if count < 0:
        raise UsageError(f"--count must be ≥ 0, got {count}")
    date = parse_date(as_of, "--as-of")
    folder, _, name = output.rstrip("/").rpartition("/")
    if not name:
        raise UsageError(f"--output must name a file, got {output!r}")
    with progress_bar("generating facilities", count) as advance:
        table = facilities_table(seed, date, count)
        advance(count)
    url = export_facilities(table, resolve(folder or "."), name, fmt)
    console.print(f"wrote {count:,} facilities to {_show(url)}")


@app.command("metrics")
def metrics_command(input: str = INPUT, output: str = OUTPUT, today: str = TODAY) -> None:
    """Stage 1: per-facility metrics → results/facility_metrics/run_YYYY_MM_DD_N/*.parquet."""
    from hospigen.pipelines.facilities.metrics import run_metrics
    from hospigen.pipelines.facilities.storage import resolve

    _finish(run_metrics(resolve(input), resolve(output), parse_date(today, "--today")))


@app.command("expiring")
def expiring_command(
    input: str = INPUT,
    output: str = typer.Option("filtered", "--output", "-o", help="Folder or s3:// / gs://."),
    months: float = typer.Option(6, "--months", "-m", help="Horizon in months (×30.5 days)."),
    today: str = TODAY,
) -> None:
    """Stage 2: facilities with an accreditation expiring within N months → *_filtered.ndjson."""
    from hospigen.pipelines.facilities.expiring import run_expiring
    from hospigen.pipelines.facilities.storage import resolve

    result = run_expiring(resolve(input), resolve(output), months, parse_date(today, "--today"))
    console.print(
        f"kept {result.details['kept']:,} facilities (expiring by {result.details['until']})"
    )
    _finish(result)


@app.command("on-upload")
def on_upload_command(
    key: str = typer.Option(..., "--key", "-k", help="Key of the uploaded object below --input."),
    input: str = INPUT,
    output: str = OUTPUT,
    today: str = TODAY,
) -> None:
    """Stage 3: accredited facilities per state for one upload → exports/state_counts/…/000000."""
    from hospigen.pipelines.facilities.state_counts import run_state_counts
    from hospigen.pipelines.facilities.storage import resolve

    _finish(run_state_counts(resolve(input), key, resolve(output), parse_date(today, "--today")))


@app.command("watch")
def watch_command(
    folder: str = typer.Argument(..., help="Folder (or s3:// / gs:// prefix) to watch."),
    output: str = OUTPUT,
    today: str = TODAY,
    interval: float = typer.Option(2.0, "--interval", help="Seconds between polls."),
    once: bool = typer.Option(False, "--once", help="Poll once, process, exit."),
    max_events: int = typer.Option(None, "--max-events", help="Exit after N processed files."),
) -> None:
    """Run stage 3 for every new or changed file of FOLDER (a local event trigger)."""
    from hospigen.pipelines.facilities.storage import resolve
    from hospigen.pipelines.facilities.watch import watch

    worst = 0

    def on_event(result) -> None:
        nonlocal worst
        worst = max(worst, result.exit_code)
        console.print(f"{result.loaded.files[0]}: {result.summary()} → {_show(result.outputs[0])}")

    report = watch(
        resolve(folder), resolve(output), lambda: parse_date(today, "--today"),
        interval=interval, once=once, max_events=max_events, on_event=on_event,
    )  # fmt: skip
    console.print(f"{len(report.results)} upload(s) processed in {report.polls} poll(s)")
    if worst:
        from hospigen.pipelines.facilities.common import RecordsSkipped

        raise RecordsSkipped("some uploads had malformed records or unreadable dates")


@app.command("athena-sql")
def athena_sql_command(
    script: Path = typer.Argument(..., exists=True, dir_okay=False, help="Athena SQL script."),
    map_: list[str] = typer.Option(
        None, "--map", help="Rewrite a location prefix: s3://medlaunch=./lake (repeatable)."
    ),
) -> None:
    """Run an Athena script (DDL, SELECT, CTAS) unchanged on DuckDB."""
    from hospigen.errors import UsageError
    from hospigen.pipelines.facilities.athena import run_script
    from hospigen.pipelines.facilities.storage import resolve

    pairs = []
    for item in map_ or []:
        old, sep, new = item.partition("=")
        if not sep:
            raise UsageError(f"--map takes FROM=TO, got {item!r}")
        pairs.append((old.rstrip("/"), new.rstrip("/")))

    def rewrite(url: str):
        for old, new in pairs:
            if url.rstrip("/") == old or url.startswith(old + "/"):
                return resolve(new + url[len(old) :])
        return resolve(url)

    for result in run_script(script.read_text(), rewrite):
        if result.rows is not None:
            typer.echo(_table(result.rows))
        elif result.location:
            console.print(f"wrote {_show(result.location)}")


def _table(rows) -> str:
    cols = rows.column_names
    lines = [",".join(cols)]
    for row in rows.to_pylist():
        lines.append(",".join("" if row[c] is None else str(row[c]) for c in cols))
    return "\n".join(lines)


def register(root: typer.Typer) -> None:
    """Add the ``facilities`` command group to the root app."""
    root.add_typer(app, name="facilities")
