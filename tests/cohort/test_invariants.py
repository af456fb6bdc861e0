"""Invariants of generated cohorts: time, sex, vitals, terminology."""

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from hospigen.terminology import default_terminology

AS_OF_END = dt.datetime(2025, 1, 2, tzinfo=dt.UTC)
EVENT_TIME = {
    "encounters": "start",
    "conditions": "onset",
    "observations": "effective",
    "medications": "start",
    "procedures": "performed",
    "immunizations": "date",
    "careplans": "start",
    "allergies": "onset",
    "notes": "note_time",
}


def check_invariants(t: dict) -> None:
    patients = t["patients"].select(["patient_id", "birth_date", "death_date", "gender"])
    for name, col in EVENT_TIME.items():
        joined = t[name].select(["patient_id", col]).join(patients, "patient_id")
        when = joined.column(col)
        day = pc.cast(pc.floor_temporal(when, unit="day"), pa.timestamp("us", tz="UTC"))
        birth = pc.cast(
            pc.cast(joined.column("birth_date"), pa.timestamp("s")), pa.timestamp("us", tz="UTC")
        )
        assert pc.sum(pc.less(day, birth)).as_py() in (None, 0), f"{name} before birth"
        death = pc.cast(
            pc.cast(joined.column("death_date"), pa.timestamp("s")), pa.timestamp("us", tz="UTC")
        )
        after_death = pc.greater(day, death)
        assert pc.sum(after_death).as_py() in (None, 0), f"{name} after death"
        latest = pc.max(when).as_py()
        assert latest is None or latest < AS_OF_END, f"{name} after as-of"
    cond = t["conditions"].join(patients, "patient_id")
    codes = np.array(cond.column("code").to_pylist(), dtype=str)
    male = np.array(cond.column("gender").to_pylist()) == "M"
    preg = np.zeros(len(codes), dtype=bool)
    for prefix in ("O", "Z34", "Z3A", "Z39"):
        preg |= np.char.startswith(codes, prefix)
    assert not (preg & male).any(), "pregnancy coded for a male patient"
    obs = t["observations"]
    sbp = obs.filter(pc.equal(obs.column("code"), "8480-6"))
    dbp = obs.filter(pc.equal(obs.column("code"), "8462-4"))
    pair = sbp.select(["encounter_id", "value"]).join(
        dbp.select(["encounter_id", "value"]).rename_columns(["encounter_id", "dbp"]),
        "encounter_id",
    )
    assert pair.num_rows == sbp.num_rows > 0
    assert pc.sum(pc.less_equal(pair.column("value"), pair.column("dbp"))).as_py() == 0
    assert set(sbp.column("panel_code").to_pylist()) == {"85354-9"}
    terms = default_terminology()
    pairs = obs.group_by(["code", "unit"]).aggregate([]).to_pylist()
    for row in pairs:
        concept = terms.lookup("loinc", row["code"])
        assert (concept.get("unit") or None) == row["unit"] or row["unit"] is None, row


def test_invariants_general(general_cohort):
    check_invariants(general_cohort)
    deaths = general_cohort["patients"].column("death_date").null_count
    assert deaths < general_cohort["patients"].num_rows  # some die, most do not
    assert general_cohort["patients"].num_rows - deaths < 3000


def test_invariants_seed_cohort_and_prenatal(seed_cohort, scenario_cohort):
    check_invariants(seed_cohort)
    check_invariants(scenario_cohort("prenatal_care"))


@pytest.mark.slow
def test_invariants_at_100k(tmp_path):
    from tests.cohort.conftest import _generate

    check_invariants(_generate(tmp_path, "-n", 100_000, "--seed", 3, "--workers", 2))


def test_every_code_in_every_table_is_in_terminology(seed_cohort, general_cohort):
    terms = default_terminology()
    for t in (seed_cohort, general_cohort):
        for name, system in (
            ("conditions", "icd10cm"),
            ("medications", "rxnorm"),
            ("immunizations", "cvx"),
            ("observations", "loinc"),
        ):
            for code in set(t[name].column("code").to_pylist()):
                assert terms.contains(system, code), (name, code)
        for system, code in set(
            zip(
                t["procedures"].column("code_system").to_pylist(),
                t["procedures"].column("code").to_pylist(),
                strict=True,
            )
        ):
            assert terms.contains(system, code)


def test_notes_only_mention_known_conditions(seed_cohort):
    notes = seed_cohort["notes"].join(
        seed_cohort["encounters"].select(["encounter_id", "start"]), "encounter_id"
    )
    cond = seed_cohort["conditions"].join(
        seed_cohort["encounters"]
        .select(["encounter_id", "start"])
        .rename_columns(["encounter_id", "recorded"]),
        "encounter_id",
    )
    first_known = cond.group_by(["patient_id", "description"]).aggregate([("recorded", "min")])
    known = {
        (r["patient_id"], r["description"]): r["recorded_min"] for r in first_known.to_pylist()
    }
    checked = 0
    for note in notes.slice(0, 3000).to_pylist():
        for (pid, desc), recorded in known.items():
            if pid == note["patient_id"] and "Active problems: " in note["text"]:
                problems = note["text"].split("Active problems: ")[1].split(". Current")[0]
                if desc in problems.split("; "):
                    assert recorded <= note["note_time"], (desc, note["text"])
                    checked += 1
    assert checked > 0


def test_allergies_have_real_codes_and_plausible_shares(general_cohort):
    allergies = general_cohort["allergies"]
    patients = general_cohort["patients"].num_rows
    assert allergies.num_rows > 0
    terms = default_terminology()
    columns = [allergies.column(c).to_pylist() for c in ("code_system", "code", "description")]
    for system, code, display in set(zip(*columns, strict=True)):
        assert terms.lookup(system, code).display == display
    shares = {"medication": 0.10, "food": 0.08, "environment": 0.15}
    for category, share in shares.items():
        rows = allergies.filter(pc.equal(allergies.column("category"), category))
        # at most one allergy per category and patient; recorded only for patients seen
        assert pc.count_distinct(rows.column("patient_id")).as_py() == rows.num_rows
        assert 0.6 * share < rows.num_rows / patients < 1.1 * share, category
    assert set(allergies.column("criticality").to_pylist()) <= {"low", "high"}
    encounters = general_cohort["encounters"].select(["encounter_id", "patient_id"])
    assert allergies.join(encounters, ["encounter_id", "patient_id"]).num_rows == allergies.num_rows
