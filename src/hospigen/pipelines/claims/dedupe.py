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

import duckdb
import pyarrow as pa

from hospigen.pipelines.claims.core import CLAIMS_WORK, ERRORS_WORK
from hospigen.pipelines.claims.rules import rules

_HISTORY_EMPTY = "(SELECT NULL::VARCHAR AS claim_id, NULL::VARCHAR AS claim_fingerprint LIMIT 0)"


def apply_history(
    con: duckdb.DuckDBPyConnection, claims: pa.Table, history: str | None = None
) -> tuple[pa.Table, pa.Table]:
    """(claims to land, duplicate-id error rows) for ``claims`` given landed ``history``.

    ``history`` names a table with ``claim_id`` and ``claim_fingerprint`` columns (trusted,
    ours) or is ``None`` for none.
    """
    source = history or _HISTORY_EMPTY
    weight = rules()["duplicate_submission"].weight
    con.register("_incoming", claims)
    try:
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE _flagged AS
            SELECT *,
              row_number() OVER (PARTITION BY claim_id ORDER BY _seq) > 1
                OR claim_id IN (SELECT claim_id FROM {source}) AS _dup_id
            FROM _incoming"""
        )
        landed = con.sql(
            f"""WITH k AS (SELECT * FROM _flagged WHERE NOT _dup_id),
            f AS (SELECT *,
              row_number() OVER (PARTITION BY claim_fingerprint ORDER BY _seq) > 1
                OR claim_fingerprint IN (SELECT claim_fingerprint FROM {source}) AS _dup_fp
              FROM k)
            SELECT * EXCLUDE (_dup_id, _dup_fp, fraud_risk_score, high_risk_flag, fraud_reasons),
              CASE WHEN _dup_fp THEN round(1 - (1 - fraud_risk_score) * (1 - {weight}), 6)
                   ELSE fraud_risk_score END AS fraud_risk_score,
              CASE WHEN _dup_fp THEN round(1 - (1 - fraud_risk_score) * (1 - {weight}), 6)
                   ELSE fraud_risk_score END > 0.5 AS high_risk_flag,
              CASE WHEN _dup_fp THEN list_append(fraud_reasons, 'duplicate_submission')
                   ELSE fraud_reasons END AS fraud_reasons
            FROM f ORDER BY _seq"""
        ).to_arrow_table()
        dups = con.sql(
            """SELECT _seq, claim_id,
              'claim_id ' || claim_id || ' already landed; this copy was not loaded' AS error,
              processing_timestamp AS error_timestamp, decode(_raw) AS raw_claim,
              _raw AS raw_message, 'duplicate_claim_id' AS error_code
            FROM _flagged WHERE _dup_id ORDER BY _seq"""
        ).to_arrow_table()
    finally:
        con.unregister("_incoming")
        con.execute("DROP TABLE IF EXISTS _flagged")
    landed = landed.select(CLAIMS_WORK.names).cast(CLAIMS_WORK)
    return landed, dups.cast(ERRORS_WORK)
