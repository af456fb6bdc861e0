"""The shard being simulated: per-patient arrays and the event log that modules append to.

Times are float days since 1970-01-01 (UTC). Every event row carries the index of its patient
in the shard and an emission sequence number; tables are sorted by (patient, time, sequence) at
the end, so row order and identifiers depend only on each patient's own history.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

DAY_US = 86_400_000_000
TABLES = (
    "encounters",
    "conditions",
    "observations",
    "medications",
    "procedures",
    "immunizations",
    "careplans",
    "allergies",
)


class CodeBook:
    """Interned (system, code, display) triples; events store the integer index."""

    def __init__(self) -> None:
        self.entries: list[tuple[str, str, str]] = []
        self._index: dict[tuple[str, str, str], int] = {}

    def add(self, system: str, code: str, display: str) -> int:
        """Index of the triple, adding it when new."""
        key = (system, code, display)
        if key not in self._index:
            self._index[key] = len(self.entries)
            self.entries.append(key)
        return self._index[key]

    def column(self, which: int) -> pa.Array:
        """Column ``which`` (0 system, 1 code, 2 display) of every entry, as an Arrow array."""
        return pa.array([e[which] for e in self.entries], pa.string())


class Labels:
    """Interned short strings (module names, encounter classes, coded text answers).

    Events store an ``int32`` index (-1: null) instead of a Python string per row; tables turn
    the indices back into strings with one Arrow ``take``.
    """

    def __init__(self) -> None:
        self.entries: list[str] = []
        self._index: dict[str, int] = {}

    def add(self, text: str | None) -> int:
        """Index of ``text`` (-1 for None), adding it when new."""
        if text is None:
            return -1
        if text not in self._index:
            self._index[text] = len(self.entries)
            self.entries.append(text)
        return self._index[text]

    def array(self) -> pa.Array:
        """Every label, as an Arrow string array (index ``i`` is label ``i``)."""
        return pa.array(self.entries, pa.string())


@dataclass
class EventLog:
    """Append-only columnar buffers, one per table, plus deferred end times."""

    chunks: dict[str, list[dict[str, np.ndarray]]] = field(
        default_factory=lambda: {t: [] for t in TABLES}
    )
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TABLES, 0))
    ends: dict[str, list[tuple[np.ndarray, np.ndarray]]] = field(
        default_factory=lambda: {t: [] for t in TABLES}
    )
    seq: int = 0

    def add(self, table: str, **cols: np.ndarray) -> np.ndarray:
        """Append rows; returns their row numbers in ``table`` (used to end them later)."""
        n = len(cols["pidx"])
        rows = np.arange(self.counts[table], self.counts[table] + n, dtype=np.int64)
        # chunks are kept in emission order, which is all the tables' stable sort needs (no
        # per-row sequence column: it was built for every chunk and never read)
        self.seq += 1
        self.chunks[table].append(cols)
        self.counts[table] += n
        return rows

    def end(self, table: str, rows: np.ndarray, when: np.ndarray) -> None:
        """Record a stop/abatement time for existing rows (first end wins)."""
        if len(rows):
            self.ends[table].append((np.asarray(rows, np.int64), np.asarray(when, np.float64)))

    def column(self, table: str, name: str, default: float | int = np.nan) -> np.ndarray:
        """One column of ``table`` across every chunk (``default`` where a chunk lacks it)."""
        parts = [
            np.asarray(c[name]) if name in c else np.full(len(c["pidx"]), default)
            for c in self.chunks[table]
        ]
        if not parts:
            return np.full(0, default)
        return np.concatenate(parts)


@dataclass
class Cohort:
    """Per-patient state of one shard (index ``i`` is the ``i``-th patient of the shard)."""

    seed: int
    keys: np.ndarray  # uint64 patient keys
    birth: np.ndarray  # float days
    female: np.ndarray  # bool
    window_start: float
    as_of_end: float  # first day after the as-of date
    death: np.ndarray  # float days, inf when alive at as-of
    log: EventLog = field(default_factory=EventLog)
    codes: CodeBook = field(default_factory=CodeBook)
    labels: Labels = field(default_factory=Labels)
    attributes: dict[str, np.ndarray] = field(default_factory=dict)
    # code index → onset day (nan = not active) / open row in the conditions table
    condition_onset: dict[int, np.ndarray] = field(default_factory=dict)
    condition_row: dict[int, np.ndarray] = field(default_factory=dict)
    medication_row: dict[int, np.ndarray] = field(default_factory=dict)
    careplan_row: dict[int, np.ndarray] = field(default_factory=dict)
    last_value: dict[str, np.ndarray] = field(default_factory=dict)  # LOINC → latest value

    @property
    def size(self) -> int:
        """Patients in the shard."""
        return len(self.keys)

    @property
    def end(self) -> np.ndarray:
        """Per patient: the first day on which nothing may happen (death or after as-of)."""
        return np.minimum(self.death, self.as_of_end)

    def age(self, idx: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Age in years of patients ``idx`` at days ``t``."""
        return (t - self.birth[idx]) / 365.2425

    def attribute(self, name: str) -> np.ndarray:
        """A numeric per-patient attribute (created as zeros on first use)."""
        if name not in self.attributes:
            self.attributes[name] = np.zeros(self.size)
        return self.attributes[name]

    def onset(self, code: int) -> np.ndarray:
        """Onset days of condition ``code`` (nan where not active)."""
        if code not in self.condition_onset:
            self.condition_onset[code] = np.full(self.size, np.nan)
            self.condition_row[code] = np.full(self.size, -1, dtype=np.int64)
        return self.condition_onset[code]

    def open_rows(self, registry: dict[int, np.ndarray], code: int) -> np.ndarray:
        """Open row numbers for ``code`` in a medication/care-plan registry (-1: none)."""
        if code not in registry:
            registry[code] = np.full(self.size, -1, dtype=np.int64)
        return registry[code]
