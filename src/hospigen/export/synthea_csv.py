"""Synthea's CSV layout (master column order), so tools built for Synthea read our output.

Files (under ``synthea/``): patients, encounters, conditions, observations, medications,
procedures, immunizations, careplans, allergies, claims, organizations, providers, payers —
plus header-only imaging_studies, devices, supplies, claims_transactions and payer_transitions
(hospigen has no such rows yet). Times are ``YYYY-MM-DDTHH:MM:SSZ``, dates ``YYYY-MM-DD``;
fields Synthea fills from data hospigen does not model (costs paid, DALY…) are left empty
rather than invented.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from hospigen.export.folder import AtomicFolder
from hospigen.export.registry import ExportContext, register
from hospigen.export.timetext import iso_date, iso_seconds
from hospigen.terminology.systems import SYSTEM_URIS

Source = str | Callable[[pa.Table], pa.Array] | None
RACE = {"2106-3": "white", "2054-5": "black", "2028-9": "asian", "1002-5": "native",
        "2076-8": "hawaiian", "2131-1": "other"}  # fmt: skip


def _map(column: str, mapping: dict[str, str]) -> Callable[[pa.Table], pa.Array]:
    keys, values = list(mapping), list(mapping.values())

    def get(t: pa.Table) -> pa.Array:
        idx = pc.index_in(t[column], value_set=pa.array(keys))
        return pc.take(pa.array(values), idx)

    return get


def _time(column: str) -> Callable[[pa.Table], pa.Array]:
    return lambda t: iso_seconds(t[column])


def _date(column: str) -> Callable[[pa.Table], pa.Array]:
    return lambda t: iso_date(t[column])


def _uri(column: str) -> Callable[[pa.Table], pa.Array]:
    return _map(column, SYSTEM_URIS)


def _list_item(column: str, n: int) -> Callable[[pa.Table], pa.Array]:
    def get(t: pa.Table) -> pa.Array:
        lists = t[column].combine_chunks()
        return pc.take(pc.list_flatten(lists), _nth_index(lists, n))

    return get


def _nth_index(lists: pa.Array, n: int) -> pa.Array:
    """Index into the flattened values of each list's ``n``-th item (null when too short)."""
    lengths = pc.fill_null(pc.list_value_length(lists), 0).to_numpy(zero_copy_only=False)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    return pa.array(np.where(lengths > n, starts + n, -1), mask=lengths <= n)


def _value(t: pa.Table) -> pa.Array:
    return pc.coalesce(pc.cast(t["value"], pa.string()), t["value_text"])


def _obs_type(t: pa.Table) -> pa.Array:
    return pc.if_else(pc.is_null(t["value"]), "text", "numeric")


def _name(t: pa.Table) -> pa.Array:
    return pc.binary_join_element_wise(t["first_name"], t["last_name"], " ")


