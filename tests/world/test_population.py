import datetime as dt
import re

import numpy as np
import pyarrow.compute as pc
import pytest

from hospigen.world import World
from hospigen.world.identifiers import npi_is_valid
from hospigen.world.reference import demographics, name_list

AS_OF = dt.date(2025, 1, 1)


@pytest.fixture(scope="module")
def world():
    return World(seed=7, as_of=AS_OF, facility_count=300)


@pytest.fixture(scope="module")
def population(world):
    return world.patients(np.arange(100_000))


def test_patient_k_is_the_same_in_any_shard(world):
    alone = world.patients([4321])
    within = world.patients(np.arange(4000, 5000)).slice(321, 1)
    assert alone.equals(within)


def test_sex_ratio_and_age_bands_match_census(population):
    bands = np.array(demographics()["age_bands"])
    target_female = (bands[:, 2] * bands[:, 3]).sum() / bands[:, 2].sum()
    female = pc.mean(pc.equal(population["gender"], "F")).as_py()
    assert abs(female - target_female) < 0.01
    birth = population["birth_date"].to_numpy().astype("datetime64[D]")
    age = (np.datetime64(AS_OF) - birth).astype(int) / 365.2425
    for low, high, expected in [(0, 18, 0.222), (18, 65, 0.617), (65, 200, 0.161)]:
        share = ((age >= low) & (age < high)).mean()
        assert abs(share - expected) < 0.02, (low, high, share)


def test_race_and_ethnicity_match_census(population):
    hispanic = pc.mean(pc.equal(population["ethnicity_code"], "2135-2")).as_py()
    assert abs(hispanic - 0.187) < 0.01
    d = demographics()
    expected_white = (1 - 0.187) * d["race_given_not_hispanic"]["2106-3"] + 0.187 * d[
        "race_given_hispanic"
    ]["2106-3"]
    white = pc.mean(pc.equal(population["race_code"], "2106-3")).as_py()
    assert abs(white - expected_white) < 0.01
    black = pc.mean(pc.equal(population["race_code"], "2054-5")).as_py()
    assert abs(black - 0.813 * 0.155 - 0.187 * 0.04) < 0.01


def test_first_names_match_sex(population):
    female_names = set(name_list("first_female").names.to_pylist())
    male_names = set(name_list("first_male").names.to_pylist())
    rows = population.select(["gender", "first_name"]).slice(0, 5000).to_pylist()
    for r in rows:
        pool = female_names if r["gender"] == "F" else male_names
        assert r["first_name"] in pool


def test_identifiers_are_visibly_synthetic_and_unique(population, world):
    ssn = population["ssn"].to_pylist()
    assert all(re.fullmatch(r"9\d\d-\d\d-\d{4}", s) for s in ssn)
    assert len(set(ssn)) == len(ssn)
    assert all(re.fullmatch(r"\(\d{3}\) 555-01\d\d", p) for p in population["phone"].to_pylist())
    assert len(set(population["patient_id"].to_pylist())) == population.num_rows
    npis = world.providers["npi"].to_pylist() + world.facilities["npi"].to_pylist()
    assert len(set(npis)) == len(npis)
    assert all(n.startswith("9") and npi_is_valid(n) for n in npis)


def test_home_facility_is_a_nearby_clinic_or_hospital(population, world):
    fac = {r["facility_id"]: r for r in world.facilities.to_pylist()}
    rows = population.slice(0, 2000).to_pylist()
    same_state = sum(fac[r["home_facility_id"]]["state"] == r["state"] for r in rows)
    assert same_state / len(rows) > 0.95
    assert all(fac[r["home_facility_id"]]["facility_type"] in ("clinic", "hospital") for r in rows)
    assert all(fac[r["hospital_id"]]["facility_type"] == "hospital" for r in rows)


def test_births_are_before_as_of(population):
    assert pc.max(population["birth_date"]).as_py() <= AS_OF


def test_state_filter_limits_places():
    w = World(seed=1, as_of=AS_OF, facility_count=200, states=["MA", "RI"])
    states = set(w.patients(np.arange(2000))["state"].to_pylist())
    assert states <= {"MA", "RI"} and len(states) == 2
    assert set(w.facilities["state"].to_pylist()) <= {"MA", "RI"}


def test_shipped_places_match_the_zipcodes_package():
    from scripts.build_places import places_from_zipcodes

    from hospigen.world.geography import places

    expected = places_from_zipcodes()
    shipped = places()
    assert shipped.zip.equals(expected.column("zip").combine_chunks())
    assert np.array_equal(shipped.lat, expected.column("lat").to_numpy())


def test_nearest_facilities_on_demand_equal_the_whole_catalogue():
    """ZIPs filled as patients are drawn give what filling every ZIP at once gives."""
    lazy, eager = World(seed=3, as_of=AS_OF, facility_count=300), World(3, AS_OF, 300)
    eager.catalog.complete()
    assert lazy.patients(np.arange(500, 900)).equals(eager.patients(np.arange(500, 900)))
    assert (lazy.catalog.home_by_zip >= 0).sum() < len(lazy.catalog.home_by_zip)
    lazy.catalog.complete()
    assert (lazy.catalog.home_by_zip == eager.catalog.home_by_zip).all()
    assert (lazy.catalog.hospital_by_zip == eager.catalog.hospital_by_zip).all()


def test_providers_of_a_few_facilities_are_the_rows_of_the_whole_table():
    few, whole = World(seed=4, as_of=AS_OF, facility_count=300), World(4, AS_OF, 300)
    ids = whole.facilities["facility_id"].take([250, 3, 77, 3, 150])
    subset = few.providers_at(ids)  # built for five facilities only
    assert "providers" not in few.__dict__
    expected = whole.providers.filter(pc.is_in(whole.providers["facility_id"], value_set=ids))
    assert subset.num_rows > 0 and subset.equals(expected)
    assert whole.providers_at(ids).equals(expected)  # filtered from the whole table


def test_shipped_names_match_the_census_files():
    """Fails after a Census name file changes: run ``python scripts/build_names.py``."""
    from importlib import resources

    import pyarrow.parquet as pq

    from hospigen.world.reference import NAME_FILES, NAMES_PARQUET, census_names, names_tables

    with (resources.files("hospigen.world") / "data" / NAMES_PARQUET).open("rb") as f:
        shipped = pq.ParquetFile(f)
        assert shipped.num_row_groups == len(NAME_FILES)
        for group, expected in enumerate(names_tables()):
            assert shipped.read_row_group(group).equals(expected)
    for kind in NAME_FILES:
        names, freq = census_names(kind)
        assert name_list(kind).names.equals(names)
        assert np.array_equal(name_list(kind).cdf, np.cumsum(freq / freq.sum()))
