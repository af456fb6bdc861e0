# ruff: noqa: E501  (a results table)
"""Claims end to end: local runner and Beam DirectRunner on the same pre-published messages.

PYTHONPATH=src:. python bench/claims.py [--messages 1000000] [--repeat 3] [--log DIR]

Each workload runs ``--repeat`` times on the same log (a fresh warehouse / output each time);
Beam runs twice: with the DirectRunner's default (one worker) and as the command line runs it
(a worker thread per core). The table shows the best and the median throughput, the CPU
seconds per million messages of the best run (this process and its children, every thread: the figure that does not depend
on what else the machine runs) and the load average around the runs (the machine is shared,
so the spread is part of the result). ``--sequential`` adds the local runner with
``overlap=False`` (each batch processed and landed in turn, on one thread; by default the
next batch is processed on a worker thread while one lands). Two floors follow (``--no-floor`` skips them): what DuckDB alone needs to read the same
segment bytes into a typed table (no validation, no enrichment, no landing), and what it needs
to land the run's claims rows, already typed and enriched in Arrow, into a new warehouse file
(insert and checkpoint; the rows come from an untimed run of the local runner): the ceilings
for any pipeline that parses the JSON here, or that lands its rows in DuckDB.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import duckdb
import pyarrow

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hospigen.pipelines.claims.runner import run
from hospigen.stream import open_writer

CLOCK = dt.datetime(2025, 1, 2, tzinfo=dt.UTC)


def _publish(log: Path, messages: int) -> None:
    from tests.claims.test_pipeline import _messages

    msgs, _ = _messages(max(1, messages // 5))
    w = open_writer(str(log))
    w.publish(msgs)
    w.close()


def _count(log: Path) -> int:
    from hospigen.stream.local_log import _segments

    return sum(p.read_bytes().count(b"\n") for _, p in _segments(log))


def _local(log: Path, tmp: Path, i: int, overlap: bool = True) -> None:
    """The local runner as the CLI runs it (``overlap``: next batch processed while one lands)."""
    s = run(str(log), f"duckdb://{tmp}/w{i}{overlap}.duckdb", clock=lambda: CLOCK, overlap=overlap)
    assert s.messages == s.claims + s.errors + s.duplicates


def _beam(log: Path, tmp: Path, i: int, worker_per_core: bool = False) -> None:
    """Beam's DirectRunner; ``worker_per_core`` as the command line runs it (run after the
    one-worker workload: the threaded runner leaves gRPC threads behind, harmless here as
    nothing forks after it)."""
    from hospigen.beam.claims_pipeline import run as beam_run

    out = f"parquet://{tmp}/beam{'t' if worker_per_core else ''}{i}"
    beam_run(["--runner", "DirectRunner", "--input", str(log), "--output", out,
              "--processing_time", "2025-01-02T00:00:00Z"], worker_per_core=worker_per_core)  # fmt: skip


def _cpu() -> float:
    own, kids = (resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _floor(log: Path, tmp: Path, i: int) -> None:
    """DuckDB alone: the segment files read into a typed table (lenient casts, no checks)."""
    from hospigen.pipelines.claims.schema import MESSAGE_FIELDS
    from hospigen.stream.local_log import _segments

    kinds = {"string": "VARCHAR", "number": "DOUBLE", "integer": "BIGINT", "date": "DATE",
             "timestamp": "TIMESTAMPTZ", "strings": "VARCHAR[]"}  # fmt: skip
    cols = "{" + ", ".join(f"'{f.name}': '{kinds[f.kind]}'" for f in MESSAGE_FIELDS) + "}"
    files = [str(p) for _, p in _segments(log) if p.stat().st_size]
    con = duckdb.connect(str(tmp / f"floor{i}.duckdb"))
    con.execute(
        f"CREATE TABLE t AS SELECT * FROM read_json({files}, columns={cols}, "
        "format='newline_delimited', ignore_errors=true, maximum_object_size=1048576)"
    )
    con.close()


def _landing_rows(log: Path, tmp: Path) -> pyarrow.Table:
    """Untimed set-up of the landing floor: the claims rows the local runner lands, in Arrow."""
    warehouse = tmp / "landing-source.duckdb"
    run(str(log), f"duckdb://{warehouse}", clock=lambda: CLOCK)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.sql("SELECT * FROM claims_events_stream").to_arrow_table()


def _landing_floor(claims: pyarrow.Table, log: Path, tmp: Path, i: int) -> None:
    """DuckDB alone: the typed claims rows inserted into a new warehouse file, checkpointed."""
    with duckdb.connect(str(tmp / f"landing{i}.duckdb")) as con:
        con.register("claims", claims)
        con.execute("CREATE TABLE claims_events_stream AS SELECT * FROM claims")
        con.execute("CHECKPOINT")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--log", help="an already published local log to reuse")
    parser.add_argument("--only", choices=["local", "beam"], help="run one workload")
    parser.add_argument(
        "--no-floor", dest="floor", action="store_false", help="skip the DuckDB-alone floors"
    )
    parser.add_argument(
        "--sequential", action="store_true", help="also the local runner one batch at a time"
    )
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        log = Path(args.log) if args.log else tmp / "log"
        if not args.log:
            _publish(log, args.messages)
        n = _count(log)
        workloads = [
            ("local runner", _local, 1_000_000, "local"),
            ("Beam DirectRunner", _beam, 100_000, "beam"),
            ("Beam, a thread per core", partial(_beam, worker_per_core=True), 100_000, "beam"),
        ]
        if args.sequential:
            workloads.insert(
                1, ("local, one batch at a time", partial(_local, overlap=False), 0, "local")
            )
        if args.floor:
            workloads.append(("floor: DuckDB read_json", _floor, 0, "floor"))
            landing = partial(_landing_floor, _landing_rows(log, tmp))
            workloads.append(("floor: DuckDB landing", landing, 0, "floor"))
        for name, fn, target, key in workloads:
            if args.only and key not in (args.only, "floor"):
                continue
            rates, cpus, loads = [], [], []
            for i in range(args.repeat):
                loads.append(os.getloadavg()[0])
                t0, c0 = time.perf_counter(), _cpu()
                fn(log, tmp, i)
                rates.append(n / (time.perf_counter() - t0))
                cpus.append((_cpu() - c0) * 1e6 / n)
            loads.append(os.getloadavg()[0])
            best = max(range(len(rates)), key=rates.__getitem__)
            rows.append(
                (name, rates[best], statistics.median(rates), cpus[best], min(cpus),
                 min(loads), max(loads), target)
            )  # fmt: skip
    import apache_beam

    print(
        f"machine: {platform.machine()} {platform.processor() or ''}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(
        f"duckdb {duckdb.__version__}, pyarrow {pyarrow.__version__}, apache-beam {apache_beam.__version__}"
    )
    print(f"{n:,} messages, 5 % invalid, {args.repeat} runs each")
    print(
        f"{'workload':<26} {'best msgs/s':>12} {'median':>9} {'CPU-s/1M best run':>18}"
        f" {'min CPU-s/1M':>13} {'load avg (1 min)':>17} {'target':>10}"
    )
    for name, best, med, cpu, cpu_min, lo, hi, target in rows:
        print(
            f"{name:<26} {best:>12,.0f} {med:>9,.0f} {cpu:>18.1f} {cpu_min:>13.1f}"
            f" {lo:>8.1f} – {hi:<6.1f} {f'{target:,}' if target else '':>10}"
        )


if __name__ == "__main__":
    main()
