"""The claims message contract and the two output tables (seed 001, plus our columns).

A message is one JSON object per stream entry. Output tables are Arrow schemas; the DuckDB,
Parquet and BigQuery sinks are projections of them.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

TS = pa.timestamp("us", tz="UTC")


@dataclass(frozen=True)
class Field:
    """One message field: its JSON kind (string, number, integer, date, timestamp, strings)."""

    name: str
    kind: str
    required: bool = False


MESSAGE_FIELDS: tuple[Field, ...] = (
    Field("claim_id", "string", True),
    Field("patient_id", "string", True),
    Field("provider_id", "string", True),
    Field("billing_npi", "string"),
    Field("claim_amount", "number", True),
    Field("diagnosis_codes", "strings"),
    Field("procedure_codes", "strings"),
    Field("service_date", "date", True),
    Field("submission_date", "date", True),
    Field("claim_status", "string", True),
    Field("provider_region", "string"),
    Field("patient_age", "integer"),
    Field("patient_gender", "string"),
    Field("place_of_service", "string"),
    Field("notes", "string"),
    Field("ingest_ts", "timestamp"),
    # ours: the payer's member file facts a claim is checked against (837 DMG has the birth date)
    Field("patient_birth_date", "date"),
    Field("patient_death_date", "date"),
    # ground truth of the synthetic generator; never read by the scoring rules
    Field("synthetic_label_is_fraud", "integer"),
    Field("synthetic_fraud_pattern", "string"),
)
FIELDS_BY_NAME = {f.name: f for f in MESSAGE_FIELDS}
REQUIRED = tuple(f.name for f in MESSAGE_FIELDS if f.required)

CLAIM_STATUSES = ("SUBMITTED", "PAID", "DENIED", "PENDING")
GENDERS = ("M", "F", "O", "U")
PLACES_OF_SERVICE = ("Office", "ER", "Inpatient", "Outpatient", "Urgent Care", "Telehealth")
MAX_AMOUNT = 1_000_000.0
MAX_AGE = 150
MAX_MESSAGE_BYTES = 64 * 1024

# machine-readable error codes, in the order the checks run (first failure wins)
ERROR_CODES = {
    "oversized": "message larger than the size limit",
    "invalid_utf8": "message bytes are not valid UTF-8",
    "malformed_json": "message is not valid JSON",
    "not_an_object": "message is JSON but not an object",
    "missing_field": "a required field is absent",
    "null_field": "a required field is null",
    "wrong_type": "a field has the wrong JSON type",
    "bad_date": "a date or timestamp field does not parse",
    "amount_out_of_range": "claim_amount outside 0..1,000,000",
    "age_out_of_range": "patient_age outside 0..150",
    "bad_enum": "a coded field has a value outside its value set",
    "submission_before_service": "submission_date is before service_date",
    "duplicate_claim_id": "claim_id already landed (redelivery or resend)",
    "unprocessable": "the message defeated the parser (kept for inspection)",
}

CLAIMS_EVENTS_STREAM = pa.schema(
    [
        pa.field("claim_id", pa.string(), False),
        pa.field("patient_id", pa.string(), False),
        pa.field("provider_id", pa.string(), False),
        pa.field("billing_npi", pa.string()),
        pa.field("claim_amount", pa.float64(), False),
        pa.field("diagnosis_codes", pa.list_(pa.string())),
        pa.field("procedure_codes", pa.list_(pa.string())),
        pa.field("service_date", pa.date32()),
        pa.field("submission_date", pa.date32()),
        pa.field("claim_status", pa.string()),
        pa.field("provider_region", pa.string()),
        pa.field("patient_age", pa.int64()),
        pa.field("patient_gender", pa.string()),
        pa.field("place_of_service", pa.string()),
        pa.field("notes", pa.string()),
        pa.field("ingest_ts", TS),
        pa.field("synthetic_label_is_fraud", pa.int64()),
        pa.field("days_to_submission", pa.int64()),
        pa.field("fraud_risk_score", pa.float64()),
        pa.field("high_risk_flag", pa.bool_()),
        pa.field("processing_timestamp", TS),
        # ours
        pa.field("patient_birth_date", pa.date32()),
        pa.field("patient_death_date", pa.date32()),
        pa.field("synthetic_fraud_pattern", pa.string()),
        pa.field("fraud_reasons", pa.list_(pa.string())),
        pa.field("claim_fingerprint", pa.string()),
    ],
    metadata={"doc": "Valid, enriched claims (seed: aetna.claims_events_stream)."},
)

PROCESSING_ERRORS = pa.schema(
    [
        pa.field("claim_id", pa.string()),
        pa.field("error", pa.string(), False),
        pa.field("error_timestamp", TS, False),
        pa.field("raw_claim", pa.string()),
        pa.field("raw_message", pa.binary(), False),
        # ours
        pa.field("error_code", pa.string(), False),
    ],
    metadata={"doc": "Rejected messages, raw bytes kept (seed: aetna.processing_errors)."},
)

TABLES = {"claims_events_stream": CLAIMS_EVENTS_STREAM, "processing_errors": PROCESSING_ERRORS}
