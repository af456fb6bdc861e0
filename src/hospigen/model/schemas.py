"""Canonical Arrow schemas: one per entity of the synthetic world.

Every output format is a projection of tables with these schemas; exporters never invent data.
Identifiers are UUID strings from :mod:`hospigen.model.ids`; times are UTC timestamps in
microseconds; calendar dates are ``date32``. Codes carry their system so a row is self-describing.
"""

from __future__ import annotations

import pyarrow as pa

TS = pa.timestamp("us", tz="UTC")
STR = pa.string()
LIST_STR = pa.list_(pa.string())


def _schema(*fields: tuple, doc: str) -> pa.Schema:
    built = [
        pa.field(name, typ, nullable=(len(rest) == 0 or rest[0])) for name, typ, *rest in fields
    ]
    return pa.schema(built, metadata={"doc": doc})


FACILITIES = _schema(
    ("facility_id", STR, False),
    ("facility_name", STR, False),
    ("facility_type", STR, False),
    ("npi", STR, False),
    ("address", STR, False),
    ("city", STR, False),
    ("state", STR, False),
    ("zip", STR, False),
    ("county", STR),
    ("lat", pa.float64()),
    ("lon", pa.float64()),
    ("phone", STR),
    ("employee_count", pa.int32(), False),
    ("bed_count", pa.int32()),
    ("services", LIST_STR, False),
    (
        "labs",
        pa.list_(pa.struct([("lab_name", STR), ("certifications", LIST_STR)])),
        False,
    ),
    (
        "accreditations",
        pa.list_(
            pa.struct(
                [
                    ("accreditation_body", STR),
                    ("accreditation_id", STR),
                    ("valid_until", pa.date32()),
                ]
            )
        ),
        False,
    ),
    doc="Facilities (hospitals, clinics, labs, urgent care, nursing): the organisations of care.",
)

PROVIDERS = _schema(
    ("provider_id", STR, False),
    ("npi", STR, False),
    ("first_name", STR, False),
    ("last_name", STR, False),
    ("gender", STR, False),
    ("specialty", STR, False),
    ("taxonomy_code", STR, False),
    ("facility_id", STR, False),
    ("state", STR, False),
    doc="Clinicians with individual NPIs, each working at one facility.",
)

PAYERS = _schema(
    ("payer_id", STR, False),
    ("payer_name", STR, False),
    ("payer_type", STR, False),  # medicare | medicaid | commercial | self_pay
    ("ownership", STR, False),  # GOVERNMENT | PRIVATE | NO_INSURANCE
    doc="Payers: Medicare, Medicaid, commercial plans and self-pay.",
)

PATIENTS = _schema(
    ("patient_id", STR, False),
    ("patient_key", pa.int64(), False),
    ("mrn", STR, False),
    ("ssn", STR, False),
    ("prefix", STR),
    ("first_name", STR, False),
    ("middle_name", STR),
    ("last_name", STR, False),
    ("suffix", STR),
    ("maiden_name", STR),
    ("gender", STR, False),  # administrative sex at birth: F | M
    ("birth_date", pa.date32(), False),
    ("death_date", pa.date32()),
    ("race_code", STR, False),  # CDC Race & Ethnicity (OMB category or 2131-1 Other Race)
    ("race_display", STR, False),
    ("ethnicity_code", STR, False),  # 2135-2 | 2186-5
    ("ethnicity_display", STR, False),
    ("marital_status", STR, False),  # HL7 v3 MaritalStatus: S M D W
    ("language", STR, False),  # BCP 47
    ("address", STR, False),
    ("city", STR, False),
    ("state", STR, False),
    ("county", STR),
    ("zip", STR, False),
    ("lat", pa.float64()),
    ("lon", pa.float64()),
    ("phone", STR, False),
    ("home_facility_id", STR, False),  # nearest clinic or hospital: primary care
    ("hospital_id", STR, False),  # nearest hospital: emergency and inpatient care
    ("payer_id", STR, False),
    ("income", pa.int32()),
    doc="Patients of the synthetic population (one row per person).",
)

ENCOUNTERS = _schema(
    ("encounter_id", STR, False),
    ("patient_id", STR, False),
    ("facility_id", STR, False),
    ("provider_id", STR, False),
    ("payer_id", STR, False),
    (
        "encounter_class",
        STR,
        False,
    ),  # wellness ambulatory outpatient inpatient emergency urgentcare
    ("code_system", STR, False),
    ("code", STR, False),
    ("description", STR, False),
    ("start", TS, False),
    ("stop", TS, False),
    ("reason_code", STR),  # ICD-10-CM
    ("reason_description", STR),
    ("module", STR),
    ("base_cost", pa.float64(), False),
    doc="Encounters: every clinical event hangs off one.",
)

CONDITIONS = _schema(
    ("condition_id", STR, False),
    ("patient_id", STR, False),
    ("encounter_id", STR, False),
    ("code_system", STR, False),
    ("code", STR, False),
    ("description", STR, False),
    ("onset", TS, False),
    ("abatement", TS),
    ("module", STR),
    doc="Conditions (problem list and encounter diagnoses), ICD-10-CM coded.",
)

