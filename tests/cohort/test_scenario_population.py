"""A scenario reshapes who is generated: every patient fits the scenario's age bands and sex.

Narrow bands (girls aged 0-1 are well under 1 % of the world) used to exhaust the fixed number
of candidate people per patient once a run had a few hundred patients: ``--scenario
pediatrics`` failed at 200 patients with seed 1.
"""

from __future__ import annotations

import datetime as dt

import pyarrow.compute as pc
import pytest

import hospigen

AS_OF = dt.date(2025, 1, 1)


def _ages(patients) -> list[float]:
    return [(AS_OF - born).days / 365.25 for born in patients.column("birth_date").to_pylist()]


@pytest.mark.parametrize(
    ("scenario", "n", "low", "high", "female"),
    [("pediatrics", 2_000, 0, 18, None), ("pediatric_asthma", 1_500, 2, 18, 0.42)],
)
def test_every_patient_fits_the_scenario(scenario, n, low, high, female):
    tables = hospigen.generate(n, seed=1, as_of=AS_OF, scenario=scenario, years_of_history=1)
    patients = tables["patients"]
    assert patients.num_rows == n
    assert pc.count_distinct(patients.column("patient_id")).as_py() == n
    ages = _ages(patients)
    assert low <= min(ages) and max(ages) < high
    if female is not None:
        share = sum(g == "F" for g in patients.column("gender").to_pylist()) / n
        assert abs(share - female) < 0.04


def test_patients_found_early_keep_their_identity_in_larger_runs():
    small = hospigen.generate(40, seed=1, as_of=AS_OF, scenario="pediatrics", years_of_history=1)
    large = hospigen.generate(400, seed=1, as_of=AS_OF, scenario="pediatrics", years_of_history=1)
    ids = large["patients"].column("patient_id").to_pylist()[:40]
    assert small["patients"].column("patient_id").to_pylist() == ids
