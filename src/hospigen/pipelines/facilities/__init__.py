"""Seed 004: facility JSON → external table → metrics Parquet; expiring accreditations;
on-upload state counts. Local folders, ``s3://`` and ``gs://`` alike.

- :func:`~hospigen.pipelines.facilities.metrics.run_metrics` — stage 1
- :func:`~hospigen.pipelines.facilities.expiring.run_expiring` — stage 2
- :func:`~hospigen.pipelines.facilities.state_counts.run_state_counts` — stage 3
- :func:`~hospigen.pipelines.facilities.athena.run_script` — the seed's Athena SQL on DuckDB
- :mod:`~hospigen.pipelines.facilities.lambda_filter`,
  :mod:`~hospigen.pipelines.facilities.lambda_state_counts` — AWS Lambda handlers
"""
