"""Clinical coherence of the 30 generated days: trends, triggers, arrival curve, notes."""

from __future__ import annotations

import re

import pyarrow as pa

from hospigen.daily_batch.labs import lab_table
from hospigen.daily_batch.vitals import LOINC, UCUM
from hospigen.terminology import default_terminology


def test_sepsis_heart_rate_and_lactate_fall_with_treatment(month_db):
    for vital_or_lab in (
        "vitals WHERE vital_type = 'heart_rate'",
        "labs WHERE test_name = 'Lactate'",
    ):
        early, late = month_db.execute(
            f"""
            WITH x AS (SELECT * FROM {vital_or_lab})
            SELECT avg(value) FILTER (WHERE x.event_time < e.admit_time
                                      + (e.discharge_time - e.admit_time) / 2),
                   avg(value) FILTER (WHERE x.event_time > e.discharge_time
                                      - (e.discharge_time - e.admit_time) / 4)
            FROM x JOIN encounters e USING (encounter_id) WHERE e.scenario = 'sepsis'
            """
        ).fetchone()
        assert early > 1.2 * late, vital_or_lab
    first, last = month_db.execute(
        """
        SELECT avg(first_value), avg(last_value) FROM (
          SELECT arg_min(value, event_time) AS first_value, arg_max(value, event_time) AS last_value
          FROM labs JOIN encounters e USING (encounter_id)
          WHERE e.scenario = 'sepsis' AND test_name = 'Lactate' GROUP BY encounter_id)
        """
    ).fetchone()
    assert first > 2.0 > last


def test_sepsis_is_febrile_and_hypotensive_early(month_db):
    rows = dict(month_db.execute(
        """
        SELECT vital_type, avg(value) FROM vitals v JOIN encounters e USING (encounter_id)
        WHERE e.scenario = 'sepsis' AND v.event_time < e.admit_time + INTERVAL 12 HOUR
        GROUP BY 1
        """
    ).fetchall())  # fmt: skip
    assert rows["temperature_c"] > 37.8 and rows["systolic_bp"] < 105 and rows["resp_rate"] > 20


def test_copd_spo2_stays_below_everyone_else(month_db):
    copd, other, copd_max_mean = month_db.execute(
        """
        SELECT avg(value) FILTER (WHERE e.scenario = 'copd_hypoxia'),
               avg(value) FILTER (WHERE e.scenario <> 'copd_hypoxia'),
               max(per_stay) FROM vitals v JOIN encounters e USING (encounter_id)
        LEFT JOIN (SELECT encounter_id, avg(value) AS per_stay FROM vitals
                   WHERE vital_type = 'spo2' GROUP BY 1) s
          ON s.encounter_id = e.encounter_id AND e.scenario = 'copd_hypoxia'
        WHERE v.vital_type = 'spo2'
        """
    ).fetchone()
    assert copd < 91 and other > 95 and copd_max_mean < 94


def test_chest_pain_raises_heart_rate_and_pressure_on_arrival(month_db):
    rows = month_db.execute(
        """
        SELECT e.scenario, v.vital_type, avg(value)
        FROM vitals v JOIN encounters e USING (encounter_id)
        WHERE v.event_time < e.admit_time + INTERVAL 2 HOUR
          AND e.scenario IN ('chest_pain', 'routine')
          AND v.vital_type IN ('heart_rate', 'systolic_bp')
        GROUP BY ALL
        """
    ).fetchall()
    mean = {(s, v): x for s, v, x in rows}
    assert mean[("chest_pain", "heart_rate")] > mean[("routine", "heart_rate")] + 10
    assert mean[("chest_pain", "systolic_bp")] > mean[("routine", "systolic_bp")] + 15


def test_chest_pain_gets_serial_troponins_at_0_3_6_hours(month_db):
    gaps = month_db.execute(
        """
        SELECT list(epoch(event_time - e.admit_time) / 3600 ORDER BY event_time)
        FROM labs JOIN encounters e USING (encounter_id)
        WHERE test_name = 'Troponin' GROUP BY encounter_id
        """
    ).fetchall()
    assert gaps and all(g[0][:3] == [0.5, 3.5, 6.5] for g in gaps)
    only_chest = month_db.execute(
        "SELECT DISTINCT scenario FROM labs JOIN encounters USING (encounter_id) "
        "WHERE test_name = 'Troponin'"
    ).fetchall()
    assert only_chest == [("chest_pain",)]


def test_lactate_follows_sepsis_criteria_in_the_vitals(month_db):
    missing = month_db.execute(
        """
        SELECT count(*) FROM encounters e WHERE scenario = 'sepsis'
        AND NOT EXISTS (SELECT 1 FROM labs l WHERE l.encounter_id = e.encounter_id
                        AND test_name = 'Lactate')
        """
    ).fetchone()[0]
    assert missing == 0
    # non-sepsis encounters get a lactate only after two SIRS vitals were charted
    early = month_db.execute(
        """
        WITH first_lactate AS (
          SELECT encounter_id, min(event_time) AS at FROM labs
          WHERE test_name = 'Lactate' GROUP BY 1),
        sirs AS (
          SELECT encounter_id, event_time,
                 (max(value) FILTER (WHERE vital_type = 'heart_rate') > 90)::INT
               + (max(value) FILTER (WHERE vital_type = 'resp_rate') > 20)::INT
               + coalesce((max(value) FILTER (WHERE vital_type = 'temperature_c')
                           NOT BETWEEN 36 AND 38)::INT, 0)
                 AS n
          FROM vitals GROUP BY 1, 2)
        SELECT count(*) FROM first_lactate f JOIN encounters e USING (encounter_id)
        WHERE e.scenario <> 'sepsis' AND NOT EXISTS (
          SELECT 1 FROM sirs s WHERE s.encounter_id = f.encounter_id AND s.n >= 2
                                 AND s.event_time <= f.at)
        """
    ).fetchone()[0]
    assert early == 0


