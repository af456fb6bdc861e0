"""Clinical notes: one templated note per encounter, written at the encounter's end.

A note may only state what was known when it was written: problems whose onset is on or before
the note time (and not yet resolved), medications started by then, and the results measured at
this very encounter.

Everything is columnar. Lists (problems, medications, findings) are built by pairing each
patient's events with each of that patient's encounters in numpy, keeping the pairs that hold at
the note time, and joining the surviving strings per encounter with Arrow (``ListArray`` +
``binary_join``); the sentence is assembled with ``binary_join_element_wise``. No Python loop
runs per row and no SQL engine is started per shard.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from hospigen.model import schema, uuid_array

NOTE_TYPES = {"wellness": "wellness_visit", "emergency": "emergency"}
NOTE_TYPES["inpatient"] = "discharge_summary"  # every other class writes a progress note
PLAN = "Plan: continue current care; follow up as scheduled."


def _np(column: pa.ChunkedArray | pa.Array, null: int = 0) -> np.ndarray:
    """An integer/timestamp/date column as int64 numpy (nulls replaced by ``null``)."""
    arr = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if pa.types.is_timestamp(arr.type) or pa.types.is_date(arr.type):
        arr = arr.cast(pa.int64() if pa.types.is_timestamp(arr.type) else pa.int32())
    return arr.fill_null(null).to_numpy().astype(np.int64)


def _row_of(values: pa.ChunkedArray, within: pa.ChunkedArray) -> np.ndarray:
    """Position in ``within`` of each of ``values`` (ids are unique; -1 when absent)."""
    return _np(pc.index_in(values, value_set=within.combine_chunks()), -1)


def _pairs(event_patient: np.ndarray, enc_first: np.ndarray, enc_count: np.ndarray):
    """(event, encounter) row pairs: every event with every encounter of its patient."""
    per_event = enc_count[event_patient]
    event = np.repeat(np.arange(len(event_patient)), per_event)
    starts = np.repeat(np.cumsum(per_event) - per_event, per_event)
    enc = enc_first[event_patient[event]] + np.arange(len(event)) - starts
    return event, enc


def _joined_per_encounter(
    n_enc: int, enc: np.ndarray, strings: pa.Array, rank: np.ndarray, distinct: bool
) -> tuple[pa.Array, np.ndarray]:
    """One ``"; "``-joined string per encounter from (encounter, item) pairs, ordered by
    ``rank`` (ties keep pair order); returns (text, items per encounter)."""
    # one stable argsort on a combined integer key: the order of lexsort((rank, enc)), ~2x
    # faster (and ~4x when the pairs come grouped by encounter)
    low = int(rank.min()) if len(rank) else 0  # -1 (a null) must not reach the previous enc
    span = int(rank.max()) - low + 1 if len(rank) else 1
    order = np.argsort(enc.astype(np.int64) * span + (rank - low), kind="stable")
    enc, rank_sorted = enc[order], rank[order]
    if distinct:  # the same text twice in one list (a condition recorded twice) is said once
        keep = np.ones(len(enc), dtype=bool)
        keep[1:] = (enc[1:] != enc[:-1]) | (rank_sorted[1:] != rank_sorted[:-1])
        order, enc = order[keep], enc[keep]
    counts = np.bincount(enc, minlength=n_enc)
    offsets = np.r_[0, np.cumsum(counts)].astype(np.int32)
    items = strings.take(pa.array(order))
    return pc.binary_join(pa.ListArray.from_arrays(pa.array(offsets), items), "; "), counts


def _sorted_rank(strings: pa.Array) -> np.ndarray:
    """Rank of each string in the sorted distinct values (so lists come out alphabetical)."""
    uniq = pc.unique(strings)
    uniq = uniq.take(pc.sort_indices(uniq))
    return _np(pc.index_in(strings, value_set=uniq), -1)


class _Encounters:
    """The shard's encounters as arrays, with each patient's contiguous block of rows."""

    def __init__(self, tables: dict[str, pa.Table], rows: dict | None) -> None:
        enc, patients = tables["encounters"], tables["patients"]
        self.table = enc
        self.tables = tables
        self.rows = rows or {}
        self.n = enc.num_rows
        self.patient = self.position("encounters", "patient")
        self.start = _np(enc.column("start"))
        self.note_time = _np(enc.column("stop"))
        n_pat = patients.num_rows
        self.count = np.bincount(self.patient, minlength=n_pat)
        # the encounters table is sorted by patient (then start): each patient is one block
        self.first = np.r_[0, np.cumsum(self.count)[:-1]]
        self.ordinal = np.arange(self.n) - self.first[self.patient]

    def position(self, table: str, of: str) -> np.ndarray:
        """Row of each row's ``of`` ("patient" or "encounter") in its table: known from the
        table builder, else found by identifier."""
        known = self.rows.get(table, {}).get(of)
        if known is not None:
            return known
        target = self.tables["patients" if of == "patient" else "encounters"]
        return _row_of(self.tables[table].column(f"{of}_id"), target.column(f"{of}_id"))

    def active_list(
        self, table: str, start: str, stop: str, not_before: np.ndarray | None = None
    ) -> tuple[pa.Array, np.ndarray]:
        """Per encounter, the sorted distinct descriptions of ``table`` active at note time
        (started by then, not yet stopped, and not before ``not_before`` when given)."""
        events = self.tables[table]
        patient = self.position(table, "patient")
        began = _np(events.column(start))
        if not_before is not None:
            began = np.maximum(began, not_before)
        ended = _np(events.column(stop), np.iinfo(np.int64).max)
        event, enc = _pairs(patient, self.first, self.count)
        note = self.note_time[enc]
        hold = (began[event] <= note) & (ended[event] > note)
        event, enc = event[hold], enc[hold]
        desc = events.column("description").combine_chunks()
        rank = _sorted_rank(desc)[event]
        return _joined_per_encounter(self.n, enc, desc.take(pa.array(event)), rank, True)


def _affix(values: pa.ChunkedArray, before: str, after: str, known=None) -> pa.Array:
    """``before + v + after`` for each value, computed once per distinct value then taken
    (scalar arguments make Arrow's element-wise join slow on big arrays). ``known`` is the
    column as (vocabulary, index per row; -1 for null) when the table builder kept it."""
    if known is not None:
        vocabulary, index = known
        words = pc.binary_join_element_wise(before, vocabulary, after, "")
        index = np.asarray(index, dtype=np.int64)
        return words.take(pa.array(np.where(index < 0, 0, index), mask=index < 0))
    encoded = values.combine_chunks().dictionary_encode()
    words = pc.binary_join_element_wise(before, encoded.dictionary, after, "")
    return words.take(encoded.indices)


def _as_text(values: pa.ChunkedArray) -> pa.Array:
    """Numbers as Arrow's shortest round-trip text, formatted once per distinct value (results
    repeat a lot: ~2,000 distinct values per 5,000 patients' million results)."""
    encoded = values.combine_chunks().dictionary_encode()
    return encoded.dictionary.cast(pa.string()).take(encoded.indices)


def _findings(encs: _Encounters) -> tuple[pa.Array, np.ndarray]:
    """Per encounter, its results as ``description: value unit`` (or the coded answer)."""
    obs = encs.tables["observations"]
    enc = encs.position("observations", "encounter")
    known = encs.rows.get("observations", {})
    value = pc.binary_join_element_wise(
        _as_text(obs.column("value")),
        pc.fill_null(_affix(obs.column("unit"), " ", "", known.get("unit")), ""),
        "",
    )
    item = pc.binary_join_element_wise(
        _affix(obs.column("description"), "", ": ", known.get("description")),
        pc.coalesce(value, obs.column("value_text").combine_chunks(), ""),
        "",
    )
    rank = _sorted_rank(obs.column("code").combine_chunks())
    return _joined_per_encounter(encs.n, enc, item, rank, False)


def _civil(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(year, month, day) of day numbers since 1970-01-01, in integer arithmetic (Howard
    Hinnant's ``civil_from_days``; ~3x faster than going through ``datetime64`` units)."""
    z = days + 719_468
    era = np.floor_divide(z, 146_097)
    doe = z - era * 146_097
    yoe = (doe - doe // 1_460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = np.where(mp < 10, mp + 3, mp - 9)
    return yoe + era * 400 + (month <= 2), month, day


def _age_years(birth_days: np.ndarray, start_us: np.ndarray) -> np.ndarray:
    """Completed years of age at each start time (birthday not yet reached: one less)."""
    y0, m0, d0 = _civil(np.asarray(birth_days, dtype=np.int64))
    y1, m1, d1 = _civil(np.asarray(start_us, dtype=np.int64) // 86_400_000_000)
    return y1 - y0 - (m1 * 100 + d1 < m0 * 100 + d0)


def _sentence(*parts) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


def notes_table(seed: int, tables: dict[str, pa.Table], rows: dict | None = None) -> pa.Table:
    """One note per encounter of ``tables`` (which must hold the shard's clinical tables).

    ``rows`` (optional, from :class:`~hospigen.engine.tables.TableBuilder`) gives each table's
    patient and encounter rows by position; without it they are found by identifier.
    """
    encs = _Encounters(tables, rows)
    enc, patients = tables["encounters"], tables["patients"]
    # a problem is known once its diagnosing encounter has started (and its onset has passed)
    cond_enc = encs.position("conditions", "encounter")
    recorded = np.where(cond_enc >= 0, encs.start[cond_enc], 0)
    problems, n_problems = encs.active_list("conditions", "onset", "abatement", recorded)
    meds, n_meds = encs.active_list("medications", "start", "stop")
    findings, n_findings = _findings(encs)
    birth = _np(patients.column("birth_date"))[encs.patient]
    female = pc.equal(patients.column("gender"), "F").combine_chunks()
    female = female.to_numpy(zero_copy_only=False)[encs.patient]
    age = pa.array(_age_years(birth, encs.start)).cast(pa.string())
    none = np.array(["none recorded", "none"], dtype=object)
    text = _sentence(
        enc.column("description").combine_chunks(),
        " on ",
        # UTC day as ISO text: the same as strftime("%Y-%m-%d"), ~15x faster
        enc.column("start").cast(pa.date32()).cast(pa.string()).combine_chunks(),
        ". Patient is a ",
        age,
        "-year-old ",
        pa.array(np.where(female, "female", "male")),
        ". ",
        pc.fill_null(_sentence("Reason for visit: ", enc.column("reason_description"), ". "), ""),
        "Active problems: ",
        pc.if_else(pa.array(n_problems > 0), problems, none[0]),
        ". Current medications: ",
        pc.if_else(pa.array(n_meds > 0), meds, none[1]),
        ". ",
        pc.if_else(pa.array(n_findings > 0), _sentence("Findings: ", findings, ". "), ""),
        PLAN,
    )
    keys = patients.column("patient_key").to_numpy().astype(np.uint64)[encs.patient]
    # note ids share the encounter's key (patient key, encounter ordinal): one note per encounter
    note_keys = keys * np.uint64(1 << 20) + encs.ordinal.astype(np.uint64)
    classes = enc.column("encounter_class").combine_chunks()
    note_type = pc.fill_null(
        pa.array(list(NOTE_TYPES.values())).take(
            pc.index_in(classes, value_set=pa.array(list(NOTE_TYPES)))
        ),
        "progress",
    )
    return pa.table(
        {
            "note_id": uuid_array(seed, "note", note_keys),
            "patient_id": enc.column("patient_id"),
            "encounter_id": enc.column("encounter_id"),
            "note_time": enc.column("stop"),
            "note_type": note_type,
            "text": text,
        },
        schema=schema("notes"),
    )
