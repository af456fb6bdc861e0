"""The claims pipeline on Apache Beam, with the seed's flags, using the same processing core.

Bounded input (``--input PATH``: a local log folder or an NDJSON file) is cut into chunks of
lines; each Beam element is a chunk (per-element Beam overhead is ~6 µs, so chunks, not
messages), processed by :func:`~hospigen.pipelines.claims.core.process_batch`. All chunk results
then meet in one finalising step that applies the history rules (duplicate ids, duplicate
submissions) in stream order, exactly as the local runner does, and writes Parquet or BigQuery.

Streaming (``--input_subscription`` with ``--streaming``) reads Pub/Sub, batches messages into
chunks and writes to BigQuery with ``insertId = claim_id`` (best-effort dedupe only).

Name the runner explicitly (``--runner DirectRunner``): with none, Beam 2.77 first tries to
download the Prism runner.
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa

from hospigen.errors import MissingExtraError, UsageError

CHUNK = 100_000


def _beam():
    try:
        import apache_beam as beam
    except ImportError:
        raise MissingExtraError("beam", "the Beam claims pipeline") from None
    return beam


def chunks_of(path: str, chunk: int = CHUNK) -> list[tuple[int, list[bytes]]]:
    """(first position, raw messages) chunks of a local log folder or NDJSON file."""
    from hospigen import stream

    p = Path(path)
    if p.is_dir():
        reader = stream.open_reader(str(p), "beam")
        reader.seek(None)
        out, pos = [], 0
        while (batch := reader.read(chunk)) is not None:
            out.append((pos, batch.payloads.to_pylist()))
            pos += len(batch)
        return out
    from hospigen.cli.claims import _read_file

    lines = _read_file(p)
    return [(i, lines[i : i + chunk]) for i in range(0, len(lines), chunk)]


def _process(element, processing_ts: dt.datetime):
    from hospigen.pipelines.claims.core import process_batch

    start, payloads = element
    out = process_batch(payloads, processing_ts, seq=np.arange(start, start + len(payloads)))
    return [(start, out.claims, out.errors)]


def _finalise(parts, output: str, processing_ts: dt.datetime):
    import duckdb

    from hospigen.pipelines.claims.dedupe import apply_history
    from hospigen.pipelines.claims.sinks import open_sink

    parts = sorted(parts, key=lambda p: p[0])
    claims = pa.concat_tables([p[1] for p in parts])
    errors = pa.concat_tables([p[2] for p in parts])
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    landed, dups = apply_history(con, claims, None)
    errors = pa.concat_tables([errors, dups]).sort_by("_seq")
    sink = open_sink(output)
    sink.write(landed, errors, f"part-{processing_ts:%Y%m%dT%H%M%S}")
    return [(landed.num_rows, errors.num_rows)]


def build(pipeline, input_path: str, output: str, processing_ts: dt.datetime, chunk: int = CHUNK):
    """Add the bounded claims pipeline to ``pipeline``."""
    beam = _beam()
    return (
        pipeline
        | "Chunks" >> beam.Create(chunks_of(input_path, chunk))
        | "Spread" >> beam.Reshuffle()
        | "ParseValidateEnrich" >> beam.FlatMap(_process, processing_ts)
        | "Gather" >> beam.combiners.ToList()
        | "DedupeAndWrite" >> beam.FlatMap(_finalise, output, processing_ts)
    )


def run(argv: list[str] | None = None) -> None:
    """Command-line entry: the seed's flags plus a bounded ``--input``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", help="bounded input: local log folder or NDJSON file")
    parser.add_argument("--input_subscription", help="projects/P/subscriptions/S (streaming)")
    parser.add_argument("--output_table", help="PROJECT:DATASET.claims_events_stream")
    parser.add_argument("--error_table", help="PROJECT:DATASET.processing_errors")
    parser.add_argument("--output", help="parquet:///folder or bigquery://project/dataset")
    parser.add_argument("--processing_time", help="fixed processing timestamp (ISO 8601)")
    parser.add_argument("--chunk", type=int, default=CHUNK)
    args, beam_args = parser.parse_known_args(argv)
    beam = _beam()
    from apache_beam.options.pipeline_options import PipelineOptions

    if "--runner" not in " ".join(beam_args):
        raise UsageError("name the runner explicitly, e.g. --runner DirectRunner")
    ts = (
        dt.datetime.fromisoformat(args.processing_time.replace("Z", "+00:00"))
        if args.processing_time
        else dt.datetime.now(dt.UTC)
    )
    output = args.output
    if output is None and args.output_table:
        project, _, rest = args.output_table.partition(":")
        output = f"bigquery://{project}/{rest.split('.')[0]}"
    if not args.input or not output:
        raise UsageError("bounded mode needs --input and --output (or --output_table)")
    with beam.Pipeline(options=PipelineOptions(beam_args)) as p:
        build(p, args.input, output, ts, args.chunk)


if __name__ == "__main__":
    run()
