"""Clinical notes: one templated note per encounter, written at the encounter's end.

A note may only state what was known when it was written: problems whose onset is on or before
the note time (and not yet resolved), medications started by then, and the results measured at
this very encounter. The join runs in DuckDB over the shard's Arrow tables (vectorised, ordered).
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from hospigen.model import schema, uuids

_SQL = """
WITH enc AS (
    SELECT e.encounter_id, e.patient_id, e.stop AS note_time, e.start, e.encounter_class,
           e.description, e.reason_description, p.gender, p.birth_date, p.patient_key, e.rn,
           row_number() OVER (PARTITION BY e.patient_id ORDER BY e.rn) - 1 AS ord
    FROM encounters e
    JOIN patients p USING (patient_id)
),
problems AS (
    SELECT enc.encounter_id,
           string_agg(DISTINCT c.description, '; ' ORDER BY c.description) AS text
    FROM enc JOIN conditions c ON c.patient_id = enc.patient_id
    JOIN encounters ce ON ce.encounter_id = c.encounter_id
     AND ce.start <= enc.note_time AND c.onset <= enc.note_time
     AND (c.abatement IS NULL OR c.abatement > enc.note_time)
    GROUP BY enc.encounter_id
),
meds AS (
    SELECT enc.encounter_id,
           string_agg(DISTINCT m.description, '; ' ORDER BY m.description) AS text
    FROM enc JOIN medications m
      ON m.patient_id = enc.patient_id AND m.start <= enc.note_time
     AND (m.stop IS NULL OR m.stop > enc.note_time)
    GROUP BY enc.encounter_id
),
results AS (
    SELECT o.encounter_id,
           string_agg(o.description || ': ' ||
                      coalesce(CAST(o.value AS VARCHAR) || coalesce(' ' || o.unit, ''),
                               o.value_text),
                      '; ' ORDER BY o.code, o.observation_id) AS text
    FROM observations o
    GROUP BY o.encounter_id
)
SELECT enc.encounter_id, enc.patient_id, enc.note_time, enc.patient_key, enc.ord,
       CASE enc.encounter_class WHEN 'wellness' THEN 'wellness_visit'
            WHEN 'emergency' THEN 'emergency' WHEN 'inpatient' THEN 'discharge_summary'
            ELSE 'progress' END AS note_type,
       enc.description || ' on ' || strftime(enc.start, '%Y-%m-%d') || '. '
       || 'Patient is a ' || CAST(date_diff('year', enc.birth_date, CAST(enc.start AS DATE))
                                  - CASE WHEN strftime(enc.start, '%m-%d')
                                             < strftime(enc.birth_date, '%m-%d')
                                         THEN 1 ELSE 0 END AS VARCHAR)
       || '-year-old ' || CASE enc.gender WHEN 'F' THEN 'female' ELSE 'male' END || '. '
       || coalesce('Reason for visit: ' || enc.reason_description || '. ', '')
       || 'Active problems: ' || coalesce(problems.text, 'none recorded') || '. '
       || 'Current medications: ' || coalesce(meds.text, 'none') || '. '
       || coalesce('Findings: ' || results.text || '. ', '')
       || 'Plan: continue current care; follow up as scheduled.' AS text
FROM enc
LEFT JOIN problems USING (encounter_id)
LEFT JOIN meds USING (encounter_id)
LEFT JOIN results USING (encounter_id)
ORDER BY enc.rn
"""


def notes_table(seed: int, tables: dict[str, pa.Table]) -> pa.Table:
    """One note per encounter of ``tables`` (which must hold the shard's clinical tables)."""
    con = duckdb.connect()
    try:
        con.execute("SET threads = 1")  # deterministic and friendly to worker processes
        con.execute("SET TimeZone = 'UTC'")
        encounters = tables["encounters"]
        con.register("encounters", encounters.append_column("rn", pa.array(range(len(encounters)))))
        for name in ("patients", "conditions", "medications", "observations"):
            con.register(name, tables[name])
        result = con.sql(_SQL).to_arrow_table()
    finally:
        con.close()
    # one chunk of plain strings: the Parquet bytes must not depend on DuckDB's vector chunks
    result = result.combine_chunks()
    keys = result.column("patient_key").to_numpy().astype("uint64")
    ordinal = result.column("ord").to_numpy().astype("uint64")
    # note ids share the encounter's key (patient key, encounter ordinal): one note per encounter
    note_keys = keys * (1 << 20) + ordinal
    return pa.table(
        {
            "note_id": uuids(seed, "note", note_keys),
            "patient_id": result.column("patient_id"),
            "encounter_id": result.column("encounter_id"),
            "note_time": result.column("note_time"),
            "note_type": result.column("note_type"),
            "text": result.column("text").cast(pa.string()),
        },
        schema=schema("notes"),
    )