OBSERVATIONS = _schema(
    ("observation_id", STR, False),
    ("patient_id", STR, False),
    ("encounter_id", STR, False),
    ("category", STR, False),  # vital-signs | laboratory | survey
    ("code", STR, False),  # LOINC
    ("description", STR, False),
    ("value", pa.float64()),
    ("unit", STR),  # UCUM
    ("value_text", STR),
    ("effective", TS, False),
    ("ref_low", pa.float64()),
    ("ref_high", pa.float64()),
    ("interpretation", STR),  # L H LL HH N
    ("panel_code", STR),  # LOINC panel, e.g. 85354-9 for BP components
    ("module", STR),
    doc="Observations: vital signs, laboratory results and survey scores, LOINC + UCUM.",
)

MEDICATIONS = _schema(
    ("medication_id", STR, False),
    ("patient_id", STR, False),
    ("encounter_id", STR, False),
    ("code", STR, False),  # RxNorm
    ("description", STR, False),
    ("start", TS, False),
    ("stop", TS),
    ("reason_code", STR),
    ("prescriber_id", STR),
    ("base_cost", pa.float64()),
    ("module", STR),
    doc="Medication orders, RxNorm coded.",
)

PROCEDURES = _schema(
    ("procedure_id", STR, False),
    ("patient_id", STR, False),
    ("encounter_id", STR, False),
    ("code_system", STR, False),
    ("code", STR, False),
    ("description", STR, False),
    ("performed", TS, False),
    ("reason_code", STR),
    ("base_cost", pa.float64()),
    ("module", STR),
    doc="Procedures (HCPCS, CPT code only, SNOMED CT where licensed).",
)

IMMUNIZATIONS = _schema(
    ("immunization_id", STR, False),
    ("patient_id", STR, False),
    ("encounter_id", STR, False),
    ("code", STR, False),  # CVX
    ("description", STR, False),
    ("date", TS, False),
    ("base_cost", pa.float64()),
    doc="Immunizations, CVX coded.",
)

CAREPLANS = _schema(
    ("careplan_id", STR, False),
    ("patient_id", STR, False),
    ("encounter_id", STR, False),
    ("code_system", STR, False),
    ("code", STR, False),
    ("description", STR, False),
    ("start", TS, False),
    ("stop", TS),
    ("reason_code", STR),
    ("activities", LIST_STR),
    ("module", STR),
    doc="Care plans.",
)

ALLERGIES = _schema(
    ("allergy_id", STR, False),
    ("patient_id", STR, False),
    ("encounter_id", STR, False),
    ("code_system", STR, False),
    ("code", STR, False),
    ("description", STR, False),
    ("category", STR, False),  # food | medication | environment
    ("criticality", STR),
    ("onset", TS, False),
    doc="Allergies and intolerances.",
)

NOTES = _schema(
    ("note_id", STR, False),
    ("patient_id", STR, False),
    ("encounter_id", STR, False),
    ("note_time", TS, False),
    ("note_type", STR, False),
    ("text", STR, False),
    doc="Clinical notes; each mentions only facts known at note_time.",
)

CLAIMS = _schema(
    ("claim_id", STR, False),
    ("patient_id", STR, False),
    ("encounter_id", STR, False),
    ("provider_id", STR, False),
    ("billing_npi", STR, False),
    ("facility_id", STR, False),
    ("payer_id", STR, False),
    ("place_of_service", STR, False),
    ("diagnosis_codes", LIST_STR, False),
    ("procedure_codes", LIST_STR, False),
    ("claim_amount", pa.float64(), False),
    ("service_date", pa.date32(), False),
    ("submission_date", pa.date32(), False),
    ("claim_status", STR, False),
    doc="Claims: one per billable encounter.",
)

SCHEMAS: dict[str, pa.Schema] = {
    "facilities": FACILITIES,
    "providers": PROVIDERS,
    "payers": PAYERS,
    "patients": PATIENTS,
    "encounters": ENCOUNTERS,
    "conditions": CONDITIONS,
    "observations": OBSERVATIONS,
    "medications": MEDICATIONS,
    "procedures": PROCEDURES,
    "immunizations": IMMUNIZATIONS,
    "careplans": CAREPLANS,
    "allergies": ALLERGIES,
    "notes": NOTES,
    "claims": CLAIMS,
}

WORLD_TABLES = ("facilities", "providers", "payers", "patients")


def schema(name: str) -> pa.Schema:
    """The canonical schema of entity table ``name``."""
    try:
        return SCHEMAS[name]
    except KeyError:
        raise KeyError(f"unknown entity table {name!r}; known: {', '.join(SCHEMAS)}") from None


def empty(name: str) -> pa.Table:
    """An empty table of entity ``name``."""
    return schema(name).empty_table()
