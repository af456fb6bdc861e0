"""The synthetic world: facilities, providers, payers and a US-shaped population."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from hospigen.world.facilities import DEFAULT_FACILITY_COUNT, facilities_table
from hospigen.world.payers import payers_table
from hospigen.world.population import Catalog, patients_table
from hospigen.world.providers import providers_table

__all__ = ["World"]


@dataclass
class World:
    """One run's world: the catalogues (facilities, providers, payers) and patient shards.

    The catalogues depend only on ``seed``, ``as_of``, ``facility_count`` and ``states``;
    patients are drawn by key, so any shard of keys can be generated independently.

    >>> w = World(seed=7, as_of=dt.date(2025, 1, 1), facility_count=50)
    >>> w.patients(range(3)).num_rows
    3
    """

    seed: int
    as_of: dt.date
    facility_count: int = DEFAULT_FACILITY_COUNT
    states: Sequence[str] | None = field(default=None)
    _last_providers: tuple[np.ndarray, pa.Table] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    @cached_property
    def facilities(self) -> pa.Table:
        """The whole facility catalogue."""
        return facilities_table(self.seed, self.as_of, self.facility_count, self.states)

    @cached_property
    def providers(self) -> pa.Table:
        """Clinicians of every facility of the catalogue."""
        return providers_table(self.seed, self.facilities)

    @cached_property
    def payers(self) -> pa.Table:
        """The payer catalogue."""
        return payers_table(self.seed)

    @cached_property
    def catalog(self) -> Catalog:
        """Facilities, payers and the nearest facilities of every ZIP, for drawing patients."""
        return Catalog.build(self.facilities, self.payers, self.states)

    def patients(self, keys: Sequence[int] | np.ndarray) -> pa.Table:
        """Patients for ``keys`` (any subset, any order; each row depends only on its key)."""
        return patients_table(self.seed, np.asarray(keys, dtype=np.int64), self.as_of, self.catalog)

    def patient_shards(self, count: int, shard_size: int = 50_000) -> Iterator[pa.Table]:
        """Patients 0..count-1 in shards of ``shard_size``."""
        for start in range(0, count, shard_size):
            yield self.patients(np.arange(start, min(count, start + shard_size)))

    def facilities_in_use(self, facility_ids: pa.Array | pa.ChunkedArray) -> pa.Table:
        """The catalogue rows referenced by ``facility_ids``, in catalogue order."""
        mask = pc.is_in(self.facilities.column("facility_id"), value_set=pc.unique(facility_ids))
        return self.facilities.filter(mask)

    def providers_of(self, facilities: pa.Table) -> pa.Table:
        """Providers working at ``facilities``."""
        return self.providers_at(facilities.column("facility_id"))

    def providers_at(self, facility_ids: pa.Array | pa.ChunkedArray) -> pa.Table:
        """Providers working at the facilities ``facility_ids``, in catalogue order.

        Built for just those facilities while they are a small part of the catalogue (a small
        run's start-up), else filtered from :attr:`providers`; the rows are the same.
        """
        mask = pc.is_in(self.facilities.column("facility_id"), value_set=pc.unique(facility_ids))
        rows = np.flatnonzero(mask.to_numpy(zero_copy_only=False))
        if "providers" in self.__dict__ or len(rows) * 4 > self.facilities.num_rows:
            wanted = self.providers.column("facility_id")
            return self.providers.filter(pc.is_in(wanted, value_set=pc.unique(facility_ids)))
        # a one-shard run asks twice for the same facilities (its encounters, then the
        # providers file): the last answer is kept
        if self._last_providers is None or not np.array_equal(self._last_providers[0], rows):
            self._last_providers = (rows, providers_table(self.seed, self.facilities, rows))
        return self._last_providers[1]
