"""The claims pipeline on Apache Beam, with the seed's flags, using the same processing core.

Bounded input (``--input PATH``: a local log folder or an NDJSON file) is cut into byte ranges
of whole lines; each Beam element is a small (file, byte range) descriptor (per-element Beam
overhead is ~6 µs, so ranges, not messages, and no message bytes pickled through the runner),
read and processed inside the DoFn by :func:`~hospigen.pipelines.claims.core.process_batch`.
Each range's result is staged as an Arrow file and only its name moves on; all range
results then meet in one finalising step that applies the history rules (duplicate
ids, duplicate submissions) in stream order, exactly as the local runner does, and writes
Parquet or BigQuery.

Streaming (``--input_subscription projects/P/subscriptions/S --streaming``) reads Pub/Sub
(``PUBSUB_EMULATOR_HOST`` honoured) and processes each bundle as one batch, written when the
bundle finishes (Parquet files named by a hash of the bundle, or BigQuery with
``insertId = claim_id``). Duplicate claim ids are caught within a bundle only; Beam's Pub/Sub
source acknowledges messages itself, so delivery is at-least-once.

Name the runner explicitly (``--runner DirectRunner``): with none, Beam 2.77 first tries to
download the Prism runner.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
from pathlib import Path

import numpy as np
import pyarrow as pa

from hospigen.errors import MissingExtraError, UsageError

CHUNK_BYTES = 64 * 1024 * 1024  # about 75,000 claims per range
FILE_SHIFT = 40  # a stream position is (file index << 40) + byte offset: files under 1 TiB


def _beam():
    try:
        import apache_beam as beam
    except ImportError:
        raise MissingExtraError("beam", "the Beam claims pipeline") from None
    return beam


def _next_line_start(f, pos: int, size: int) -> int:
    """The first byte after the newline at or after ``pos`` (``size`` if none)."""
    f.seek(pos)
    while pos < size:
        block = f.read(1 << 16)
        if not block:
            break
        i = block.find(b"\n")
        if i >= 0:
            return pos + i + 1
        pos += len(block)
    return size


def ranges_of(path: str, chunk_bytes: int = CHUNK_BYTES) -> list[tuple[str, int, int, int]]:
    """(file, first byte, end byte, position base) of ranges of about ``chunk_bytes``.

    The input is a local log folder (its segment files in order) or an NDJSON file. Cut points
    are byte offsets moved to the next line start, so planning reads a few bytes per range,
    not the input. A message's stream position is ``position base + its byte offset`` in the
    file: increasing in stream order across files and ranges (all that ordering needs), and
    known to a worker without counting the lines before its range.
    """
    from hospigen.stream.local_log import _segments

    p = Path(path)
    if p.is_dir():
        files = [f for _, f in _segments(p)]
        if not files:
            raise UsageError(f"no local log at {p}")
    elif p.is_file():
        files = [p]
    else:
        raise UsageError(f"no such input: {p}")
    out = []
    for index, f in enumerate(files):
        with open(f, "rb") as fh:
            # a torn last line (no newline yet) is not a message: ranges end before it
            end = _last_line_end(fh, f.stat().st_size)
            first = 0
            while first < end:
                cut = _next_line_start(fh, min(end, first + chunk_bytes) - 1, end)
                out.append((str(f), first, cut, index << FILE_SHIFT))
                first = cut
    return out


def _last_line_end(fh, size: int) -> int:
    """The byte after the file's last newline (0 if it has none)."""
    pos = size
    while pos > 0:
        step = min(pos, 1 << 16)
        fh.seek(pos - step)
        i = fh.read(step).rfind(b"\n")
        if i >= 0:
            return pos - step + i + 1
        pos -= step
    return 0


def read_range(element: tuple[str, int, int, int]) -> tuple[np.ndarray, pa.Array]:
    """(stream positions, raw messages) of one byte range (local-log escapes decoded)."""
    from hospigen.stream.local_log import _frames

    path, first, last, base = element
    with open(path, "rb") as f:
        f.seek(first)
        data = f.read(last - first)
    newlines = np.flatnonzero(np.frombuffer(data, np.uint8) == 10)
    if len(newlines) == 0:
        return np.zeros(0, np.int64), pa.array([], pa.binary())
    starts = np.concatenate([[0], newlines[:-1] + 1]).astype(np.int64)
    return base + first + starts, _frames(data, newlines)


