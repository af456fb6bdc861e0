"""Cohort generation: draw the world, run patient shards, stream them to every exporter.

Shards are built independently (optionally in worker processes) and written in key order by
this process, so the bytes on disk do not depend on the number of workers or the shard size.
"""

from __future__ import annotations

import datetime as dt
import gc
import itertools
import multiprocessing as mp
import os
import tempfile
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from hospigen import __version__, export
from hospigen.engine.simulate import Plan, simulate_shard
from hospigen.errors import UsageError
from hospigen.feeding import FeedThreads
from hospigen.world import World

DEFAULT_SHARD_SIZE = 5_000


@dataclass
class GenerationSummary:
    """What a generation run wrote."""

    seed: int
    as_of: dt.date
    num_records: int
    formats: list[str]
    counts: dict[str, int] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    scenario: str = "general"
    modules: list[str] = field(default_factory=list)
    years_of_history: float = 10.0
    condition_counts: dict[str, list] = field(default_factory=dict)  # code → [display, rows]

    def top_conditions(self, n: int = 10) -> list[dict]:
        """The ``n`` most frequent condition codes (ties broken by code)."""
        ranked = sorted(self.condition_counts.items(), key=lambda kv: (-kv[1][1], kv[0]))
        return [{"code": c, "description": d, "rows": r} for c, (d, r) in ranked[:n]]

    def to_json(self) -> bytes:
        """The summary as pretty JSON (also written to ``summary.json``)."""
        body = {
            "hospigen_version": __version__,
            "seed": self.seed,
            "as_of": self.as_of.isoformat(),
            "num_records": self.num_records,
            "formats": self.formats,
            "counts": self.counts,
            "files": self.files,
            "scenario": self.scenario,
            "modules": self.modules,
            "years_of_history": self.years_of_history,
            "top_conditions": self.top_conditions(),
        }
        return orjson.dumps(body, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)


def generated_at(as_of: dt.date) -> dt.datetime:
    """The generation timestamp stamped into outputs: the end of the as-of day, UTC.

    Derived from the as-of date rather than the wall clock, so outputs are reproducible.
    """
    return dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)


def make_plan(
    scenario: str = "general",
    modules: Sequence[str] = (),
    *,
    years_of_history: float = 10.0,
    modules_dir: str | None = None,
    notes: bool = True,
) -> Plan:
    """The simulation plan: the scenario's default modules plus ``modules`` (de-duplicated)."""
    from hospigen.engine.catalog import load_module
    from hospigen.engine.scenario import load_scenario

    if years_of_history <= 0:
        raise UsageError("--years-of-history must be positive")
    chosen = load_scenario(scenario, modules_dir)
    shares: dict[str, float] = {}
    for use in chosen.modules:
        shares.setdefault(use.name, use.probability)
    for name in modules:
        shares[name] = 1.0  # asked for by name: every eligible patient is enrolled
    loaded = tuple((load_module(name, modules_dir), share) for name, share in shares.items())
    return Plan(chosen, loaded, float(years_of_history), notes)


def build_shard(
    world: World,
    keys: np.ndarray,
    plan: Plan | None = None,
    emit: Callable[[str, pa.Table], None] | None = None,
) -> dict[str, pa.Table]:
    """Every per-patient table for one shard of patient numbers (``general`` scenario default);
    ``emit(name, table)`` is called as each table is finished."""
    return simulate_shard(world, plan or make_plan(), np.asarray(keys, dtype=np.int64), emit)


def facility_ids_used(tables: dict[str, pa.Table]) -> pa.Array:
    """Distinct facility ids a shard's tables reference (home, hospital, encounters)."""
    columns = [
        tables["patients"].column("home_facility_id"),
        tables["patients"].column("hospital_id"),
    ]
    if "encounters" in tables:
        columns.append(tables["encounters"].column("facility_id"))
    chunks = [chunk for column in columns for chunk in column.chunks]
    return pc.unique(pa.chunked_array(chunks, pa.string()))


