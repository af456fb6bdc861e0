"""Patients: a US-shaped population drawn column by column for a whole shard of keys.

Every column of patient ``k`` is a function of (seed, k, as-of date) only, so shards, worker
counts and run sizes never change a patient. Marginals are cited in ``docs/demographics.md``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from hospigen.model import numbered, schema, uuids
from hospigen.rng import KeyedRandom
from hospigen.world.geography import phones, places, sample_zip_rows, street_addresses
from hospigen.world.identifiers import ssns
from hospigen.world.payers import assign_payers
from hospigen.world.reference import demographics, name_list

RACE_DISPLAY = {
    "2106-3": "White",
    "2054-5": "Black or African American",
    "2028-9": "Asian",
    "1002-5": "American Indian or Alaska Native",
    "2076-8": "Native Hawaiian or Other Pacific Islander",
    "2131-1": "Other Race",
}
ETHNICITY_DISPLAY = {"2135-2": "Hispanic or Latino", "2186-5": "Not Hispanic or Latino"}
MARITAL_CODES = ("S", "M", "D", "W")


def _display(codes: np.ndarray, table: dict[str, str]) -> pa.Array:
    """Vectorised code → display lookup."""
    idx = pc.index_in(pa.array(codes), value_set=pa.array(list(table)))
    return pa.array(list(table.values())).take(idx)


def _draw_age_sex(rnd: KeyedRandom, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    bands = np.array(demographics()["age_bands"], dtype=np.float64)
    band = rnd.choice(keys, "age_band", bands[:, 2])
    age = bands[band, 0] + rnd.uniform(keys, "age") * (bands[band, 1] - bands[band, 0])
    female = rnd.uniform(keys, "sex") < bands[band, 3]
    return age, female


def _draw_by_table(rnd: KeyedRandom, keys: np.ndarray, draw: str, table: dict) -> np.ndarray:
    codes = np.array(list(table))
    return codes[rnd.choice(keys, draw, list(table.values()))]


def _race_ethnicity(rnd: KeyedRandom, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    d = demographics()
    hispanic = rnd.uniform(keys, "hispanic") < d["hispanic_share"]
    race = np.where(
        hispanic,
        _draw_by_table(rnd, keys, "race", d["race_given_hispanic"]),
        _draw_by_table(rnd, keys, "race", d["race_given_not_hispanic"]),
    )
    return race, hispanic


def draw_age_sex(seed: int, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(age in years on the as-of date, female flag) of world persons ``keys``.

    The very values :func:`patients_table` uses, so callers can pick world persons by age and
    sex (scenarios) without building whole patient rows.
    """
    return _draw_age_sex(KeyedRandom(seed, "patient"), np.asarray(keys, dtype=np.int64))


def draw_race(seed: int, keys: np.ndarray) -> np.ndarray:
    """CDC race codes of world persons ``keys`` (the values of ``patients.race_code``)."""
    return _race_ethnicity(KeyedRandom(seed, "patient"), np.asarray(keys, dtype=np.int64))[0]


def _marital(rnd: KeyedRandom, keys: np.ndarray, age: np.ndarray) -> np.ndarray:
    rows = np.array(demographics()["marital_by_age"], dtype=np.float64)
    band = np.searchsorted(rows[:, 1], age, side="right").clip(0, len(rows) - 1)
    return np.array(MARITAL_CODES)[rnd.choice_rows(keys, "marital", rows[band, 2:])]


