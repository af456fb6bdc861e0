"""Real US places: ZIP codes with city, county, coordinates and area codes.

ZIP data is derived from the ``zipcodes`` package (GeoNames CC BY 4.0 + USPS) and shipped.
Only active STANDARD ZIPs with coordinates are used, so every address is a deliverable place.
States are drawn by 2020 Census population, then a ZIP uniformly within the state.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np
import pyarrow as pa

from hospigen.errors import UsageError
from hospigen.rng import KeyedRandom
from hospigen.world.reference import state_population

STREET_NAMES = (
    "Main", "Oak", "Pine", "Maple", "Cedar", "Elm", "Washington", "Lake", "Hill", "Park",
    "Walnut", "Spruce", "Chestnut", "Lincoln", "Jefferson", "Madison", "Franklin", "Jackson",
    "Highland", "Sunset", "Ridge", "River", "Church", "Spring", "Meadow", "Forest", "Willow",
    "Birch", "Cherry", "Adams", "Mill", "Prospect", "Union", "Center", "Court", "Dogwood",
    "Hickory", "Laurel", "Magnolia", "Orchard", "Poplar", "Sycamore", "Valley", "Water",
    "First", "Second", "Third", "Fourth", "Fifth", "Sixth", "Seventh", "Eighth", "Ninth", "Tenth",
)  # fmt: skip
STREET_SUFFIXES = ("St", "Ave", "Rd", "Dr", "Ln", "Ct", "Way", "Blvd", "Pl", "Ter")


@dataclass(frozen=True)
class Places:
    """Columnar ZIP table sorted by state, with per-state offsets for sampling."""

    zip: pa.Array
    city: pa.Array
    state: pa.Array
    county: pa.Array
    lat: np.ndarray
    lon: np.ndarray
    area_code: pa.Array
    states: tuple[str, ...]
    start: np.ndarray
    count: np.ndarray
    weight: np.ndarray  # population share of each state in ``states``

    def state_index(self, codes: Sequence[str] | None) -> np.ndarray:
        """Indices into ``states`` for ``codes`` (all states when None)."""
        if not codes:
            return np.arange(len(self.states))
        unknown = sorted(set(codes) - set(self.states))
        if unknown:
            raise UsageError(
                f"unknown state code(s): {', '.join(unknown)} (use USPS codes: MA, TX…)"
            )
        return np.array(sorted(self.states.index(c) for c in set(codes)))


@cache
def places() -> Places:
    """Load and index the shipped ZIP table once per process.

    ``data/places.parquet`` is derived from the ``zipcodes`` package (GeoNames CC BY 4.0 + USPS)
    by ``scripts/build_places.py``: active STANDARD ZIPs with coordinates, sorted by state.
    """
    import pyarrow.parquet as pq

    with (resources.files("hospigen.world") / "data" / "places.parquet").open("rb") as f:
        # ParquetFile, not read_table: read_table imports pyarrow.dataset (~25 ms of start-up)
        table = pq.ParquetFile(f).read()
    state_col = table.column("state").to_numpy(zero_copy_only=False)
    states = tuple(sorted(set(state_col.tolist())))
    start = np.searchsorted(state_col, np.array(states), side="left")
    stop = np.searchsorted(state_col, np.array(states), side="right")
    pops = state_population()
    weight = np.array([pops[s] for s in states], dtype=np.float64)
    return Places(
        zip=table.column("zip").combine_chunks(),
        city=table.column("city").combine_chunks(),
        state=table.column("state").combine_chunks(),
        county=table.column("county").combine_chunks(),
        lat=table.column("lat").to_numpy(),
        lon=table.column("lon").to_numpy(),
        area_code=table.column("area_code").combine_chunks(),
        states=states,
        start=start,
        count=stop - start,
        weight=weight / weight.sum(),
    )


def sample_zip_rows(
    rnd: KeyedRandom, keys: np.ndarray, states: Sequence[str] | None = None
) -> np.ndarray:
    """Row indices into :func:`places` for ``keys``: state by population, then ZIP uniformly."""
    p = places()
    allowed = p.state_index(states)
    s = allowed[rnd.choice(keys, "state", p.weight[allowed])]
    offset = np.floor(rnd.uniform(keys, "zip") * p.count[s]).astype(np.int64)
    return p.start[s] + offset


def street_addresses(rnd: KeyedRandom, keys: np.ndarray) -> pa.Array:
    """Synthetic street lines such as ``4821 Maple Ave``."""
    number = rnd.integers(keys, "house", 1, 9900).astype(str)
    street = pa.array(STREET_NAMES).take(
        pa.array(rnd.integers(keys, "street", 0, len(STREET_NAMES)))
    )
    suffix = pa.array(STREET_SUFFIXES).take(
        pa.array(rnd.integers(keys, "suffix", 0, len(STREET_SUFFIXES)))
    )
    import pyarrow.compute as pc

    return pc.binary_join_element_wise(pa.array(number), street, suffix, " ")


def phones(rnd: KeyedRandom, keys: np.ndarray, area_codes: pa.Array) -> pa.Array:
    """Fictional phone numbers ``(AAA) 555-01XX``: the 555-0100..0199 range is reserved."""
    import pyarrow.compute as pc

    line = np.char.zfill(rnd.integers(keys, "phone", 0, 100).astype(str), 2)
    return pc.binary_join_element_wise("(", area_codes, ") 555-01", pa.array(line), "")


def haversine_km(
    lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray
) -> np.ndarray:
    """Great-circle distance in km (broadcasting)."""
    r1, r2 = np.radians(lat1), np.radians(lat2)
    dlat, dlon = r2 - r1, np.radians(lon2 - lon1)
    a = np.sin(dlat / 2) ** 2 + np.cos(r1) * np.cos(r2) * np.sin(dlon / 2) ** 2
    return 2 * 6371.0 * np.arcsin(np.sqrt(a))
