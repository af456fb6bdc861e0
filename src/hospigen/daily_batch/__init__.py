"""Daily hospital batch: a persistent patient registry and encounter-anchored daily files."""

from hospigen.daily_batch.batch import FILES, MODES, DayResult, date_range, day_folder, run_day
from hospigen.daily_batch.config import DailyConfig
from hospigen.daily_batch.registry import Registry, size_on

__all__ = [
    "FILES",
    "MODES",
    "DailyConfig",
    "DayResult",
    "Registry",
    "date_range",
    "day_folder",
    "run_day",
    "size_on",
]
