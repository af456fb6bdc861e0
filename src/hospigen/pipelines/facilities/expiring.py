"""Stage 2: keep facilities with an accreditation expiring within N months.

A record is kept when any accreditation has ``today ≤ valid_until ≤ today + round(N×30.5) d``.
Each input file ``<name>.<ext>`` yields ``<name>_filtered.ndjson`` holding the kept records
as they arrived (minified to one line, every field kept), in input order.
"""

from __future__ import annotations

import datetime as dt
import posixpath

import pyarrow as pa

from hospigen.errors import UsageError
from hospigen.pipelines.facilities.common import StageResult, add_months, connect, write_issues
from hospigen.pipelines.facilities.reader import load
from hospigen.pipelines.facilities.storage import Location

KEEP_SQL = """
SELECT _row FROM facilities_raw
WHERE len(list_filter(accreditations,
                      lambda a: TRY_CAST(a.valid_until AS DATE) BETWEEN $today AND $until)) > 0
ORDER BY _row
"""

# json() minifies: pretty-printed input records become one NDJSON line each, fields kept
OUTPUT_SQL = """
SELECT coalesce(string_agg(json(raw), chr(10) ORDER BY _row) || chr(10), '')
FROM facility_kept WHERE file_no = $file_no
"""


def filtered_key(key: str) -> str:
    """``data/x.json`` → ``data/x_filtered.ndjson``."""
    folder, name = posixpath.split(key)
    stem = name.rsplit(".", 1)[0] if "." in name else name
    return posixpath.join(folder, f"{stem}_filtered.ndjson")


def run_expiring(
    source: Location, dest: Location, months: float, today: dt.date, keys: list[str] | None = None
) -> StageResult:
    """Filter every input file below ``source`` (or ``keys``) into ``dest``."""
    if months < 0:
        raise UsageError(f"--months must be ≥ 0, got {months}")
    con = connect()
    loaded = load(con, source, keys=keys, columns=["accreditations"])
    until = add_months(today, months)
    kept_rows = con.execute(KEEP_SQL, {"today": today, "until": until}).fetchnumpy()["_row"]
    # the kept records' raw texts, taken from the Arrow lines (no second scan of the input)
    con.register("facility_kept", loaded.lines.take(pa.array(kept_rows, pa.int64())))
    result = StageResult("expiring", loaded, details={"until": until.isoformat()})
    kept = 0
    for file_no, key in enumerate(loaded.files):
        name = key or source.root.rsplit("/", 1)[-1]
        body = con.execute(OUTPUT_SQL, {"file_no": file_no}).fetchall()[0][0]
        kept += body.count("\n")
        result.outputs.append(dest.write_bytes(filtered_key(name), body.encode()))
    result.details["kept"] = kept
    result.issues_report = write_issues(con, dest, "expiring", f"{today:%Y_%m_%d}")
    return result