def _stage(table: pa.Table, path: Path) -> None:
    # Arrow IPC, uncompressed: written at copy speed and memory-mapped back by the final step
    # (Parquet cost a compression and a decode of every staged byte)
    tmp = path.with_suffix(".tmp")
    with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    tmp.replace(path)


def _unstage(path: str) -> pa.Table:
    with pa.memory_map(path) as source:
        return pa.ipc.open_file(source).read_all()


def _process(element, processing_ts: dt.datetime, staging: str):
    """Process one byte range; stage its claims and errors as Arrow files, pass on the names.

    Only the file names travel through the runner: a million processed claims pickled into one
    element for the final step cost more than processing them.
    """
    from hospigen.pipelines.claims.core import process_batch

    seq, payloads = read_range(element)
    if len(seq) == 0:
        return []
    out = process_batch(payloads, processing_ts, seq=seq)
    start = int(seq[0])
    claims, errors = (
        Path(staging) / f"claims-{start:020d}.arrow",
        Path(staging) / f"errors-{start:020d}.arrow",
    )
    _stage(out.claims, claims)
    _stage(out.errors, errors)
    return [(start, str(claims), str(errors), tuple(element))]


def _raw_reader(elements: list[tuple[str, int, int, int]]):
    """``raw_of`` over the input ranges: re-reads only the ranges holding asked-for rows."""

    def raw_of(seq: np.ndarray) -> pa.Array:
        starts = np.array([e[3] + e[1] for e in elements], dtype=np.int64)
        which = np.searchsorted(starts, seq, side="right") - 1
        pieces, order = [], []
        for r in np.unique(which):
            positions, payloads = read_range(elements[r])
            rows = np.searchsorted(positions, seq[which == r])
            pieces.append(payloads.take(pa.array(rows, pa.int64())))
            order.append(np.flatnonzero(which == r))
        if not pieces:
            return pa.array([], pa.binary())
        back = np.argsort(np.concatenate(order), kind="stable")
        return pa.concat_arrays(pieces).take(pa.array(back, pa.int64()))

    return raw_of


def _finalise(parts, output: str, processing_ts: dt.datetime, staging: str):
    import shutil

    import duckdb

    from hospigen.pipelines.claims.core import CLAIMS_WORK, ERRORS_WORK
    from hospigen.pipelines.claims.dedupe import apply_history, merge_errors
    from hospigen.pipelines.claims.sinks import open_sink

    parts = sorted(parts, key=lambda p: p[0])
    claims = pa.concat_tables([_unstage(p[1]).cast(CLAIMS_WORK) for p in parts])
    errors = pa.concat_tables([_unstage(p[2]).cast(ERRORS_WORK) for p in parts])
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    landed, dups = apply_history(con, claims, None, _raw_reader([p[3] for p in parts]))
    errors = merge_errors(errors, dups)
    sink = open_sink(output)
    sink.write(landed, errors, f"part-{processing_ts:%Y%m%dT%H%M%S}")
    shutil.rmtree(staging, ignore_errors=True)
    return [(landed.num_rows, errors.num_rows)]


def build(
    pipeline,
    input_path: str,
    output: str,
    processing_ts: dt.datetime,
    chunk_bytes: int = CHUNK_BYTES,
):
    """Add the bounded claims pipeline to ``pipeline``.

    Range results are staged as Arrow files in a temporary folder (removed by the final step);
    the DirectRunner runs every step on this machine, so a local folder is shared by all.
    """
    import tempfile

    beam = _beam()
    staging = tempfile.mkdtemp(prefix="hospigen-claims-")
    return (
        pipeline
        | "Ranges" >> beam.Create(ranges_of(input_path, chunk_bytes))
        | "Spread" >> beam.Reshuffle()
        | "ParseValidateEnrich" >> beam.FlatMap(_process, processing_ts, staging)
        | "Gather" >> beam.combiners.ToList()
        | "DedupeAndWrite" >> beam.FlatMap(_finalise, output, processing_ts, staging)
    )


