"""How the DuckDB warehouse stores what it ingests."""

from __future__ import annotations

from tests.conftest import CASES
from tests.ingest.helpers import query


def test_raw_resources_are_stored_zstd_compressed(cli, tmp_path):
    # a resource's JSON is most of the warehouse's bytes: zstd keeps it ~6x smaller than
    # DuckDB's automatic choice, and compressing it is what the end-of-run checkpoint costs
    db = tmp_path / "wh.duckdb"
    result = cli(
        "ingest", "run", "--source", CASES / "ingest" / "per_patient",
        "--bucket", tmp_path / "bucket", "--warehouse", db, "--now", "2030-01-01T00:00:00Z",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    for table in ("raw_records_stg", "patients", "encounters", "conditions"):
        kinds = query(
            db,
            f"SELECT DISTINCT compression FROM pragma_storage_info('synthea_raw.{table}') "
            "WHERE column_name = 'raw' AND segment_type = 'JSON'",
        )
        assert kinds == [("ZSTD",)], (table, kinds)
    assert query(db, "SELECT count(*) FROM synthea_raw.conditions")[0][0] == 6
