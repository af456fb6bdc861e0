"""Vital signs: scenario trajectories over per-patient baselines, drawn for all steps at once.

A measurement step of encounter ``e`` lies at ``admit + 5 min + k × cadence`` (cadence by acuity
on a monitor, every 4 h when charted by hand); the last step is at or before discharge.
Temperature is charted every ``temperature_every_minutes`` even on a monitor.

Each value is ``baseline(patient) + circadian(clock) + effect(scenario) × severity(h) + noise``.
The noise is smooth (keyed random sinusoids, so values drift like real trends rather than jump)
with a latent "stress" component shared by HR, RR and BP, plus independent measurement error;
fever raises heart and respiratory rate. COPD patients keep a chronic SpO2 baseline near 90 %.
Diastolic pressure is always at least 10 mmHg below systolic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hospigen.daily_batch.config import ACUITIES, DailyConfig
from hospigen.daily_batch.course import COPD, Course
from hospigen.daily_batch.encounters import Encounters
from hospigen.rng import KeyedRandom

VITALS = ("heart_rate", "resp_rate", "temperature_c", "spo2", "systolic_bp", "diastolic_bp")
HR, RR, TEMP, SPO2, SBP, DBP = range(6)
UNITS = ("bpm", "breaths/min", "C", "%", "mmHg", "mmHg")
LOINC = ("8867-4", "9279-1", "8310-5", "59408-5", "8480-6", "8462-4")
UCUM = ("/min", "/min", "Cel", "%", "mm[Hg]", "mm[Hg]")
DECIMALS = (0, 0, 1, 0, 0, 0)
LIMITS = ((30, 220), (6, 50), (34.0, 42.5), (50, 100), (60, 250), (30, 150))
# effect of severity 1 on (HR, RR, Temp, SpO2, SBP, DBP), by scenario
EFFECTS = np.array(
    [
        [6, 1, 0.1, -0.5, 6, 3],  # routine
        [24, 4, 0.0, -2.0, 32, 15],  # chest_pain: pain and sympathetic drive
        [42, 12, 2.3, -7.0, -34, -22],  # sepsis: tachycardia, fever, hypotension
        [20, 11, 0.4, -5.0, 12, 6],  # copd_hypoxia: work of breathing
    ]
)
FIRST_OFFSET = 5  # minutes from admission to the triage vitals
STEP_BITS = 12  # measurement keys: encounter key << 12 | step (a stay has < 4096 steps)


@dataclass
class Vitals:
    """One row per measurement step: the encounter index, time, the six values, and masks."""

    enc: np.ndarray  # index into the encounters
    step: np.ndarray
    time: np.ndarray  # minutes since the Unix epoch
    values: np.ndarray  # (steps × 6)
    present: np.ndarray  # (steps × 6) bool: was the vital charted at this step
    manual: np.ndarray  # (steps × 6) bool: charted by hand (else by the monitor)


def _cadence(config: DailyConfig, enc: Encounters) -> np.ndarray:
    v = config.vitals
    monitor = np.array([int(v["monitor_every_minutes"][a]) for a in ACUITIES])[enc.acuity]
    return np.where(enc.monitored, monitor, int(v["manual_every_minutes"]))


def _baselines(seed: int, patient: np.ndarray, age: np.ndarray, female: np.ndarray) -> np.ndarray:
    """(encounters × 6) resting values of each patient (keyed by patient, stable across stays)."""
    rnd = KeyedRandom(seed, "daily/baseline")
    z = np.stack([rnd.normal(patient, v) for v in VITALS], axis=1)
    hr = 74 + 3 * female - 0.05 * (age - 45) + 8 * z[:, HR]
    rr = 15 + 1.5 * z[:, RR]
    temp = 36.8 + 0.2 * z[:, TEMP]
    spo2 = 97.6 - 0.02 * np.maximum(age - 40, 0) + 0.8 * z[:, SPO2]
    sbp = 112 + 0.45 * np.maximum(age - 30, 0) - 4 * female + 10 * z[:, SBP]
    dbp = 0.45 * sbp + 20 + 6 * z[:, DBP]
    return np.stack([hr, rr, temp, np.minimum(spo2, 99.5), sbp, dbp], axis=1)


def _smooth(
    rnd: KeyedRandom, keys: np.ndarray, hours: np.ndarray, name: str, periods
) -> np.ndarray:
    """A sum of sinusoids with keyed phases: slow, continuous drift with unit variance."""
    out = np.zeros(len(hours))
    for j, period in enumerate(periods):
        phase = 2 * np.pi * rnd.uniform(keys, f"{name}/{j}")
        out += np.sin(2 * np.pi * hours / period + phase)
    return out * np.sqrt(2.0 / len(periods))


def measurement_steps(config: DailyConfig, enc: Encounters) -> tuple[np.ndarray, ...]:
    """(encounter index, step, minutes since admission) of every measurement step."""
    cadence = _cadence(config, enc)
    counts = (enc.discharge - enc.admit - FIRST_OFFSET) // cadence + 1
    e = np.repeat(np.arange(len(enc)), counts)
    starts = np.cumsum(counts) - counts
    step = np.arange(counts.sum()) - np.repeat(starts, counts)
    return e, step, FIRST_OFFSET + step * cadence[e]


def simulate(
    config: DailyConfig,
    enc: Encounters,
    course: Course,
    age: np.ndarray,
    female: np.ndarray,
) -> Vitals:
    """Every vital of every encounter of ``enc`` (``age``/``female`` per encounter)."""
    e, step, since = measurement_steps(config, enc)
    hours = since / 60.0
    time = enc.admit[e] + since
    clock = (time % 1440) / 60.0
    circ = np.cos(2 * np.pi * (clock - 17.0) / 24.0)  # peak late afternoon, trough ~5 am
    sev = course.severity(e, hours)
    base = _baselines(config.seed, enc.patient_key, age, female)[e]
    chronic = 90.0 + 0.4 * (base[:, SPO2] - 97.6)  # COPD: chronic hypoxaemia, target 88-92 %
    base[:, SPO2] = np.where(enc.scenario[e] == COPD, chronic, base[:, SPO2])
    effect = EFFECTS[enc.scenario[e]] * sev[:, None]

    rnd = KeyedRandom(config.seed, "daily/vitals")
    ekey = enc.key[e]
    mkey = (ekey << STEP_BITS) | step
    stress = _smooth(rnd, ekey, hours, "stress", (2.5, 6.0, 15.0))
    own = np.stack([_smooth(rnd, ekey, hours, f"own/{v}", (4.0, 9.0)) for v in VITALS], axis=1)
    white = np.stack([rnd.normal(mkey, f"white/{v}") for v in VITALS], axis=1)

    x = base + effect
    x[:, TEMP] += 0.25 * circ + 0.12 * own[:, TEMP] + 0.08 * white[:, TEMP]
    fever = np.maximum(x[:, TEMP] - 37.2, 0.0)
    x[:, HR] += 3 * circ + 9 * fever + 5 * stress + 2.5 * own[:, HR] + 2 * white[:, HR]
    x[:, RR] += 1.5 * fever + 1.2 * stress + 0.8 * own[:, RR] + 1.0 * white[:, RR]
    x[:, SPO2] += -0.3 * stress + 0.6 * own[:, SPO2] + 0.5 * white[:, SPO2]
    x[:, SBP] += 4 * circ + 6 * stress + 4 * own[:, SBP] + 3 * white[:, SBP]
    x[:, DBP] += 2 * circ + 4 * stress + 3 * own[:, DBP] + 2 * white[:, DBP]

    for v, (low, high) in enumerate(LIMITS):
        x[:, v] = np.clip(np.round(x[:, v], DECIMALS[v]), low, high)
    x[:, DBP] = np.minimum(x[:, DBP], x[:, SBP] - 10)

    temp_every = int(config.vitals["temperature_every_minutes"])
    present = np.ones_like(x, dtype=bool)
    present[:, TEMP] = (since - FIRST_OFFSET) % temp_every == 0
    manual = np.repeat(~enc.monitored[e][:, None], 6, axis=1)
    manual[:, TEMP] = True
    return Vitals(e, step, time, x, present, manual)
