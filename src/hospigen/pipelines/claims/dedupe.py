"""History-dependent steps, run in DuckDB against what has already landed.

* ``duplicate_claim_id``: a claim whose ``claim_id`` landed before (a redelivery or a resend)
  becomes an error row, keeping its raw bytes; the first occurrence in stream order wins.
* ``duplicate_submission`` (fraud rule): same patient, provider, codes, service date and amount
  as an earlier claim under another ``claim_id``; the later one gets the reason and its score
  is raised by the rule's weight (noisy-OR, like every other rule).

The local runner calls :func:`apply_history` per micro-batch against its warehouse; the Beam
pipeline calls it once over all chunks with an empty history. Both keep stream order, so
their outputs are identical.
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from hospigen.pipelines.claims.core import CLAIMS_WORK, ERRORS_WORK
from hospigen.pipelines.claims.rules import rules

_HISTORY_EMPTY = "(SELECT NULL::VARCHAR AS claim_id, NULL::VARCHAR AS claim_fingerprint LIMIT 0)"


def apply_history(
    con: duckdb.DuckDBPyConnection,
    claims: pa.Table,
    history: str | None,
    raw_of: Callable[[np.ndarray], pa.Array],
) -> tuple[pa.Table, pa.Table]:
    """(claims to land, duplicate-id error rows) for ``claims`` given landed ``history``.

    ``history`` names a table with ``claim_id`` and ``claim_fingerprint`` columns (trusted,
    ours) or is ``None`` for none. ``raw_of`` gives the raw bytes of the rows at the given
    stream positions (only duplicates need theirs). Only the few columns the rules read go
    through DuckDB; the wide columns stay in Arrow and are filtered there.
    """
    source = history or _HISTORY_EMPTY
    weight = rules()["duplicate_submission"].weight
    seq = claims.column("_seq").to_numpy()
    if len(seq) > 1 and not (np.diff(seq) > 0).all():
        claims = claims.sort_by("_seq")
    slim = claims.select(
        ["_seq", "claim_id", "claim_fingerprint", "fraud_risk_score", "fraud_reasons"]
    )
    con.register("_incoming", slim)
    try:
        flags = con.sql(
            f"""WITH f AS (SELECT *,
              row_number() OVER (PARTITION BY claim_id ORDER BY _seq) > 1
                OR claim_id IN (SELECT claim_id FROM {source}) AS _dup_id
            FROM _incoming),
            k AS (SELECT _seq,
              row_number() OVER (PARTITION BY claim_fingerprint ORDER BY _seq) > 1
                OR claim_fingerprint IN (SELECT claim_fingerprint FROM {source}) AS _dup_fp
              FROM f WHERE NOT _dup_id),
            g AS (SELECT f.*, coalesce(k._dup_fp, false) AS _dup_fp FROM f LEFT JOIN k USING (_seq))
            SELECT _dup_id,
              CASE WHEN _dup_fp THEN round(1 - (1 - fraud_risk_score) * (1 - {weight}), 6)
                   ELSE fraud_risk_score END AS fraud_risk_score,
              CASE WHEN _dup_fp THEN list_append(fraud_reasons, 'duplicate_submission')
                   ELSE fraud_reasons END AS fraud_reasons
            FROM g ORDER BY _seq"""
        ).to_arrow_table()
    finally:
        con.unregister("_incoming")
    dup = flags.column("_dup_id").to_numpy(zero_copy_only=False).astype(bool)
    keep = pa.array(~dup)
    landed = claims.filter(keep) if dup.any() else claims
    rescored = flags.filter(keep) if dup.any() else flags
    score = rescored.column("fraud_risk_score")
    for name, col in (
        ("fraud_risk_score", score),
        ("high_risk_flag", pc.greater(score, 0.5)),
        ("fraud_reasons", rescored.column("fraud_reasons")),
    ):
        landed = landed.set_column(landed.schema.get_field_index(name), name, col)
    dup_rows = claims.filter(pa.array(dup)).select(["_seq", "claim_id", "processing_timestamp"])
    raw = (
        raw_of(dup_rows.column("_seq").to_numpy())
        if dup_rows.num_rows
        else pa.array([], pa.binary())
    )
    dups = pa.table(
        {
            "_seq": dup_rows.column("_seq"),
            "claim_id": dup_rows.column("claim_id"),
            "error": pc.binary_join_element_wise(
                "claim_id ",
                dup_rows.column("claim_id"),
                " already landed; this copy was not loaded",
                "",
            ),
            "error_timestamp": dup_rows.column("processing_timestamp"),
            "raw_claim": raw.cast(pa.string()),  # a claim's bytes are valid UTF-8
            "raw_message": raw,
            "error_code": pa.array(["duplicate_claim_id"] * dup_rows.num_rows, pa.string()),
        }
    )
    landed = landed.select(CLAIMS_WORK.names).cast(CLAIMS_WORK)
    return landed, dups.cast(ERRORS_WORK)


def merge_errors(errors: pa.Table, dups: pa.Table) -> pa.Table:
    """``errors`` and the duplicate-id rows in stream order (``errors`` as is when none).

    Skipping the sort matters: error rows keep oversized messages' bytes (64 KiB each), so a
    needless sort copies hundreds of megabytes.
    """
    if dups.num_rows == 0:
        return errors
    return pa.concat_tables([errors, dups]).sort_by("_seq")
