"""Per-patient views of one shard of canonical tables, for the text exporters.

FHIR, HL7 and VistA are rendered patient by patient. :class:`ShardView` sorts every child table
once per shard (by patient, then time, then id) and exposes each column as a Python list plus
the row range of every patient, so renderers index plain lists instead of touching Arrow per row.
Sorting by (patient, time, id) makes the output independent of the row order the engine chose.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import weakref
from collections.abc import Callable, Collection
from concurrent.futures import Future

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# The time column that orders each child table inside a patient, and its id column.
CHILD_ORDER: dict[str, tuple[str, str]] = {
    "encounters": ("start", "encounter_id"),
    "conditions": ("onset", "condition_id"),
    "observations": ("effective", "observation_id"),
    "medications": ("start", "medication_id"),
    "procedures": ("performed", "procedure_id"),
    "immunizations": ("date", "immunization_id"),
    "careplans": ("start", "careplan_id"),
    "allergies": ("onset", "allergy_id"),
    "notes": ("note_time", "note_id"),
    "claims": ("service_date", "claim_id"),
}
SHARED_TABLES = ("facilities", "providers", "payers")


class Columns(dict):
    """One sorted table, its columns as Python lists on demand, with per-patient row ranges.

    A dict subclass: ``cols["code"]`` is a C-level dict lookup once the column is converted
    (``__missing__`` converts it on first use), which matters in per-row renderers.
    """

    def __init__(self, table: pa.Table, lists: dict[str, list], starts: np.ndarray) -> None:
        super().__init__(lists)
        self.table = table
        self.starts = starts  # row where patient i begins (len = patients + 1)

    @property
    def lists(self) -> dict[str, list]:
        """The columns converted so far (and derived ones)."""
        return self

    def __len__(self) -> int:
        return self.table.num_rows

    def __bool__(self) -> bool:
        return True

    def __missing__(self, name: str) -> list:
        values = self[name] = self.table.column(name).to_pylist()
        return values

    def rows(self, patient: int) -> range:
        """Row indices of the ``patient``-th patient of the shard."""
        return range(int(self.starts[patient]), int(self.starts[patient + 1]))

    def add(self, name: str, values: pa.Array | pa.ChunkedArray | np.ndarray | list) -> None:
        """Attach a derived column (already in row order)."""
        if isinstance(values, pa.ChunkedArray | pa.Array):
            values = values.to_pylist()
        elif isinstance(values, np.ndarray):
            values = values.tolist()
        self[name] = values

    def window(self, lo: int, hi: int) -> Columns:
        """The rows of patients ``lo`` to ``hi - 1`` (a zero-copy slice)."""
        first, last = int(self.starts[lo]), int(self.starts[hi])
        return Columns(self.table.slice(first, last - first), {}, self.starts[lo : hi + 1] - first)


class _SortedOnce:
    """The grouped (sorted) copy of each child table, made once for all the writers of a shard.

    The FHIR, HL7 and VistA writers get the same shard's tables on threads of their own; each
    sorting them alone kept a copy per writer of the biggest tables alive (sharing took 150 MB
    off the fresh memory of the seed cohort's 2,000 patients in their text formats). Rows are
    grouped against the shard's patients, so an entry is keyed by the (child table, patients
    table) pair and lives as long as both: it is dropped when either is collected, so new
    tables that reuse the addresses are never mistaken for it. A failed grouping is not kept.
    """

    def __init__(self) -> None:
        # re-entrant: allocating under the lock may run a garbage collection whose finalizers
        # call _drop on this same thread
        self._lock = threading.RLock()
        self._entries: dict[tuple[int, int], Future] = {}

    def get(self, sources: tuple[pa.Table, pa.Table], make: Callable[[], tuple]) -> tuple:
        """The grouped copy of a (child table, patients table) pair: made by ``make`` for the
        first caller, waited for by those asking meanwhile (a failure is raised to each of
        them, and the next caller tries again)."""
        key = (id(sources[0]), id(sources[1]))
        with self._lock:
            entry = self._entries.get(key)
            mine = entry is None
            if mine:
                entry = Future()
                entry.owner = threading.get_ident()  # type: ignore[attr-defined]
                for source in sources:  # either one collected: the pair is gone
                    weakref.finalize(source, self._drop, key, id(entry))
                self._entries[key] = entry  # only once complete: no half-made entry to wait on
            elif entry.owner == threading.get_ident() and not entry.done():  # type: ignore[attr-defined]
                raise RuntimeError("a grouping asked for itself while it was being made")
        if not mine:
            return entry.result()
        try:
            grouped = make()
        except BaseException as exc:
            self._drop(key, id(entry))  # not kept: it would hold the tables via its traceback
            entry.set_exception(exc)
            raise
        entry.set_result(grouped)
        return grouped

    def _drop(self, key: tuple[int, int], token: int) -> None:
        # the token, not the entry: a finalizer holding the entry would keep its tables alive
        with self._lock:
            if id(self._entries.get(key)) == token:
                del self._entries[key]


_SORTED = _SortedOnce()
if hasattr(os, "register_at_fork"):
    # a worker forked while a writer thread held the lock would otherwise inherit it held
    os.register_at_fork(after_in_child=_SORTED.__init__)


class ShardView:
    """Patients of one shard in key order, and every child table grouped by patient."""

    def __init__(
        self, tables: dict[str, pa.Table], children: Collection[str] | None = None
    ) -> None:
        """``children``: the child tables a renderer reads (default: all of them); only those
        are sorted. Writers that get the same shard's tables share one sorted copy of each."""
        if isinstance(children, str):
            raise TypeError("children: a collection of table names, not one name")
        patients = tables["patients"].sort_by("patient_key")
        self.patients = Columns(patients, {}, np.arange(patients.num_rows + 1))
        self.count = patients.num_rows
        self.children: dict[str, Columns] = {}
        for name, (time_col, id_col) in CHILD_ORDER.items():
            table = tables.get(name)
            if table is not None and (children is None or name in children):
                grouped, starts = _SORTED.get(
                    (table, tables["patients"]),
                    lambda table=table, time_col=time_col, id_col=id_col: self._group(
                        table, time_col, id_col
                    ),
                )
                # each writer its own Columns: renderers attach derived columns to them
                self.children[name] = Columns(grouped, {}, starts)

    def _group(self, table: pa.Table, time_col: str, id_col: str) -> tuple[pa.Table, np.ndarray]:
        index = pc.index_in(table.column("patient_id"), value_set=self.patients.table["patient_id"])
        if index.null_count:
            orphan = table.filter(pc.is_null(index)).column("patient_id")[0].as_py()
            raise ValueError(f"a child row refers to patient {orphan!r}, absent from the shard")
        table = table.append_column("_patient", index)
        table = table.sort_by([("_patient", "ascending"), (time_col, "ascending"),
                               (id_col, "ascending")])  # fmt: skip
        order = table.column("_patient").to_numpy()
        starts = np.searchsorted(order, np.arange(self.count + 1), side="left")
        starts.flags.writeable = False  # shared by every writer of the shard
        return table.drop_columns(["_patient"]), starts

    def windows(self, size: int) -> list[ShardView]:
        """The shard cut into views of at most ``size`` patients (bounded text buffers)."""
        if self.count <= size:
            return [self]
        return [self._window(lo, min(self.count, lo + size)) for lo in range(0, self.count, size)]

    def _window(self, lo: int, hi: int) -> ShardView:
        view = ShardView.__new__(ShardView)
        view.patients = self.patients.window(lo, hi)
        view.count = hi - lo
        view.children = {name: cols.window(lo, hi) for name, cols in self.children.items()}
        return view

    def child(self, name: str) -> Columns | None:
        """The grouped child table ``name``, or None when the shard has none."""
        return self.children.get(name)


def as_utc(value: dt.datetime) -> dt.datetime:
    """A timezone-aware UTC datetime (naive values are taken as UTC)."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
