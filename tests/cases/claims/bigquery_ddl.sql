CREATE TABLE IF NOT EXISTS `demo.aetna.claims_events_stream` (
  claim_id STRING NOT NULL,
  patient_id STRING NOT NULL,
  provider_id STRING NOT NULL,
  billing_npi STRING,
  claim_amount FLOAT64 NOT NULL,
  diagnosis_codes ARRAY<STRING>,
  procedure_codes ARRAY<STRING>,
  service_date DATE,
  submission_date DATE,
  claim_status STRING,
  provider_region STRING,
  patient_age INT64,
  patient_gender STRING,
  place_of_service STRING,
  notes STRING,
  ingest_ts TIMESTAMP,
  synthetic_label_is_fraud INT64,
  days_to_submission INT64,
  fraud_risk_score FLOAT64,
  high_risk_flag BOOL,
  processing_timestamp TIMESTAMP,
  patient_birth_date DATE,
  patient_death_date DATE,
  synthetic_fraud_pattern STRING,
  fraud_reasons ARRAY<STRING>,
  claim_fingerprint STRING
)
PARTITION BY DATE(processing_timestamp);

CREATE TABLE IF NOT EXISTS `demo.aetna.processing_errors` (
  claim_id STRING,
  error STRING NOT NULL,
  error_timestamp TIMESTAMP NOT NULL,
  raw_claim STRING,
  raw_message BYTES NOT NULL,
  error_code STRING NOT NULL
)
PARTITION BY DATE(error_timestamp);
