"""Engine-neutral data pipelines (ingest, claims, facilities): the seed pipelines."""
