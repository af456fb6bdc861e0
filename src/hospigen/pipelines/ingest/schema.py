"""Every table of the ingest pipeline, declared once as data.

The staging, ledger, error and watermark tables are bookkeeping; the targets (``patients``,
``encounters``…) are declared as a key plus column expressions over one staging row ``raw`` (a
FHIR resource as JSON). DDL and MERGE statements are generated from these declarations
(:mod:`hospigen.pipelines.ingest.materialize`), in the DuckDB dialect, rendered per engine.
"""

from __future__ import annotations

from dataclasses import dataclass

STAGING = "raw_records_stg"
LEDGER = "ingest_ledger"
ERRORS = "ingest_errors"
WATERMARKS = "ingest_watermarks"
SCRATCH_KEYS = "_ingest_scratch_keys"

#: bookkeeping tables: name → ((column, type), …)
BOOKKEEPING: dict[str, tuple[tuple[str, str], ...]] = {
    STAGING: (
        ("raw", "JSON"),
        ("resource_type", "VARCHAR"),
        ("resource_id", "VARCHAR"),
        ("generated_ts", "TIMESTAMPTZ"),
        ("raw_hash", "VARCHAR"),
        ("source_object", "VARCHAR"),
        ("wrapped_object", "VARCHAR"),
        ("line_number", "BIGINT"),
        ("load_id", "BIGINT"),
        ("loaded_at", "TIMESTAMPTZ"),
    ),
    LEDGER: (
        ("stage", "VARCHAR"),  # source | landed | wrapped | loaded
        ("object", "VARCHAR"),
        ("checksum", "VARCHAR"),  # sha256 of the object's bytes
        ("fingerprint", "VARCHAR"),  # the store's cheap change marker (size+mtime, md5, ETag)
        ("size", "BIGINT"),
        ("lines", "BIGINT"),
        ("detail", "VARCHAR"),
        ("recorded_at", "TIMESTAMPTZ"),
    ),
    ERRORS: (
        ("stage", "VARCHAR"),  # land | wrap
        ("object", "VARCHAR"),
        ("line_number", "BIGINT"),
        ("code", "VARCHAR"),
        ("reason", "VARCHAR"),
        ("raw_line", "VARCHAR"),
        ("recorded_at", "TIMESTAMPTZ"),
    ),
    WATERMARKS: (("target", "VARCHAR"), ("load_id", "BIGINT"), ("updated_at", "TIMESTAMPTZ")),
    SCRATCH_KEYS: (("stage", "VARCHAR"), ("object", "VARCHAR")),
}


def ref_id(path: str) -> str:
    """SQL: the id part of a reference (``Patient/<id>``, ``urn:uuid:<id>``) at JSON ``path``."""
    return f"regexp_replace(raw->>'{path}', '^.*[/:]', '')"


def text(path: str) -> str:
    """SQL: the string at JSON ``path``."""
    return f"raw->>'{path}'"


def ts(*paths: str) -> str:
    """SQL: the first of ``paths`` that holds an instant, as a timestamp."""
    casts = [f"TRY_CAST(raw->>'{p}' AS TIMESTAMPTZ)" for p in paths]
    return casts[0] if len(casts) == 1 else f"COALESCE({', '.join(casts)})"


#: how many entries of a repeating element (``name``, ``address``) are searched for a preferred use
PREFERRED_SCAN = 5


def preferred(array: str, field: str, uses: tuple[str, ...]) -> str:
    """SQL: ``field`` (a JSON path below one entry) of the first entry of ``array`` whose
    ``use`` is ``uses[0]``, else ``uses[1]``…, else of the first entry.

    Written as one CASE over the first :data:`PREFERRED_SCAN` entries rather than a lambda or an
    UNNEST subquery so that it renders unchanged for every engine; every column that reads the
    same ``array`` with the same ``uses`` picks the same entry.
    """
    first = f"raw->>'$.{array}[0]{field}'"
    # most resources have one entry: settle those with one lookup instead of scanning
    whens = [f"WHEN (raw->'$.{array}[1]') IS NULL THEN {first}"] + [
        f"WHEN raw->>'$.{array}[{i}].use' = {_const(use)} THEN raw->>'$.{array}[{i}]{field}'"
        for use in uses
        for i in range(PREFERRED_SCAN)
    ]
    return f"CASE {' '.join(whens)} ELSE {first} END"


def _const(value: str) -> str:
    if not value.isalpha():
        raise ValueError(f"not a FHIR code: {value!r}")
    return f"'{value}'"


#: FHIR ``HumanName.use`` / ``Address.use`` preferences for the patients table
NAME_USES = ("official", "usual")
ADDRESS_USES = ("home",)


@dataclass(frozen=True)
class Target:
    """A materialised table: one row per resource ``key``, latest ``generated_ts`` wins."""

    table: str
    resource_type: str
    key: str
    columns: tuple[tuple[str, str, str], ...]  # (name, type, expression over staging row)

    def all_columns(self) -> list[tuple[str, str]]:
        """Every column with its type, key first, bookkeeping last."""
        return [
            (self.key, "VARCHAR"),
            *[(name, kind) for name, kind, _ in self.columns],
            ("raw", "JSON"),
            ("raw_hash", "VARCHAR"),
            ("generated_ts", "TIMESTAMPTZ"),
            ("ingestion_ts", "TIMESTAMPTZ"),
        ]


