"""One shard end to end: scenario keys → world patients → baseline + modules → tables."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from hospigen.engine.allergies import record_allergies
from hospigen.engine.baseline import YEAR, Baseline
from hospigen.engine.cohort import Cohort
from hospigen.engine.executor import ModuleRunner
from hospigen.engine.notes import notes_table
from hospigen.engine.scenario import Scenario, world_keys
from hospigen.engine.sdoh import record_sdoh
from hospigen.engine.spec import Module
from hospigen.engine.tables import TableBuilder
from hospigen.model import empty
from hospigen.rng import KeyedRandom

EPOCH = dt.date(1970, 1, 1)


@dataclass(frozen=True)
class Plan:
    """What to simulate: the scenario, its modules (with enrolment shares), the window."""

    scenario: Scenario
    modules: tuple[tuple[Module, float], ...]
    years_of_history: float = 10.0
    notes: bool = True


def _days(date: dt.date) -> float:
    return float((date - EPOCH).days)


def _cohort(world, plan: Plan, patients: pa.Table) -> Cohort:
    birth = patients.column("birth_date").cast(pa.int32()).to_numpy().astype(np.float64)
    as_of_end = _days(world.as_of) + 1.0
    return Cohort(
        seed=world.seed,
        keys=patients.column("patient_key").to_numpy().astype(np.uint64),
        birth=birth,
        female=patients.column("gender").to_numpy(zero_copy_only=False) == "F",
        window_start=as_of_end - plan.years_of_history * YEAR,
        as_of_end=as_of_end,
        death=np.full(patients.num_rows, np.inf),
    )


def simulate_shard(
    world, plan: Plan, index: np.ndarray, emit: Callable[[str, pa.Table], None] | None = None
) -> dict[str, pa.Table]:
    """Every per-patient table for patient numbers ``index`` of ``plan``'s scenario;
    ``emit(name, table)`` is called as each table is finished (writers start on it)."""
    keys = world_keys(world.seed, plan.scenario, index)
    patients = world.patients(keys)
    cohort = _cohort(world, plan, patients)
    everyone = np.arange(cohort.size)
    runners, enrolled = [], []
    suppressed: dict[str, np.ndarray] = {}
    for module, share in plan.modules:
        runner = ModuleRunner(module, cohort)
        pidx, entry = runner.eligible_entry(everyone)
        if share < 1.0:
            pick = (
                KeyedRandom(world.seed, f"enrol/{module.name}").uniform(cohort.keys[pidx]) < share
            )
            pidx, entry = pidx[pick], entry[pick]
        for category, mode in module.categories.items():
            if mode == "replace":
                mask = suppressed.setdefault(category, np.zeros(cohort.size, dtype=bool))
                mask[pidx] = True
        runners.append(runner)
        enrolled.append((pidx, entry))
    baseline = Baseline(cohort, plan.scenario.smoking)
    baseline.prepare(suppressed)
    baseline.run()
    for runner, (pidx, entry) in zip(runners, enrolled, strict=True):
        alive = entry < cohort.end[pidx]
        runner.run(pidx[alive], entry[alive])
    record_sdoh(cohort, plan.scenario.sdoh)
    record_allergies(cohort, baseline.cfg.get("allergies") or {})
    death = np.where(np.isinf(cohort.death), np.nan, cohort.death)
    patients = patients.set_column(
        patients.schema.get_field_index("death_date"),
        "death_date",
        pa.array(
            np.where(np.isnan(death), 0, death).astype(np.int32), pa.int32(), mask=np.isnan(death)
        ).cast(pa.date32()),
    )
    # encounters happen at the patients' home facilities and hospitals: only their clinicians
    used = pa.chunked_array(
        [*patients.column("home_facility_id").chunks, *patients.column("hospital_id").chunks]
    )
    builder = TableBuilder(cohort, patients, world.providers_at(used))
    order = ("patients", "encounters", "conditions", "observations", "medications",
             "procedures", "immunizations", "careplans", "allergies", "notes")  # fmt: skip
    built: dict[str, pa.Table] = {}

    def done(name: str, table: pa.Table) -> None:
        built[name] = table
        if emit:
            emit(name, table)

    done("patients", patients)
    done("encounters", builder.encounters())
    done("conditions", builder.conditions())
    done("observations", builder.observations())
    done("medications", builder.medications())
    # the notes (the largest table, which writers get last) as soon as their inputs exist:
    # the small tables are built while the writers start on the notes
    done("notes", notes_table(world.seed, built, builder.rows) if plan.notes else empty("notes"))
    done("procedures", builder.procedures())
    done("immunizations", builder.immunizations())
    done("careplans", builder.careplans())
    done("allergies", builder.allergies())
    return {name: built[name] for name in order}
