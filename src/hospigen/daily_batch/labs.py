"""Laboratory results, ordered the way the scenario and the vitals call for them.

Orders (each a set of draws at a collection time):

- admission panel: CBC (WBC, HGB, PLT) + BMP (Na, K, Cr, BUN, Glucose) 20-60 min after arrival,
  for every acute scenario and 60 % of routine stays;
- morning labs: the same panel at 05:00 each day from 12 h after arrival (not routine stays),
  with a lactate for sepsis, so the lactate trend is followed to discharge;
- serial troponin for chest pain at 0, 3 and 6 h (rising in infarctions);
- lactate when sepsis criteria first appear in the vitals (two of HR > 90, RR > 20,
  temperature > 38 or < 36 °C; on arrival for a sepsis presentation), repeated at 3, 6 and
  12 h while the previous value stays above 2 mmol/L.

A value is ``patient baseline + scenario effect × severity at collection + noise``; reference
ranges, critical limits and LOINC codes come from ``daily/data/labs.csv`` (checked against the
terminology tables by the tests). A draw whose result would arrive after discharge is not made.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from hospigen.daily_batch.course import CHEST_PAIN, ROUTINE, SEPSIS, Course
from hospigen.daily_batch.encounters import DAY, Encounters
from hospigen.daily_batch.vitals import HR, RR, TEMP, Vitals
from hospigen.rng import KeyedRandom

PANEL = ("WBC", "HGB", "PLT", "Na", "K", "Cr", "BUN", "Glucose")
REASONS = ("admission_panel", "morning_labs", "serial_troponin", "sepsis_screen")
ADMISSION, MORNING, TROPONIN, LACTATE = range(4)
LACTATE_REPEATS_MIN = (0, 180, 360, 720)
TROPONIN_AT_MIN = (30, 210, 390)
FLAGS = ("N", "L", "H", "LL", "HH")


@cache
def lab_table() -> pa.Table:
    """The shipped lab catalogue (``daily/data/labs.csv``)."""
    path = resources.files("hospigen.daily_batch").joinpath("data/labs.csv")
    with resources.as_file(path) as p:
        return pacsv.read_csv(p, convert_options=pacsv.ConvertOptions(strings_can_be_null=False))


def lab_column(name: str) -> np.ndarray:
    """One column of the lab catalogue as a numpy array."""
    return lab_table()[name].to_numpy()


def test_index(name: str) -> int:
    """Row of ``name`` in the lab catalogue."""
    return lab_table()["test_name"].to_pylist().index(name)


@dataclass
class Labs:
    """One row per result (sorted by encounter, collection time, test)."""

    enc: np.ndarray
    test: np.ndarray  # row of lab_table()
    collected: np.ndarray  # minutes since the Unix epoch
    resulted: np.ndarray
    value: np.ndarray
    flag: np.ndarray  # index into FLAGS
    reason: np.ndarray  # index into REASONS
    seq: np.ndarray  # position within its encounter


def sepsis_trigger(enc: Encounters, vitals: Vitals) -> np.ndarray:
    """Minute each encounter first meets two SIRS vital criteria (``-1`` = never)."""
    v = vitals.values
    temp_bad = vitals.present[:, TEMP] & ((v[:, TEMP] > 38.0) | (v[:, TEMP] < 36.0))
    sirs = (v[:, HR] > 90).astype(int) + (v[:, RR] > 20) + temp_bad >= 2
    first = np.full(len(enc), np.iinfo(np.int64).max)
    np.minimum.at(first, vitals.enc[sirs], vitals.time[sirs])
    on_arrival = np.where(enc.scenario == SEPSIS, enc.admit + 15, first)
    first = np.minimum(first, on_arrival)
    return np.where(first == np.iinfo(np.int64).max, -1, first)


def _orders(seed: int, enc: Encounters, trigger: np.ndarray) -> tuple[np.ndarray, ...]:
    """(encounter, collection minute, test, reason, repeat number) of every candidate draw."""
    rnd = KeyedRandom(seed, "daily/orders")
    n = len(enc)
    idx = np.arange(n)
    panel = np.array([test_index(t) for t in PANEL])
    parts = []

    def add(e, t, tests, reason, rep=None):
        rep = np.zeros(len(e), dtype=np.int64) if rep is None else rep
        k = len(tests)
        parts.append(
            (np.repeat(e, k), np.repeat(t, k), np.tile(tests, len(e)), np.full(len(e) * k, reason),
             np.repeat(rep, k))
        )  # fmt: skip

    adm = (enc.scenario != ROUTINE) | (rnd.uniform(enc.key, "admission_panel") < 0.6)
    add(idx[adm], enc.admit[adm] + rnd.integers(enc.key[adm], "admission_at", 20, 61), panel, 0)

    first_am = (enc.admit + 12 * 60 - 5 * 60 + DAY - 1) // DAY * DAY + 5 * 60
    mornings = np.where(enc.scenario != ROUTINE, (enc.discharge - first_am) // DAY + 1, 0)
    mornings = np.maximum(mornings, 0)
    e = np.repeat(idx, mornings)
    j = np.arange(mornings.sum()) - np.repeat(np.cumsum(mornings) - mornings, mornings)
    add(e, first_am[e] + j * DAY, panel, MORNING, j)
    septic = enc.scenario[e] == SEPSIS  # sepsis trends its lactate every morning
    add(e[septic], first_am[e[septic]] + j[septic] * DAY, np.array([test_index("Lactate")]),
        MORNING, j[septic])  # fmt: skip

    cp = idx[enc.scenario == CHEST_PAIN]
    for rep, at in enumerate(TROPONIN_AT_MIN):
        add(cp, enc.admit[cp] + at, np.array([test_index("Troponin")]), TROPONIN,
            np.full(len(cp), rep))  # fmt: skip

    sx = idx[trigger >= 0]
    for rep, at in enumerate(LACTATE_REPEATS_MIN):
        add(sx, trigger[sx] + 15 + at, np.array([test_index("Lactate")]), LACTATE,
            np.full(len(sx), rep))  # fmt: skip
    return tuple(np.concatenate(c) for c in zip(*parts, strict=True))


def _values(seed, enc, course, age, female, e, test, collected) -> np.ndarray:
    """Result values of draws (encounter ``e``, ``test``, at ``collected``)."""
    rnd = KeyedRandom(seed, "daily/labs")
    effects = np.stack(
        [lab_column(s) for s in ("routine", "chest_pain", "sepsis", "copd_hypoxia")], axis=1
    )
    hours = (collected - enc.admit[e]) / 60.0
    sev = course.severity(e, hours)
    mean, sd = lab_column("mean")[test], lab_column("sd")[test]
    patient_z = rnd.normal(enc.patient_key[e] * 16 + test, "patient")
    draw_key = (enc.key[e] << 20) | ((collected - enc.admit[e]) << 4) | test
    value = (
        mean
        + lab_column("male_shift")[test] * ~female[e]
        + effects[test, enc.scenario[e]] * sev
        + sd * (0.7 * patient_z + 0.5 * rnd.normal(draw_key, "draw"))
    )
    value = np.where(test == test_index("Cr"), value + 0.004 * (age[e] - 40), value)
    trop = test == test_index("Troponin")
    onset_h = 1.0 + 3.0 * rnd.uniform(enc.key[e], "mi_onset")
    peak = 0.8 + 7.0 * rnd.uniform(enc.key[e], "mi_peak")
    rising = peak * (1.0 - np.exp(-(hours + onset_h) / 6.0))
    value = np.where(trop & course.mi[e], value + rising, value)
    value = np.maximum(value, np.where(trop, 0.001, 0.1 * mean))
    decimals = lab_column("decimals")[test]
    return np.round(value * 10.0**decimals) / 10.0**decimals


def _flags(test: np.ndarray, value: np.ndarray) -> np.ndarray:
    lo, hi = lab_column("ref_low")[test], lab_column("ref_high")[test]
    clo, chi = lab_column("crit_low")[test], lab_column("crit_high")[test]
    return np.select([value <= clo, value >= chi, value < lo, value > hi], [3, 4, 1, 2], 0).astype(
        np.int64
    )


def simulate(
    seed: int,
    enc: Encounters,
    course: Course,
    vitals: Vitals,
    age: np.ndarray,
    female: np.ndarray,
) -> Labs:
    """Every lab result of the encounters of ``enc``."""
    trigger = sepsis_trigger(enc, vitals)
    e, collected, test, reason, rep = _orders(seed, enc, trigger)
    rnd = KeyedRandom(seed, "daily/turnaround")
    tkey = (enc.key[e] << 16) | (reason << 12) | (rep << 8) | test
    span = lab_column("turnaround_max")[test] - lab_column("turnaround_min")[test] + 1
    resulted = (
        collected + lab_column("turnaround_min")[test] + (rnd.uniform(tkey) * span).astype(int)
    )
    value = _values(seed, enc, course, age, female, e, test, collected)

    # repeat a lactate only while every earlier one of the encounter stayed above 2 mmol/L
    keep = resulted <= enc.discharge[e]
    lac = np.flatnonzero(reason == LACTATE)
    grid = np.full((len(enc), len(LACTATE_REPEATS_MIN)), np.inf)
    grid[e[lac], rep[lac]] = value[lac]
    high_so_far = np.cumprod(np.concatenate([np.ones((len(enc), 1)), grid[:, :-1] > 2.0], 1), 1)
    keep[lac] &= high_so_far[e[lac], rep[lac]] > 0

    order = np.lexsort((test, collected, e))
    order = order[keep[order]]
    e, test, collected, resulted, value, reason = (
        a[order] for a in (e, test, collected, resulted, value, reason)
    )
    starts = np.searchsorted(e, np.arange(len(enc)))
    seq = np.arange(len(e)) - starts[e]
    return Labs(e, test, collected, resulted, value, _flags(test, value), reason, seq)