def test_admissions_follow_the_daily_arrival_curve(month_db):
    by_hour = dict(
        month_db.execute("SELECT hour(admit_time), count(*) FROM encounters GROUP BY 1").fetchall()
    )
    night = sum(by_hour.get(h, 0) for h in (2, 3, 4, 5))
    late_morning = sum(by_hour.get(h, 0) for h in (10, 11, 12, 13))
    assert late_morning > 2.5 * night


def test_length_of_stay_is_right_skewed_within_the_seed_ranges(month_db):
    rows = month_db.execute(
        "SELECT scenario, min(los_hours), max(los_hours), avg(los_hours), median(los_hours) "
        "FROM encounters GROUP BY 1"
    ).fetchall()
    bounds = {
        "routine": (6, 36),
        "chest_pain": (12, 72),
        "sepsis": (24, 120),
        "copd_hypoxia": (24, 96),
    }
    for scenario, low, high, mean, median in rows:
        assert bounds[scenario][0] <= low and high <= bounds[scenario][1]
        assert mean > median  # right-skewed


def test_lab_and_vital_codes_come_from_the_terminology():
    terms = default_terminology()
    for row in lab_table().to_pylist():
        concept = terms.lookup("loinc", row["loinc_code"])
        assert concept.get("unit") == row["unit"], row["test_name"]
    for code, unit in zip(LOINC, UCUM, strict=True):
        assert terms.lookup("loinc", code).get("unit") == unit


def test_notes_never_quote_the_future(month_db):
    bad = month_db.execute(
        """
        SELECT count(*) FROM (SELECT note_time, unnest(lab_refs) AS ref FROM notes) n
        LEFT JOIN labs l ON l.lab_event_id = n.ref
        WHERE l.lab_event_id IS NULL OR l.result_time > n.note_time
        """
    ).fetchone()[0]
    assert bad == 0
    assert month_db.execute(
        "SELECT count(*) FROM notes WHERE vitals_as_of > note_time"
    ).fetchone() == (0,)


_QUOTE = re.compile(r"(WBC|HGB|PLT|Na|K|Cr|BUN|Glucose|Lactate|Troponin) ([0-9.]+) ")


def test_every_result_a_note_mentions_was_resulted_before_it(month_db):
    """Read the text itself: each "Lactate 3.4" must match a result out by note_time."""
    notes = month_db.execute("SELECT encounter_id, note_time, text FROM notes").fetchall()
    mentions = [(e, t, name, float(v)) for e, t, text in notes for name, v in _QUOTE.findall(text)]
    assert len(mentions) > 1000
    table = pa.table(dict(zip(("encounter_id", "note_time", "test_name", "value"),
                              map(list, zip(*mentions, strict=True)), strict=True)))  # fmt: skip
    month_db.register("mentions", table)
    unmatched = month_db.execute(
        """
        SELECT count(*) FROM mentions m WHERE NOT EXISTS (
          SELECT 1 FROM labs l WHERE l.encounter_id = m.encounter_id AND l.test_name = m.test_name
            AND abs(l.value - m.value) < 1e-9 AND l.result_time <= m.note_time)
        """
    ).fetchone()[0]
    assert unmatched == 0


def test_quoted_vitals_are_the_ones_charted_at_vitals_as_of(month_db):
    checked, wrong = month_db.execute(
        r"""
        WITH quoted AS (
          SELECT encounter_id, vitals_as_of,
                 CAST(regexp_extract(text, 'HR (\d+) bpm', 1) AS DOUBLE) AS hr,
                 CAST(regexp_extract(text, 'SpO2 (\d+)%', 1) AS DOUBLE) AS spo2
          FROM notes WHERE note_type <> 'lab_review')
        SELECT count(*), count(*) FILTER (WHERE h.value IS DISTINCT FROM q.hr
                                             OR s.value IS DISTINCT FROM q.spo2)
        FROM quoted q
        LEFT JOIN vitals h ON h.encounter_id = q.encounter_id AND h.event_time = q.vitals_as_of
                          AND h.vital_type = 'heart_rate'
        LEFT JOIN vitals s ON s.encounter_id = q.encounter_id AND s.event_time = q.vitals_as_of
                          AND s.vital_type = 'spo2'
        """
    ).fetchone()
    assert checked > 1000 and wrong == 0


def test_every_encounter_has_triage_assessment_and_discharge_notes(month_db):
    rows = month_db.execute(
        "SELECT count(DISTINCT encounter_id) FILTER (WHERE note_type = 'triage'), "
        "count(DISTINCT encounter_id) FILTER (WHERE note_type = 'discharge'), "
        "count(DISTINCT encounter_id) FILTER (WHERE note_type = 'assessment_plan') FROM notes"
    ).fetchone()
    total = month_db.execute("SELECT count(*) FROM encounters").fetchone()[0]
    assert rows == (total, total, total)
