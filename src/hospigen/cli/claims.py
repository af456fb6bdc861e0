"""``hospigen claims``: generate, publish, run, quality, evaluate, ddl (seed 001)."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import typer
from rich.table import Table

from hospigen.cli.common import console, parse_date, progress_bar
from hospigen.errors import HospigenError, UsageError

claims_app = typer.Typer(
    help="Claims streaming ETL: stream → parse → validate → enrich → claims + errors.",
    no_args_is_help=True,
)


def _now() -> dt.datetime:
    # the CLI is the one place that reads the clock; the pipeline takes it as a parameter
    return dt.datetime.now(dt.UTC)


def _clock(fixed: str | None):
    if fixed is None:
        return _now
    try:
        ts = dt.datetime.fromisoformat(fixed.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"--processing-time must be ISO 8601, got {fixed!r}") from None
    ts = ts if ts.tzinfo else ts.replace(tzinfo=dt.UTC)
    return lambda: ts


def generate_messages(
    patients: int, seed: int, as_of: dt.date, fraud_rate: float, invalid_rate: float,
    ingest_ts: dt.datetime,
) -> list[bytes]:  # fmt: skip
    """Messages for the claims of the encounters of ``patients`` patients of the world."""
    import numpy as np

    from hospigen.generation import build_shard
    from hospigen.pipelines.claims.generator import claims_from_tables, fraud_rates, inject_fraud
    from hospigen.pipelines.claims.messages import corrupt, to_messages
    from hospigen.world import World

    world = World(seed, as_of)
    if patients < 1:
        raise UsageError(f"--num-patients must be at least 1, got {patients}")
    for name, value in (("--fraud-rate", fraud_rate), ("--invalid-rate", invalid_rate)):
        if not 0.0 <= value <= 1.0:
            raise UsageError(f"{name} must be between 0 and 1, got {value}")
    tables = build_shard(world, np.arange(patients, dtype=np.int64))
    claims = inject_fraud(claims_from_tables(tables, world, seed), seed, fraud_rates(fraud_rate))
    messages, _ = corrupt(to_messages(claims, ingest_ts), seed, invalid_rate)
    return messages


@claims_app.command("generate")
def generate_command(
    output: Path = typer.Option(..., "--output", "-o", help="NDJSON file of raw messages."),
    patients: int = typer.Option(1000, "--num-patients", "-n", help="Patients of the world."),
    seed: int = typer.Option(0, "--seed", "-s"),
    as_of: str = typer.Option(None, "--as-of", help="World date YYYY-MM-DD (default today)."),
    fraud_rate: float = typer.Option(0.04, "--fraud-rate", help="Share of labelled fraud."),
    invalid_rate: float = typer.Option(0.0, "--invalid-rate", help="Share of invalid messages."),
) -> None:
    """Generate claim messages from the world's encounters into an NDJSON file."""
    from hospigen.stream.local_log import encode

    msgs = generate_messages(patients, seed, parse_date(as_of, "--as-of"), fraud_rate,
                             invalid_rate, _now())  # fmt: skip
    tmp = output.with_suffix(output.suffix + ".tmp")
    tmp.write_bytes(b"".join(encode(m) for m in msgs))
    tmp.replace(output)
    console.print(f"wrote {len(msgs)} messages to {output}")


def _read_file(path: Path) -> list[bytes]:
    """Raw messages of an NDJSON file: one per line, bytes untouched (local-log escapes decoded)."""
    import base64

    if not path.is_file():
        raise UsageError(f"no such file: {path}")
    lines = path.read_bytes().split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return [base64.b64decode(x[1:]) if x.startswith(b"\x00") else x for x in lines]


@claims_app.command("publish")
def publish_command(
    to: str = typer.Option(..., "--to", help="Stream: folder, redis://…, pubsub://…/topics/T."),
    file: Path = typer.Option(None, "--file", help="Publish the raw lines of this file."),
    patients: int = typer.Option(1000, "--num-patients", "-n"),
    seed: int = typer.Option(0, "--seed", "-s"),
    as_of: str = typer.Option(None, "--as-of"),
    fraud_rate: float = typer.Option(0.04, "--fraud-rate"),
    invalid_rate: float = typer.Option(0.0, "--invalid-rate"),
    rate: float = typer.Option(0.0, "--rate", help="Messages per second (0: as fast as possible)."),
    total: int = typer.Option(0, "--total", help="Stop after this many messages (0: all)."),
    duration: float = typer.Option(0.0, "--duration", help="Stop after this many seconds."),
    batch: int = typer.Option(10_000, "--batch", help="Messages per publish call."),
) -> None:
    """Publish claim messages (generated, or replayed from --file) to a stream."""
    from hospigen import stream

    if file is not None:
        msgs = _read_file(file)
    else:
        msgs = generate_messages(patients, seed, parse_date(as_of, "--as-of"), fraud_rate,
                                 invalid_rate, _now())  # fmt: skip
    if total:
        msgs = msgs[:total]
    writer = stream.open_writer(to)
    started, sent = time.monotonic(), 0
    step = max(1, min(batch, int(rate) or batch))
    try:
        with progress_bar("publishing", len(msgs)) as advance:
            for start in range(0, len(msgs), step):
                if duration and time.monotonic() - started >= duration:
                    break
                sent += writer.publish(msgs[start : start + step])
                advance(min(step, len(msgs) - start))
                if rate:
                    time.sleep(max(0.0, sent / rate - (time.monotonic() - started)))
    finally:
        writer.close()
    console.print(f"published {sent} messages to {to}")


