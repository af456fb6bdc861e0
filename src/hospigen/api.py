"""The Python API: the same work as the CLI, returning Arrow tables or writing to a target.

Everything here is re-exported by ``import hospigen``::

    import hospigen
    tables = hospigen.generate(100, seed=7, as_of="2025-01-01")
    tables["patients"].num_rows          # 100
    tables["observations"].to_pandas()   # with pandas installed; or polars.from_arrow(...)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa

from hospigen.errors import UsageError


def as_date(value: dt.date | str | None) -> dt.date:
    """A date from a ``date``, an ISO string, or ``None`` for today (UTC)."""
    if value is None:
        return dt.datetime.now(dt.UTC).date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"expected a date as YYYY-MM-DD, got {value!r}") from None


def generate(
    num_records: int = 1000,
    *,
    seed: int = 0,
    as_of: dt.date | str | None = None,
    scenario: str = "general",
    modules: Sequence[str] = (),
    years_of_history: float = 10.0,
    states: Sequence[str] | None = None,
    shard_size: int = 5_000,
) -> dict[str, pa.Table]:
    """Generate a cohort in memory: every canonical table by name (``patients``, ``encounters``…).

    The tables are byte-for-byte the rows ``hospigen generate`` writes for the same arguments.
    """
    from hospigen.generation import build_shard, facility_ids_used, make_plan, shared_tables
    from hospigen.world import World

    if num_records < 1:
        raise UsageError("num_records must be at least 1")
    world = World(seed, as_date(as_of), states=list(states) if states else None)
    plan = make_plan(scenario, modules, years_of_history=years_of_history)
    shards = [
        build_shard(world, np.arange(start, min(num_records, start + shard_size)), plan)
        for start in range(0, num_records, shard_size)
    ]
    tables = {name: pa.concat_tables([s[name] for s in shards]) for name in shards[0]}
    used = pa.chunked_array([facility_ids_used(s) for s in shards], pa.string())
    return tables | shared_tables(world, used)


def write(
    num_records: int,
    output_dir: str | Path,
    *,
    formats: Sequence[str] = ("csv", "parquet"),
    seed: int = 0,
    as_of: dt.date | str | None = None,
    scenario: str = "general",
    modules: Sequence[str] = (),
    years_of_history: float = 10.0,
    states: Sequence[str] | None = None,
    workers: int = 1,
):
    """Generate a cohort and write it in every format of ``formats`` (see ``--list-formats``).

    Returns the :class:`hospigen.generation.GenerationSummary` (counts per table, files written).
    ``workers`` counts the processes that build shards, this one included (``0``: one per core but
    one, as the command line does by default); the bytes written do not depend on it.
    """
    from hospigen.generation import generate as run
    from hospigen.generation import make_plan

    plan = make_plan(scenario, modules, years_of_history=years_of_history)
    return run(
        num_records, output_dir, seed=seed, as_of=as_date(as_of), formats=list(formats),
        states=states, workers=workers, plan=plan,
    )  # fmt: skip


def daily(
    date: dt.date | str,
    *,
    root: str | Path = ".",
    mode: str = "raw",
    seed: int | None = None,
    config: str | Path | None = None,
):
    """Write the daily hospital batch of ``date`` under ``root/data/<mode>/<date>/``.

    Returns the :class:`hospigen.daily_batch.DayResult` (folder, rows per file); read the files back
    as Arrow tables with :func:`read_daily`.
    """
    from hospigen.daily_batch import DailyConfig, run_day

    overrides = {} if seed is None else {"seed": seed}
    return run_day(DailyConfig.load(config, **overrides), as_date(date), mode, Path(root))


def read_daily(folder: str | Path) -> dict[str, pa.Table]:
    """The five files of a daily folder as Arrow tables (``encounters``, ``vitals``…)."""
    import pyarrow.csv as pacsv
    import pyarrow.json as pajson

    folder = Path(folder)
    tables = {p.stem: pacsv.read_csv(p) for p in sorted(folder.glob("*.csv"))}
    notes = folder / "notes.jsonl"
    if notes.is_file():
        tables["notes"] = pajson.read_json(notes)
    return tables


def claims(
    tables: dict[str, pa.Table],
    *,
    seed: int = 0,
    as_of: dt.date | str | None = None,
    fraud_rate: float = 0.04,
) -> pa.Table:
    """Claims for the encounters of ``tables`` (from :func:`generate`), with labelled fraud.

    ``fraud_rate`` is the share of extra claims injected as labelled fraud patterns
    (``synthetic_label_is_fraud`` / ``synthetic_fraud_pattern``).
    """
    from hospigen.pipelines.claims.generator import claims_from_tables, fraud_rates, inject_fraud
    from hospigen.world import World

    world = World(seed, as_date(as_of))
    legit = claims_from_tables(tables, world, seed, as_of=world.as_of)
    return inject_fraud(legit, seed, fraud_rates(fraud_rate))


def process_claims(
    messages: Sequence[bytes], processing_time: dt.datetime | None = None
) -> tuple[pa.Table, pa.Table]:
    """Parse, validate and enrich raw claim messages: ``(claims, errors)`` Arrow tables.

    The same rules as ``hospigen claims run``, without a stream or a warehouse: every message
    ends in exactly one of the two tables (duplicates are only caught by the runner).
    """
    from hospigen.pipelines.claims.core import process_batch

    when = processing_time or dt.datetime.now(dt.UTC)
    done = process_batch(list(messages), when)
    internal = [c for c in done.claims.column_names if c.startswith("_")]
    errors_internal = [c for c in done.errors.column_names if c.startswith("_")]
    return done.claims.drop_columns(internal), done.errors.drop_columns(errors_internal)


def ingest(
    source: str | Path,
    *,
    bucket: str | Path,
    warehouse: str | Path = "hospigen.duckdb",
    prefix: str = "patients",
    dataset: str = "synthea_raw",
    now: dt.datetime | None = None,
):
    """Land FHIR from ``source`` in ``bucket``, stage it and MERGE it into ``warehouse``.

    ``warehouse`` is a DuckDB path, ``duckdb:///PATH`` or ``bigquery://PROJECT/DATASET``.
    Returns the :class:`hospigen.pipelines.ingest.RunResult`; query the tables with DuckDB.
    """
    from hospigen.pipelines.ingest import ensure_tables, run
    from hospigen.store import open_store
    from hospigen.warehouse import open_warehouse

    store = open_store(str(bucket))
    wh = open_warehouse(str(warehouse), dataset)
    try:
        ensure_tables(wh)
        return run(store, prefix, wh, now=now or dt.datetime.now(dt.UTC), source=Path(source))
    finally:
        wh.close()


def export_facilities(
    count: int,
    output: str | Path,
    *,
    seed: int = 0,
    as_of: dt.date | str | None = None,
    fmt: str = "ndjson",
) -> str:
    """Write ``count`` facilities of the world in seed 004's JSON shape; returns the file URL.

    ``output`` is a file path or URL (``s3://bucket/data/facilities.ndjson`` works too);
    ``fmt`` is ``ndjson`` or ``json-array``.
    """
    from hospigen.pipelines.facilities.records import export_facilities as export
    from hospigen.pipelines.facilities.storage import resolve
    from hospigen.world.facilities import facilities_table

    folder, _, name = str(output).rpartition("/")
    table = facilities_table(seed, as_date(as_of), count)
    return export(table, resolve(folder or "."), name, fmt)


def facility_metrics(input: str | Path, output: str | Path, *, today: dt.date | str | None = None):
    """Stage 1 of the facility pipeline: metrics Parquet in a new ``run_YYYY_MM_DD_N`` folder.

    Returns the stage result (rows, skipped records, where the Parquet went).
    """
    from hospigen.pipelines.facilities.metrics import run_metrics
    from hospigen.pipelines.facilities.storage import resolve

    return run_metrics(resolve(input), resolve(output), as_date(today))