def _clinical(table: str, rtype: str, key: str, patient_path: str, *cols) -> Target:
    return Target(
        table,
        rtype,
        key,
        (
            ("patient_id", "VARCHAR", ref_id(patient_path)),
            ("encounter_id", "VARCHAR", ref_id("$.encounter.reference")),
            *cols,
        ),
    )


TARGETS: tuple[Target, ...] = (
    Target(
        "patients",
        "Patient",
        "patient_id",
        (
            ("gender", "VARCHAR", text("$.gender")),
            ("birth_date", "DATE", "TRY_CAST(raw->>'$.birthDate' AS DATE)"),
            ("family_name", "VARCHAR", preferred("name", ".family", NAME_USES)),
            ("given_name", "VARCHAR", preferred("name", ".given[0]", NAME_USES)),
            ("city", "VARCHAR", preferred("address", ".city", ADDRESS_USES)),
            ("state", "VARCHAR", preferred("address", ".state", ADDRESS_USES)),
            ("postal_code", "VARCHAR", preferred("address", ".postalCode", ADDRESS_USES)),
            ("deceased_ts", "TIMESTAMPTZ", ts("$.deceasedDateTime")),
        ),
    ),
    Target(
        "encounters",
        "Encounter",
        "encounter_id",
        (
            ("patient_id", "VARCHAR", ref_id("$.subject.reference")),
            ("status", "VARCHAR", text("$.status")),
            ("class_code", "VARCHAR", text("$.class.code")),
            ("type_code", "VARCHAR", text("$.type[0].coding[0].code")),
            ("type_display", "VARCHAR", text("$.type[0].coding[0].display")),
            ("reason_code", "VARCHAR", text("$.reasonCode[0].coding[0].code")),
            ("start_ts", "TIMESTAMPTZ", ts("$.period.start")),
            ("end_ts", "TIMESTAMPTZ", ts("$.period.end")),
            ("service_provider", "VARCHAR", text("$.serviceProvider.reference")),
        ),
    ),
    _clinical(
        "conditions",
        "Condition",
        "condition_id",
        "$.subject.reference",
        ("code_system", "VARCHAR", text("$.code.coding[0].system")),
        ("code", "VARCHAR", text("$.code.coding[0].code")),
        ("display", "VARCHAR", text("$.code.coding[0].display")),
        ("clinical_status", "VARCHAR", text("$.clinicalStatus.coding[0].code")),
        ("onset_ts", "TIMESTAMPTZ", ts("$.onsetDateTime", "$.onsetPeriod.start")),
        ("abatement_ts", "TIMESTAMPTZ", ts("$.abatementDateTime", "$.abatementPeriod.start")),
        ("recorded_date", "TIMESTAMPTZ", ts("$.recordedDate")),
    ),
    _clinical(
        "observations",
        "Observation",
        "observation_id",
        "$.subject.reference",
        ("status", "VARCHAR", text("$.status")),
        ("category", "VARCHAR", text("$.category[0].coding[0].code")),
        ("code", "VARCHAR", text("$.code.coding[0].code")),
        ("display", "VARCHAR", text("$.code.coding[0].display")),
        ("value_num", "DOUBLE", "TRY_CAST(raw->>'$.valueQuantity.value' AS DOUBLE)"),
        ("value_unit", "VARCHAR", text("$.valueQuantity.unit")),
        ("value_code", "VARCHAR", text("$.valueCodeableConcept.coding[0].code")),
        ("effective_ts", "TIMESTAMPTZ", ts("$.effectiveDateTime", "$.effectivePeriod.start")),
    ),
    _clinical(
        "medication_requests",
        "MedicationRequest",
        "medication_request_id",
        "$.subject.reference",
        ("status", "VARCHAR", text("$.status")),
        ("intent", "VARCHAR", text("$.intent")),
        ("code", "VARCHAR", text("$.medicationCodeableConcept.coding[0].code")),
        ("display", "VARCHAR", text("$.medicationCodeableConcept.coding[0].display")),
        ("authored_on", "TIMESTAMPTZ", ts("$.authoredOn")),
    ),
    _clinical(
        "procedures",
        "Procedure",
        "procedure_id",
        "$.subject.reference",
        ("status", "VARCHAR", text("$.status")),
        ("code", "VARCHAR", text("$.code.coding[0].code")),
        ("display", "VARCHAR", text("$.code.coding[0].display")),
        ("performed_start", "TIMESTAMPTZ", ts("$.performedPeriod.start", "$.performedDateTime")),
        ("performed_end", "TIMESTAMPTZ", ts("$.performedPeriod.end", "$.performedDateTime")),
    ),
    _clinical(
        "immunizations",
        "Immunization",
        "immunization_id",
        "$.patient.reference",
        ("status", "VARCHAR", text("$.status")),
        ("vaccine_code", "VARCHAR", text("$.vaccineCode.coding[0].code")),
        ("display", "VARCHAR", text("$.vaccineCode.coding[0].display")),
        ("occurrence_ts", "TIMESTAMPTZ", ts("$.occurrenceDateTime")),
    ),
)
