"""Visibly synthetic person and provider identifiers, in never-issued ranges.

- SSN: areas 900–999 are never issued by the Social Security Administration; we count down
  from 999, so ``999-01-0001`` is the first and numbers are unique up to 99 million people.
- NPI: ten digits with the Luhn check digit over the ``80840`` prefix (as CMS specifies), but
  starting with ``9``: CMS issues NPIs starting with 1 or 2 only, so ours can never be real.
- Phone numbers: see :func:`hospigen.world.geography.phones` (555-0100..0199, fictional).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from hospigen.rng import KeyedRandom

_ORG_OFFSET = 50_000_000  # individual NPIs use keys below this, organisations above


def ssns(keys: np.ndarray) -> pa.Array:
    """``999-GG-SSSS`` numbers, unique per key (group 01–99, serial 0001–9999)."""
    k = np.asarray(keys, dtype=np.int64)
    area = 999 - k // (99 * 9999)
    group = 1 + (k // 9999) % 99
    serial = 1 + k % 9999

    def digits(values: np.ndarray, width: int) -> pa.Array:
        return pc.utf8_lpad(pc.cast(pa.array(values), pa.string()), width=width, padding="0")

    return pc.binary_join_element_wise(digits(area, 3), digits(group, 2), digits(serial, 4), "-")


def luhn_check_digit(base9: np.ndarray) -> np.ndarray:
    """NPI check digit for 9-digit integers, computed with the 80840 prefix (CMS rule)."""
    digits = (np.asarray(base9, dtype=np.int64)[:, None] // 10 ** np.arange(8, -1, -1)) % 10
    # double every second digit from the right of the 9-digit base (positions 0,2,4,6,8)
    doubled = digits.copy()
    doubled[:, 0::2] *= 2
    doubled = np.where(doubled > 9, doubled - 9, doubled)
    total = doubled.sum(axis=1) + 24  # 24 = contribution of the 80840 prefix
    return (10 - total % 10) % 10


def npi_is_valid(npi: str) -> bool:
    """True when ``npi`` is ten digits with a correct Luhn check digit."""
    if len(npi) != 10 or not npi.isdigit():
        return False
    return int(luhn_check_digit(np.array([int(npi[:9])]))[0]) == int(npi[9])


def npis(rnd: KeyedRandom, keys: np.ndarray, organisation: bool = False) -> pa.Array:
    """Unique synthetic NPIs (leading 9) for ``keys``; ``rnd`` is kept for a uniform signature."""
    del rnd  # NPIs are a pure function of the key, so they are unique by construction
    k = np.asarray(keys, dtype=np.int64) + (_ORG_OFFSET if organisation else 0)
    if (np.asarray(keys) >= _ORG_OFFSET).any():
        raise ValueError("too many entities for the synthetic NPI range")
    base = 900_000_000 + k
    # ten digits, the first a 9: the integer's decimal text is the NPI (no numpy string arrays)
    return pc.cast(pa.array(base * 10 + luhn_check_digit(base)), pa.string())
