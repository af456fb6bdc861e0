"""Social needs (SDOH) from the scenario, coded as ICD-10-CM Z codes at a patient's first visit."""

from __future__ import annotations

import numpy as np

from hospigen.engine.cohort import Cohort
from hospigen.rng import KeyedRandom
from hospigen.terminology import default_terminology

SDOH_CODES = {
    "food_insecurity": "Z59.41",
    "housing_instability": "Z59.811",
    "transportation_insecurity": "Z59.82",
    "financial_insecurity": "Z59.86",
}


def record_sdoh(cohort: Cohort, shares: dict[str, float]) -> None:
    """Record each social need, with the scenario's share, at the patient's first encounter."""
    if not shares or not cohort.log.counts["encounters"]:
        return
    log = cohort.log
    pidx = log.column("encounters", "pidx").astype(np.int64)
    start = log.column("encounters", "start").astype(np.float64)
    order = np.lexsort((np.arange(len(pidx)), start, pidx))
    first = order[np.r_[True, pidx[order][1:] != pidx[order][:-1]]]
    rnd = KeyedRandom(cohort.seed, "sdoh")
    for need, share in shares.items():
        if need not in SDOH_CODES:
            continue
        p = pidx[first]
        hit = rnd.uniform(cohort.keys[p], need) < float(share)
        concept = default_terminology().lookup("icd10cm", SDOH_CODES[need])
        code = cohort.codes.add("icd10cm", concept.code, concept.display)
        n = int(hit.sum())
        log.add(
            "conditions",
            pidx=p[hit],
            enc=first[hit],
            time=start[first][hit],
            code=np.full(n, code),
            module=np.full(n, cohort.labels.add("sdoh"), dtype=np.int32),
        )
