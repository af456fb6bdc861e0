"""The seed pipelines (ingest, claims, facilities): engine-neutral orchestration of object
stores and warehouses."""