LAYOUT: dict[str, tuple[str, list[tuple[str, Source]]]] = {
    "patients": ("patients", [
        ("Id", "patient_id"), ("BIRTHDATE", _date("birth_date")),
        ("DEATHDATE", _date("death_date")), ("SSN", "ssn"), ("DRIVERS", None),
        ("PASSPORT", None), ("PREFIX", "prefix"), ("FIRST", "first_name"),
        ("MIDDLE", "middle_name"), ("LAST", "last_name"), ("SUFFIX", "suffix"),
        ("MAIDEN", "maiden_name"), ("MARITAL", "marital_status"),
        ("RACE", _map("race_code", RACE)),
        ("ETHNICITY", _map("ethnicity_code", {"2135-2": "hispanic", "2186-5": "nonhispanic"})),
        ("GENDER", "gender"), ("BIRTHPLACE", None), ("ADDRESS", "address"), ("CITY", "city"),
        ("STATE", "state"), ("COUNTY", "county"), ("FIPS", None), ("ZIP", "zip"),
        ("LAT", "lat"), ("LON", "lon"), ("HEALTHCARE_EXPENSES", None),
        ("HEALTHCARE_COVERAGE", None), ("INCOME", "income")]),
    "encounters": ("encounters", [
        ("Id", "encounter_id"), ("START", _time("start")), ("STOP", _time("stop")),
        ("PATIENT", "patient_id"), ("ORGANIZATION", "facility_id"), ("PROVIDER", "provider_id"),
        ("PAYER", "payer_id"), ("ENCOUNTERCLASS", "encounter_class"), ("CODE", "code"),
        ("DESCRIPTION", "description"), ("BASE_ENCOUNTER_COST", "base_cost"),
        ("TOTAL_CLAIM_COST", None), ("PAYER_COVERAGE", None), ("REASONCODE", "reason_code"),
        ("REASONDESCRIPTION", "reason_description")]),
    "conditions": ("conditions", [
        ("START", _date("onset")), ("STOP", _date("abatement")), ("PATIENT", "patient_id"),
        ("ENCOUNTER", "encounter_id"), ("SYSTEM", _uri("code_system")), ("CODE", "code"),
        ("DESCRIPTION", "description")]),
    "observations": ("observations", [
        ("DATE", _time("effective")), ("PATIENT", "patient_id"), ("ENCOUNTER", "encounter_id"),
        ("CATEGORY", "category"), ("CODE", "code"), ("DESCRIPTION", "description"),
        ("VALUE", _value), ("UNITS", "unit"), ("TYPE", _obs_type)]),
    "medications": ("medications", [
        ("START", _time("start")), ("STOP", _time("stop")), ("PATIENT", "patient_id"),
        ("PAYER", None), ("ENCOUNTER", "encounter_id"), ("CODE", "code"),
        ("DESCRIPTION", "description"), ("BASE_COST", "base_cost"), ("PAYER_COVERAGE", None),
        ("DISPENSES", None), ("TOTALCOST", None), ("REASONCODE", "reason_code"),
        ("REASONDESCRIPTION", None)]),
    "procedures": ("procedures", [
        ("START", _time("performed")), ("STOP", None), ("PATIENT", "patient_id"),
        ("ENCOUNTER", "encounter_id"), ("SYSTEM", _uri("code_system")), ("CODE", "code"),
        ("DESCRIPTION", "description"), ("BASE_COST", "base_cost"),
        ("REASONCODE", "reason_code"), ("REASONDESCRIPTION", None)]),
    "immunizations": ("immunizations", [
        ("DATE", _time("date")), ("PATIENT", "patient_id"), ("ENCOUNTER", "encounter_id"),
        ("CODE", "code"), ("DESCRIPTION", "description"), ("BASE_COST", "base_cost")]),
    "careplans": ("careplans", [
        ("Id", "careplan_id"), ("START", _date("start")), ("STOP", _date("stop")),
        ("PATIENT", "patient_id"), ("ENCOUNTER", "encounter_id"), ("CODE", "code"),
        ("DESCRIPTION", "description"), ("REASONCODE", "reason_code"),
        ("REASONDESCRIPTION", None)]),
    "allergies": ("allergies", [
        ("START", _date("onset")), ("STOP", None), ("PATIENT", "patient_id"),
        ("ENCOUNTER", "encounter_id"), ("CODE", "code"), ("SYSTEM", _uri("code_system")),
        ("DESCRIPTION", "description"), ("TYPE", lambda t: pa.array(["allergy"] * t.num_rows)),
        ("CATEGORY", "category"), ("REACTION1", None), ("DESCRIPTION1", None),
        ("SEVERITY1", None), ("REACTION2", None), ("DESCRIPTION2", None),
        ("SEVERITY2", None)]),
    "claims": ("claims", [
        ("Id", "claim_id"), ("PATIENTID", "patient_id"), ("PROVIDERID", "provider_id"),
        ("PRIMARYPATIENTINSURANCEID", "payer_id"), ("SECONDARYPATIENTINSURANCEID", None),
        ("DEPARTMENTID", None), ("PATIENTDEPARTMENTID", None),
        *[(f"DIAGNOSIS{n + 1}", _list_item("diagnosis_codes", n)) for n in range(8)],
        ("REFERRINGPROVIDERID", None), ("APPOINTMENTID", "encounter_id"),
        ("CURRENTILLNESSDATE", _date("service_date")), ("SERVICEDATE", _date("service_date")),
        ("SUPERVISINGPROVIDERID", None),
        ("STATUS1", _map("claim_status", {"PAID": "CLOSED", "DENIED": "CLOSED",
                                          "SUBMITTED": "BILLED"})),
        ("STATUS2", None), ("STATUSP", None), ("OUTSTANDING1", None), ("OUTSTANDING2", None),
        ("OUTSTANDINGP", None), ("LASTBILLEDDATE1", _date("submission_date")),
        ("LASTBILLEDDATE2", None), ("LASTBILLEDDATEP", None), ("HEALTHCARECLAIMTYPEID1", None),
        ("HEALTHCARECLAIMTYPEID2", None)]),
    "facilities": ("organizations", [
        ("Id", "facility_id"), ("NAME", "facility_name"), ("ADDRESS", "address"),
        ("CITY", "city"), ("STATE", "state"), ("ZIP", "zip"), ("LAT", "lat"), ("LON", "lon"),
        ("PHONE", "phone"), ("REVENUE", None), ("UTILIZATION", None)]),
    "providers": ("providers", [
        ("Id", "provider_id"), ("ORGANIZATION", "facility_id"), ("NAME", _name),
        ("GENDER", "gender"), ("SPECIALITY", "specialty"), ("ADDRESS", None), ("CITY", None),
        ("STATE", "state"), ("ZIP", None), ("LAT", None), ("LON", None), ("ENCOUNTERS", None),
        ("PROCEDURES", None)]),
    "payers": ("payers", [
        ("Id", "payer_id"), ("NAME", "payer_name"), ("OWNERSHIP", "ownership"),
        *[(c, None) for c in ("ADDRESS", "CITY", "STATE_HEADQUARTERED", "ZIP", "PHONE",
                              "AMOUNT_COVERED", "AMOUNT_UNCOVERED", "REVENUE",
                              "COVERED_ENCOUNTERS", "UNCOVERED_ENCOUNTERS",
                              "COVERED_MEDICATIONS", "UNCOVERED_MEDICATIONS",
                              "COVERED_PROCEDURES", "UNCOVERED_PROCEDURES",
                              "COVERED_IMMUNIZATIONS", "UNCOVERED_IMMUNIZATIONS",
                              "UNIQUE_CUSTOMERS", "QOLS_AVG", "MEMBER_MONTHS")]]),
}  # fmt: skip
HEADER_ONLY = {
    "imaging_studies": "Id,DATE,PATIENT,ENCOUNTER,SERIES_UID,BODYSITE_CODE,BODYSITE_DESCRIPTION,"
    "MODALITY_CODE,MODALITY_DESCRIPTION,INSTANCE_UID,SOP_CODE,SOP_DESCRIPTION,PROCEDURE_CODE",
    "devices": "START,STOP,PATIENT,ENCOUNTER,CODE,DESCRIPTION,UDI",
    "supplies": "DATE,PATIENT,ENCOUNTER,CODE,DESCRIPTION,QUANTITY",
    "claims_transactions": "ID,CLAIMID,CHARGEID,PATIENTID,TYPE,AMOUNT,METHOD,FROMDATE,TODATE,"
    "PLACEOFSERVICE,PROCEDURECODE,MODIFIER1,MODIFIER2,DIAGNOSISREF1,DIAGNOSISREF2,DIAGNOSISREF3,"
    "DIAGNOSISREF4,UNITS,DEPARTMENTID,NOTES,UNITAMOUNT,TRANSFEROUTID,TRANSFERTYPE,PAYMENTS,"
    "ADJUSTMENTS,TRANSFERS,OUTSTANDING,APPOINTMENTID,LINENOTE,PATIENTINSURANCEID,FEESCHEDULEID,"
    "PROVIDERID,SUPERVISINGPROVIDERID",
    "payer_transitions": "PATIENT,MEMBERID,START_DATE,END_DATE,PAYER,SECONDARY_PAYER,"
    "PLAN_OWNERSHIP,OWNER_NAME",
}