def _names(rnd: KeyedRandom, keys: np.ndarray, female: np.ndarray, married: np.ndarray, age):
    """First, middle, last, maiden names, prefix and suffix as Arrow arrays (no Python loops)."""
    female_list, male_list = name_list("first_female"), name_list("first_male")
    both = pa.concat_arrays([female_list.names, male_list.names])

    def first(draw: str, mask: np.ndarray | None = None) -> pa.Array:
        u = rnd.uniform(keys, draw)
        idx = np.where(female, female_list.index(u), len(female_list.names) + male_list.index(u))
        return both.take(pa.array(idx, mask=mask))

    surnames = name_list("surname")
    last = surnames.sample(rnd.uniform(keys, "last"))
    middle = first("middle", mask=rnd.uniform(keys, "has_middle") >= 0.7)
    maiden_idx = surnames.index(rnd.uniform(keys, "maiden"))
    maiden = surnames.names.take(pa.array(maiden_idx, mask=~(female & married)))
    prefix_idx = np.where(female, np.where(married, 1, 2), 0)
    prefix = pa.array(["Mr.", "Mrs.", "Ms."]).take(pa.array(prefix_idx, mask=age < 18))
    jr = ~female & (rnd.uniform(keys, "suffix") < 0.02)
    suffix = pa.array(["Jr."]).take(pa.array(np.zeros(len(keys), np.int64), mask=~jr))
    return first("first"), middle, last, maiden, prefix, suffix


