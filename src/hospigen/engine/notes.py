"""Clinical notes: one templated note per encounter, written at the encounter's end.

A note may only state what was known when it was written: problems whose onset is on or before
the note time (and not yet resolved), medications started by then, and the results measured at
this very encounter.

Everything is columnar. Lists (problems, medications): with a patient's encounters in note-time
order, each event holds over one range of them, found by binary search in numpy. A list changes
only where such a range starts or ends, so it is joined into text (Arrow ``ListArray`` +
``binary_join``) once per run of encounters between those points, from the pairs of the run's
first encounter with its patient's events, then taken for every encounter. Every other part of
the sentence comes from a small vocabulary (days, ages and reasons, distinct results) formatted
once and taken per row, and the sentence is assembled with one ``binary_join_element_wise``.
No Python loop runs per row and no SQL engine is started per shard.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from hospigen.engine.tables import take_or_null
from hospigen.model import schema, uuid_array
from hospigen.model.calendar import civil_dates

NOTE_TYPES = {"wellness": "wellness_visit", "emergency": "emergency"}
NOTE_TYPES["inpatient"] = "discharge_summary"  # every other class writes a progress note
PLAN = "Plan: continue current care; follow up as scheduled."


def _np(column: pa.ChunkedArray | pa.Array, null: int = 0) -> np.ndarray:
    """An integer/timestamp/date column as int64 numpy (nulls replaced by ``null``)."""
    arr = _array(column)
    if pa.types.is_timestamp(arr.type) or pa.types.is_date(arr.type):
        arr = arr.cast(pa.int64() if pa.types.is_timestamp(arr.type) else pa.int32())
    return arr.fill_null(null).to_numpy().astype(np.int64)


def _array(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    """One contiguous array (the compute kernels below want one chunk); a single chunk as it
    is (``combine_chunks`` would copy it)."""
    if not isinstance(column, pa.ChunkedArray):
        return column
    return column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()


def _row_of(values: pa.ChunkedArray, within: pa.ChunkedArray) -> np.ndarray:
    """Position in ``within`` of each of ``values`` (ids are unique; -1 when absent)."""
    return _np(pc.index_in(values, value_set=within.combine_chunks()), -1)


def _encoded(column: pa.ChunkedArray | pa.Array, known=None) -> tuple[pa.Array, np.ndarray]:
    """A column as (vocabulary, index per row; -1 for null): ``known`` when the table builder
    kept it, else one hash pass (``dictionary_encode``)."""
    if known is not None:
        vocabulary, index = known
        return vocabulary, np.asarray(index, dtype=np.int64)
    encoded = _array(column).dictionary_encode()
    return encoded.dictionary, _np(encoded.indices, -1)


def _ranked(strings: pa.Array) -> tuple[np.ndarray, pa.Array]:
    """(rank of each string among the sorted distinct values, those sorted values), so lists
    come out alphabetical. A null is its own value and sorts last, as Arrow sorts nulls."""
    encoded = _array(strings).dictionary_encode(null_encoding="encode")
    order = pc.sort_indices(encoded.dictionary).to_numpy()
    rank_of = np.empty(len(order), dtype=np.int64)
    rank_of[order] = np.arange(len(order))
    return rank_of[_np(encoded.indices)], encoded.dictionary.take(pa.array(order))


def _small(span: int, n: int) -> bool:
    """Whether a table of ``span`` entries is cheap beside ``n`` rows."""
    return span <= 4 * n + 1_024


def _dense(key: np.ndarray, span: int) -> tuple[np.ndarray, int]:
    """(id of each key among the distinct keys, number of distinct keys) for keys in
    ``[0, span)``: by a table of the span when it is small, else a hash pass (either is
    cheaper than the sort of ``np.unique``)."""
    if _small(span, len(key)):
        seen = np.zeros(span, dtype=bool)
        seen[key] = True
        number = np.cumsum(seen) - 1
        return number[key], int(number[-1]) + 1 if span else 0
    encoded = pa.array(key).dictionary_encode()
    return encoded.indices.to_numpy().astype(np.int64), len(encoded.dictionary)


def _distinct_rows(*columns: tuple[np.ndarray, int]) -> tuple[np.ndarray, np.ndarray]:
    """(id of each row's combination of ``columns``, one row holding each id). Each column is
    ``(values, size)`` with values in ``[-1, size)``; the few-valued columns best come first."""
    key, span = np.zeros(len(columns[0][0]), dtype=np.int64), 1
    for values, size in columns:
        if not _small(span * (size + 1), len(key)):  # renumber the combinations so far densely:
            key, span = _dense(key, span)  # the mixed key stays small (and cannot overflow)
        key, span = key * (size + 1) + (values + 1), span * (size + 1)
    ids, count = _dense(key, span)
    rows = np.empty(count, dtype=np.int64)
    rows[ids[::-1]] = np.arange(len(ids))[::-1]  # reversed: the first row of each id wins
    return ids, rows


def _pairs(event_patient: np.ndarray, event_rank: np.ndarray, row_patient: np.ndarray, n_pat: int):
    """(event, row) pairs: every row (an encounter) with every event of its patient, grouped by
    row and, within one, ordered by event rank (ties by event row) -- the order the lists are
    written in, so the pairs need no sort (only the events do)."""
    event_patient = np.asarray(event_patient, dtype=np.int64)
    span = int(event_rank.max(initial=0)) + 1
    by = np.argsort(event_patient * span + event_rank, kind="stable")
    count = np.bincount(event_patient, minlength=n_pat)
    first = np.cumsum(count) - count
    per_row = count[row_patient]
    row = np.repeat(np.arange(len(row_patient)), per_row)
    starts = np.repeat(np.cumsum(per_row) - per_row, per_row)
    event = by[first[row_patient[row]] + np.arange(len(row)) - starts]
    return event, row


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
        # the same blocks in note-time order (a long stay can end after the next visit starts):
        # in it each event holds over one range of its patient's encounters, found by binary
        # search on one integer key per (patient, time)
        low, high = (int(self.note_time.min()), int(self.note_time.max())) if self.n else (0, 0)
        self.times = None  # time offsets from the first note fit beside the patient number
        self.low, self.span = low, high - low + 2
        if n_pat * self.span >= 1 << 62:  # else: a time's rank among the distinct note times
            self.times = np.unique(self.note_time)
            self.span = len(self.times) + 1
        key = self.key(self.patient, self.note_time)
        self.by_note = np.argsort(key, kind="stable")
        self.note_key = key[self.by_note]

    def position(self, table: str, of: str) -> np.ndarray:
        """Row of each row's ``of`` ("patient" or "encounter") in its table: known from the
        table builder, else found by identifier."""
        known = self.rows.get(table, {}).get(of)
        if known is not None:
            return known
        target = self.tables["patients" if of == "patient" else "encounters"]
        return _row_of(self.tables[table].column(f"{of}_id"), target.column(f"{of}_id"))

    def key(self, patient: np.ndarray, time: np.ndarray) -> np.ndarray:
        """``patient * span + t``, where ``t`` (in ``[0, span)``) places ``time`` among the
        note times: ``key(p, note) < key(p, time)`` exactly when ``note < time``."""
        if self.times is None:
            t = np.clip(time, self.low, self.low + self.span - 1) - self.low
        else:
            t = np.searchsorted(self.times, time)
        return np.asarray(patient, dtype=np.int64) * self.span + t

    def holding(self, patient: np.ndarray, began: np.ndarray, ended: np.ndarray):
        """For each event, the positions ``[lo, hi)`` in note order of the encounters at whose
        note time it holds (``began <= note < ended``)."""
        lo = np.searchsorted(self.note_key, self.key(patient, began))
        hi = np.searchsorted(self.note_key, self.key(patient, ended))
        return lo, hi

    def active_list(
        self, table: str, start: str, stop: str, empty: str, not_before: np.ndarray | None = None
    ) -> tuple[pa.Array, np.ndarray]:
        """The sorted distinct descriptions of ``table`` active at each note time (started by
        then, not yet stopped, and not before ``not_before`` when given), ``"; "``-joined or
        ``empty``: as (text per run, whether each encounter in note order starts a run).

        A run is a stretch of one patient's encounters (in note order) where no event starts
        or stops holding, so all say the same: the list is made for each run's first."""
        events = self.tables[table]
        patient = self.position(table, "patient")
        began = _np(events.column(start))
        if not_before is not None:
            began = np.maximum(began, not_before)
        ended = _np(events.column(stop), np.iinfo(np.int64).max)
        lo, hi = self.holding(patient, began, ended)
        live = lo < hi
        new = np.zeros(self.n + 1, dtype=bool)
        new[self.first] = True  # each patient's first encounter
        new[lo[live]] = new[hi[live]] = True
        new = new[: self.n]
        heads = np.flatnonzero(new)
        rank, vocabulary = _ranked(events.column("description"))
        head_patient = self.patient[self.by_note[heads]]
        event, head = _pairs(patient, rank, head_patient, len(self.count))
        at = heads[head]
        hold = (lo[event] <= at) & (at < hi[event])
        head, rank = head[hold], rank[event[hold]]
        # the same text twice in one list (a condition recorded twice) is said once
        keep = np.ones(len(head), dtype=bool)
        keep[1:] = (head[1:] != head[:-1]) | (rank[1:] != rank[:-1])
        head, rank = head[keep], rank[keep]
        counts = np.bincount(head, minlength=len(heads))
        offsets = np.r_[0, np.cumsum(counts)].astype(np.int32)
        items = vocabulary.take(pa.array(rank))
        joined = pc.binary_join(pa.ListArray.from_arrays(pa.array(offsets), items), "; ")
        return pc.if_else(pa.array(counts > 0), joined, empty), new

    def lists(self) -> pa.Array:
        """Per encounter, ``Active problems: ...; ... Current medications: ...; ... `` as known
        at its note time."""
        # a problem is known once its diagnosing encounter has started (and its onset has passed)
        cond_enc = self.position("conditions", "encounter")
        recorded = np.where(cond_enc >= 0, self.start[cond_enc], 0)
        problems, new_problems = self.active_list(
            "conditions", "onset", "abatement", "none recorded", recorded
        )
        meds, new_meds = self.active_list("medications", "start", "stop", "none")
        new = new_problems | new_meds
        heads = np.flatnonzero(new)
        text = _sentence(
            "Active problems: ",
            problems.take(pa.array(np.cumsum(new_problems)[heads] - 1)),
            ". Current medications: ",
            meds.take(pa.array(np.cumsum(new_meds)[heads] - 1)),
            ". ",
        )
        run = np.empty(self.n, dtype=np.int64)
        run[self.by_note] = np.cumsum(new) - 1  # back from note order to table order
        return text.take(pa.array(run))


def _findings(encs: _Encounters) -> pa.Array:
    """Per encounter, ``Findings: `` and its results as ``description: value unit`` (or the
    coded answer), ``"; "``-joined, then ``". "``; empty without results."""
    obs = encs.tables["observations"]
    enc = encs.position("observations", "encounter")
    known = encs.rows.get("observations", {})
    # results repeat a lot (~3,000 distinct of 300,000): each distinct one is formatted once.
    # Numbers as Arrow's shortest round-trip text.
    description, d = _encoded(obs.column("description"), known.get("description"))
    unit, u = _encoded(obs.column("unit"), known.get("unit"))
    value, v = _encoded(obs.column("value"))
    # the coded answer is said only for results without a value: only those are looked at
    no_value = np.flatnonzero(v < 0)
    answer, a_no_value = _encoded(_array(obs.column("value_text")).take(pa.array(no_value)))
    a = np.full(len(v), -1)
    a[no_value] = a_no_value
    ids, rows = _distinct_rows(
        (d, len(description)), (u, len(unit)), (a, len(answer)), (v, len(value))
    )
    measured = _sentence(
        take_or_null(value.cast(pa.string()), v[rows]),
        pc.fill_null(_sentence(" ", take_or_null(unit, u[rows])), ""),
    )
    item = _sentence(
        take_or_null(description, d[rows]),
        ": ",
        pc.coalesce(measured, take_or_null(answer, a[rows]), ""),
    )
    rank, _ = _ranked(obs.column("code"))
    # one stable argsort on a combined integer key: the order of lexsort((rank, enc)), ~2x
    # faster (and ~4x when the pairs come grouped by encounter)
    order = np.argsort(enc.astype(np.int64) * (int(rank.max(initial=0)) + 1) + rank, kind="stable")
    enc = enc[order]
    # the sentence's head and tail ride on each list's first and last item: an encounter
    # without results gets an empty list, i.e. no sentence, with no per-row condition
    first = np.ones(len(enc), dtype=bool)
    first[1:] = enc[1:] != enc[:-1]
    last = np.ones(len(enc), dtype=bool)
    last[:-1] = first[1:]
    k = len(rows)
    variants = pa.concat_arrays(
        [
            item,
            _sentence("Findings: ", item),
            _sentence(item, ". "),
            _sentence("Findings: ", item, ". "),
        ]
    )
    index = ids[order] + k * (first + 2 * last)
    offsets = np.r_[0, np.cumsum(np.bincount(enc, minlength=encs.n))].astype(np.int32)
    items = variants.take(pa.array(index))
    return pc.binary_join(pa.ListArray.from_arrays(pa.array(offsets), items), "; ")


def _year_and_date(days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(year, month * 100 + day) of day numbers. A shard's days span a few thousand values
    (far fewer than its rows): then each day of the span is converted once and looked up."""
    low, high = (int(days.min()), int(days.max())) if len(days) else (0, 0)
    if high - low < len(days):
        days, (year, month, day) = days - low, civil_dates(np.arange(low, high + 1))
        return year[days], (month * 100 + day)[days]
    year, month, day = civil_dates(days)
    return year, month * 100 + day


def _age_years(birth_days: np.ndarray, start_us: np.ndarray) -> np.ndarray:
    """Completed years of age at each start time (birthday not yet reached: one less)."""
    y0, md0 = _year_and_date(np.asarray(birth_days, dtype=np.int64))
    y1, md1 = _year_and_date(np.asarray(start_us, dtype=np.int64) // 86_400_000_000)
    return y1 - y0 - (md1 < md0)


def _sentence(*parts) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


def _on_day(start: pa.ChunkedArray, start_us: np.ndarray) -> pa.Array:
    """`` on YYYY-MM-DD`` (the UTC day, as Arrow casts it): each day of the shard's span
    formatted once, then taken."""
    day = start_us // 86_400_000_000  # from 1970 on, the day Arrow's cast to date32 gives
    low, high = (int(day.min()), int(day.max())) if len(day) else (0, 0)
    if start.null_count or low < 0 or high - low > len(day):  # let Arrow format every row
        return _sentence(" on ", _array(start).cast(pa.date32()).cast(pa.string()))
    days = pa.array(np.arange(low, high + 1, dtype=np.int32)).cast(pa.date32())
    return _sentence(" on ", days.cast(pa.string())).take(pa.array(day - low))


def _person(age: np.ndarray, female: np.ndarray, reasons: pa.ChunkedArray) -> pa.Array:
    """``. Patient is a 54-year-old female. Reason for visit: ... `` (no reason sentence when
    none is recorded), formatted once per distinct (age, sex, reason) and taken."""
    vocabulary, reason = _encoded(reasons)
    low, high = (int(age.min()), int(age.max())) if len(age) else (0, 0)
    sex = female.astype(np.int64)
    ids, rows = _distinct_rows((age - low, high - low + 1), (sex, 2), (reason, len(vocabulary)))
    sentences = _sentence("Reason for visit: ", take_or_null(vocabulary, reason[rows]), ". ")
    words = _sentence(
        ". Patient is a ",
        pa.array(age[rows]).cast(pa.string()),
        "-year-old ",
        pa.array(["male", "female"]).take(pa.array(sex[rows])),
        ". ",
        pc.fill_null(sentences, ""),
    )
    return words.take(pa.array(ids))


def _note_type(classes: pa.ChunkedArray) -> pa.Array:
    """The note type of each encounter class, looked up once per distinct class."""
    encoded = _array(classes).dictionary_encode(null_encoding="encode")
    names = pa.array(list(NOTE_TYPES.values())).take(
        pc.index_in(encoded.dictionary, value_set=pa.array(list(NOTE_TYPES)))
    )
    return pc.fill_null(names, "progress").take(encoded.indices)


def _chunked_like(values: pa.Array, like: pa.ChunkedArray) -> pa.ChunkedArray:
    """``values`` cut into the non-empty chunks of ``like`` (zero-copy slices): the text keeps
    the chunks of the encounters' columns, as Arrow gives them to a kernel run on one of them."""
    cut, start = [], 0
    for chunk in like.chunks:
        if len(chunk):
            cut.append(values.slice(start, len(chunk)))
            start += len(chunk)
    return pa.chunked_array(cut, values.type)


def notes_table(seed: int, tables: dict[str, pa.Table], rows: dict | None = None) -> pa.Table:
    """One note per encounter of ``tables`` (which must hold the shard's clinical tables).

    ``rows`` (optional, from :class:`~hospigen.engine.tables.TableBuilder`) gives each table's
    patient and encounter rows by position; without it they are found by identifier.
    """
    encs = _Encounters(tables, rows)
    enc, patients = tables["encounters"], tables["patients"]
    birth = _np(patients.column("birth_date"))[encs.patient]
    female = pc.fill_null(pc.equal(patients.column("gender"), "F"), False)
    female = _array(female).to_numpy(zero_copy_only=False)[encs.patient]
    text = _sentence(
        _array(enc.column("description")),
        _on_day(enc.column("start"), encs.start),
        _person(_age_years(birth, encs.start), female, enc.column("reason_description")),
        encs.lists(),
        _findings(encs),
        PLAN,
    )
    keys = patients.column("patient_key").to_numpy().astype(np.uint64)[encs.patient]
    # note ids share the encounter's key (patient key, encounter ordinal): one note per encounter
    note_keys = keys * np.uint64(1 << 20) + encs.ordinal.astype(np.uint64)
    return pa.table(
        {
            "note_id": uuid_array(seed, "note", note_keys),
            "patient_id": enc.column("patient_id"),
            "encounter_id": enc.column("encounter_id"),
            "note_time": enc.column("stop"),
            "note_type": _note_type(enc.column("encounter_class")),
            "text": _chunked_like(text, enc.column("reason_description")),
        },
        schema=schema("notes"),
    )
