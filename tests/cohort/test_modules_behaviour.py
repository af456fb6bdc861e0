"""Each module does what the seed's tests encoded (codes per module), through the CLI."""

import pyarrow.compute as pc
import pytest

from hospigen.model import SCHEMAS

PER_TABLE = (
    "patients",
    "encounters",
    "conditions",
    "observations",
    "medications",
    "procedures",
    "immunizations",
    "careplans",
    "allergies",
    "notes",
)


def codes(tables, table, column="code"):
    return set(tables[table].column(column).to_pylist())


def test_seed_multi_module_cohort_has_every_table_with_canonical_schema(seed_cohort):
    for name in PER_TABLE:
        assert name in seed_cohort, name
        assert seed_cohort[name].schema.names == SCHEMAS[name].names
    assert seed_cohort["patients"].num_rows == 200
    for name in ("encounters", "conditions", "observations", "procedures", "notes"):
        assert seed_cohort[name].num_rows > 200


def test_seed_cohort_modules_codes(seed_cohort):
    cond = codes(seed_cohort, "conditions")
    assert {"Z85.3", "N18.4", "F33.1"} <= cond
    assert {"33914-3", "44261-6", "70274-6"} <= codes(seed_cohort, "observations")
    assert {"36821", "78815"} <= codes(seed_cohort, "procedures")
    assert "69730-0" not in codes(seed_cohort, "observations")  # the seed's wrong GAD-7 code


@pytest.mark.parametrize(
    ("scenario", "conditions", "observations", "procedures", "medications", "immunizations"),
    [
        (
            "cardiometabolic",
            {"E11.9", "I10", "E78.5"},
            {"4548-4"},
            {"83036"},
            {"860975", "314076", "106892"},
            set(),
        ),
        (
            "ckd_dialysis",
            {"N18.4", "N18.5", "Z99.2"},
            {"33914-3", "2160-0", "3094-0"},
            {"36821", "90935"},
            set(),
            set(),
        ),
        (
            "copd_home_oxygen",
            {"J44.9", "J44.1", "J96.11"},
            {"59408-5", "19926-5"},
            {"E1390", "94640"},
            {"351137"},
            {"140", "33"},
        ),
        (
            "mental_health_integrated",
            {"F33.1", "F41.1"},
            {"44261-6", "70274-6"},
            {"96127"},
            {"312938"},
            set(),
        ),
        ("pediatric_asthma", {"J45.40", "J45.41"}, {"19926-5"}, {"94640"}, {"351109"}, set()),
        (
            "prenatal_care",
            {"Z34.91", "Z34.92", "Z34.93", "O24.419"},
            {"2345-7"},
            {"82950", "59400"},
            set(),
            {"115"},
        ),
    ],
)
def test_module_codes(
    scenario_cohort, scenario, conditions, observations, procedures, medications, immunizations
):
    t = scenario_cohort(scenario)
    assert conditions <= codes(t, "conditions")
    assert observations <= codes(t, "observations")
    assert procedures <= codes(t, "procedures")
    assert medications <= codes(t, "medications")
    assert immunizations <= codes(t, "immunizations")


def test_cardiometabolic_loop_intensifies_and_hba1c_responds(scenario_cohort):
    t = scenario_cohort("cardiometabolic")
    obs = t["observations"].filter(pc.equal(t["observations"].column("code"), "4548-4"))
    enc = t["encounters"].filter(
        pc.equal(t["encounters"].column("module"), "cardiometabolic_intensive")
    )
    per_patient = enc.group_by("patient_id").aggregate([("encounter_id", "count")])
    # quarterly loop: many patients have several follow-ups over the years
    assert pc.max(per_patient.column("encounter_id_count")).as_py() >= 8
    insulin = t["medications"].filter(pc.equal(t["medications"].column("code"), "106892"))
    assert 0 < insulin.num_rows < t["patients"].num_rows
    values = obs.column("value").to_numpy()
    assert values.min() >= 5.6 and values.max() <= 14.0


def test_ckd_egfr_declines_over_time(scenario_cohort):
    t = scenario_cohort("ckd_dialysis")
    o = t["observations"].filter(pc.equal(t["observations"].column("code"), "33914-3"))
    o = o.filter(pc.equal(o.column("module"), "ckd_dialysis_planning")).sort_by(
        [("patient_id", "ascending"), ("effective", "ascending")]
    )
    firsts = o.group_by("patient_id", use_threads=False).aggregate(
        [("value", "first"), ("value", "last")]
    )
    first, last = (firsts.column(c).to_numpy() for c in ("value_first", "value_last"))
    assert (last < first).mean() > 0.7