def shared_tables(world: World, facility_ids: pa.Array) -> dict[str, pa.Table]:
    """Facilities in use, their providers, and the payers: the tables written once per run."""
    facilities = world.facilities_in_use(facility_ids)
    return {
        "facilities": facilities,
        "providers": world.providers_of(facilities),
        "payers": world.payers,
    }


def auto_workers(num_records: int, shard_size: int = DEFAULT_SHARD_SIZE) -> int:
    """Processes worth using for a run: one per usable core but one, at most one per shard.

    The core left over is the writer threads': this process encodes every shard of every
    format (Parquet alone is ~40 % of a run's CPU), so on 2 cores one building process plus its
    writer threads already keep both busy, and a forked builder only adds its spool and page
    faults (100,000 general patients: 4.6-4.9 s with one process, 5.2-5.6 s with two). A
    one-shard run stays in this process (no fork); output bytes never depend on the count.
    """
    try:
        cores = len(os.sched_getaffinity(0))  # the cores this process may run on
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    shards = -(-num_records // max(shard_size, 1))
    return max(1, min(cores - 1, shards))


def _shard_keys(num_records: int, shard_size: int) -> list[np.ndarray]:
    return [
        np.arange(start, min(num_records, start + shard_size), dtype=np.int64)
        for start in range(0, num_records, shard_size)
    ]


@dataclass
class _Shard:
    """One built shard as the writing loop sees it: the tables plus what the summary needs."""

    tables: dict[str, pa.Table]
    used_facilities: pa.Array
    condition_counts: list[tuple[str, str, int]]
    streamed: bool = False  # its tables were handed to ``emit`` as they were built


def _finish(tables: dict[str, pa.Table], streamed: bool = False) -> _Shard:
    used, conditions = facility_ids_used(tables), _condition_counts(tables.get("conditions"))
    return _Shard(tables, used, conditions, streamed)


_WORKER: tuple[World, Plan, str] | None = None


def _init_worker(world: World, plan: Plan, spool: str) -> None:
    global _WORKER
    _WORKER = (world, plan, spool)


def _build_in_worker(job: tuple[int, np.ndarray]) -> tuple[dict[str, str], pa.Array, list]:
    """Build one shard and spool each table as an Arrow IPC file.

    Only file names travel back through the pool's pipe: the parent memory-maps the files
    (zero-copy) instead of unpickling ~25 KB of strings per patient.
    """
    assert _WORKER is not None
    world, plan, spool = _WORKER
    number, keys = job
    shard = _finish(build_shard(world, keys, plan))
    paths = {}
    for name, table in shard.tables.items():
        path = str(Path(spool) / f"{number:06d}-{name}.arrow")
        with pa.OSFile(path, "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)
        paths[name] = path
    return paths, shard.used_facilities, shard.condition_counts


def _unspool(paths: dict[str, str]) -> dict[str, pa.Table]:
    tables = {}
    for name, path in paths.items():
        with pa.memory_map(path) as source:
            tables[name] = pa.ipc.open_file(source).read_all()
        os.unlink(path)  # the mapping stays valid until the last buffer using it is freed
    return tables


def _shards(
    world: World,
    plan: Plan,
    keys: list[np.ndarray],
    workers: int,
    emit: Callable[[str, pa.Table, bool], None] | None = None,
) -> Iterator[_Shard]:
    """The built shards in key order, from ``workers`` processes (this one included).

    Shards built here hand each table to ``emit(name, table, last shard)`` as it is finished;
    shards from worker processes come whole.
    """
    if workers <= 1 or len(keys) <= 1:
        yield from _local_shards(world, plan, keys, emit, lambda number: True)
        return
    # build the catalogues once, here: forked workers inherit them instead of each building
    # its own copy (0.1-0.2 s of CPU per worker)
    world.catalog.complete()
    world.providers  # noqa: B018 - a cached property, evaluated for the side effect
    # the long-lived objects (catalogues, parsed modules) move out of the collector's sight, so
    # a collection in a worker does not write to (and copy) every page it inherited
    frozen = gc.get_freeze_count() > 0  # a caller's own freeze is left as it was
    gc.collect()
    gc.freeze()
    try:
        yield from _shared_shards(world, plan, keys, workers, emit)
    finally:
        if not frozen:
            gc.unfreeze()


def _local_shards(
    world: World,
    plan: Plan,
    keys: list[np.ndarray],
    emit: Callable[[str, pa.Table, bool], None] | None,
    here: Callable[[int], bool],
) -> Iterator[_Shard]:
    """Shards whose ``here(number)`` is true, built in this process (streamed to ``emit``)."""
    for number, k in enumerate(keys):
        if not here(number):
            continue
        last = number == len(keys) - 1
        each = (lambda name, table, last=last: emit(name, table, last)) if emit else None
        yield _finish(build_shard(world, k, plan, each), streamed=emit is not None)


def _shared_shards(
    world: World,
    plan: Plan,
    keys: list[np.ndarray],
    workers: int,
    emit: Callable[[str, pa.Table, bool], None] | None,
) -> Iterator[_Shard]:
    """Shards from this process and ``workers - 1`` forked ones, in key order.

    This process builds every ``workers``-th shard, starting with the first: it streams those
    to the writer threads as it builds them, so writing starts at once instead of after a
    worker's first shard, and one process fewer competes for the cores (the writer threads
    take the rest). Worker shards travel through the spool (:func:`_build_in_worker`).
    At most two shards per worker are in flight, so memory stays bounded.
    """

    def here(number: int) -> bool:
        return number % workers == 0

    mine = _local_shards(world, plan, keys, emit, here)
    jobs = [(n, k) for n, k in enumerate(keys) if not here(n)]
    theirs = iter(jobs)
    forks = min(workers - 1, len(jobs))  # no idle workers when there are few shards
    # fork: workers inherit the already-built catalogues and parsed modules
    with (
        tempfile.TemporaryDirectory(prefix="hospigen-spool-") as spool,
        mp.get_context("fork").Pool(forks, _init_worker, (world, plan, spool)) as pool,
    ):
        pending: deque = deque()

        def submit(count: int) -> None:
            for job in itertools.islice(theirs, count):
                pending.append(pool.apply_async(_build_in_worker, (job,)))

        submit(2 * forks)
        for number in range(len(keys)):
            if here(number):
                yield next(mine)
                continue
            paths, used, conditions = pending.popleft().get()
            submit(1)
            yield _Shard(_unspool(paths), used, conditions)


def generate(
    num_records: int,
    output_dir: str | Path,
    *,
    seed: int = 0,
    as_of: dt.date,
    formats: Sequence[str] = ("csv", "parquet"),
    states: Sequence[str] | None = None,
    facility_count: int | None = None,
    shard_size: int = DEFAULT_SHARD_SIZE,
    workers: int = 1,
    on_shard: Callable[[int], None] | None = None,
    format_options: dict | None = None,
    plan: Plan | None = None,
    while_writing: Callable[[], object] | None = None,
) -> GenerationSummary:
    """Generate ``num_records`` patients and write them in every format of ``formats``.

    Returns a :class:`GenerationSummary`; ``on_shard(n)`` is called after each shard of ``n``
    patients (for progress bars); ``format_options`` holds ``"<format>.<name>": value`` pairs
    for the exporters (e.g. ``{"fhir.bundle_max_entries": 500}``). ``while_writing()`` is
    called once every shard is built, while the writer threads finish (the CLI readies its
    console then, in time that is otherwise spent waiting). ``workers`` counts the processes
    that build shards, this one included; ``0`` picks :func:`auto_workers`.
    """
    if num_records < 1:
        raise UsageError("--num-records must be at least 1")
    if shard_size < 1 or workers < 0:
        raise UsageError(
            "shard size must be at least 1 and workers at least 0 (0: one per core but one)"
        )
    workers = workers or auto_workers(num_records, shard_size)
    plan = plan or make_plan()
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    world = World(seed, as_of, states=list(states) if states else None)
    if facility_count:
        world.facility_count = facility_count
    context = export.ExportContext(
        seed=seed, as_of=as_of, generated_at=generated_at(as_of), options=dict(format_options or {})
    )
    writers = [export.get(name).open(out, context) for name in formats]
    feeds = _share_fhir_rendering(writers)  # what receives the tables (closed: ``writers``)
    summary = GenerationSummary(seed, as_of, num_records, list(formats))
    summary.scenario = plan.scenario.name
    summary.modules = [m.name for m, _ in plan.modules]
    summary.years_of_history = plan.years_of_history
    used_facilities: list[pa.Array] = []
    # One writer thread per feed (see hospigen.feeding): shard k is encoded and written while
    # shard k+1 is simulated, and CSV and Parquet take each table as soon as it is built.
    # Each writer sees the shards in key order; at most two shards are alive at once.
    with FeedThreads(feeds, writers) as threads:
        pending: tuple[list[Future], int] | None = None
        keys = _shard_keys(num_records, shard_size)
        emit = threads.table if threads.streaming else None
        for shard in _shards(world, plan, keys, workers, emit):
            for name, table in shard.tables.items():
                summary.counts[name] = summary.counts.get(name, 0) + table.num_rows
            for code, desc, rows in shard.condition_counts:
                summary.condition_counts.setdefault(code, [desc, 0])[1] += rows
            used_facilities.append(shard.used_facilities)
            if pending:
                _written(*pending, on_shard)
            patients = shard.tables["patients"].num_rows
            pending = (threads.shard(shard.tables, shard.streamed), patients)
            del shard  # the writer threads hold the only references now
        shared = shared_tables(world, pa.chunked_array(used_facilities, pa.string()))
        for name, table in shared.items():
            summary.counts[name] = table.num_rows
        # each feed writes the shared tables and closes on its own thread, right after its
        # last shard, while the others may still be writing
        threads.close(shared)
        if while_writing:
            while_writing()
        if pending:
            _written(*pending, on_shard)
        closed = threads.closed()
    for writer in writers:
        summary.files += sorted(str(p.relative_to(out)) for p in closed[id(writer)])
    (out / "summary.json").write_bytes(summary.to_json())
    return summary


def _share_fhir_rendering(writers: list) -> list:
    """The FHIR formats share one rendering of each resource, and render and write on
    separate threads (export.fhir_group).

    Imported only then, so a CSV-only run does not load the FHIR renderer.
    """
    if not any(hasattr(w, "write_window") for w in writers):
        return writers
    from hospigen.export.fhir_group import group

    return group(writers)


def _written(futures: list[Future], patients: int, on_shard: Callable[[int], None] | None) -> None:
    for future in futures:
        future.result()  # re-raises a writer's error here
    if on_shard:
        on_shard(patients)


def _condition_counts(conditions: pa.Table | None) -> list[tuple[str, str, int]]:
    """(code, description, rows) of a shard's conditions table."""
    if conditions is None or conditions.num_rows == 0:
        return []
    # value_counts over "code\x1fdescription" rather than group_by, which imports Acero and
    # pyarrow.dataset (~30 ms of start-up for a small run)
    pairs = pc.binary_join_element_wise(conditions["code"], conditions["description"], "\x1f")
    counted = pc.value_counts(pairs)
    return [
        (*pair.split("\x1f", 1), rows)
        for pair, rows in zip(
            counted.field("values").to_pylist(), counted.field("counts").to_pylist(), strict=True
        )
    ]
