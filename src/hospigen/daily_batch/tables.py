"""Projections of the simulated arrays onto the five output files (column order is the contract)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from hospigen.daily_batch.config import ACUITIES, SCENARIOS
from hospigen.daily_batch.encounters import Encounters
from hospigen.daily_batch.io import iso_minutes
from hospigen.daily_batch.labs import FLAGS, REASONS, Labs, lab_table
from hospigen.daily_batch.notes import NOTE_TYPES, Notes, join_present
from hospigen.daily_batch.vitals import LOINC, UNITS, VITALS, Vitals
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


def _coded(dictionary: pa.Array | tuple[str, ...], index: np.ndarray) -> pa.DictionaryArray:
    """A dictionary-encoded column: no copy of repeated strings (the CSV writer decodes it)."""
    values = (
        pa.array(list(dictionary), pa.string()) if isinstance(dictionary, tuple) else dictionary
    )
    return pa.DictionaryArray.from_arrays(pa.array(index, pa.int32()), values)


def vitals_table(v: Vitals, enc_ids: pa.Array, pat_ids: pa.Array) -> pa.Table:
    """``vitals.csv`` in long format: one row per (encounter, time, vital type)."""
    flat = np.flatnonzero(v.present.ravel())
    step, kind = flat // 6, flat % 6
    manual = v.manual.ravel()[flat].astype(np.int64)
    return pa.table(
        {
            "encounter_id": _coded(enc_ids, v.enc[step]),
            "patient_id": _coded(pat_ids, v.enc[step]),
            "event_time": _coded(iso_minutes(v.time), step),
            "vital_type": _coded(VITALS, kind),
            "value": pa.array(v.values.ravel()[flat]),
            "unit": _coded(UNITS, kind),
            "loinc_code": _coded(LOINC, kind),
            "source": _coded(("monitor", "manual"), manual),
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


def _json_string(values: pa.Array) -> pa.Array:
    """Strings as JSON string literals (quotes, backslashes and newlines escaped)."""
    out = pc.replace_substring(values, "\\", "\\\\")
    out = pc.replace_substring(out, '"', '\\"')
    out = pc.replace_substring(out, "\n", "\\n")
    return pc.binary_join_element_wise('"', out, '"', "")


def _ref_lists(refs: list[np.ndarray], lab_id: pa.Array, n: int) -> pa.Array:
    """``"id1","id2"`` per note: the quoted lab rows, de-duplicated, in chronological order."""
    if not refs or len(lab_id) == 0:
        return pa.array([""] * n, pa.string())
    m = np.sort(np.stack(refs, axis=1), axis=1)
    m[:, 1:][m[:, 1:] == m[:, :-1]] = -1  # drop a row quoted twice (sorted, so adjacent)
    out = pa.array([""] * n, pa.string())
    for col in m.T:
        ids = _json_string(lab_id.take(pa.array(np.maximum(col, 0))))
        out = join_present(out, ids, col >= 0, ",")
    return out


def notes_jsonl(
    seed: int, enc: Encounters, notes: Notes, lab_id: pa.Array, enc_ids: pa.Array,
    pat_ids: pa.Array,
) -> tuple[bytes, int]:  # fmt: skip
    """``notes.jsonl`` bytes (one JSON object a line, keys in contract order) and the count."""
    n = len(notes.enc)
    if n == 0:
        return b"", 0
    ids = pa.array(uuids(seed, "daily/note", (enc.key[notes.enc] << 8) | notes.seq))
    e = pa.array(notes.enc)
    line = pc.binary_join_element_wise(
        '{"note_id":"', ids,
        '","encounter_id":"', enc_ids.take(e),
        '","patient_id":"', pat_ids.take(e),
        '","note_time":"', iso_minutes(notes.time),
        '","note_type":"', _names(NOTE_TYPES, notes.kind),
        '","text":', _json_string(notes.text),
        ',"vitals_as_of":"', iso_minutes(notes.vitals_at),
        '","lab_refs":[', _ref_lists(notes.lab_refs, lab_id, n), "]}\n",
        "",
    )  # fmt: skip
    return _concat_bytes(line), n


def _concat_bytes(strings: pa.Array) -> bytes:
    """All strings of ``strings`` end to end, straight from the Arrow data buffer."""
    if isinstance(strings, pa.ChunkedArray):
        strings = strings.combine_chunks()
    arr = strings.cast(pa.large_string())
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)[
        arr.offset : arr.offset + len(arr) + 1
    ]
    return arr.buffers()[2].to_pybytes()[offsets[0] : offsets[-1]]
