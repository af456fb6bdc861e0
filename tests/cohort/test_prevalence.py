"""Background prevalence of the `general` population against published CDC figures."""

import datetime as dt

import numpy as np
import pyarrow.compute as pc
import pytest

# (code prefix, age band, published %, loose tolerance in points for 3,000 patients)
TARGETS = [
    ("I10", 18, 40, 7.5),
    ("I10", 40, 60, 33.2),
    ("I10", 60, 121, 63.1),
    ("E11", 18, 45, 3.0),
    ("E11", 45, 65, 13.8),
    ("E11", 65, 121, 21.4),
    ("N18", 65, 121, 34.0),
    ("J44", 65, 121, 11.8),
]


def prevalence(t, prefix, lo, hi) -> float:
    p = t["patients"].filter(pc.is_null(t["patients"].column("death_date")))
    born = p.column("birth_date").to_numpy(zero_copy_only=False).astype("datetime64[D]")
    age = (np.datetime64(dt.date(2025, 1, 1)) - born).astype(int) / 365.2425
    ids = np.array(p.column("patient_id").to_pylist())[(age >= lo) & (age < hi)]
    cond = t["conditions"]
    has = cond.filter(pc.starts_with(cond.column("code"), prefix))
    with_cond = set(has.column("patient_id").to_pylist())
    return 100.0 * np.mean([i in with_cond for i in ids])


@pytest.mark.parametrize(("prefix", "lo", "hi", "target"), TARGETS)
def test_general_prevalence_close_to_cdc(general_cohort, prefix, lo, hi, target):
    ours = prevalence(general_cohort, prefix, lo, hi)
    assert abs(ours - target) < max(6.0, 0.35 * target), (prefix, lo, hi, ours, target)


@pytest.mark.slow
@pytest.mark.parametrize(("prefix", "lo", "hi", "target"), TARGETS)
def test_general_prevalence_at_100k(tmp_path_factory, prefix, lo, hi, target):
    from tests.cohort.conftest import _generate

    t = _generate(tmp_path_factory.mktemp("prev"), "-n", 100_000, "--seed", 1, "--workers", 2)
    assert abs(prevalence(t, prefix, lo, hi) - target) < max(3.0, 0.15 * target)
