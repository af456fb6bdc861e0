"""Projections of the simulated arrays onto the five output files (column order is the contract)."""

from __future__ import annotations

import numpy as np
import orjson
import pyarrow as pa

from hospigen.daily.config import ACUITIES, SCENARIOS
from hospigen.daily.encounters import Encounters
from hospigen.daily.io import iso_minutes
from hospigen.daily.labs import FLAGS, REASONS, Labs, lab_table
from hospigen.daily.notes import NOTE_TYPES, Notes
from hospigen.daily.vitals import LOINC, UNITS, VITALS, Vitals
from hospigen.model.ids import uuids


def _names(values: tuple[str, ...] | list[str], index: np.ndarray) -> pa.Array:
    return pa.array(list(values), pa.string()).take(pa.array(index, pa.int64()))


def encounter_ids(seed: int, enc: Encounters) -> pa.Array:
    """The globally unique, deterministic id of each encounter."""
    return pa.array(uuids(seed, "daily/encounter", enc.key))


def encounters_table(enc: Encounters, ids: pa.Array, patient_ids: pa.Array) -> pa.Table:
    """``encounters.csv``: the anchor table."""
    return pa.table(
        {
            "encounter_id": ids,
            "encounter_key": pa.array(enc.key),
            "patient_id": patient_ids,
            "admit_time": iso_minutes(enc.admit),
            "discharge_time": iso_minutes(enc.discharge),
            "scenario": _names(SCENARIOS, enc.scenario),
            "acuity": _names(ACUITIES, enc.acuity),
            "los_hours": pa.array(np.round((enc.discharge - enc.admit) / 60.0, 2)),
            "vitals_source": _names(("manual", "monitor"), enc.monitored.astype(np.int64)),
        }
    )


def patients_table(registry_rows: pa.Table, age: np.ndarray) -> pa.Table:
    """``patients.csv``: registry rows of the day's patients with their age on the batch date."""
    cols = ["patient_id", "patient_key", "mrn", "first_name", "last_name", "sex", "birth_date"]
    out = {c: registry_rows[c] for c in cols}
    out["patient_key"] = out["patient_key"].cast(pa.int64())
    out["age"] = pa.array(age.astype(np.int64))
    for c in ("address", "city", "state", "zip", "registered_date"):
        out[c] = registry_rows[c]
    return pa.table(out)


def vitals_table(v: Vitals, enc_ids: pa.Array, pat_ids: pa.Array) -> pa.Table:
    """``vitals.csv`` in long format: one row per (encounter, time, vital type)."""
    flat = np.flatnonzero(v.present.ravel())
    step, kind = flat // 6, flat % 6
    times = iso_minutes(v.time)
    e = pa.array(v.enc[step])
    return pa.table(
        {
            "encounter_id": enc_ids.take(e),
            "patient_id": pat_ids.take(e),
            "event_time": times.take(pa.array(step)),
            "vital_type": _names(VITALS, kind),
            "value": pa.array(v.values.ravel()[flat]),
            "unit": _names(UNITS, kind),
            "loinc_code": _names(LOINC, kind),
            "source": _names(("monitor", "manual"), v.manual.ravel()[flat].astype(np.int64)),
        }
    )


def lab_ids(seed: int, enc: Encounters, labs: Labs) -> pa.Array:
    """Deterministic lab event ids (encounter key, position in the encounter)."""
    return pa.array(uuids(seed, "daily/lab", (enc.key[labs.enc] << 12) | labs.seq))


def labs_table(labs: Labs, ids: pa.Array, enc_ids: pa.Array, pat_ids: pa.Array) -> pa.Table:
    """``labs.csv``: one row per result."""
    cat = lab_table()
    t = pa.array(labs.test)
    e = pa.array(labs.enc)
    return pa.table(
        {
            "lab_event_id": ids,
            "encounter_id": enc_ids.take(e),
            "patient_id": pat_ids.take(e),
            "event_time": iso_minutes(labs.collected),
            "result_time": iso_minutes(labs.resulted),
            "test_name": cat["test_name"].take(t),
            "loinc_code": cat["loinc_code"].take(t),
            "value": pa.array(labs.value),
            "unit": cat["unit"].take(t),
            "ref_low": cat["ref_low"].cast(pa.float64()).take(t),
            "ref_high": cat["ref_high"].cast(pa.float64()).take(t),
            "abnormal_flag": _names(FLAGS, labs.flag),
            "order_reason": _names(REASONS, labs.reason),
        }
    )


def notes_jsonl(
    seed: int, enc: Encounters, notes: Notes, lab_id: pa.Array, enc_ids: pa.Array,
    pat_ids: pa.Array,
) -> tuple[bytes, int]:  # fmt: skip
    """``notes.jsonl`` bytes (one JSON object a line) and the number of notes."""
    ids = uuids(seed, "daily/note", (enc.key[notes.enc] << 8) | notes.seq).tolist()
    lab_id_list = lab_id.to_pylist()
    refs = np.stack(notes.lab_refs, axis=1) if notes.lab_refs else np.empty((len(ids), 0))
    ref_ids = [
        sorted({lab_id_list[r] for r in row if r >= 0}) for row in refs.tolist()
    ]  # small per-note lists; set() drops a review's double mention
    e = pa.array(notes.enc)
    columns = zip(
        ids,
        enc_ids.take(e).to_pylist(),
        pat_ids.take(e).to_pylist(),
        iso_minutes(notes.time).to_pylist(),
        _names(NOTE_TYPES, notes.kind).to_pylist(),
        notes.text.tolist(),
        iso_minutes(notes.vitals_at).to_pylist(),
        ref_ids,
        strict=True,
    )
    keys = ("note_id", "encounter_id", "patient_id", "note_time", "note_type", "text",
            "vitals_as_of", "lab_refs")  # fmt: skip
    lines = [orjson.dumps(dict(zip(keys, row, strict=True))) for row in columns]
    return (b"\n".join(lines) + b"\n" if lines else b""), len(lines)
