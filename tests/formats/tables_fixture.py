"""Canonical tables for exporter tests: real World patients plus hand-made clinical rows.

Until the clinical engine fills every table, exporters are tested on these: each patient gets
three encounters (wellness, emergency, inpatient), vitals (BP components, SpO2, temperature…),
a CBC and a metabolic lab panel with reference ranges, conditions (one resolved), medications,
a procedure, an immunization, a care plan, an allergy, notes (with HL7/M/JSON special
characters) and one claim per encounter — every table typed exactly per ``model/schemas.py``.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa

from hospigen.model import schemas
from hospigen.model.ids import uuids
from hospigen.world import World

AS_OF = dt.date(2025, 1, 1)
DAY = dt.timedelta(days=1)
# (code, value, unit, ref_low, ref_high) — vitals; BP components carry panel 85354-9
VITALS = [
    ("8867-4", "Heart rate", 72.0, "/min"),
    ("9279-1", "Respiratory rate", 16.0, "/min"),
    ("8310-5", "Body temperature", 37.1, "Cel"),
    ("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry", 97.0, "%"),
    ("29463-7", "Body weight", 70.5, "kg"),
    ("8302-2", "Body height", 170.2, "cm"),
    ("39156-5", "Body mass index (BMI) [Ratio]", 24.3, "kg/m2"),
]
BP = [("8480-6", "Systolic blood pressure", 128.0), ("8462-4", "Diastolic blood pressure", 82.0)]
LABS = [  # panel, code, description, value, unit, low, high
    ("58410-2", "6690-2", "Leukocytes [#/volume] in Blood by Automated count", 11.8, "10*3/uL",
     4.0, 11.0),
    ("58410-2", "718-7", "Hemoglobin [Mass/volume] in Blood", 13.5, "g/dL", 12.0, 17.5),
    ("58410-2", "777-3", "Platelets [#/volume] in Blood by Automated count", 250.0, "10*3/uL",
     150.0, 400.0),
    ("51990-0", "2951-2", "Sodium [Moles/volume] in Serum or Plasma", 131.0, "mmol/L", 135.0,
     145.0),
    ("51990-0", "2823-3", "Potassium [Moles/volume] in Serum or Plasma", 4.1, "mmol/L", 3.5, 5.1),
    ("51990-0", "2345-7", "Glucose [Mass/volume] in Serum or Plasma", 182.0, "mg/dL", 70.0, 99.0),
]  # fmt: skip
ENCOUNTERS = [  # class, system, code, description, offset days before as-of, hours, reason
    ("wellness", "hcpcs", "G0438", "Annual wellness visit", 400, 1, "Z00.00"),
    ("emergency", "hcpcs", "99213", "Emergency visit", 200, 5, "R07.9"),
    ("inpatient", "icd10cm", "A41.9", "Hospital admission", 90, 76, "A41.9"),
]
NOTE_TEXT = (
    'Patient seen for "{reason}". Vitals reviewed: BP 128/82 ^ stable ~ no distress & '
    "plan per A\\P; café-au-lait noted.\nFollow up in 2 weeks."
)


def _ts(values: list[dt.datetime]) -> pa.Array:
    return pa.array(values, schemas.TS)


def _table(name: str, rows: dict[str, list]) -> pa.Table:
    schema = schemas.schema(name)
    return pa.table({f.name: pa.array(rows[f.name], f.type) for f in schema}, schema=schema)


def _id(seed: int, kind: str, key: int) -> str:
    return str(uuids(seed, f"fixture/{kind}", [key])[0])


_MAPS: dict[int, tuple[dict[str, str], dict[str, str]]] = {}


def _provider_maps(world: World) -> tuple[dict[str, str], dict[str, str]]:
    if id(world) in _MAPS:
        return _MAPS[id(world)]
    prov = world.providers.to_pydict()
    first: dict[str, str] = {}
    for pid, fac in zip(prov["provider_id"], prov["facility_id"], strict=True):
        first.setdefault(fac, pid)
    _MAPS[id(world)] = first, dict(zip(prov["provider_id"], prov["npi"], strict=True))
    return _MAPS[id(world)]


def _provider_of(world: World, facility_id: str) -> str:
    first, _ = _provider_maps(world)
    return first.get(facility_id) or world.providers["provider_id"][0].as_py()


class _Rows(dict):
    def add(self, **values: object) -> None:
        for key, value in values.items():
            self.setdefault(key, []).append(value)


def clinical_tables(world: World, keys: list[int] | range) -> dict[str, pa.Table]:
    """Every per-patient canonical table for patient ``keys`` of ``world``."""
    patients = world.patients(np.asarray(list(keys), dtype=np.int64))
    out = {n: _Rows() for n in schemas.SCHEMAS if n not in schemas.WORLD_TABLES}
    seed = world.seed
    for p in patients.to_pylist():
        k = p["patient_key"]
        base = dt.datetime.combine(AS_OF, dt.time(9, 30), tzinfo=dt.UTC)
        for j, (cls, system, code, desc, days, hours, reason) in enumerate(ENCOUNTERS):
            _encounter(out, world, seed, p, k * 10 + j, cls, system, code, desc,
                       base - days * DAY + dt.timedelta(minutes=k % 50), hours, reason)  # fmt: skip
    tables = {name: _table(name, _fill(name, rows)) for name, rows in out.items()}
    return {"patients": patients, **tables}


def _fill(name: str, rows: _Rows) -> dict[str, list]:
    n = len(next(iter(rows.values()), []))
    return {f.name: rows.get(f.name, [None] * n) for f in schemas.schema(name)}


def _encounter(out, world, seed, p, key, cls, system, code, desc, start, hours, reason):
    fac = p["hospital_id"] if cls in ("emergency", "inpatient") else p["home_facility_id"]
    prov = _provider_of(world, fac)
    enc_id = _id(seed, "enc", key)
    stop = start + dt.timedelta(hours=hours)
    pid = p["patient_id"]
    out["encounters"].add(
        encounter_id=enc_id, patient_id=pid, facility_id=fac, provider_id=prov,
        payer_id=p["payer_id"], encounter_class=cls, code_system=system, code=code,
        description=desc, start=start, stop=stop, reason_code=reason,
        reason_description="reason " + reason, module="fixture", base_cost=125.0 + key % 7,
    )  # fmt: skip
    _observations(out, seed, pid, enc_id, key, start + dt.timedelta(minutes=10))
    cond_code = {"wellness": "I10", "emergency": "R07.9", "inpatient": "A41.9"}[cls]
    out["conditions"].add(
        condition_id=_id(seed, "cond", key), patient_id=pid, encounter_id=enc_id,
        code_system="icd10cm", code=cond_code, description=f"condition {cond_code}",
        onset=start, abatement=stop if cls != "wellness" else None, module="fixture",
    )  # fmt: skip
    out["medications"].add(
        medication_id=_id(seed, "med", key), patient_id=pid, encounter_id=enc_id,
        code="314076", description="lisinopril 10 MG Oral Tablet", start=start,
        stop=None if cls == "wellness" else stop + 30 * DAY, reason_code=cond_code,
        prescriber_id=prov, base_cost=12.5, module="fixture",
    )  # fmt: skip
    out["procedures"].add(
        procedure_id=_id(seed, "proc", key), patient_id=pid, encounter_id=enc_id,
        code_system="hcpcs", code="G0438" if cls == "wellness" else "99213",
        description="procedure", performed=start + dt.timedelta(minutes=30),
        reason_code=reason, base_cost=80.0, module="fixture",
    )  # fmt: skip
    out["notes"].add(
        note_id=_id(seed, "note", key), patient_id=pid, encounter_id=enc_id,
        note_time=stop, note_type="discharge" if cls == "inpatient" else "progress",
        text=NOTE_TEXT.format(reason=reason),
    )  # fmt: skip
    out["claims"].add(
        claim_id=_id(seed, "claim", key), patient_id=pid, encounter_id=enc_id,
        provider_id=prov, billing_npi=_provider_maps(world)[1][prov],
        facility_id=fac, payer_id=p["payer_id"],
        place_of_service={"wellness": "11", "emergency": "23", "inpatient": "21"}[cls],
        diagnosis_codes=[cond_code, reason], procedure_codes=["99213"],
        claim_amount=250.75 + key % 13, service_date=stop.date(),
        submission_date=stop.date() + 3 * DAY, claim_status="PAID",
    )  # fmt: skip
    if cls == "wellness":
        out["immunizations"].add(
            immunization_id=_id(seed, "imm", key), patient_id=pid, encounter_id=enc_id,
            code="140", description="Influenza, seasonal, injectable, preservative free",
            date=start + dt.timedelta(minutes=40), base_cost=136.0,
        )  # fmt: skip
        out["careplans"].add(
            careplan_id=_id(seed, "cp", key), patient_id=pid, encounter_id=enc_id,
            code_system="snomed", code="736285004", description="Hypertension care plan",
            start=start, stop=None, reason_code="I10",
            activities=["Low salt diet", "Home BP monitoring"], module="fixture",
        )  # fmt: skip
        out["allergies"].add(
            allergy_id=_id(seed, "alg", key), patient_id=pid, encounter_id=enc_id,
            code_system="rxnorm", code="1191", description="Aspirin", category="medication",
            criticality="low", onset=start,
        )  # fmt: skip


def _observations(out, seed, pid, enc_id, key, when):
    ids = iter(str(x) for x in uuids(seed, "fixture/obs", np.arange(key * 20, key * 20 + 20)))
    for code, desc, value, unit in VITALS:
        _obs(out, next(ids), pid, enc_id, "vital-signs", code, desc, value + key % 3, unit, when)
    for code, desc, value in BP:
        _obs(out, next(ids), pid, enc_id, "vital-signs", code, desc, value, "mm[Hg]", when,
             panel="85354-9")  # fmt: skip
    lab_time = when + dt.timedelta(minutes=45)
    for panel, code, desc, value, unit, low, high in LABS:
        flag = "H" if value > high else ("L" if value < low else "N")
        _obs(out, next(ids), pid, enc_id, "laboratory", code, desc, value, unit, lab_time,
             panel=panel, low=low, high=high, flag=flag)  # fmt: skip
    _obs(out, next(ids), pid, enc_id, "survey", "44261-6", "PHQ-9 total score", 4.0, "{score}",
         when)  # fmt: skip


def _obs(out, oid, pid, enc_id, category, code, desc, value, unit, when, *, panel=None,
         low=None, high=None, flag=None):  # fmt: skip
    out["observations"].add(
        observation_id=oid, patient_id=pid, encounter_id=enc_id, category=category, code=code,
        description=desc, value=round(float(value), 1), unit=unit, value_text=None,
        effective=when, ref_low=low, ref_high=high, interpretation=flag, panel_code=panel,
        module="fixture",
    )  # fmt: skip


def shared_tables(world: World, tables: dict[str, pa.Table]) -> dict[str, pa.Table]:
    """The shared resources a run would write last: facilities in use, their providers, payers."""
    used = pa.chunked_array(
        tables["patients"]["home_facility_id"].chunks + tables["patients"]["hospital_id"].chunks
    )
    facilities = world.facilities_in_use(used)
    return {"facilities": facilities, "providers": world.providers_of(facilities),
            "payers": world.payers}  # fmt: skip


def fixture_world(seed: int = 7) -> World:
    """A small deterministic world for exporter tests."""
    return World(seed, AS_OF, facility_count=60)


def export(out_dir, formats: list[str], world: World, shards: list[range], **options) -> list:
    """Run exporters ``formats`` over patient ``shards`` (then the shared tables) like a run."""
    from hospigen import export as registry
    from hospigen.generation import generated_at

    context = registry.ExportContext(world.seed, AS_OF, generated_at(AS_OF), options=options)
    writers = [registry.get(name).open(out_dir, context) for name in formats]
    all_patients = []
    for keys in shards:
        tables = clinical_tables(world, keys)
        all_patients.append(tables["patients"])
        for w in writers:
            w.write(tables)
    shared = shared_tables(world, {"patients": pa.concat_tables(all_patients)})
    files = []
    for w in writers:
        w.write(shared)
    for w in writers:
        files += w.close()
    return files
