"""From the event log to the canonical Arrow tables.

Rows are sorted by (patient, time, emission sequence); each row's identifier is
``uuids(seed, kind, patient_key * 2**20 + ordinal)`` where ordinal is the row's rank among the
patient's rows of that table, so ids are unique, shard-independent and stable across run sizes.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from hospigen.engine.cohort import DAY_US, Cohort
from hospigen.model import schema, uuids
from hospigen.terminology import default_terminology

ORDINAL_BITS = 20
_KIND = {
    "encounters": "encounter",
    "conditions": "condition",
    "observations": "observation",
    "medications": "medication",
    "procedures": "procedure",
    "immunizations": "immunization",
    "careplans": "careplan",
    "allergies": "allergy",
}


def _ts(days: np.ndarray) -> pa.Array:
    us = np.round(np.asarray(days, dtype=np.float64) * DAY_US)
    mask = ~np.isfinite(us)
    return pa.array(np.where(mask, 0, us).astype(np.int64), pa.timestamp("us", tz="UTC"), mask=mask)


def _order(log, table: str) -> tuple[np.ndarray, np.ndarray]:
    """(sort order, per-patient ordinal of each sorted row)."""
    pidx = log.column(table, "pidx").astype(np.int64)
    if table == "encounters":
        when = log.column(table, "start").astype(np.float64)
    else:
        when = log.column(table, "time").astype(np.float64)
    seq = log.column(table, "seq").astype(np.int64)
    order = np.lexsort((np.arange(len(pidx)), seq, when, pidx))
    p = pidx[order]
    first = np.r_[0, np.flatnonzero(p[1:] != p[:-1]) + 1] if len(p) else np.array([], np.int64)
    starts = np.repeat(first, np.diff(np.r_[first, len(p)]))
    return order, np.arange(len(p)) - starts


def _ids(cohort: Cohort, table: str, pidx: np.ndarray, ordinal: np.ndarray) -> np.ndarray:
    keys = cohort.keys[pidx] * np.uint64(1 << ORDINAL_BITS) + ordinal.astype(np.uint64)
    return uuids(cohort.seed, _KIND[table], keys)


def _ends(cohort: Cohort, table: str) -> np.ndarray:
    out = np.full(cohort.log.counts[table], np.nan)
    for rows, when in reversed(cohort.log.ends[table]):  # the first end recorded wins
        out[rows] = when
    return out


class TableBuilder:
    """Builds every per-patient table of one shard."""

    def __init__(self, cohort: Cohort, patients: pa.Table, providers: pa.Table) -> None:
        self.c = cohort
        self.patients = patients
        self.system = cohort.codes.column(0)
        self.code = cohort.codes.column(1)
        self.display = cohort.codes.column(2)
        self.patient_id = patients.column("patient_id").to_numpy(zero_copy_only=False)
        self._providers = providers
        self.enc_id_by_row = np.array([], dtype=object)

    def _provider_for(self, facility: np.ndarray, salt: np.ndarray) -> np.ndarray:
        prov = self._providers.sort_by([("facility_id", "ascending"), ("provider_id", "ascending")])
        fac = prov.column("facility_id").to_numpy(zero_copy_only=False)
        ids = prov.column("provider_id").to_numpy(zero_copy_only=False)
        uniq, start, count = np.unique(fac, return_index=True, return_counts=True)
        pos = np.searchsorted(uniq, facility)
        pos = np.clip(pos, 0, len(uniq) - 1)
        pick = start[pos] + (salt % count[pos].astype(np.uint64)).astype(np.int64)
        return ids[pick]

    def encounters(self) -> pa.Table:
        """The encounters table (also fixes the encounter ids other tables refer to)."""
        log, c = self.c.log, self.c
        order, ordinal = _order(log, "encounters")
        pidx = log.column("encounters", "pidx").astype(np.int64)[order]
        ids = _ids(c, "encounters", pidx, ordinal)
        self.enc_id_by_row = np.empty(len(order), dtype=object)
        self.enc_id_by_row[order] = ids
        self.enc_provider_by_row = np.empty(len(order), dtype=object)
        site = log.column("encounters", "site").astype(np.int8)[order]
        home = self.patients.column("home_facility_id").to_numpy(zero_copy_only=False)
        hosp = self.patients.column("hospital_id").to_numpy(zero_copy_only=False)
        facility = np.where(site == 1, hosp[pidx], home[pidx])
        provider = self._provider_for(
            facility, c.keys[pidx] * np.uint64(2) + site.astype(np.uint64)
        )
        self.enc_provider_by_row[order] = provider
        code = log.column("encounters", "code").astype(np.int64)[order]
        reason = log.column("encounters", "reason").astype(np.int64)[order]
        payer = self.patients.column("payer_id").to_numpy(zero_copy_only=False)[pidx]
        has_reason = reason >= 0
        return pa.table(
            {
                "encounter_id": ids,
                "patient_id": self.patient_id[pidx],
                "facility_id": facility,
                "provider_id": provider,
                "payer_id": payer,
                "encounter_class": log.column("encounters", "klass")[order],
                "code_system": self.system[code],
                "code": self.code[code],
                "description": self.display[code],
                "start": _ts(log.column("encounters", "start").astype(float)[order]),
                "stop": _ts(log.column("encounters", "stop").astype(float)[order]),
                "reason_code": np.where(has_reason, self.code[reason], None),
                "reason_description": np.where(has_reason, self.display[reason], None),
                "module": log.column("encounters", "module")[order],
                "base_cost": log.column("encounters", "cost").astype(float)[order],
            },
            schema=schema("encounters"),
        )

    def _events(self, table: str) -> tuple[np.ndarray, dict]:
        log, c = self.c.log, self.c
        order, ordinal = _order(log, table)
        pidx = log.column(table, "pidx").astype(np.int64)[order]
        code = log.column(table, "code").astype(np.int64)[order]
        enc = log.column(table, "enc").astype(np.int64)[order]
        common = {
            "id": _ids(c, table, pidx, ordinal),
            "patient_id": self.patient_id[pidx],
            "encounter_id": self.enc_id_by_row[enc],
            "code": code,
            "time": log.column(table, "time").astype(float)[order],
            "module": log.column(table, "module")[order],
        }
        return order, common

    def conditions(self) -> pa.Table:
        """Conditions (ICD-10-CM), with abatement where a module ended them."""
        order, e = self._events("conditions")
        onset = self.c.log.column("conditions", "onset_time", np.nan).astype(float)[order]
        onset = np.where(np.isnan(onset), e["time"], onset)
        return pa.table(
            {
                "condition_id": e["id"],
                "patient_id": e["patient_id"],
                "encounter_id": e["encounter_id"],
                "code_system": self.system[e["code"]],
                "code": self.code[e["code"]],
                "description": self.display[e["code"]],
                "onset": _ts(onset),
                "abatement": _ts(_ends(self.c, "conditions")[order]),
                "module": e["module"],
            },
            schema=schema("conditions"),
        )

    def observations(self) -> pa.Table:
        """Observations (LOINC + UCUM) with reference ranges and interpretation."""
        log = self.c.log
        order, e = self._events("observations")
        value = log.column("observations", "value", np.nan).astype(float)[order]
        low = log.column("observations", "ref_low", np.nan).astype(float)[order]
        high = log.column("observations", "ref_high", np.nan).astype(float)[order]
        codes = self.code[e["code"]]
        unit, category = _loinc_attributes(codes)
        interp = np.where(value < low, "L", np.where(value > high, "H", "N"))
        interp = np.where(np.isnan(low) | np.isnan(value), None, interp)
        return pa.table(
            {
                "observation_id": e["id"],
                "patient_id": e["patient_id"],
                "encounter_id": e["encounter_id"],
                "category": category,
                "code": codes,
                "description": self.display[e["code"]],
                "value": pa.array(value, mask=np.isnan(value)),
                "unit": np.where(np.isnan(value), None, unit),
                "value_text": log.column("observations", "text")[order],
                "effective": _ts(e["time"]),
                "ref_low": pa.array(low, mask=np.isnan(low)),
                "ref_high": pa.array(high, mask=np.isnan(high)),
                "interpretation": interp,
                "panel_code": log.column("observations", "panel")[order],
                "module": e["module"],
            },
            schema=schema("observations"),
        )

    def medications(self) -> pa.Table:
        """Medication orders (RxNorm); the prescriber is the encounter's clinician."""
        log = self.c.log
        order, e = self._events("medications")
        enc = log.column("medications", "enc").astype(np.int64)[order]
        prescriber = self.enc_provider_by_row[enc]
        reason = log.column("medications", "reason", -1).astype(np.int64)[order]
        return pa.table(
            {
                "medication_id": e["id"],
                "patient_id": e["patient_id"],
                "encounter_id": e["encounter_id"],
                "code": self.code[e["code"]],
                "description": self.display[e["code"]],
                "start": _ts(e["time"]),
                "stop": _ts(_ends(self.c, "medications")[order]),
                "reason_code": np.where(reason >= 0, self.code[reason], None),
                "prescriber_id": prescriber,
                "base_cost": log.column("medications", "cost").astype(float)[order],
                "module": e["module"],
            },
            schema=schema("medications"),
        )

    def procedures(self) -> pa.Table:
        """Procedures (HCPCS / bare CPT, SNOMED CT)."""
        log = self.c.log
        order, e = self._events("procedures")
        reason = log.column("procedures", "reason", -1).astype(np.int64)[order]
        return pa.table(
            {
                "procedure_id": e["id"],
                "patient_id": e["patient_id"],
                "encounter_id": e["encounter_id"],
                "code_system": self.system[e["code"]],
                "code": self.code[e["code"]],
                "description": self.display[e["code"]],
                "performed": _ts(e["time"]),
                "reason_code": np.where(reason >= 0, self.code[reason], None),
                "base_cost": log.column("procedures", "cost").astype(float)[order],
                "module": e["module"],
            },
            schema=schema("procedures"),
        )

    def immunizations(self) -> pa.Table:
        """Immunizations (CVX)."""
        order, e = self._events("immunizations")
        return pa.table(
            {
                "immunization_id": e["id"],
                "patient_id": e["patient_id"],
                "encounter_id": e["encounter_id"],
                "code": self.code[e["code"]],
                "description": self.display[e["code"]],
                "date": _ts(e["time"]),
                "base_cost": self.c.log.column("immunizations", "cost").astype(float)[order],
            },
            schema=schema("immunizations"),
        )

    def careplans(self) -> pa.Table:
        """Care plans with their activities."""
        log = self.c.log
        order, e = self._events("careplans")
        reason = log.column("careplans", "reason", -1).astype(np.int64)[order]
        acts = log.column("careplans", "activities", "")[order]
        activities = pc.split_pattern(pa.array(acts, pa.string()), "|")
        return pa.table(
            {
                "careplan_id": e["id"],
                "patient_id": e["patient_id"],
                "encounter_id": e["encounter_id"],
                "code_system": self.system[e["code"]],
                "code": self.code[e["code"]],
                "description": self.display[e["code"]],
                "start": _ts(e["time"]),
                "stop": _ts(_ends(self.c, "careplans")[order]),
                "reason_code": np.where(reason >= 0, self.code[reason], None),
                "activities": activities,
                "module": e["module"],
            },
            schema=schema("careplans"),
        )


def _loinc_attributes(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(UCUM unit, category) of each LOINC code, from the terminology table."""
    uniq, inv = np.unique(codes.astype(str), return_inverse=True) if len(codes) else ([], [])
    terms = default_terminology()
    units, cats = [], []
    for code in uniq:
        concept = terms.lookup("loinc", code)
        units.append(concept.get("unit") or None)
        cats.append(concept.get("category") or "laboratory")
    return (
        np.array(units, dtype=object)[inv] if len(codes) else np.array([], object),
        np.array(cats, dtype=object)[inv] if len(codes) else np.array([], object),
    )
