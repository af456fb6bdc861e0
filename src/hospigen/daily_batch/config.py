"""Configuration of the daily batch: shipped defaults, overridden by a user YAML file.

The batch for a date is a pure function of (seed, date, configuration); the configuration's
fingerprint is written into every manifest so two folders can be compared honestly.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import yaml

from hospigen.errors import UsageError

SCENARIOS = ("routine", "chest_pain", "sepsis", "copd_hypoxia")
ACUITIES = ("low", "medium", "high")
MAX_ENCOUNTERS_PER_DAY = 1 << 20  # encounter keys reserve 20 bits for the index of the day


@cache
def default_settings() -> dict[str, Any]:
    """The shipped defaults (``daily/data/defaults.yaml``) as a dictionary."""
    text = resources.files("hospigen.daily_batch").joinpath("data/defaults.yaml").read_text()
    return yaml.safe_load(text)


def _merge(base: dict, override: dict, where: str = "") -> dict:
    """``override`` laid over ``base``; keys unknown to ``base`` are a usage error."""
    out = dict(base)
    for key, value in override.items():
        if key not in base:
            raise UsageError(f"unknown config key {where + key!r}")
        if isinstance(base[key], dict) and isinstance(value, dict) and key != "scenario_weights":
            out[key] = _merge(base[key], value, f"{where}{key}.")
        else:
            out[key] = value
    return out


@dataclass(frozen=True)
class DailyConfig:
    """The validated settings of the daily batch (see ``defaults.yaml`` for each key)."""

    settings: dict[str, Any]

    @classmethod
    def load(cls, path: str | Path | None = None, **overrides: Any) -> DailyConfig:
        """Defaults, then the YAML file at ``path``, then keyword ``overrides`` (e.g. seed)."""
        settings = default_settings()
        if path is not None:
            try:
                user = yaml.safe_load(Path(path).read_text()) or {}
            except FileNotFoundError:
                raise UsageError(f"config file not found: {path}") from None
            except yaml.YAMLError as exc:
                first = str(exc).splitlines()[0]
                raise UsageError(f"config file {path} is not valid YAML: {first}") from None
            if not isinstance(user, dict):
                raise UsageError(f"config file {path} must hold a mapping")
            settings = _merge(settings, user)
        settings = _merge(settings, {k: v for k, v in overrides.items() if v is not None})
        config = cls(settings)
        config.validate()
        return config

    # -- accessors ---------------------------------------------------------------------------
    @property
    def seed(self) -> int:
        return int(self.settings["seed"])

    @property
    def registry(self) -> dict[str, Any]:
        return self.settings["registry"]

    @property
    def start_date(self) -> dt.date:
        return dt.date.fromisoformat(str(self.registry["start_date"]))

    @property
    def encounters(self) -> dict[str, Any]:
        return self.settings["encounters"]

    @property
    def vitals(self) -> dict[str, Any]:
        return self.settings["vitals"]

    def scenario_weights(self) -> np.ndarray:
        """Weights in :data:`SCENARIOS` order."""
        w = self.encounters["scenario_weights"]
        return np.array([float(w.get(s, 0.0)) for s in SCENARIOS])

    def acuity_matrix(self) -> np.ndarray:
        """(scenario × acuity) probabilities."""
        return np.array([self.encounters["acuity_weights"][s] for s in SCENARIOS], dtype=float)

    def los_table(self) -> np.ndarray:
        """(scenario × [median, sigma, min, max]) length-of-stay parameters in hours."""
        los = self.encounters["los_hours"]
        return np.array(
            [[los[s][k] for k in ("median", "sigma", "min", "max")] for s in SCENARIOS], float
        )

    def lookback_days(self) -> int:
        """How many days before a discharge date its encounters can have been admitted."""
        return int(np.ceil(self.los_table()[:, 3].max() / 24.0))

    def fingerprint(self) -> str:
        """sha256 of the canonical settings: equal fingerprints, equal batches."""
        canon = orjson.dumps(self.settings, option=orjson.OPT_SORT_KEYS)
        return hashlib.sha256(canon).hexdigest()

    # -- validation --------------------------------------------------------------------------
    def validate(self) -> None:
        """Raise :class:`UsageError` naming the first bad setting."""
        reg = self.registry
        try:
            self.start_date  # noqa: B018 - parses
        except ValueError:
            raise UsageError("registry.start_date must be YYYY-MM-DD") from None
        for key in ("initial_count", "new_patients_per_day", "max_total"):
            if not isinstance(reg[key], int) or reg[key] < 0:
                raise UsageError(f"registry.{key} must be a non-negative integer")
        if reg["initial_count"] < 1 or reg["max_total"] < reg["initial_count"]:
            raise UsageError("registry needs 1 <= initial_count <= max_total")
        per_day = self.encounters["per_day"]
        if not isinstance(per_day, int) or not 0 <= per_day < MAX_ENCOUNTERS_PER_DAY:
            raise UsageError(f"encounters.per_day must be an integer in [0, {1 << 20})")
        weights = self.encounters["scenario_weights"]
        unknown = set(weights) - set(SCENARIOS)
        if unknown:
            raise UsageError(f"unknown scenarios {sorted(unknown)}; known: {list(SCENARIOS)}")
        w = self.scenario_weights()
        if (w < 0).any() or w.sum() <= 0:
            raise UsageError("encounters.scenario_weights must be non-negative, not all zero")
        acuity = self.acuity_matrix()
        if acuity.shape != (4, 3) or (acuity < 0).any() or (acuity.sum(axis=1) <= 0).any():
            raise UsageError("encounters.acuity_weights: three non-negative weights per scenario")
        los = self.los_table()
        if (los[:, 2] <= 0).any() or (los[:, 3] <= los[:, 2]).any() or (los[:, 1] <= 0).any():
            raise UsageError("encounters.los_hours needs 0 < min < max and sigma > 0")
        if len(self.encounters["arrival_curve"]) != 24:
            raise UsageError("encounters.arrival_curve needs 24 hourly weights")
        v = self.vitals
        if not 0.0 <= float(v["monitor_share"]) <= 1.0:
            raise UsageError("vitals.monitor_share must be in [0, 1]")
        temp = int(v["temperature_every_minutes"])
        cadences = [int(v["monitor_every_minutes"][a]) for a in ACUITIES]
        cadences.append(int(v["manual_every_minutes"]))
        if any(c <= 0 or temp % c for c in cadences):
            raise UsageError("vitals cadences must be positive divisors of temperature_every")
