"""Allergies: drug, food and environmental, recorded at the patient's first encounter.

Each category of ``baseline.yaml``'s ``allergies`` section gives the share of patients with a
documented allergy of that kind, the substances (``"system code": weight``) and the share of
high-criticality reactions. A patient has at most one allergy per category; draws are keyed by
patient, so the same person has the same allergies in every run and shard.
"""

from __future__ import annotations

import numpy as np

from hospigen.engine.cohort import Cohort
from hospigen.rng import KeyedRandom
from hospigen.terminology import default_terminology


def _first_encounters(cohort: Cohort) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(patient, encounter row, start) of each patient's first encounter."""
    log = cohort.log
    pidx = log.column("encounters", "pidx").astype(np.int64)
    start = log.column("encounters", "start").astype(np.float64)
    order = np.lexsort((start, pidx))
    first = order[np.r_[True, pidx[order][1:] != pidx[order][:-1]]]
    return pidx[first], first, start[first]


def _substances(cohort: Cohort, spec: dict) -> tuple[np.ndarray, np.ndarray]:
    """(codebook indices, weights) of a category's substances."""
    terms, codes = default_terminology(), []
    for ref in spec["substances"]:
        system, code = ref.split()
        concept = terms.lookup(system, code)
        codes.append(cohort.codes.add(system, concept.code, concept.display))
    return np.array(codes), np.array(list(spec["substances"].values()), dtype=np.float64)


def record_allergies(cohort: Cohort, categories: dict[str, dict]) -> None:
    """Add the allergies of every category to the cohort's event log."""
    if not categories or not cohort.log.counts["encounters"]:
        return
    pidx, enc, when = _first_encounters(cohort)
    keys = cohort.keys[pidx]
    rnd = KeyedRandom(cohort.seed, "allergy")
    level = np.array([cohort.labels.add("low"), cohort.labels.add("high")], dtype=np.int32)
    for category, spec in categories.items():
        has = rnd.uniform(keys, category) < float(spec["share"])
        if not has.any():
            continue
        codes, weights = _substances(cohort, spec)
        pick = rnd.choice(keys[has], f"{category}/substance", weights)
        high = rnd.uniform(keys[has], f"{category}/criticality") < float(spec.get("high", 0))
        n = int(has.sum())
        cohort.log.add(
            "allergies",
            pidx=pidx[has],
            enc=enc[has],
            time=when[has],
            code=codes[pick],
            category=np.full(n, cohort.labels.add(category), dtype=np.int32),
            criticality=level[high.astype(np.int64)],
            module=np.full(n, cohort.labels.add("baseline"), dtype=np.int32),
        )
