"""``hospigen ingest``: FHIR → object store → staging → incremental MERGE (land, wrap-load,
materialize, run). See docs/ingest.md."""

from __future__ import annotations

import datetime as dt
import os
from contextlib import contextmanager
from pathlib import Path

import typer

from hospigen.cli.common import console, parse_date, progress_bar
from hospigen.errors import HospigenError, UsageError

app = typer.Typer(
    help="FHIR ingestion: land per-patient NDJSON, wrap + load to staging, MERGE into tables.",
    no_args_is_help=True,
)

CRASH_ENV = "HOSPIGEN_INGEST_CRASH_AT"  # test hook: see pipelines/ingest/faults.py


class RejectedRecords(HospigenError):
    """The run finished, but some input records went to ingest_errors."""

    exit_code = 6


BUCKET = typer.Option(
    "synthea-raw-hospigen",
    "--bucket",
    envvar="BUCKET",
    help="Object store root: a folder, gs://BUCKET or s3://BUCKET (optionally with a path).",
)
PREFIX = typer.Option("patients", "--prefix", envvar="PREFIX", help="Key prefix of landed files.")
WAREHOUSE = typer.Option(
    "hospigen.duckdb",
    "--warehouse",
    envvar="HOSPIGEN_WAREHOUSE",
    help="PATH.duckdb, duckdb:///PATH or bigquery://PROJECT/DATASET.",
)
DATASET = typer.Option("synthea_raw", "--dataset", help="Dataset (schema) of every table.")
DRY_RUN = typer.Option(
    False, "--dry-run", help="Print every object and SQL statement instead of writing."
)
GENERATED_AT = typer.Option(
    None,
    "--generated-at",
    help="Stamp for input resources without meta.lastUpdated (ISO 8601; default: file mtime).",
)
LOAD_BATCH = typer.Option(
    2000, "--load-batch", help="Objects wrapped and loaded per statement and transaction."
)
NOW = typer.Option(
    None, "--now", help="Load/ingestion timestamp, ISO 8601 (default: the current time)."
)


def _now(value: str | None) -> dt.datetime:
    if value is None:
        return dt.datetime.now(dt.UTC)
    try:
        got = dt.datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(f"--now must be an ISO 8601 timestamp, got {value!r}") from None
    return got if got.tzinfo else got.replace(tzinfo=dt.UTC)


def _prefix(prefix: str) -> str:
    from hospigen.store import check_key

    return check_key(prefix.rstrip("/"))


def _warehouse_url(url: str) -> str:
    """``bigquery://`` without a project takes PROJECT (and LOCATION), as the seed's scripts."""
    if url.startswith("bigquery://"):
        rest = url.removeprefix("bigquery://")
        if rest.startswith("/") or not rest:
            url = f"bigquery://{os.environ.get('PROJECT', 'hospigen')}/{rest.strip('/')}"
        if os.environ.get("LOCATION") and "?" not in url:
            url += f"?location={os.environ['LOCATION']}"
    return url


@contextmanager
def _context(bucket: str, warehouse: str, dataset: str, dry_run: bool):
    from hospigen.pipelines.ingest import faults
    from hospigen.pipelines.ingest.dryrun import DryRunStore, DryRunWarehouse
    from hospigen.store import open_store
    from hospigen.warehouse import open_warehouse

    faults.arm(os.environ.get(CRASH_ENV))
    store = open_store(bucket)
    wh = open_warehouse(_warehouse_url(warehouse), dataset, read_only=dry_run)
    if dry_run:

        def say(line: str) -> None:
            console.print(line, markup=False, soft_wrap=True)

        store, wh = DryRunStore(store, say), DryRunWarehouse(wh, say)
    try:
        yield store, wh
        wh.checkpoint()  # once per command: steps commit batches without folding the log
    finally:
        wh.close()


def _rejected(errors: list) -> None:
    if errors:
        codes: dict[str, int] = {}
        for e in errors:
            codes[e.code] = codes.get(e.code, 0) + 1
        detail = ", ".join(f"{n} {c}" for c, n in sorted(codes.items()))
        raise RejectedRecords(f"{len(errors)} records rejected ({detail}); see table ingest_errors")


@app.command("land")
def land_command(
    source: Path = typer.Option(..., "--source", help="Folder of FHIR input (NDJSON, bundles)."),
    bucket: str = BUCKET,
    prefix: str = PREFIX,
    warehouse: str = WAREHOUSE,
    dataset: str = DATASET,
    generated_at: str = GENERATED_AT,
    dry_run: bool = DRY_RUN,
    now: str = NOW,
) -> None:
    """Land FHIR input as one NDJSON object per patient (+ shared_resources.ndjson)."""
    from hospigen.pipelines.ingest import ensure_tables, land

    with _context(bucket, warehouse, dataset, dry_run) as (store, wh):
        ensure_tables(wh)
        r = land(
            source,
            store,
            _prefix(prefix),
            wh,
            now=_now(now),
            generated_at=_now(generated_at) if generated_at else None,
        )
    if r.source_unchanged:
        console.print("land: input unchanged since the last landing; nothing written")
    else:
        console.print(
            f"land: {r.patients:,} patients, {r.resources:,} resources → "
            f"{len(r.written):,} objects written, {r.unchanged:,} unchanged"
        )
    _rejected(r.errors)


