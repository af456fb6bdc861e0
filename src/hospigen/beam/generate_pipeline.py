"""Cohort generation as an Apache Beam pipeline over patient shards.

Each element is a shard index, not a patient: Beam's per-element overhead (~6 µs) would
dominate per-patient elements, while a shard of thousands of patients is built vectorised by
the same :func:`hospigen.generation.build_shard` the local runner uses. Parts are written with
:mod:`hospigen.export.parquet_parts`, so the output equals ``--formats parquet_parts`` of a
local run byte for byte, per shard, on any runner and any filesystem fsspec knows (local,
``gs://``, ``s3://``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from hospigen.errors import MissingExtraError


@dataclass(frozen=True)
class GenerationConfig:
    """Everything a worker needs to rebuild the world and its shards."""

    num_records: int
    output: str
    seed: int
    as_of: dt.date
    shard_size: int
    states: tuple[str, ...] | None = None
    scenario: str = "general"
    modules: tuple[str, ...] = ()
    years_of_history: float = 10.0
    modules_dir: str | None = None

    @property
    def shard_count(self) -> int:
        return -(-self.num_records // self.shard_size)


def _import_beam():
    try:
        import apache_beam as beam
    except ImportError:  # pragma: no cover - depends on the installed extras
        raise MissingExtraError("beam", "generation on Apache Beam") from None
    return beam


def run_generation(config: GenerationConfig, pipeline_args: Sequence[str] = ()) -> None:
    """Build and run the pipeline; blocks until it finishes (DirectRunner) or is submitted."""
    beam = _import_beam()
    from apache_beam.options.pipeline_options import PipelineOptions

    class GenerateShard(beam.DoFn):
        """Build one shard, write its parts, emit the facility ids it references."""

        def setup(self) -> None:
            from hospigen.generation import make_plan

            self.world, self.fs, self.root = _open(config)
            self.plan = make_plan(
                config.scenario,
                config.modules,
                years_of_history=config.years_of_history,
                modules_dir=config.modules_dir,
            )

        def process(self, shard: int) -> Iterator[list[str]]:
            from hospigen.export.parquet_parts import write_shard
            from hospigen.generation import build_shard, facility_ids_used

            tables = build_shard(self.world, _keys(config, shard), self.plan)
            write_shard(self.fs, self.root, shard, tables)
            yield facility_ids_used(tables).to_pylist()

    class WriteShared(beam.DoFn):
        """Write facilities, providers and payers once, from the union of used ids."""

        def setup(self) -> None:
            self.world, self.fs, self.root = _open(config)

        def process(self, ids: set[str]) -> Iterator[str]:
            import pyarrow as pa

            from hospigen.export.parquet_parts import write_shard
            from hospigen.generation import shared_tables

            yield from write_shard(
                self.fs, self.root, 0, shared_tables(self.world, pa.array(sorted(ids)))
            )

    options = PipelineOptions(list(pipeline_args))
    with beam.Pipeline(options=options) as p:
        (
            p
            | "Shards" >> beam.Create(list(range(config.shard_count)))
            | "Spread" >> beam.Reshuffle()
            | "Generate" >> beam.ParDo(GenerateShard())
            | "Union" >> beam.CombineGlobally(lambda lists: set().union(*map(set, lists)))
            | "Shared" >> beam.ParDo(WriteShared())
        )


def _open(config: GenerationConfig):
    import fsspec

    from hospigen.world import World

    world = World(config.seed, config.as_of, states=list(config.states) if config.states else None)
    world.catalog  # build the catalogues once per worker  # noqa: B018
    fs, root = fsspec.core.url_to_fs(config.output)
    return world, fs, f"{root.rstrip('/')}/parts"


def _keys(config: GenerationConfig, shard: int):
    import numpy as np

    start = shard * config.shard_size
    return np.arange(start, min(config.num_records, start + config.shard_size), dtype=np.int64)
