"""Encounters: the day's admissions and the batch of encounters discharged on a date.

Admissions of day ``d`` are drawn from ``KeyedRandom(seed, "daily/encounter")`` keyed by the
encounter key ``day_number(d) << 20 | index``, so they depend only on (seed, d, config). The batch
folder of date D holds the encounters *discharged* on D (admitted up to ``lookback_days`` before):
every encounter lands in exactly one folder, complete, and no folder holds an event after its
own date (see docs/daily.md, "Encounters that cross midnight").
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from hospigen.daily_batch.config import SCENARIOS, DailyConfig
from hospigen.daily_batch.registry import size_on
from hospigen.rng import KeyedRandom

DAY = 1440  # minutes
INDEX_BITS = 20
# youngest age a scenario is admitted at (COPD and chest pain are adult presentations)
MIN_AGE = np.array([0.0, 25.0, 0.0, 40.0])
CANDIDATES = 8


def day_number(date: dt.date) -> int:
    """Days since 1970-01-01."""
    return (date - dt.date(1970, 1, 1)).days


@dataclass
class Encounters:
    """Columns of a set of encounters (times are minutes since the Unix epoch)."""

    key: np.ndarray  # int64 global encounter key
    patient_key: np.ndarray
    scenario: np.ndarray  # index into SCENARIOS
    acuity: np.ndarray  # index into ACUITIES
    admit: np.ndarray
    discharge: np.ndarray
    monitored: np.ndarray  # bool

    def take(self, index: np.ndarray) -> Encounters:
        """The encounters at ``index``."""
        return Encounters(**{k: v[index] for k, v in self.__dict__.items()})

    @staticmethod
    def concat(parts: list[Encounters]) -> Encounters:
        """All ``parts`` end to end."""
        names = Encounters.__dataclass_fields__
        return Encounters(**{k: np.concatenate([getattr(p, k) for p in parts]) for k in names})

    def __len__(self) -> int:
        return len(self.key)


def _truncated_lognormal(rnd: KeyedRandom, keys: np.ndarray, params: np.ndarray) -> np.ndarray:
    """Hours of stay: log-normal(median, sigma) conditioned on [min, max] by keyed rejection."""
    median, sigma, low, high = params.T
    out = np.full(len(keys), np.nan)
    for j in range(CANDIDATES):
        x = median * np.exp(sigma * rnd.normal(keys, f"los/{j}"))
        take = np.isnan(out) & (x >= low) & (x <= high)
        out[take] = x[take]
    return np.where(np.isnan(out), np.clip(median, low, high), out)


def _age_years(birth_days: np.ndarray, at_minutes: np.ndarray) -> np.ndarray:
    return (at_minutes // DAY - birth_days) / 365.2425


def admissions(config: DailyConfig, date: dt.date, birth_days: np.ndarray) -> Encounters:
    """The admissions of ``date``; ``birth_days`` holds every registry patient's birth day."""
    n = int(config.encounters["per_day"])
    dn = day_number(date)
    keys = (np.int64(dn) << INDEX_BITS) | np.arange(n, dtype=np.int64)
    rnd = KeyedRandom(config.seed, "daily/encounter")
    scenario = rnd.choice(keys, "scenario", config.scenario_weights())
    hour = rnd.choice(keys, "hour", config.encounters["arrival_curve"])
    admit = dn * DAY + hour * 60 + rnd.integers(keys, "minute", 0, 60)

    # patients: the day's new registrations come first (that is why they registered), the rest
    # are drawn from everyone registered by then, re-drawn until old enough for the scenario
    size = size_on(config, date)
    prev = size_on(config, date - dt.timedelta(days=1)) if date > config.start_date else 0
    cand = np.stack([rnd.integers(keys, f"patient/{j}", 0, size) for j in range(CANDIDATES)])
    old_enough = _age_years(birth_days[cand], admit[None, :]) >= MIN_AGE[scenario][None, :]
    first_ok = np.where(old_enough.any(axis=0), old_enough.argmax(axis=0), CANDIDATES - 1)
    patient = cand[first_ok, np.arange(n)]
    new = np.arange(prev, size)[:n]
    patient[: len(new)] = new
    too_young = _age_years(birth_days[patient], admit) < MIN_AGE[scenario]
    scenario = np.where(too_young, 0, scenario)  # a child is not admitted with COPD

    acuity = rnd.choice_rows(keys, "acuity", config.acuity_matrix()[scenario])
    los_hours = _truncated_lognormal(rnd, keys, config.los_table()[scenario])
    discharge = admit + np.round(los_hours * 60).astype(np.int64)
    monitored = rnd.uniform(keys, "monitored") < float(config.vitals["monitor_share"])
    return Encounters(keys, patient, scenario, acuity, admit, discharge, monitored)


def discharged_on(config: DailyConfig, date: dt.date, birth_days: np.ndarray) -> Encounters:
    """Encounters discharged on ``date`` (admitted on or after the registry start date)."""
    days = [
        date - dt.timedelta(days=back)
        for back in range(config.lookback_days(), -1, -1)
        if date - dt.timedelta(days=back) >= config.start_date
    ]
    every = Encounters.concat([admissions(config, d, birth_days) for d in days])
    mine = every.take(np.flatnonzero(every.discharge // DAY == day_number(date)))
    return mine.take(np.lexsort((mine.key, mine.admit)))


def scenario_names(scenario: np.ndarray) -> np.ndarray:
    """Scenario indices → names."""
    return np.array(SCENARIOS)[scenario]
