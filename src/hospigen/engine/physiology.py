"""Vital signs by age and sex, with per-patient persistence.

Each patient carries persistent z-scores (height, BMI, blood pressure, heart rate) drawn once
from their key, so the same person measures alike from visit to visit; each visit adds a small
measurement noise. Curves are rounded from CDC growth charts (children) and NHANES 2015-2018
examination means (adults); see docs/prevalence.md.
"""

from __future__ import annotations

import numpy as np

from hospigen.rng import KeyedRandom

# age (years) → median height (cm) for boys / girls (CDC 2000 growth charts, rounded)
_H_AGE = [0, 0.5, 1, 2, 3, 5, 8, 10, 12, 14, 16, 18, 20, 60, 90]
_H_M = [50, 67, 76, 87, 95, 110, 128, 138, 149, 164, 173, 176, 176.5, 175.5, 171]
_H_F = [49, 65, 74, 86, 94, 109, 127, 138, 151, 160, 162, 163, 163, 161.5, 157]
# age → median BMI (kg/m2), both sexes
_B_AGE = [0, 0.5, 1, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 30, 40, 50, 60, 70, 80, 90]
_B_MED = [
    13.5,
    17,
    17.2,
    16.5,
    15.7,
    15.5,
    16,
    17,
    18,
    19.5,
    20.5,
    21.5,
    25.5,
    28.3,
    29.1,
    29.3,
    29.0,
    28.5,
    27.0,
    25.5,
]
# age → (SBP male, SBP female, DBP male, DBP female)
_BP_AGE = [3, 10, 17, 20, 40, 60, 80, 100]
_SBP_M = [95, 104, 114, 118, 122, 130, 136, 138]
_SBP_F = [95, 103, 108, 109, 116, 130, 138, 140]
_DBP_M = [56, 62, 68, 72, 78, 76, 68, 66]
_DBP_F = [56, 62, 66, 67, 74, 74, 66, 64]
_HR_AGE = [0, 1, 2, 5, 10, 15, 20, 100]
_HR = [135, 120, 110, 95, 85, 78, 72, 72]
_RR_AGE = [0, 1, 3, 6, 12, 18, 100]
_RR = [40, 30, 24, 20, 18, 16, 16]


def vitals(
    rnd: KeyedRandom,
    patient_keys: np.ndarray,
    visit_keys: np.ndarray,
    age: np.ndarray,
    female: np.ndarray,
    hypertensive: np.ndarray,
    copd: np.ndarray,
) -> dict[str, np.ndarray]:
    """One set of vital signs per visit (arrays aligned with ``visit_keys``)."""
    z = {n: rnd.normal(patient_keys, f"z/{n}") for n in ("h", "b", "s", "d", "hr")}
    noise = {
        n: rnd.normal(visit_keys, f"noise/{n}") for n in ("h", "b", "s", "d", "hr", "rr", "t", "o")
    }
    med_h = np.where(female, np.interp(age, _H_AGE, _H_F), np.interp(age, _H_AGE, _H_M))
    height = med_h * (1 + 0.04 * z["h"]) + 0.3 * noise["h"]
    sigma_b = np.interp(age, [0, 18, 25], [0.12, 0.14, 0.21])
    bmi = np.interp(age, _B_AGE, _B_MED) * np.exp(sigma_b * z["b"] + 0.025 * noise["b"])
    weight = bmi * (height / 100) ** 2
    sbp = np.where(female, np.interp(age, _BP_AGE, _SBP_F), np.interp(age, _BP_AGE, _SBP_M))
    dbp = np.where(female, np.interp(age, _BP_AGE, _DBP_F), np.interp(age, _BP_AGE, _DBP_M))
    zd = 0.6 * z["s"] + 0.8 * z["d"]
    sbp = sbp + 10 * z["s"] + 6 * noise["s"] + 12 * hypertensive + 0.5 * (bmi - 27).clip(-5, 15)
    dbp = dbp + 7 * zd + 4 * noise["d"] + 6 * hypertensive
    dbp = np.minimum(dbp, sbp - 20)  # pulse pressure stays physiological: SBP > DBP always
    heart = np.interp(age, _HR_AGE, _HR) + 7 * z["hr"] + 5 * noise["hr"] + 4 * copd
    resp = np.interp(age, _RR_AGE, _RR) + 1.5 * noise["rr"] + 3 * copd
    temp = 36.8 + 0.25 * noise["t"]
    spo2 = np.minimum(100, 97.8 + 0.9 * noise["o"] - 4.0 * copd)
    return {
        "height": np.round(height, 1),
        "weight": np.round(np.maximum(weight, 1.8), 1),
        "bmi": np.round(bmi, 1),
        "systolic": np.round(np.clip(sbp, 70, 220)),
        "diastolic": np.round(np.clip(dbp, 40, 130)),
        "heart_rate": np.round(np.clip(heart, 40, 190)),
        "resp_rate": np.round(np.clip(resp, 8, 60)),
        "temperature": np.round(np.clip(temp, 35.5, 38.3), 1),
        "spo2": np.round(np.clip(spo2, 82, 100)),
    }
