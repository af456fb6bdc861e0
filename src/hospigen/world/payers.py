"""Payers: government programmes, fictional commercial plans and self-pay."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from hospigen.model import schema, uuids
from hospigen.rng import KeyedRandom

# (name, payer_type, ownership); commercial names are invented and belong to no real insurer.
PAYER_CATALOG = (
    ("Medicare", "medicare", "GOVERNMENT"),
    ("Medicaid", "medicaid", "GOVERNMENT"),
    ("Dual Eligible", "dual", "GOVERNMENT"),
    ("Bluestem Health Plan", "commercial", "PRIVATE"),
    ("Northwind Mutual Health", "commercial", "PRIVATE"),
    ("Keystone Care Assurance", "commercial", "PRIVATE"),
    ("Harborlight Health", "commercial", "PRIVATE"),
    ("Summit Valley Insurance", "commercial", "PRIVATE"),
    ("No Insurance", "self_pay", "NO_INSURANCE"),
)
_COMMERCIAL = np.array([i for i, p in enumerate(PAYER_CATALOG) if p[1] == "commercial"])


def payers_table(seed: int) -> pa.Table:
    """The payer catalogue of a run."""
    ids = uuids(seed, "payer", np.arange(len(PAYER_CATALOG)))
    return pa.table(
        {
            "payer_id": ids,
            "payer_name": [p[0] for p in PAYER_CATALOG],
            "payer_type": [p[1] for p in PAYER_CATALOG],
            "ownership": [p[2] for p in PAYER_CATALOG],
        },
        schema=schema("payers"),
    )


def assign_payers(
    rnd: KeyedRandom, keys: np.ndarray, age: np.ndarray, income: np.ndarray
) -> np.ndarray:
    """Payer catalogue index per person.

    65+ → Medicare (Dual Eligible when poor); low income → Medicaid; otherwise employer or
    individual commercial cover, with about 8 % uninsured (ACS 2019: 8.0 % uninsured).
    """
    u = rnd.uniform(keys, "payer")
    poor = income < 20_000
    out = _COMMERCIAL[rnd.integers(keys, "plan", 0, len(_COMMERCIAL))]
    out = np.where(u < 0.09, 8, out)  # uninsured
    out = np.where(poor & (u < 0.75), 1, out)  # Medicaid
    out = np.where(age >= 65, np.where(poor & (u < 0.3), 2, 0), out)
    return out
