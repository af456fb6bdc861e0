"""Clinical notes written from what is known at the note's time, never from the future.

Each note quotes the latest vitals charted at or before its ``note_time`` and the latest results
whose ``result_time`` is at or before it; ``vitals_as_of`` and ``lab_refs`` name exactly what it
quotes, so the rule "no note mentions a result that has not happened yet" is checkable.

Note types: ``triage`` (12 min after arrival), ``assessment_plan`` (1-2.5 h), ``lab_review``
(5-30 min after each lactate or troponin result), ``progress`` (each later day, mid-morning) and
``discharge`` (10-40 min before discharge). Text is assembled column-wise (Arrow string kernels).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from hospigen.daily_batch.encounters import DAY, Encounters
from hospigen.daily_batch.labs import Labs, lab_column, lab_table, test_index
from hospigen.daily_batch.vitals import DBP, HR, RR, SBP, SPO2, TEMP, Vitals
from hospigen.rng import KeyedRandom

NOTE_TYPES = ("triage", "progress", "assessment_plan", "lab_review", "discharge")
TRIAGE, PROGRESS, ASSESSMENT, LAB_REVIEW, DISCHARGE = range(5)
COMPLAINT = np.array(
    ["a planned observation stay", "chest pain", "fever and confusion", "shortness of breath"],
    dtype=object,
)
DIAGNOSIS = np.array(
    ["routine observation", "chest pain, rule out acute coronary syndrome", "suspected sepsis",
     "COPD exacerbation with hypoxia"], dtype=object,
)  # fmt: skip
PLAN = np.array(
    [
        "routine monitoring and labs",
        "serial troponins at 0/3/6 h, ECG, aspirin",
        "blood cultures, broad-spectrum antibiotics, 30 mL/kg fluids, repeat lactate",
        "controlled oxygen to SpO2 88-92%, nebulised bronchodilators, steroids",
    ],
    dtype=object,
)
ACUITY = np.array(["low", "medium", "high"], dtype=object)
FLAG_WORDS = np.array(["normal", "low", "high", "critical low", "critical high"], dtype=object)
QUOTED_TESTS = ("Lactate", "Troponin", "WBC", "Cr")  # results a note may quote
BIG = np.int64(1) << 34


@dataclass
class Notes:
    """One row per note (sorted by encounter, time, type)."""

    enc: np.ndarray
    time: np.ndarray
    kind: np.ndarray
    text: pa.Array
    vitals_at: np.ndarray  # minute of the quoted HR/BP/RR/SpO2 (temperature may be older)
    lab_refs: list[np.ndarray]  # per quoted test: lab row index or -1
    seq: np.ndarray


def _schedule(seed: int, enc: Encounters, labs: Labs) -> tuple[np.ndarray, ...]:
    """(encounter, time, type, lab row reviewed or -1) of every note."""
    rnd = KeyedRandom(seed, "daily/notes")
    idx = np.arange(len(enc))
    k = enc.key
    parts = [
        (idx, enc.admit + 12, TRIAGE, -1),
        (idx, enc.admit + rnd.integers(k, "assessment", 60, 151), ASSESSMENT, -1),
        (idx, enc.discharge - rnd.integers(k, "discharge", 10, 41), DISCHARGE, -1),
    ]
    first = (enc.admit // DAY + 1) * DAY + 9 * 60
    days = np.maximum((enc.discharge - 121 - first) // DAY + 1, 0)  # note <= discharge
    e = np.repeat(idx, days)
    j = np.arange(days.sum()) - np.repeat(np.cumsum(days) - days, days)
    parts.append((e, first[e] + j * DAY + rnd.integers(k[e] * 8 + j, "progress", 0, 121),
                  PROGRESS, -1))  # fmt: skip
    quoted = np.isin(labs.test, [test_index("Lactate"), test_index("Troponin")])
    rows = np.flatnonzero(quoted)
    at = labs.resulted[rows] + rnd.integers(k[labs.enc[rows]] * 1024 + labs.seq[rows], "lr", 5, 31)
    ok = at <= enc.discharge[labs.enc[rows]]
    parts.append((labs.enc[rows][ok], at[ok], LAB_REVIEW, rows[ok]))
    e = np.concatenate([p[0] for p in parts])
    t = np.concatenate([p[1] for p in parts])
    kind = np.concatenate([np.full(len(p[0]), p[2]) for p in parts])
    reviewed = np.concatenate([np.broadcast_to(p[3], len(p[0])) for p in parts])
    order = np.lexsort((kind, t, e))
    return e[order], t[order], kind[order], reviewed[order]


def _latest(keys_sorted: np.ndarray, rows_sorted: np.ndarray, e: np.ndarray, t: np.ndarray):
    """Row of the last event of encounter ``e`` at or before minute ``t`` (``-1`` if none)."""
    if len(keys_sorted) == 0:
        return np.full(len(e), -1, dtype=np.int64)
    pos = np.searchsorted(keys_sorted, e * BIG + t, side="right") - 1
    cand = rows_sorted[np.maximum(pos, 0)]
    same = (pos >= 0) & (keys_sorted[np.maximum(pos, 0)] // BIG == e)
    return np.where(same, cand, -1)


def _cat(*parts: pa.Array | str) -> pa.Array:
    """Element-wise concatenation of string arrays and literal strings (in C++)."""
    return pc.binary_join_element_wise(*parts, "")


def join_present(acc: pa.Array, piece: pa.Array, present: np.ndarray, sep: str) -> pa.Array:
    """``acc`` with ``piece`` appended (after ``sep`` unless ``acc`` is empty) where present."""
    joined = pc.if_else(pc.equal(acc, ""), piece, _cat(acc, sep, piece))
    return pc.if_else(pa.array(present), joined, acc)


def _pick(table: np.ndarray, index: np.ndarray) -> pa.Array:
    """``table[index]`` for a small array of phrases."""
    return pa.array(list(table), pa.string()).take(pa.array(index, pa.int64()))


def fmt(values: np.ndarray, decimals: int | np.ndarray) -> pa.Array:
    """Non-negative numbers → fixed-decimal strings (``3.40``), per-element decimals."""
    dec = np.broadcast_to(np.asarray(decimals, dtype=np.int64), np.shape(values))
    scale = 10**dec
    q = np.round(np.abs(values) * scale).astype(np.int64)
    whole = pa.array(q // scale).cast(pa.string())
    frac = pa.array(q % scale + scale).cast(pa.string())  # "1" + zero-padded digits
    frac = pc.utf8_slice_codeunits(frac, 1)
    dotted = pc.binary_join_element_wise(whole, frac, ".")
    return pc.if_else(pa.array(dec == 0), whole, dotted)


def _lab_phrase(labs: Labs, row: np.ndarray) -> pa.Array:
    """``"Lactate 3.4 mmol/L (high)"`` for each lab row (``""`` where row is -1)."""
    if len(labs.test) == 0:
        return pa.array([""] * len(row), pa.string())
    r = np.maximum(row, 0)
    test = labs.test[r]
    cat = lab_table()
    t = pa.array(test)
    value = fmt(labs.value[r], lab_column("decimals")[test])
    name, unit = cat["test_name"].combine_chunks(), cat["unit"].combine_chunks()
    flag = _pick(FLAG_WORDS, labs.flag[r])
    text = _cat(name.take(t), " ", value, " ", unit.take(t), " (", flag, ")")
    return pc.if_else(pa.array(row >= 0), text, "")


def _vitals_phrase(vitals: Vitals, v: np.ndarray, tv: np.ndarray) -> pa.Array:
    val = vitals.values
    return _cat(
        "HR ", fmt(val[v, HR], 0), " bpm, BP ", fmt(val[v, SBP], 0), "/", fmt(val[v, DBP], 0),
        " mmHg, RR ", fmt(val[v, RR], 0), "/min, SpO2 ", fmt(val[v, SPO2], 0), "%, T ",
        fmt(val[tv, TEMP], 1), " C",
    )  # fmt: skip


def _text(kind_id: int, sel: np.ndarray, ctx: dict) -> pa.Array:
    """The text of the notes ``sel`` (all of type ``kind_id``)."""
    e, sc = ctx["e"][sel], ctx["sc"][sel]
    vit = _vitals_phrase(ctx["vitals"], ctx["v"][sel], ctx["tv"][sel])
    results = ctx["results"].take(pa.array(sel))
    if kind_id == TRIAGE:
        sex = pa.array(np.where(ctx["female"][e], "female", "male"))
        age = pa.array(np.floor(ctx["age"][e]).astype(np.int64)).cast(pa.string())
        return _cat("Triage: ", age, "-year-old ", sex, " presenting with ",
                    _pick(COMPLAINT, sc), ". Acuity ", _pick(ACUITY, ctx["acuity"][e]), ". ",
                    vit, ".")  # fmt: skip
    if kind_id == ASSESSMENT:
        return _cat("Assessment: ", _pick(DIAGNOSIS, sc), ". Plan: ", _pick(PLAN, sc), ". ",
                    vit, ".", results)  # fmt: skip
    if kind_id == PROGRESS:
        day = pa.array(ctx["t"][sel] // DAY - ctx["admit"][e] // DAY + 1).cast(pa.string())
        return _cat("Progress, hospital day ", day, ": ", vit, ".", results)
    if kind_id == LAB_REVIEW:
        labs, reviewed, prev = ctx["labs"], ctx["reviewed"][sel], ctx["prev"][sel]
        before = pc.if_else(pa.array(prev >= 0), _cat(", previous ", _lab_phrase(labs, prev)), "")
        return _cat("Lab review: ", _lab_phrase(labs, reviewed), before, ".")
    los = fmt((ctx["discharge"][e] - ctx["admit"][e]) / 60.0, 0)
    return _cat("Discharge summary: ", los, " h stay for ", _pick(DIAGNOSIS, sc),
                ". Condition at discharge: ", vit, ".", results)  # fmt: skip


def write_notes(
    seed: int, enc: Encounters, vitals: Vitals, labs: Labs, age: np.ndarray, female: np.ndarray
) -> Notes:
    """Every note of the encounters of ``enc``."""
    e, t, kind, reviewed = _schedule(seed, enc, labs)
    base = enc.admit.min() if len(enc) else 0
    vkeys = vitals.enc * BIG + (vitals.time - base)
    v = _latest(vkeys, np.arange(len(vkeys)), e, t - base)
    has_temp = np.flatnonzero(vitals.present[:, TEMP])
    tv = _latest(vkeys[has_temp], has_temp, e, t - base)

    refs, quoted = [], pa.array([""] * len(e), pa.string())
    for name in QUOTED_TESTS:
        rows = np.flatnonzero(labs.test == test_index(name))
        rows = rows[np.lexsort((labs.resulted[rows], labs.enc[rows]))]
        r = _latest(labs.enc[rows] * BIG + (labs.resulted[rows] - base), rows, e, t - base)
        refs.append(r)
        quoted = join_present(quoted, _lab_phrase(labs, r), r >= 0, "; ")
    any_result = pc.not_equal(quoted, "")
    results = pc.if_else(any_result, _cat(" Latest results: ", quoted, "."), " No results yet.")
    prev = _previous(labs, reviewed)
    ctx = {
        "e": e, "t": t, "sc": enc.scenario[e], "vitals": vitals, "v": v, "tv": tv,
        "results": results, "female": female, "age": age, "acuity": enc.acuity,
        "admit": enc.admit, "discharge": enc.discharge, "labs": labs, "reviewed": reviewed,
        "prev": prev,
    }  # fmt: skip
    pieces, order = [], []
    for kind_id in range(len(NOTE_TYPES)):
        sel = np.flatnonzero(kind == kind_id)
        pieces.append(_text(kind_id, sel, ctx))
        order.append(sel)
    inverse = np.empty(len(e), dtype=np.int64)
    inverse[np.concatenate(order)] = np.arange(len(e))
    text = pa.concat_arrays(pieces).take(pa.array(inverse))

    # a lab review quotes the reviewed result and the one before it; triage quotes none
    quotes_results = (kind != TRIAGE) & (kind != LAB_REVIEW)
    lab_refs = [np.where(quotes_results, r, -1) for r in refs]
    lab_refs += [reviewed, np.where(kind == LAB_REVIEW, prev, -1)]
    starts = np.searchsorted(e, np.arange(len(enc)))
    seq = np.arange(len(e)) - starts[e]
    return Notes(e, t, kind, text, vitals.time[v], lab_refs, seq)


def _previous(labs: Labs, row: np.ndarray) -> np.ndarray:
    """The same test's previous result of the same encounter (``-1`` if none)."""
    if len(labs.test) == 0:
        return np.full(len(row), -1, dtype=np.int64)
    r = np.maximum(row, 0)
    rows = np.lexsort((labs.resulted, labs.test, labs.enc))
    pos = np.empty(len(rows), dtype=np.int64)
    pos[rows] = np.arange(len(rows))
    p = pos[r] - 1
    prior = rows[np.maximum(p, 0)]
    same = (
        (row >= 0)
        & (p >= 0)
        & (labs.enc[prior] == labs.enc[r])
        & (labs.test[prior] == labs.test[r])
    )
    return np.where(same, prior, -1)
