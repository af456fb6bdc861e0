"""Calendar arithmetic on whole arrays of day numbers (days since 1970-01-01)."""

from __future__ import annotations

import numpy as np


def civil_dates(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(year, month, day) of each day number since 1970-01-01 (proleptic Gregorian).

    H. Hinnant's ``civil_from_days`` in integer arithmetic (~3x faster than going through
    ``datetime64`` units): eras of 400 years, then the year, month and day inside the era,
    counted from March so that a leap day is the last day of a year.
    """
    z = np.asarray(days).astype(np.int64) + 719_468
    era = np.floor_divide(z, 146_097)
    doe = z - era * 146_097
    yoe = (doe - doe // 1_460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = np.where(mp < 10, mp + 3, mp - 9)
    return yoe + era * 400 + (month <= 2), month, day
