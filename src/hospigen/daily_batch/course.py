"""The clinical course of an encounter: a severity curve shared by vitals, labs and notes.

Severity ``s(h)`` (0 = well, ~1 = worst) at ``h`` hours after admission:

- sepsis rises from ``s0`` to its peak at ``peak_h`` (before treatment takes hold), then resolves
  exponentially, reaching ~5 % of the peak at discharge;
- chest pain is worst on arrival and settles within hours (analgesia, nitrates);
- a COPD exacerbation worsens briefly, then resolves slowly over the stay (chronic hypoxaemia is
  a baseline, not a severity: see :mod:`hospigen.daily_batch.vitals`);
- routine stays carry a small, slowly fading severity.

Every parameter is keyed by the encounter key, so vitals and labs of one encounter see the same
course however the batch is cut.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hospigen.daily_batch.encounters import Encounters
from hospigen.rng import KeyedRandom

ROUTINE, CHEST_PAIN, SEPSIS, COPD = range(4)
MI_SHARE = 0.3  # chest-pain presentations that are myocardial infarctions (troponin rises)


@dataclass
class Course:
    """Per-encounter course parameters (arrays aligned with the encounters)."""

    amp: np.ndarray
    s0: np.ndarray
    peak_h: np.ndarray
    tau_h: np.ndarray
    mi: np.ndarray  # bool: chest pain that is an infarction

    def severity(self, enc: np.ndarray, hours: np.ndarray) -> np.ndarray:
        """Severity of encounters ``enc`` (indices) at ``hours`` after admission."""
        peak = self.peak_h[enc]
        rising = self.s0[enc] + (1.0 - self.s0[enc]) * hours / np.maximum(peak, 1e-9)
        falling = np.exp(-np.maximum(hours - peak, 0.0) / self.tau_h[enc])
        return self.amp[enc] * np.where(hours < peak, rising, falling)


def course(seed: int, enc: Encounters) -> Course:
    """Draw the course of every encounter of ``enc``."""
    rnd = KeyedRandom(seed, "daily/course")
    k, sc = enc.key, enc.scenario
    los_h = (enc.discharge - enc.admit) / 60.0
    u = {name: rnd.uniform(k, name) for name in ("amp", "s0", "peak", "tau")}
    amp = np.select(
        [sc == ROUTINE, sc == SEPSIS], [0.4 * u["amp"], 0.8 + 0.4 * u["amp"]], 0.85 + 0.3 * u["amp"]
    )
    s0 = np.select([sc == SEPSIS, sc == COPD], [0.55 + 0.3 * u["s0"], 0.7 + 0.2 * u["s0"]], 1.0)
    peak = np.select(
        [sc == SEPSIS, sc == COPD],
        [np.minimum(3 + 9 * u["peak"], 0.3 * los_h), np.minimum(6 * u["peak"], 0.2 * los_h)],
        0.0,
    )
    tau = np.select(
        [sc == CHEST_PAIN, sc == SEPSIS, sc == COPD],
        [3 + 5 * u["tau"], (los_h - peak) / 3.0, (los_h - peak) / 2.5],
        los_h / 2.0,
    )
    mi = (sc == CHEST_PAIN) & (rnd.uniform(k, "mi") < MI_SHARE)
    return Course(amp, s0, peak, np.maximum(tau, 0.5), mi)
