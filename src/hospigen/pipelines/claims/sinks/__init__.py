"""Where landed claims and errors go; one sink per file, chosen by URL scheme.

* ``duckdb:///path.duckdb`` (default): tables plus stream offsets, committed together;
* ``parquet:///folder``: hive folders partitioned by day of processing/error timestamp;
* ``bigquery://project/dataset``: DAY-partitioned BigQuery tables (``gcp`` extra).
"""

from __future__ import annotations

import importlib

from hospigen.errors import UsageError

SINKS = {
    "duckdb": "hospigen.pipelines.claims.sinks.duckdb",
    "parquet": "hospigen.pipelines.claims.sinks.parquet",
    "bigquery": "hospigen.pipelines.claims.sinks.bigquery",
}


def open_sink(url: str):
    """The sink for ``url`` (``scheme://…``)."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in SINKS:
        raise UsageError(f"unknown warehouse {url!r}: use {', '.join(s + '://…' for s in SINKS)}")
    return importlib.import_module(SINKS[scheme]).open_sink(rest)
