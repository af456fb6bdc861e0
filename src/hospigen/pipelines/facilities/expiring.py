"""Stage 2: keep facilities with an accreditation expiring within N months.

A record is kept when any accreditation has ``today ≤ valid_until ≤ today + round(N×30.5) d``.
Each input file ``<name>.<ext>`` yields ``<name>_filtered.ndjson`` holding the kept records
as they arrived (minified to one line, every field kept), in input order.
"""

from __future__ import annotations

import datetime as dt
import posixpath

from hospigen.errors import UsageError
from hospigen.pipelines.facilities.common import StageResult, add_months, connect, write_issues
from hospigen.pipelines.facilities.reader import load
from hospigen.pipelines.facilities.storage import Location

KEEP_SQL = """
CREATE OR REPLACE TEMP TABLE kept AS
SELECT _row, _file FROM facilities_raw
WHERE len(list_filter(accreditations,
                      lambda a: TRY_CAST(a.valid_until AS DATE) BETWEEN $today AND $until)) > 0
"""

OUTPUT_SQL = """
SELECT coalesce(string_agg(json(l.raw), chr(10) ORDER BY l._row) || chr(10), '')
FROM facility_lines l JOIN kept k USING (_row)
WHERE l.file = $file
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
    con.execute(KEEP_SQL, {"today": today, "until": until})
    result = StageResult("expiring", loaded, details={"until": until.isoformat()})
    kept = 0
    for key in loaded.files:
        name = key or source.root.rsplit("/", 1)[-1]
        body = con.execute(OUTPUT_SQL, {"file": name}).fetchall()[0][0]
        kept += body.count("\n")
        result.outputs.append(dest.write_bytes(filtered_key(name), body.encode()))
    result.details["kept"] = kept
    result.issues_report = write_issues(con, dest, "expiring", f"{today:%Y_%m_%d}")
    return result
