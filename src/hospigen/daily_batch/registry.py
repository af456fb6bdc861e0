"""The persistent patient registry: a cache of a pure function, never a source of truth.

Patient ``k`` is drawn by :class:`hospigen.world.World` from (seed, k) alone (its birth date is
anchored at the registry start date, so ages advance with the batch date). The registry size on
date D is ``min(max_total, initial_count + new_patients_per_day * days_since_start)``. The file
``patients_master.csv`` therefore only materialises rows ``0 .. size(latest date run) - 1``:
re-running a date does not grow it, running dates out of order gives the same file, and a file
that is missing, truncated, edited or written for another seed is detected by its sidecar
checksum and rebuilt.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.csv as pacsv

from hospigen.daily_batch.config import DailyConfig
from hospigen.daily_batch.io import csv_bytes, write_atomic
from hospigen.errors import UsageError

COLUMNS = (
    "patient_key", "patient_id", "mrn", "first_name", "last_name", "sex", "birth_date",
    "address", "city", "state", "zip", "registered_date",
)  # fmt: skip
WORLD_FACILITIES = 50  # the registry needs addresses, not the national facility catalogue


def size_on(config: DailyConfig, date: dt.date | np.ndarray) -> int | np.ndarray:
    """Registry size on ``date`` (scalar or ``datetime64[D]`` array)."""
    reg = config.registry
    days = np.asarray(np.datetime64(date, "D") - np.datetime64(config.start_date, "D")).astype(
        np.int64
    )
    size = np.minimum(
        reg["max_total"], reg["initial_count"] + reg["new_patients_per_day"] * np.maximum(days, 0)
    )
    return int(size) if np.ndim(size) == 0 else size


def registered_dates(config: DailyConfig, keys: np.ndarray) -> np.ndarray:
    """The date each patient key joins the registry (``datetime64[D]``)."""
    reg = config.registry
    extra = np.maximum(np.asarray(keys, dtype=np.int64) - reg["initial_count"], 0)
    per_day = max(reg["new_patients_per_day"], 1)
    days = -(-extra // per_day)  # ceil: keys initial..initial+n-1 join on day 1
    return np.datetime64(config.start_date, "D") + days.astype("timedelta64[D]")


@cache
def _world(seed: int, start: dt.date, states: tuple[str, ...] | None):
    from hospigen.world import World

    return World(seed=seed, as_of=start, facility_count=WORLD_FACILITIES, states=states)


def draw_patients(config: DailyConfig, keys: np.ndarray) -> pa.Table:
    """Registry rows for ``keys``, drawn from the world (every value is a string)."""
    states = config.registry["states"]
    world = _world(config.seed, config.start_date, tuple(states) if states else None)
    t = world.patients(np.asarray(keys, dtype=np.int64))
    return pa.table(
        {
            "patient_key": t["patient_key"],
            "patient_id": t["patient_id"],
            "mrn": t["mrn"],
            "first_name": t["first_name"],
            "last_name": t["last_name"],
            "sex": t["gender"],
            "birth_date": t["birth_date"].cast(pa.string()),
            "address": t["address"],
            "city": t["city"],
            "state": t["state"],
            "zip": t["zip"],
            "registered_date": pa.array(registered_dates(config, keys).astype(str)),
        }
    )


@dataclass
class Registry:
    """The registry file under ``root`` for ``config`` (see the module docstring)."""

    root: Path
    config: DailyConfig

    @property
    def path(self) -> Path:
        return Path(self.root) / self.config.registry["path"]

    @property
    def meta_path(self) -> Path:
        return self.path.with_name(self.path.name + ".meta.json")

    def identity(self) -> dict:
        """What the rows depend on: a file written under another identity is rebuilt."""
        reg = self.config.registry
        return {
            "seed": self.config.seed,
            "start_date": self.config.start_date.isoformat(),
            "states": reg["states"],
            "initial_count": reg["initial_count"],
            "new_patients_per_day": reg["new_patients_per_day"],
        }

    def _valid_rows(self) -> int | None:
        """Rows of a trustworthy cache file, or ``None`` when it must be rebuilt."""
        try:
            meta = orjson.loads(self.meta_path.read_bytes())
            data = self.path.read_bytes()
        except (FileNotFoundError, orjson.JSONDecodeError):
            return None
        ok = (
            meta.get("identity") == self.identity()
            and meta.get("sha256") == hashlib.sha256(data).hexdigest()
        )
        return int(meta["rows"]) if ok else None

    def ensure(self, date: dt.date) -> str:
        """Make the file hold at least the patients registered by ``date``.

        Returns ``"ok"`` (nothing to do), ``"grown"`` or ``"rebuilt"`` (the cache was missing
        or did not match its checksum).
        """
        if date < self.config.start_date:
            raise UsageError(
                f"{date} is before the registry start date {self.config.start_date} "
                "(registry.start_date in the config)"
            )
        need = size_on(self.config, date)
        existed = self.path.exists()
        have = self._valid_rows()
        if have is not None and have >= need:
            return "ok"
        start = have or 0
        fresh = csv_bytes(draw_patients(self.config, np.arange(start, need)), header=start == 0)
        data = (self.path.read_bytes() if start else b"") + fresh
        write_atomic(self.path, data, durable=True)
        meta = {
            "identity": self.identity(),
            "rows": need,
            "sha256": hashlib.sha256(data).hexdigest(),
        }
        write_atomic(self.meta_path, orjson.dumps(meta, option=orjson.OPT_INDENT_2), durable=True)
        if have is not None:
            return "grown"
        return "rebuilt" if self.path.exists() and start == 0 and existed else "created"

    def rows(self) -> int:
        """Patients currently materialised in the file (0 when it is not trustworthy)."""
        return self._valid_rows() or 0

    def read(self, keys: np.ndarray) -> pa.Table:
        """Registry rows for ``keys`` (in the order given), every column a string."""
        convert = pacsv.ConvertOptions(
            column_types={c: pa.string() for c in COLUMNS}, strings_can_be_null=False
        )
        table = pacsv.read_csv(self.path, convert_options=convert)
        index = np.asarray(keys, dtype=np.int64)
        if len(index) and index.max() >= table.num_rows:
            raise UsageError(f"registry {self.path} lacks patient {index.max()}; run ensure()")
        return table.take(pa.array(index))
