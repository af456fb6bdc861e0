"""Background prevalence of the `general` population against published CDC/NCHS figures.

The published figures (with their sources) are in tests/cases/cohort/prevalence.csv, the same
file bench/prevalence.py prints beside ours and docs/prevalence.md cites.
"""

import datetime as dt
import math
from pathlib import Path

import pytest

from hospigen.report.prevalence import compare, prevalence_pct, read_targets

TARGETS = read_targets(Path(__file__).parents[1] / "cases" / "cohort" / "prevalence.csv")
AS_OF = dt.date(2025, 1, 1)
IDS = [f"{t.code_prefix}-{t.age_lo:.0f}-{t.age_hi:.0f}" for t in TARGETS]


def test_every_condition_the_issue_names_has_a_target():
    prefixes = {t.code_prefix for t in TARGETS}
    # hypertension, diabetes, obesity, asthma, COPD, CKD, depression
    assert prefixes == {"I10", "E11", "E66", "J45", "J44", "N18", "F32"}


@pytest.mark.parametrize("target", TARGETS, ids=IDS)
def test_general_prevalence_close_to_published(general_cohort, target):
    """3,000 patients: a loose band (sampling error in a small age band is a few points)."""
    t = general_cohort
    ours = prevalence_pct(
        t["patients"], t["conditions"], target.code_prefix, target.age_lo, target.age_hi, AS_OF
    )
    assert abs(ours - target.published_pct) < max(6.0, 0.35 * target.published_pct), ours


def test_prevalence_counts_only_living_patients_in_the_band(general_cohort):
    """The measure itself: a code nobody has is 0 %, and an empty band is not a number."""
    t = general_cohort
    assert prevalence_pct(t["patients"], t["conditions"], "ZZZ", 0, 121, AS_OF) == 0.0
    assert math.isnan(prevalence_pct(t["patients"], t["conditions"], "I10", 200, 300, AS_OF))


@pytest.mark.slow
def test_general_prevalence_at_100k(tmp_path_factory):
    from tests.cohort.conftest import _generate

    t = _generate(tmp_path_factory.mktemp("prev"), "-n", 100_000, "--seed", 1, "--workers", 2)
    far = [
        (target.condition, target.age_lo, target.published_pct, round(ours, 1))
        for target, ours in compare(t["patients"], t["conditions"], TARGETS, AS_OF)
        if abs(ours - target.published_pct) >= max(1.5, 0.10 * target.published_pct)
    ]
    assert far == []
