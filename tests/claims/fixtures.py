"""Canonical tables for claims tests: real World patients, providers and facilities, plus
hand-made encounters, conditions and procedures typed exactly per ``model/schemas.py``.

(The clinical engine that will produce encounters is being built in parallel; these rows stand
in for its output and follow its schema to the letter.)
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa

from hospigen.model import schema, uuids
from hospigen.rng import KeyedRandom
from hospigen.world import World

AS_OF = dt.date(2025, 1, 1)
CLASSES = np.array(["wellness", "ambulatory", "outpatient", "urgentcare", "emergency", "inpatient"])
CLASS_P = [0.2, 0.4, 0.1, 0.1, 0.15, 0.05]
DX = np.array(["E11.9", "I10", "J45.909", "M54.50", "K21.9", "E78.5", "I25.10", "J06.9"])


def world(seed: int = 7) -> World:
    """A small world (50 facilities) as of 2025-01-01."""
    return World(seed=seed, as_of=AS_OF, facility_count=50)


def tables(n_patients: int = 200, per_patient: int = 5, seed: int = 7) -> tuple[dict, World]:
    """(canonical tables, world) with ``n_patients × per_patient`` encounters."""
    w = world(seed)
    patients = w.patients(np.arange(n_patients))
    rnd = KeyedRandom(seed, "test/encounter")
    n = n_patients * per_patient
    keys = np.arange(n)
    pat = keys // per_patient
    providers = w.providers
    prov = rnd.integers(keys, "prov", 0, providers.num_rows)
    cls = CLASSES[rnd.choice(keys, "class", CLASS_P)]
    start_day = np.datetime64(AS_OF) - rnd.integers(keys, "day", 1, 700).astype("timedelta64[D]")
    weekday = (start_day.astype("datetime64[D]").astype(np.int64) - 4) % 7  # 0 = Monday
    office = np.isin(cls, ["wellness", "ambulatory"])
    start_day = start_day - np.where(office & (weekday >= 5), weekday - 4, 0).astype(
        "timedelta64[D]"
    )
    start = start_day.astype("datetime64[us]") + np.timedelta64(9, "h")
    los = np.where(cls == "inpatient", rnd.integers(keys, "los", 1, 6), 0)
    stop = start + (los * 24 + 1).astype("timedelta64[h]")
    enc_ids = uuids(seed, "test/encounter", keys)
    birth = patients.column("birth_date").to_numpy(zero_copy_only=False)[pat]
    start = np.maximum(start, birth.astype("datetime64[us]") + np.timedelta64(1, "D"))
    stop = np.maximum(stop, start + np.timedelta64(1, "h"))
    encounters = pa.table(
        {
            "encounter_id": enc_ids,
            "patient_id": patients.column("patient_id").take(pa.array(pat)),
            "facility_id": providers.column("facility_id").take(pa.array(prov)),
            "provider_id": providers.column("provider_id").take(pa.array(prov)),
            "payer_id": patients.column("payer_id").take(pa.array(pat)),
            "encounter_class": cls,
            "code_system": np.full(n, "http://snomed.info/sct"),
            "code": np.full(n, "185349003"),
            "description": np.full(n, "Encounter for check up"),
            "start": pa.array(start, pa.timestamp("us", tz="UTC")),
            "stop": pa.array(stop, pa.timestamp("us", tz="UTC")),
            "reason_code": pa.nulls(n, pa.string()),
            "reason_description": pa.nulls(n, pa.string()),
            "module": pa.nulls(n, pa.string()),
            "base_cost": np.full(n, 100.0),
        },
        schema=schema("encounters"),
    )
    n_dx = np.where(cls == "wellness", 0, rnd.integers(keys, "ndx", 1, 5))
    c_enc = np.repeat(keys, n_dx)
    c_keys = np.arange(len(c_enc))
    codes = DX[rnd.integers(c_keys, "dx", 0, len(DX))]
    conditions = pa.table(
        {
            "condition_id": uuids(seed, "test/condition", c_keys),
            "patient_id": encounters.column("patient_id").take(pa.array(c_enc)),
            "encounter_id": encounters.column("encounter_id").take(pa.array(c_enc)),
            "code_system": np.full(len(c_enc), "http://hl7.org/fhir/sid/icd-10-cm"),
            "code": codes,
            "description": codes,
            "onset": encounters.column("start").take(pa.array(c_enc)),
            "abatement": pa.nulls(len(c_enc), pa.timestamp("us", tz="UTC")),
            "module": pa.nulls(len(c_enc), pa.string()),
        },
        schema=schema("conditions"),
    )
    p_enc = keys[(cls == "ambulatory") & (rnd.uniform(keys, "flu") < 0.1)]
    procedures = pa.table(
        {
            "procedure_id": uuids(seed, "test/procedure", p_enc),
            "patient_id": encounters.column("patient_id").take(pa.array(p_enc)),
            "encounter_id": encounters.column("encounter_id").take(pa.array(p_enc)),
            "code_system": np.full(len(p_enc), "http://www.ama-assn.org/go/cpt"),
            "code": np.full(len(p_enc), "90471"),
            "description": np.full(len(p_enc), "immunization administration"),
            "performed": encounters.column("start").take(pa.array(p_enc)),
            "reason_code": pa.nulls(len(p_enc), pa.string()),
            "base_cost": np.full(len(p_enc), 25.0),
            "module": pa.nulls(len(p_enc), pa.string()),
        },
        schema=schema("procedures"),
    )
    return {
        "patients": patients,
        "encounters": encounters,
        "conditions": conditions,
        "procedures": procedures,
    }, w
