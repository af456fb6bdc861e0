"""The seed pipelines (ingest, claims, facilities): engine-neutral orchestration of stores and warehouses."""