def nearest_facility(
    lat: np.ndarray, lon: np.ndarray, state: np.ndarray, facilities: pa.Table, types: tuple
) -> np.ndarray:
    """Row of the nearest facility of ``types`` for each point, preferring the same state.

    Distances use an equirectangular approximation, which ranks neighbours correctly at the
    scale of a state.
    """
    fac_types = facilities.column("facility_type").to_numpy(zero_copy_only=False)
    fac_state = facilities.column("state").to_numpy(zero_copy_only=False)
    fac_lat = facilities.column("lat").to_numpy()
    fac_lon = facilities.column("lon").to_numpy()
    eligible = np.isin(fac_types, types)
    out = np.empty(len(lat), dtype=np.int64)
    cos = np.cos(np.radians(lat))
    # group points and facilities by integer state codes (comparing Python strings once per
    # state was most of the cost)
    names, code = np.unique(state, return_inverse=True)
    by_state = np.argsort(code, kind="stable")
    bounds = np.searchsorted(code[by_state], np.arange(len(names) + 1))
    fac_code = np.searchsorted(names, fac_state)
    fac_code[fac_code == len(names)] = 0
    fac_code = np.where(names[fac_code] == fac_state, fac_code, -1)
    for i in range(len(names)):
        sel = by_state[bounds[i] : bounds[i + 1]]  # ascending, as np.flatnonzero(state == s)
        cand = np.flatnonzero(eligible & (fac_code == i))
        if len(cand) == 0:
            cand = np.flatnonzero(eligible)
        for chunk in np.array_split(sel, max(1, len(sel) * len(cand) // 4_000_000 + 1)):
            dy = lat[chunk, None] - fac_lat[None, cand]
            dx = (lon[chunk, None] - fac_lon[None, cand]) * cos[chunk, None]
            out[chunk] = cand[np.argmin(dx * dx + dy * dy, axis=1)]
    return out


@dataclass(frozen=True)
class Catalog:
    """What patients are drawn against: the run's facilities and payers, and for each ZIP of
    :func:`places` its nearest primary-care facility and hospital.

    The nearest facilities are computed on first use, for the ZIPs patients are drawn in: a
    small run touches a few hundred of the ~30,000 ZIPs, and the search over all of them was
    a sizeable share of its start-up. A ZIP's answer depends only on the catalogue, so the
    order in which ZIPs are filled never changes a patient. :meth:`complete` fills them all
    (before forking workers, which then share the arrays).
    """

    facilities: pa.Table
    payers: pa.Table
    states: tuple[str, ...] | None
    home_by_zip: np.ndarray  # facility row per ZIP row; -1 until computed
    hospital_by_zip: np.ndarray

    @classmethod
    def build(cls, facilities: pa.Table, payers: pa.Table, states=None) -> Catalog:
        """A catalogue whose nearest facilities are computed on demand (see :meth:`nearest`)."""
        unknown = np.full(len(places().lat), -1, dtype=np.int64)
        return cls(facilities, payers, tuple(states) if states else None, unknown, unknown.copy())

    def nearest(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(home facility row, hospital row) of each ZIP row in ``rows``."""
        missing = np.unique(rows[self.home_by_zip[rows] < 0])
        if len(missing):
            self._fill(missing)
        return self.home_by_zip[rows], self.hospital_by_zip[rows]

    def complete(self) -> Catalog:
        """Compute the nearest facilities of every ZIP now; returns ``self``."""
        missing = np.flatnonzero(self.home_by_zip < 0)
        if len(missing):
            self._fill(missing)
        return self

    def _fill(self, rows: np.ndarray) -> None:
        p = places()
        # fixed-width numpy strings: np.unique over them is ~10x faster than over objects
        state = p.state.take(pa.array(rows)).to_numpy(zero_copy_only=False).astype(str)
        lat, lon = p.lat[rows], p.lon[rows]
        # hospitals first: ``home_by_zip`` marks a ZIP as done, so it is written last
        self.hospital_by_zip[rows] = nearest_facility(
            lat, lon, state, self.facilities, ("hospital",)
        )
        self.home_by_zip[rows] = nearest_facility(
            lat, lon, state, self.facilities, ("clinic", "hospital")
        )


def patients_table(
    seed: int, keys: Sequence[int] | np.ndarray, as_of: dt.date, catalog: Catalog
) -> pa.Table:
    """Patients for ``keys`` (alive on ``as_of``; death is decided by the clinical engine)."""
    keys = np.asarray(keys, dtype=np.int64)
    rnd = KeyedRandom(seed, "patient")
    age, female = _draw_age_sex(rnd, keys)
    birth = np.datetime64(as_of, "D") - np.floor(age * 365.2425).astype("timedelta64[D]")
    race, hispanic = _race_ethnicity(rnd, keys)
    d = demographics()
    language = np.where(
        hispanic,
        _draw_by_table(rnd, keys, "language", d["language_given_hispanic"]),
        _draw_by_table(rnd, keys, "language", d["language_given_not_hispanic"]),
    )
    marital = _marital(rnd, keys, age)
    first, middle, last, maiden, prefix, suffix = _names(rnd, keys, female, marital != "S", age)
    income = np.round(d["income_median"] * np.exp(d["income_sigma"] * rnd.normal(keys, "income")))
    child = age < 18  # children have no income of their own

    p = places()
    rows = sample_zip_rows(rnd, keys, catalog.states)
    row_index = pa.array(rows)
    lat = np.round(p.lat[rows] + rnd.uniform(keys, "jitter_lat") * 0.04 - 0.02, 5)
    lon = np.round(p.lon[rows] + rnd.uniform(keys, "jitter_lon") * 0.04 - 0.02, 5)
    payer_idx = assign_payers(rnd, keys, age, np.where(child, 0.0, income))
    fac_ids = catalog.facilities.column("facility_id")
    home, hospital = catalog.nearest(rows)
    return pa.table(
        {
            "patient_id": uuids(seed, "patient", keys),
            "patient_key": keys,
            "mrn": numbered("MRN", keys, 9),
            "ssn": ssns(keys),
            "prefix": prefix,
            "first_name": first,
            "middle_name": middle,
            "last_name": last,
            "suffix": suffix,
            "maiden_name": maiden,
            "gender": pa.array(["M", "F"]).take(pa.array(female.astype(np.int8))),
            "birth_date": birth,
            "death_date": pa.nulls(len(keys), pa.date32()),
            "race_code": race,
            "race_display": _display(race, RACE_DISPLAY),
            "ethnicity_code": np.where(hispanic, "2135-2", "2186-5"),
            "ethnicity_display": np.where(hispanic, "Hispanic or Latino", "Not Hispanic or Latino"),
            "marital_status": marital,
            "language": language,
            "address": street_addresses(rnd, keys),
            "city": p.city.take(row_index),
            "state": p.state.take(row_index),
            "county": p.county.take(row_index),
            "zip": p.zip.take(row_index),
            "lat": lat,
            "lon": lon,
            "phone": phones(rnd, keys, p.area_code.take(row_index)),
            "home_facility_id": fac_ids.take(pa.array(home)),
            "hospital_id": fac_ids.take(pa.array(hospital)),
            "payer_id": catalog.payers.column("payer_id").take(pa.array(payer_idx)),
            "income": pa.array(income.astype(np.int32), mask=child),
        },
        schema=schema("patients"),
    )