def project(name: str, table: pa.Table) -> pa.Table:
    """Canonical ``name`` rows in Synthea's columns (all text, master column order)."""
    columns = {}
    for header, source in LAYOUT[name][1]:
        if source is None:
            col = pa.nulls(table.num_rows, pa.string())
        elif isinstance(source, str):
            col = table[source]
        else:
            col = source(table)
        columns[header] = pc.cast(col, pa.string())
    return pa.table(columns)


class SyntheaCsvWriter:
    """Streams each canonical table into its Synthea-named CSV file."""

    def __init__(self, out_dir: Path) -> None:
        self.folder = AtomicFolder(out_dir / "synthea")
        self._writers: dict[str, pacsv.CSVWriter] = {}
        self._files: dict[str, object] = {}

    def write(self, tables: dict[str, pa.Table]) -> None:
        for name, table in tables.items():
            if name not in LAYOUT:
                continue
            text = project(name, table)
            if name not in self._writers:
                self._files[name] = open(self.folder.path / f"{LAYOUT[name][0]}.csv", "wb")  # noqa: SIM115
                opts = pacsv.WriteOptions(quoting_style="needed")
                self._writers[name] = pacsv.CSVWriter(
                    self._files[name], text.schema, write_options=opts
                )
            self._writers[name].write_table(text)

    def close(self) -> list[Path]:
        for name, writer in self._writers.items():
            writer.close()
            self._files[name].close()
        for name, (file_name, spec) in LAYOUT.items():
            if name not in self._writers:
                header = ",".join(h for h, _ in spec)
                (self.folder.path / f"{file_name}.csv").write_text(header + "\n")
        for file_name, header in HEADER_ONLY.items():
            (self.folder.path / f"{file_name}.csv").write_text(header + "\n")
        self.folder.publish()
        return self.folder.files()


@register
class SyntheaCsvExporter:
    """Synthea-compatible CSV (19 tables, master column order)."""

    name = "synthea_csv"
    description = "Synthea CSV layout (patients, encounters, … in master column order) in synthea/"

    def open(self, out_dir: Path, context: ExportContext) -> SyntheaCsvWriter:
        out_dir.mkdir(parents=True, exist_ok=True)
        return SyntheaCsvWriter(out_dir)
