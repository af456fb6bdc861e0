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
    shard_size: int = 25_000,
) -> dict[str, pa.Table]:
    """Generate a cohort in memory: every canonical table by name (``patients``, ``encounters``…).

    The tables are byte-for-byte the rows ``hospigen generate`` writes for the same arguments.
    """
    from hospigen.generate import build_shard, facility_ids_used, make_plan, shared_tables
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

    Returns the :class:`hospigen.generate.GenerationSummary` (counts per table, files written).
    """
    from hospigen.generate import generate as run
    from hospigen.generate import make_plan

    plan = make_plan(scenario, modules, years_of_history=years_of_history)
    return run(
        num_records, output_dir, seed=seed, as_of=as_date(as_of), formats=list(formats),
        states=states, workers=workers, plan=plan,
    )  # fmt: skip
