"""Prevalence of coded conditions by age band among the living, beside published figures.

Used to calibrate and check the background disease curves of ``modules/baseline.yaml``
(``bench/prevalence.py`` prints the comparison; the cohort tests assert it). A patient counts
as a case when any of their ``conditions`` rows has a code starting with the band's prefix;
the denominator is every patient alive on the as-of date whose age falls in the band.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

DAYS_PER_YEAR = 365.2425


@dataclass(frozen=True)
class Target:
    """One published prevalence figure: a condition code prefix in an age band [lo, hi)."""

    condition: str
    code_prefix: str
    age_lo: float
    age_hi: float
    published_pct: float
    source: str


def read_targets(path: str | Path) -> list[Target]:
    """Targets from a CSV with the columns of :class:`Target` (one row per band)."""
    with open(path, newline="", encoding="utf-8") as fh:
        return [
            Target(
                condition=row["condition"],
                code_prefix=row["code_prefix"],
                age_lo=float(row["age_lo"]),
                age_hi=float(row["age_hi"]),
                published_pct=float(row["published_pct"]),
                source=row["source"],
            )
            for row in csv.DictReader(fh)
        ]


def prevalence_pct(
    patients: pa.Table,
    conditions: pa.Table,
    code_prefix: str,
    age_lo: float,
    age_hi: float,
    as_of: dt.date,
) -> float:
    """Percentage of living patients aged [age_lo, age_hi) on ``as_of`` with a matching code."""
    alive = pc.is_null(patients.column("death_date"))
    born = patients.column("birth_date").to_numpy(zero_copy_only=False).astype("datetime64[D]")
    age = (np.datetime64(as_of, "D") - born).astype(np.int64) / DAYS_PER_YEAR
    in_band = alive.to_numpy(zero_copy_only=False) & (age >= age_lo) & (age < age_hi)
    if not in_band.any():
        return float("nan")
    cases = conditions.filter(pc.starts_with(conditions.column("code"), code_prefix))
    has = pc.is_in(patients.column("patient_id"), value_set=pc.unique(cases.column("patient_id")))
    return 100.0 * float(has.to_numpy(zero_copy_only=False)[in_band].mean())


def compare(
    patients: pa.Table, conditions: pa.Table, targets: Iterable[Target], as_of: dt.date
) -> list[tuple[Target, float]]:
    """Each target with our prevalence for the same code prefix and age band."""
    return [
        (t, prevalence_pct(patients, conditions, t.code_prefix, t.age_lo, t.age_hi, as_of))
        for t in targets
    ]
