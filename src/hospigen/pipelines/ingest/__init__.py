"""FHIR ingestion: FHIR input → per-patient NDJSON objects → staging → incremental MERGE.

Steps (each idempotent and resumable; see docs/ingest.md):

1. :func:`land` — FHIR input → one NDJSON object per patient in an object store;
2. :func:`wrap_load` — each line wrapped as ``{"raw": …}`` and appended to ``raw_records_stg``;
3. :func:`materialize` — MERGE into ``patients``, ``encounters``… (latest ``generated_ts`` wins);

:func:`run` does all three. A ledger table records every landed, wrapped and loaded object
with its checksum; bad lines land in ``ingest_errors``.
"""

from hospigen.pipelines.ingest.land import LandResult, land
from hospigen.pipelines.ingest.materialize import MaterializeResult, materialize
from hospigen.pipelines.ingest.run import RunResult, run
from hospigen.pipelines.ingest.tables import ensure_tables
from hospigen.pipelines.ingest.wrap_load import WrapLoadResult, wrap_load

__all__ = [
    "LandResult",
    "MaterializeResult",
    "RunResult",
    "WrapLoadResult",
    "ensure_tables",
    "land",
    "materialize",
    "run",
    "wrap_load",
]
