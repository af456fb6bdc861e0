"""The seed pipelines (ingest, claims, facilities): engine-neutral stages over hospigen tables."""
