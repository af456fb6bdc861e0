"""BigQuery (``gcp`` extra): ``bigquery://PROJECT/DATASET``.

Honours ``BIGQUERY_EMULATOR_HOST`` (an emulator such as bqemulator; anonymous credentials).
Loads use resumable NDJSON load jobs, which both BigQuery and its emulators accept.
"""

from __future__ import annotations

import io
import os

import orjson
import pyarrow as pa

from hospigen.errors import MissingExtraError, UsageError
from hospigen.warehouse.base import Warehouse, WarehouseError, register
from hospigen.warehouse.sql import IDENTIFIER

#: columns holding JSON text that must be loaded as JSON values, not JSON strings
JSON_COLUMNS = frozenset({"raw"})


class BigQueryWarehouse(Warehouse):
    """One BigQuery dataset."""

    dialect = "bigquery"

    def __init__(self, project: str, dataset: str, location: str | None = None) -> None:
        try:
            from google.cloud import bigquery
        except ImportError:
            raise MissingExtraError("gcp", "the BigQuery warehouse") from None
        if not project:
            raise UsageError("bigquery:// needs a project: bigquery://PROJECT/DATASET")
        if not IDENTIFIER.match(dataset):
            raise UsageError(f"invalid BigQuery dataset name {dataset!r}")
        self._bq = bigquery
        self.project, self.dataset, self.location = project, dataset, location
        self.url = f"bigquery://{project}/{dataset}"
        kwargs: dict = {"project": project, "location": location}
        emulator = os.environ.get("BIGQUERY_EMULATOR_HOST")
        if emulator:
            from google.api_core.client_options import ClientOptions
            from google.auth.credentials import AnonymousCredentials

            endpoint = emulator if "://" in emulator else f"http://{emulator}"
            kwargs["client_options"] = ClientOptions(api_endpoint=endpoint)
            kwargs["credentials"] = AnonymousCredentials()
        self.client = bigquery.Client(**kwargs)

    def _job(self, sql: str):
        """The finished query job and its rows."""
        try:
            job = self.client.query(self.render(sql))
            return job, job.result()
        except Exception as exc:
            raise WarehouseError(f"BigQuery: {type(exc).__name__}: {exc}") from None

    def execute(self, sql: str) -> int:
        # the affected-row count is a statistic of the job, not of its (empty) row iterator
        job, _ = self._job(sql)
        return int(job.num_dml_affected_rows or 0)

    def query(self, sql: str) -> list[tuple]:
        return [tuple(row.values()) for row in self._job(sql)[1]]

    def append(self, table: str, data: pa.Table) -> None:
        buf = io.BytesIO()
        json_cols = [c for c in data.column_names if c in JSON_COLUMNS]
        for row in data.to_pylist():
            for c in json_cols:
                if row[c] is not None:
                    row[c] = orjson.Fragment(row[c])
            buf.write(orjson.dumps(row, default=str))
            buf.write(b"\n")
        buf.seek(0)
        config = self._bq.LoadJobConfig(
            source_format=self._bq.SourceFormat.NEWLINE_DELIMITED_JSON,
            write_disposition=self._bq.WriteDisposition.WRITE_APPEND,
        )
        ref = f"{self.project}.{self.dataset}.{table}"
        try:  # no size=: resumable upload (emulators reject multipart loads)
            self.client.load_table_from_file(buf, ref, job_config=config).result()
        except Exception as exc:
            raise WarehouseError(f"BigQuery load into {ref} failed: {exc}") from None

    def columns(self, table: str) -> dict[str, str] | None:
        from google.api_core.exceptions import NotFound

        try:
            got = self.client.get_table(f"{self.project}.{self.dataset}.{table}")
        except NotFound:
            return None
        return {f.name: f.field_type for f in got.schema}

    def ensure_dataset(self) -> None:
        ds = self._bq.Dataset(f"{self.project}.{self.dataset}")
        if self.location:
            ds.location = self.location
        try:
            self.client.create_dataset(ds, exists_ok=True)
        except Exception as exc:
            raise WarehouseError(f"cannot create dataset {self.dataset}: {exc}") from None

    def close(self) -> None:
        self.client.close()


@register("bigquery")
def _open(url: str, dataset: str, read_only: bool) -> BigQueryWarehouse:
    rest = url.removeprefix("bigquery://").strip("/")
    project, _, ds = rest.partition("/")
    location = None
    if "?" in (ds or project):
        from urllib.parse import parse_qs

        head, _, q = (ds or project).partition("?")
        location = parse_qs(q).get("location", [None])[0]
        if ds:
            ds = head
        else:
            project = head
    return BigQueryWarehouse(project, ds or dataset, location)
