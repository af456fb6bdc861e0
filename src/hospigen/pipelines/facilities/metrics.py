"""Stage 1: facility metrics → Parquet in a new ``results/facility_metrics/run_…`` folder.

Each run gets a fresh folder ``run_YYYY_MM_DD_N`` (N counts runs of that day), so a re-run
never writes into a non-empty folder and never mixes files of two runs (the CTAS
``HIVE_PATH_ALREADY_EXISTS`` trap of the seed). Only Parquet goes into a run folder, so the
folder can be an Athena table location as is.
"""

from __future__ import annotations

import datetime as dt
import re

from hospigen.errors import UsageError
from hospigen.pipelines.facilities.common import StageResult, connect, copy_to, write_issues
from hospigen.pipelines.facilities.reader import load
from hospigen.pipelines.facilities.storage import Location

RESULTS_PREFIX = "results/facility_metrics"

# Our own query (DuckDB): one row per record; TRY_CAST so a bad date is NULL, not a failure.
METRICS_SQL = """
SELECT facility_id,
       facility_name,
       employee_count,
       len(services) AS number_of_offered_services,
       list_min(list_transform(accreditations, lambda a: TRY_CAST(a.valid_until AS DATE)))
           AS expiry_date_of_first_accreditation
FROM facilities_raw
ORDER BY _row
"""


def next_run_folder(dest: Location, today: dt.date) -> str:
    """Key of the first unused ``run_YYYY_MM_DD_N`` folder for ``today``."""
    stem = f"run_{today:%Y_%m_%d}_"
    taken = [0]
    base = dest.child(RESULTS_PREFIX)
    if base.exists():
        for name in base.fs.ls(base.root, detail=False):
            match = re.fullmatch(re.escape(stem) + r"(\d+)", name.rstrip("/").rsplit("/", 1)[-1])
            if match:
                taken.append(int(match.group(1)))
    return f"{RESULTS_PREFIX}/{stem}{max(taken) + 1}"


def run_metrics(source: Location, dest: Location, today: dt.date) -> StageResult:
    """Compute the metrics of every record below ``source``; write Parquet below ``dest``."""
    con = connect()
    loaded = load(con, source, columns=["facility_name", "employee_count", "services",
                                        "accreditations"])  # fmt: skip
    folder = next_run_folder(dest, today)
    if dest.exists(folder):
        raise UsageError(f"{dest.url_of(folder)} already exists; refusing to write into it")
    out = copy_to(con, METRICS_SQL, dest, f"{folder}/part-00000.parquet",
                  "FORMAT parquet, COMPRESSION zstd")  # fmt: skip
    result = StageResult("metrics", loaded, [out])
    result.issues_report = write_issues(con, dest, "metrics", folder.rsplit("/", 1)[-1])
    result.details["rows"] = loaded.rows
    result.details["run_folder"] = dest.url_of(folder)
    return result