class _ProcessBundle:
    """Streaming: the messages of one bundle are one batch, landed when the bundle finishes."""

    def __init__(self, output: str, clock) -> None:
        self.output, self.clock = output, clock

    def start_bundle(self) -> None:
        self._payloads: list[bytes] = []

    def process(self, payload: bytes):
        self._payloads.append(payload)
        return []

    def finish_bundle(self):
        import hashlib

        import duckdb

        from hospigen.pipelines.claims.core import process_batch
        from hospigen.pipelines.claims.dedupe import apply_history, merge_errors
        from hospigen.pipelines.claims.sinks import open_sink

        if not self._payloads:
            return
        out = process_batch(self._payloads, self.clock())
        con = duckdb.connect()
        con.execute("SET TimeZone='UTC'")
        landed, dups = apply_history(con, out.claims, None, out.raw_of)  # this bundle only
        errors = merge_errors(out.errors, dups)
        name = "stream-" + hashlib.sha256(b"\n".join(self._payloads)).hexdigest()[:20]
        open_sink(self.output).write(landed, errors, name)
        self._payloads = []


def build_streaming(pipeline, subscription: str, output: str, clock):
    """Add the streaming claims pipeline: Pub/Sub subscription → core → sink, per bundle."""
    beam = _beam()
    dofn = type("ProcessBundle", (_ProcessBundle, beam.DoFn), {})
    return (
        pipeline
        | "ReadPubSub" >> beam.io.ReadFromPubSub(subscription=subscription)
        | "ParseValidateEnrichWrite" >> beam.ParDo(dofn(output, clock))
    )


def _now() -> dt.datetime:
    # the entry point is the one place that reads the clock (streaming stamps each bundle)
    return dt.datetime.now(dt.UTC)


def direct_defaults(beam_args: list[str]) -> list[str]:
    """``beam_args`` plus one DirectRunner worker thread per core, unless the caller chose.

    The DirectRunner runs one worker by default. Here each element is a byte range whose work
    is DuckDB and Arrow, which release the GIL, so worker threads use every core (measured on
    a million claims, 2 cores: 75,000 → 120,000 claims/s). Other runners are left alone.
    """
    joined = " ".join(beam_args)
    if "DirectRunner" not in joined or "--direct_num_workers" in joined:
        return beam_args
    extra = [f"--direct_num_workers={os.cpu_count() or 1}"]
    if "--direct_running_mode" not in joined:
        extra.append("--direct_running_mode=multi_threading")
    return [*beam_args, *extra]


def _output_of(args) -> str | None:
    if args.output:
        return args.output
    if args.output_table:
        project, _, rest = args.output_table.partition(":")
        return f"bigquery://{project}/{rest.split('.')[0]}"
    return None


def run(argv: list[str] | None = None, *, worker_per_core: bool = False) -> None:
    """Command-line entry: the seed's flags plus a bounded ``--input``.

    ``worker_per_core`` adds :func:`direct_defaults` (the command line does). It is off for
    callers in a longer-lived process: Beam's multi-threaded DirectRunner leaves its gRPC
    threads behind, and a process forked after that (``generate --workers 2``) hangs.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", help="bounded input: local log folder or NDJSON file")
    parser.add_argument("--input_subscription", help="projects/P/subscriptions/S (streaming)")
    parser.add_argument("--output_table", help="PROJECT:DATASET.claims_events_stream")
    parser.add_argument("--error_table", help="PROJECT:DATASET.processing_errors")
    parser.add_argument("--output", help="parquet:///folder or bigquery://project/dataset")
    parser.add_argument("--processing_time", help="fixed processing timestamp (ISO 8601)")
    parser.add_argument("--chunk_bytes", type=int, default=CHUNK_BYTES, help="bytes per range")
    args, beam_args = parser.parse_known_args(argv)
    beam = _beam()
    from apache_beam.options.pipeline_options import PipelineOptions

    if "--runner" not in " ".join(beam_args):
        raise UsageError("name the runner explicitly, e.g. --runner DirectRunner")
    fixed = (
        dt.datetime.fromisoformat(args.processing_time.replace("Z", "+00:00"))
        if args.processing_time
        else None
    )
    output = _output_of(args)
    if args.input_subscription:
        if "--streaming" not in beam_args or not output:
            raise UsageError("--input_subscription needs --streaming and --output/--output_table")
        options = PipelineOptions(beam_args)
        p = beam.Pipeline(options=options)
        build_streaming(p, args.input_subscription, output, (lambda: fixed) if fixed else _now)
        result = p.run()
        result.wait_until_finish()
        return
    if not args.input or not output:
        raise UsageError("bounded mode needs --input and --output (or --output_table)")
    if worker_per_core:
        beam_args = direct_defaults(beam_args)
    with beam.Pipeline(options=PipelineOptions(beam_args)) as p:
        build(p, args.input, output, fixed or _now(), args.chunk_bytes)


if __name__ == "__main__":
    run(worker_per_core=True)
