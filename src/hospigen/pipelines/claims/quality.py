"""Data-quality checks over landed tables (seed alerts: < 10 claims a day, errors > 5 %)."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

ERROR_RATE_THRESHOLD = 0.05
MIN_DAILY_CLAIMS = 10


@dataclass
class QualityReport:
    """Daily volumes, error rate and the high-risk distribution, with pass/fail."""

    daily: list[tuple]
    error_rate: float
    errors_by_code: list[tuple]
    risk_bands: list[tuple]
    failures: list[str]


def check(
    con: duckdb.DuckDBPyConnection,
    threshold: float = ERROR_RATE_THRESHOLD,
    min_daily: int = MIN_DAILY_CLAIMS,
) -> QualityReport:
    """Run the checks on ``claims_events_stream`` / ``processing_errors`` in ``con``.

    Duplicate claim ids (redeliveries) are reported but are not data errors.
    """
    daily = con.sql(
        """WITH c AS (SELECT processing_timestamp::DATE AS day, count(*) AS claims,
                 count(*) FILTER (WHERE high_risk_flag) AS high_risk
               FROM claims_events_stream GROUP BY 1),
           e AS (SELECT error_timestamp::DATE AS day, count(*) AS errors
               FROM processing_errors WHERE error_code <> 'duplicate_claim_id' GROUP BY 1)
        SELECT coalesce(c.day, e.day) AS day, coalesce(claims, 0), coalesce(high_risk, 0),
               coalesce(errors, 0)
        FROM c FULL JOIN e ON c.day = e.day ORDER BY 1"""
    ).fetchall()
    claims = sum(r[1] for r in daily)
    errors = sum(r[3] for r in daily)
    rate = errors / (claims + errors) if claims + errors else 0.0
    by_code = con.sql(
        "SELECT error_code, count(*) FROM processing_errors GROUP BY 1 ORDER BY 2 DESC, 1"
    ).fetchall()
    bands = con.sql(
        """SELECT CASE WHEN fraud_risk_score = 0 THEN '0'
                       WHEN fraud_risk_score <= 0.25 THEN '(0, 0.25]'
                       WHEN fraud_risk_score <= 0.5 THEN '(0.25, 0.5]'
                       WHEN fraud_risk_score <= 0.75 THEN '(0.5, 0.75]'
                       ELSE '(0.75, 1]' END AS band, count(*)
           FROM claims_events_stream GROUP BY 1 ORDER BY 1"""
    ).fetchall()
    failures = []
    if rate > threshold:
        failures.append(f"error rate {rate:.2%} is above the {threshold:.0%} threshold")
    low = [r for r in daily if r[1] < min_daily]
    if low:
        failures.append(f"{len(low)} day(s) with fewer than {min_daily} claims")
    return QualityReport(daily, rate, by_code, bands, failures)
