"""Report sections: each reads what it needs from the warehouse, or says what is missing.

A section function takes a DuckDB connection and returns a :class:`Section`. Table names are
the ones ``hospigen demo`` loads (see docs/report.md): ``cohort.*`` (generated tables),
``daily.*`` (daily batch files), ``claims_events_stream`` / ``processing_errors`` (claims
pipeline), ``synthea_raw.ingest_errors`` (ingestion), ``facilities.state_counts`` and
``quality.checks``.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass

import duckdb
import numpy as np

from hospigen.report import charts


@dataclass
class Section:
    """One block of the report: a title, a figure (SVG) or a table (HTML), and a caption."""

    title: str
    body: str
    caption: str = ""
    missing: bool = False


def _has(con: duckdb.DuckDBPyConnection, qualified: str) -> bool:
    schema, _, table = qualified.rpartition(".")
    return bool(
        con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = ?"
            + (" AND table_schema = ?" if schema else ""),
            [table, schema] if schema else [table],
        ).fetchone()[0]
    )


def _missing(title: str, *tables: str) -> Section:
    return Section(title, "", f"not in this warehouse: {', '.join(tables)}", missing=True)


def _requires(*tables: str):
    """Decorator: return a 'missing' section unless every table exists."""

    def wrap(fn: Callable[[duckdb.DuckDBPyConnection], Section]):
        title = fn.__doc__.strip().splitlines()[0].rstrip(".")

        def run(con: duckdb.DuckDBPyConnection) -> Section:
            absent = [t for t in tables if not _has(con, t)]
            return _missing(title, *absent) if absent else fn(con)

        run.__name__, run.__doc__ = fn.__name__, fn.__doc__
        return run

    return wrap


@_requires("cohort.patients")
def population_pyramid(con) -> Section:
    """Population pyramid."""
    rows = con.execute(
        """
        WITH ref AS (SELECT coalesce((SELECT max(stop)::DATE FROM cohort.encounters),
                                      (SELECT max(birth_date) FROM cohort.patients)) AS d)
        SELECT least(date_diff('year', birth_date, (SELECT d FROM ref)) // 5 * 5, 90) AS band,
               gender, count(*)
        FROM cohort.patients GROUP BY ALL ORDER BY band
        """
    ).fetchall()
    bands = sorted({r[0] for r in rows})
    count = {(r[0], r[1]): r[2] for r in rows}
    labels = [f"{b}–{b + 4}" if b < 90 else "90+" for b in bands]
    female = [count.get((b, "F"), 0) for b in bands]
    male = [count.get((b, "M"), 0) for b in bands]
    total = sum(female) + sum(male)
    svg = charts.pyramid("Population pyramid", labels, female, male)
    return Section("Population pyramid", svg, f"{total:,} generated patients by 5-year age band")


@_requires("cohort.encounters")
def encounter_mix(con) -> Section:
    """Encounter mix."""
    rows = con.execute(
        "SELECT encounter_class, count(*) FROM cohort.encounters GROUP BY 1 ORDER BY 2 DESC"
    ).fetchall()
    svg = charts.bar_chart(
        "Encounter mix", [r[0] for r in rows], [r[1] for r in rows], "encounters"
    )
    return Section("Encounter mix", svg, "generated encounters by class")


@_requires("daily.encounters")
def scenario_mix(con) -> Section:
    """Scenario mix of the daily batches."""
    rows = con.execute(
        "SELECT scenario, count(*) FROM daily.encounters GROUP BY 1 ORDER BY 2 DESC"
    ).fetchall()
    svg = charts.bar_chart(
        "Scenario mix (daily batches)", [r[0] for r in rows], [r[1] for r in rows], "encounters"
    )
    return Section("Scenario mix", svg, "daily-batch encounters by scenario")


def _vitals_by_scenario(con, vital: str):
    return (
        con.execute(
            """
        SELECT e.scenario, v.value,
               date_diff('minute', e.admit_time::TIMESTAMP, v.event_time::TIMESTAMP) / 60.0 AS hours
        FROM daily.vitals v JOIN daily.encounters e USING (encounter_id)
        WHERE v.vital_type = ?
        """,
            [vital],
        ).fetchnumpy()
        | {}
    )


@_requires("daily.vitals", "daily.encounters")
def vitals_distributions(con) -> Section:
    """Heart rate by scenario."""
    data = _vitals_by_scenario(con, "heart_rate")
    series = {s: data["value"][data["scenario"] == s] for s in np.unique(data["scenario"])}
    svg = charts.histograms("Heart rate by scenario", series, "beats per minute")
    return Section(
        "Vital signs by scenario", svg, "all heart-rate measurements of the daily batches"
    )


@_requires("daily.vitals", "daily.encounters")
def vitals_trajectories(con) -> Section:
    """SpO2 and heart-rate trajectories."""
    rows = con.execute(
        """
        SELECT e.scenario, v.vital_type,
               floor(date_diff('minute', e.admit_time::TIMESTAMP, v.event_time::TIMESTAMP) / 360.0)
                 * 6 AS hours, avg(v.value) AS mean
        FROM daily.vitals v JOIN daily.encounters e USING (encounter_id)
        WHERE v.vital_type = 'heart_rate'
        GROUP BY ALL HAVING count(*) >= 5 ORDER BY hours
        """
    ).fetchall()
    series: dict[str, tuple[list, list]] = {}
    for scenario, _, hours, mean in rows:
        xs, ys = series.setdefault(scenario, ([], []))
        xs.append(hours)
        ys.append(mean)
    svg = charts.lines(
        "Mean heart rate since admission",
        {k: (np.array(x), np.array(y)) for k, (x, y) in series.items()},
        "hours since admission",
        "beats per minute",
    )
    return Section("Vital-sign trajectories", svg, "6-hour means: sepsis falls as treatment works")


def lab_values(con) -> Section:
    """Lab values against reference ranges."""
    sources = [
        ("cohort.observations", "code", "description", "unit",
         "category = 'laboratory' AND ref_low IS NOT NULL"),
        ("daily.labs", "loinc_code", "test_name", "unit", "ref_low IS NOT NULL"),
    ]  # fmt: skip
    for table, code_col, name_col, unit_col, where in sources:
        if not _has(con, table):
            continue
        top = con.execute(
            f"SELECT {code_col}, any_value({name_col}), any_value({unit_col}), min(ref_low), "
            f"max(ref_high) FROM {table} WHERE value IS NOT NULL AND {where} "
            f"GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
        ).fetchone()
        if top is None:
            continue
        code, name, unit, low, high = top
        values = con.execute(
            f"SELECT value::DOUBLE AS value FROM {table} "
            f"WHERE {code_col} = ? AND value IS NOT NULL",
            [code],
        ).fetchnumpy()["value"]
        svg = charts.histograms(
            f"{str(name)[:48]} ({code})", {"results": values}, unit or "", band=(low, high)
        )
        share = float(((values < low) | (values > high)).mean())
        caption = f"{len(values):,} results in {table}; {share:.0%} outside the reference range"
        return Section("Lab values vs reference range", svg, caption)
    return _missing("Lab values vs reference range", "laboratory results with reference ranges")


@_requires("claims_events_stream")
def fraud_scores(con) -> Section:
    """Fraud-risk score distribution."""
    data = con.execute(
        "SELECT fraud_risk_score, synthetic_label_is_fraud FROM claims_events_stream"
    ).fetchnumpy()
    labels = np.asarray(data["synthetic_label_is_fraud"]) == 1
    scores = np.asarray(data["fraud_risk_score"], dtype=float)
    svg = charts.histograms(
        "Fraud-risk score", {"labelled fraud": scores[labels], "not fraud": scores[~labels]},
        "fraud_risk_score", bins=20,
    )  # fmt: skip
    return Section("Claims fraud-risk score", svg, f"{len(scores):,} processed claims")


@_requires("claims_events_stream")
def fraud_roc(con) -> Section:
    """ROC curves per fraud pattern."""
    data = con.execute(
        "SELECT fraud_risk_score, synthetic_label_is_fraud, synthetic_fraud_pattern "
        "FROM claims_events_stream"
    ).fetchnumpy()
    scores = np.asarray(data["fraud_risk_score"], dtype=float)
    labels = np.asarray(data["synthetic_label_is_fraud"]) == 1
    patterns = np.asarray(data["synthetic_fraud_pattern"], dtype=object)
    curves = {"overall": charts.roc(scores, labels)}
    for pattern in sorted({p for p in patterns if p}):
        scope = (patterns == pattern) | ~labels  # this pattern against every legitimate claim
        curves[pattern] = charts.roc(scores[scope], labels[scope])
    svg = charts.roc_curves("ROC of fraud_risk_score per pattern", curves)
    return Section("Fraud detection (ROC)", svg, f"overall AUC {curves['overall'][2]:.3f}")


def errors_by_code(con) -> Section:
    """Errors by code."""
    parts = []
    if _has(con, "processing_errors"):
        parts.append(
            "SELECT 'claims: ' || error_code AS code, count(*) n FROM processing_errors GROUP BY 1"
        )
    if _has(con, "synthea_raw.ingest_errors"):
        parts.append(
            "SELECT 'ingest: ' || code AS code, count(*) n "
            "FROM synthea_raw.ingest_errors GROUP BY 1"
        )
    if not parts:
        return _missing("Errors by code", "processing_errors", "synthea_raw.ingest_errors")
    rows = con.execute(" UNION ALL ".join(parts) + " ORDER BY n DESC").fetchall()
    if not rows:
        return Section("Errors by code", "<p>No errors were recorded.</p>", "")
    svg = charts.bar_chart("Errors by code", [r[0] for r in rows], [r[1] for r in rows], "records")
    return Section("Errors by code", svg, "every rejected record is kept with its raw payload")


@_requires("facilities.state_counts")
def facility_states(con) -> Section:
    """Accredited facilities per state."""
    rows = con.execute(
        "SELECT state, accredited_facilities FROM facilities.state_counts "
        "ORDER BY accredited_facilities DESC LIMIT 20"
    ).fetchall()
    svg = charts.bar_chart(
        "Accredited facilities per state (top 20)", [r[0] for r in rows], [r[1] for r in rows],
        "facilities",
    )  # fmt: skip
    return Section("Facility state counts", svg, "stage 3 of the facility pipeline")


@_requires("quality.checks")
def quality_checks(con) -> Section:
    """Data quality and contracts."""
    rows = con.execute(
        "SELECT check_name, status, detail FROM quality.checks ORDER BY 1"
    ).fetchall()
    cells = "".join(
        f"<tr><td>{html.escape(str(a))}</td><td class='{html.escape(str(b))}'>{html.escape(str(b))}"
        f"</td><td>{html.escape(str(c))}</td></tr>"
        for a, b, c in rows
    )
    table = f"<table><tr><th>check</th><th>status</th><th>detail</th></tr>{cells}</table>"
    return Section("Data quality and contracts", table, "contract checks and claims quality")


SECTIONS = (
    population_pyramid,
    encounter_mix,
    scenario_mix,
    vitals_distributions,
    vitals_trajectories,
    lab_values,
    fraud_scores,
    fraud_roc,
    errors_by_code,
    facility_states,
    quality_checks,
)
