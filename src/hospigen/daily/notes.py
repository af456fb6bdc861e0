"""Clinical notes written from what is known at the note's time, never from the future.

Each note quotes the latest vitals charted at or before its ``note_time`` and the latest results
whose ``result_time`` is at or before it; ``vitals_as_of`` and ``lab_refs`` name exactly what it
quotes, so the rule "no note mentions a result that has not happened yet" is checkable.

Note types: ``triage`` (12 min after arrival), ``assessment_plan`` (1-2.5 h), ``lab_review``
(5-30 min after each lactate or troponin result), ``progress`` (each later day, mid-morning) and
``discharge`` (10-40 min before discharge). Text is assembled column-wise from numpy arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hospigen.daily.encounters import DAY, Encounters
from hospigen.daily.labs import Labs, lab_column, lab_table, test_index
from hospigen.daily.vitals import DBP, HR, RR, SBP, SPO2, TEMP, Vitals
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
    text: np.ndarray  # object array of str
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
    pos = np.searchsorted(keys_sorted, e * BIG + t, side="right") - 1
    cand = rows_sorted[np.maximum(pos, 0)]
    same = (pos >= 0) & (keys_sorted[np.maximum(pos, 0)] // BIG == e)
    return np.where(same, cand, -1)


def _fmt(values: np.ndarray, decimals: int | np.ndarray) -> np.ndarray:
    """Numbers → strings with the given decimals (vectorised over a per-element count)."""
    dec = np.broadcast_to(decimals, values.shape)
    out = np.empty(len(values), dtype=object)
    for d in np.unique(dec):
        sel = dec == d
        out[sel] = np.char.mod(f"%.{int(d)}f", values[sel]).astype(object)
    return out


def _lab_phrase(labs: Labs, row: np.ndarray) -> np.ndarray:
    """``"Lactate 3.4 mmol/L (high)"`` for each lab row (``""`` where row is -1)."""
    r = np.maximum(row, 0)
    test = labs.test[r]
    names = np.array(lab_table()["test_name"].to_pylist(), dtype=object)[test]
    units = np.array(lab_table()["unit"].to_pylist(), dtype=object)[test]
    text = names + " " + _fmt(labs.value[r], lab_column("decimals")[test]) + " " + units
    text = text + " (" + FLAG_WORDS[labs.flag[r]] + ")"
    return np.where(row >= 0, text, "")


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
    val = vitals.values
    vit = (
        "HR " + _fmt(val[v, HR], 0) + " bpm, BP " + _fmt(val[v, SBP], 0) + "/"
        + _fmt(val[v, DBP], 0) + " mmHg, RR " + _fmt(val[v, RR], 0) + "/min, SpO2 "
        + _fmt(val[v, SPO2], 0) + "%, T " + _fmt(val[tv, TEMP], 1) + " C"
    )  # fmt: skip

    refs, quoted = [], np.full(len(e), "", dtype=object)
    for name in QUOTED_TESTS:
        rows = np.flatnonzero(labs.test == test_index(name))
        rows = rows[np.lexsort((labs.resulted[rows], labs.enc[rows]))]
        r = _latest(labs.enc[rows] * BIG + (labs.resulted[rows] - base), rows, e, t - base)
        refs.append(r)
        phrase = _lab_phrase(labs, r)
        quoted = np.where(r >= 0, quoted + np.where(quoted == "", "", "; ") + phrase, quoted)
    results = np.where(quoted == "", " No results yet.", " Latest results: " + quoted + ".")

    sc = enc.scenario[e]
    sex = np.where(female[e], "female", "male").astype(object)
    age_s = np.floor(age[e]).astype(int).astype(str).astype(object)
    triage = (
        "Triage: " + age_s + "-year-old " + sex + " presenting with " + COMPLAINT[sc]
        + ". Acuity " + ACUITY[enc.acuity[e]] + ". " + vit + "."
    )  # fmt: skip
    assessment = "Assessment: " + DIAGNOSIS[sc] + ". Plan: " + PLAN[sc] + ". " + vit + "." + results
    day_n = ((t // DAY) - (enc.admit[e] // DAY) + 1).astype(str).astype(object)
    progress = "Progress, hospital day " + day_n + ": " + vit + "." + results
    prev = _previous(labs, reviewed)
    review = "Lab review: " + _lab_phrase(labs, reviewed) + np.where(
        prev >= 0, ", previous " + _lab_phrase(labs, prev), ""
    ) + "."  # fmt: skip
    los = _fmt((enc.discharge[e] - enc.admit[e]) / 60.0, 0)
    discharge = (
        "Discharge summary: " + los + " h stay for " + DIAGNOSIS[sc]
        + ". Condition at discharge: " + vit + "." + results
    )  # fmt: skip
    text = np.select(
        [kind == TRIAGE, kind == ASSESSMENT, kind == PROGRESS, kind == LAB_REVIEW],
        [triage, assessment, progress, review],
        discharge,
    )
    # a lab review also quotes the reviewed result and the one before it
    quotes_results = (kind != TRIAGE) & (kind != LAB_REVIEW)
    lab_refs = [np.where(quotes_results, r, -1) for r in refs]
    lab_refs += [reviewed, np.where(kind == LAB_REVIEW, prev, -1)]
    starts = np.searchsorted(e, np.arange(len(enc)))
    seq = np.arange(len(e)) - starts[e]
    return Notes(e, t, kind, text, vitals.time[v], lab_refs, seq)


def _previous(labs: Labs, row: np.ndarray) -> np.ndarray:
    """The same test's previous result of the same encounter (``-1`` if none)."""
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