@claims_app.command("run")
def run_command(
    source: str = typer.Option(..., "--from", help="Stream to consume."),
    warehouse: str = typer.Option("duckdb:///claims.duckdb", "--warehouse"),
    group: str = typer.Option("claims", "--group", help="Consumer group."),
    follow: bool = typer.Option(False, "--follow", help="Keep consuming (else stop at the end)."),
    batch_size: int = typer.Option(500_000, "--batch-size"),
    processing_time: str = typer.Option(
        None, "--processing-time", help="Fixed processing timestamp (ISO 8601; default: now)."
    ),
) -> None:
    """Consume a stream into DuckDB, exactly once (offsets committed with the rows)."""
    from hospigen.pipelines.claims.runner import run

    summary = run(source, warehouse, clock=_clock(processing_time), group=group,
                  batch_size=batch_size, follow=follow)  # fmt: skip
    console.print(
        f"consumed {summary.messages} messages: {summary.claims} claims, "
        f"{summary.errors} errors, {summary.duplicates} duplicates"
    )


def _open_warehouse(warehouse: str):
    import duckdb

    if not warehouse.startswith("duckdb://"):
        raise UsageError("quality and evaluate read a duckdb:///path.duckdb warehouse")
    path = warehouse.removeprefix("duckdb://")
    if not Path(path).is_file():
        raise UsageError(f"no warehouse at {path}")
    return duckdb.connect(path, read_only=True)


@claims_app.command("quality")
def quality_command(
    warehouse: str = typer.Option("duckdb:///claims.duckdb", "--warehouse"),
    threshold: float = typer.Option(0.05, "--max-error-rate"),
    min_daily: int = typer.Option(10, "--min-daily-claims"),
) -> None:
    """Daily volume, error rate vs threshold, high-risk distribution; non-zero exit on failure."""
    from hospigen.pipelines.claims.quality import check

    report = check(_open_warehouse(warehouse), threshold, min_daily)
    table = Table("day", "claims", "high risk", "errors", title="daily volume")
    for row in report.daily:
        table.add_row(*(str(x) for x in row))
    console.print(table)
    codes = Table("error_code", "rows", title="errors by code")
    for row in report.errors_by_code:
        codes.add_row(*(str(x) for x in row))
    console.print(codes)
    bands = Table("fraud_risk_score", "claims", title="risk distribution")
    for row in report.risk_bands:
        bands.add_row(*(str(x) for x in row))
    console.print(bands)
    console.print(f"error rate {report.error_rate:.2%} (threshold {threshold:.0%})")
    if report.failures:
        raise HospigenError("quality check failed: " + "; ".join(report.failures))
    console.print("quality checks passed")


@claims_app.command("evaluate")
def evaluate_command(
    warehouse: str = typer.Option("duckdb:///claims.duckdb", "--warehouse"),
    threshold: float = typer.Option(0.5, "--threshold"),
) -> None:
    """Precision, recall and ROC AUC of fraud_risk_score against the synthetic labels."""
    from hospigen.pipelines.claims.evaluate import evaluate

    con = _open_warehouse(warehouse)
    rows = evaluate(con.sql("SELECT * FROM claims_events_stream").to_arrow_table(), threshold)
    table = Table("pattern", "claims", "positives", "precision", "recall", "ROC AUC")
    fmt = lambda v: "-" if v is None else f"{v:.3f}"  # noqa: E731
    for r in rows:
        table.add_row(r["pattern"], str(r["claims"]), str(r["positives"]), fmt(r["precision"]),
                      fmt(r["recall"]), fmt(r["auc"]))  # fmt: skip
    console.print(table)


@claims_app.command("ddl")
def ddl_command(
    project: str = typer.Option(..., "--project"),
    dataset: str = typer.Option("aetna", "--dataset"),
) -> None:
    """Print the BigQuery DDL of both tables (DAY-partitioned)."""
    from hospigen.pipelines.claims.sinks.bigquery import ddl

    console.print(ddl(project, dataset), end="", markup=False)


def register(app: typer.Typer) -> None:
    """Add the ``claims`` command group."""
    app.add_typer(claims_app, name="claims")