@app.command("wrap-load")
def wrap_load_command(
    bucket: str = BUCKET,
    prefix: str = PREFIX,
    warehouse: str = WAREHOUSE,
    dataset: str = DATASET,
    file: str = typer.Option(None, "--file", help="Only this object (name below the prefix)."),
    load_batch: int = LOAD_BATCH,
    dry_run: bool = DRY_RUN,
    now: str = NOW,
) -> None:
    """Wrap landed lines as {"raw": …} and append them to raw_records_stg (once per object)."""
    from hospigen.pipelines.ingest import ensure_tables

    with _context(bucket, warehouse, dataset, dry_run) as (store, wh):
        ensure_tables(wh)
        r = _wrap_load(store, _prefix(prefix), wh, _now(now), file, load_batch)
    console.print(
        f"wrap-load: {len(r.loaded):,} objects loaded ({r.rows:,} rows), {r.unchanged:,} unchanged"
    )
    _rejected(r.errors)


def _pending(landing, store, prefix, wh) -> int:
    """How many objects ``ingest run`` will wrap and load after ``landing``."""
    from hospigen.pipelines.ingest.land import LandResult
    from hospigen.pipelines.ingest.pipelined import pending_keys
    from hospigen.pipelines.ingest.tables import read_ledger
    from hospigen.pipelines.ingest.wrap_load import pending

    if isinstance(landing, LandResult):
        return len(pending(store, prefix, wh)[0])
    return len(pending_keys(landing, read_ledger(wh, "loaded")))


def _wrap_load(store, prefix, wh, now, file=None, batch=2000):
    from hospigen.pipelines.ingest import wrap_load
    from hospigen.pipelines.ingest.wrap_load import pending

    total = len(pending(store, prefix, wh, file)[0])
    with progress_bar("wrap + load", total) as advance:
        return wrap_load(
            store,
            prefix,
            wh,
            now=now,
            only=file,
            batch_size=max(1, batch),
            progress=advance,
        )


@app.command("materialize")
def materialize_command(
    warehouse: str = WAREHOUSE,
    dataset: str = DATASET,
    dry_run: bool = DRY_RUN,
    now: str = NOW,
) -> None:
    """Create missing tables (additively) and MERGE new staging rows into the targets."""
    from hospigen.pipelines.ingest import materialize

    with _context(".", warehouse, dataset, dry_run) as (_, wh):
        r = materialize(wh, now=_now(now))
    _print_changes(r.changed, dry_run)


def _print_changes(changed: dict[str, int], dry_run: bool) -> None:
    if dry_run:
        return
    parts = ", ".join(f"{t} {n:,}" for t, n in changed.items())
    console.print(f"materialize: rows inserted or updated: {parts}")


@app.command("run")
def run_command(
    source: Path = typer.Option(
        None, "--source", help="Ingest this FHIR folder instead of generating patients."
    ),
    total: int = typer.Option(500, "--total", envvar="TOTAL", help="Patients to generate."),
    batch_size: int = typer.Option(
        50, "--batch-size", envvar="BATCH_SIZE", help="Patients per generation shard."
    ),
    seed: int = typer.Option(0, "--seed", envvar="SEED", help="Generation seed."),
    as_of: str = typer.Option(None, "--as-of", help="Generation as-of date (default today)."),
    bucket: str = BUCKET,
    prefix: str = PREFIX,
    warehouse: str = WAREHOUSE,
    dataset: str = DATASET,
    load_batch: int = LOAD_BATCH,
    generated_at: str = GENERATED_AT,
    dry_run: bool = DRY_RUN,
    now: str = NOW,
) -> None:
    """Generate (or take --source) → land → wrap-load → materialize; safe to re-run."""
    import tempfile

    from hospigen.pipelines.ingest import ensure_tables, materialize
    from hospigen.pipelines.ingest.land import start_landing
    from hospigen.pipelines.ingest.pipelined import land_and_load
    from hospigen.pipelines.ingest.run import generate_source

    stamp = _now(now)
    key = _prefix(prefix)
    with (
        _context(bucket, warehouse, dataset, dry_run) as (store, wh),
        tempfile.TemporaryDirectory(prefix="hospigen-ingest-") as tmp,
    ):
        if source is None:
            if total < 1 or batch_size < 1:
                raise UsageError("TOTAL and BATCH_SIZE must be at least 1")
            with progress_bar("generating patients", total) as advance:
                source = generate_source(
                    Path(tmp), total, batch_size, seed, parse_date(as_of, "--as-of"), advance
                )
        ensure_tables(wh)
        at = _now(generated_at) if generated_at else None
        landing = start_landing(source, store, key, wh, now=stamp, generated_at=at)
        total = _pending(landing, store, key, wh)
        with progress_bar("land + wrap + load", total) as advance:
            landed, loaded = land_and_load(
                landing, store, key, wh, now=stamp, batch_size=max(1, load_batch), progress=advance
            )
        merged = materialize(wh, now=stamp)
    if landed.source_unchanged:
        console.print("land: input unchanged since the last landing; nothing written")
    else:
        console.print(
            f"land: {landed.patients:,} patients, {landed.resources:,} resources → "
            f"{len(landed.written):,} objects written, {landed.unchanged:,} unchanged"
        )
    console.print(
        f"wrap-load: {len(loaded.loaded):,} objects loaded ({loaded.rows:,} rows), "
        f"{loaded.unchanged:,} unchanged"
    )
    _print_changes(merged.changed, dry_run)
    _rejected(landed.errors + loaded.errors)


def register(root: typer.Typer) -> None:
    """Add the ``ingest`` command group to the root app."""
    root.add_typer(app, name="ingest")
