"""``ingest run``: the whole pipeline (the seed's ``full_generation_pipeline.sh``).

Generate (or take ``source``) → land → wrap-load → materialize. Every step is idempotent and
resumable, so the orchestrator needs no state of its own: re-running after a failure continues
where the ledger says work stopped.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hospigen.pipelines.ingest.land import LandResult, start_landing
from hospigen.pipelines.ingest.materialize import MaterializeResult, materialize
from hospigen.pipelines.ingest.pipelined import land_and_load
from hospigen.pipelines.ingest.tables import ensure_tables
from hospigen.pipelines.ingest.wrap_load import WrapLoadResult
from hospigen.store import ObjectStore
from hospigen.warehouse import Warehouse

GENERATOR_FORMAT = "patient_ndjson"


@dataclass
class RunResult:
    """The results of each step."""

    land: LandResult
    load: WrapLoadResult
    materialize: MaterializeResult


def generate_source(
    out: Path,
    total: int,
    batch_size: int,
    seed: int,
    as_of: dt.date,
    on_shard: Callable[[int], None] | None = None,
) -> Path:
    """Generate ``total`` patients as per-patient NDJSON into ``out`` (shards of ``batch_size``)."""
    from hospigen.generation import generate

    generate(
        total,
        out,
        seed=seed,
        as_of=as_of,
        formats=[GENERATOR_FORMAT],
        shard_size=batch_size,
        on_shard=on_shard,
    )
    return out


def run(
    store: ObjectStore,
    prefix: str,
    wh: Warehouse,
    *,
    now: dt.datetime,
    source: Path | None = None,
    total: int = 500,
    batch_size: int = 50,
    seed: int = 0,
    as_of: dt.date | None = None,
    generated_at: dt.datetime | None = None,
) -> RunResult:
    """Run every step; without ``source``, generate ``total`` patients first."""
    ensure_tables(wh)
    if source is not None:
        return _steps(source, store, prefix, wh, now, generated_at)
    with tempfile.TemporaryDirectory(prefix="hospigen-ingest-") as tmp:
        generate_source(Path(tmp), total, batch_size, seed, as_of or now.date())
        return _steps(Path(tmp), store, prefix, wh, now, generated_at)


def _steps(source, store, prefix, wh, now, generated_at) -> RunResult:
    landing = start_landing(source, store, prefix, wh, now=now, generated_at=generated_at)
    landed, loaded = land_and_load(landing, store, prefix, wh, now=now)
    merged = materialize(wh, now=now)
    wh.checkpoint()  # once, after the last step (not after every load batch)
    return RunResult(landed, loaded, merged)
