"""Step 3, ``materialize``: staging → ``patients`` and the clinical tables, by MERGE.

For each target, the source is the staging rows loaded since that target's watermark, one whole
row per key: the latest by ``generated_ts`` (then the latest load). A target row is updated only
when that source row is newer than it, or equally new with different content (a corrected file
reloaded); ``ingestion_ts`` moves only then. All MERGEs and watermark moves run in one
transaction, so a crash leaves every target as it was.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from hospigen.pipelines.ingest import faults
from hospigen.pipelines.ingest.schema import STAGING, TARGETS, WATERMARKS, Target
from hospigen.pipelines.ingest.tables import const, ensure_tables, qualified
from hospigen.warehouse import Warehouse, ident, literal
from hospigen.warehouse.jsonfold import SOURCE


@dataclass
class MaterializeResult:
    """Rows inserted or updated per target table."""

    changed: dict[str, int] = field(default_factory=dict)


def merge_sql(wh: Warehouse, target: Target, now: dt.datetime) -> str:
    """The MERGE statement (DuckDB dialect) that brings ``target`` up to date.

    The latest staging row per key is chosen in a derived table aliased ``latest`` and its
    fields are read from ``raw`` outside it: only winning rows are read, and rendering for
    DuckDB can then read them all with one JSON parse per row (:mod:`hospigen.warehouse.jsonfold`).
    """
    stg, wm, tgt = qualified(wh, STAGING), qualified(wh, WATERMARKS), qualified(wh, target.table)
    key, mark = ident(target.key), const(target.table)
    extracted = ",\n    ".join(f"{expr} AS {ident(name)}" for name, _, expr in target.columns)
    names = [name for name, _ in target.all_columns()]
    sets = ", ".join(f"{ident(n)} = s.{ident(n)}" for n in names if n != target.key)
    cols = ", ".join(ident(n) for n in names)
    vals = ", ".join(f"s.{ident(n)}" for n in names)
    return f"""MERGE INTO {tgt} AS t
USING (
  SELECT
    resource_id AS {key},
    {extracted},
    raw, raw_hash, generated_ts,
    {literal(now)} AS ingestion_ts
  FROM (
    SELECT resource_id, raw, raw_hash, generated_ts
    FROM {stg}
    WHERE resource_type = {const(target.resource_type)}
      AND load_id > (SELECT COALESCE(MAX(load_id), 0) FROM {wm} WHERE target = {mark})
    QUALIFY ROW_NUMBER() OVER (
      PARTITION BY resource_id
      ORDER BY generated_ts DESC NULLS LAST, load_id DESC, source_object DESC, line_number DESC
    ) = 1
  ) AS {SOURCE}
) AS s
ON t.{key} = s.{key}
WHEN MATCHED AND (
  (s.generated_ts > t.generated_ts)
  OR (t.generated_ts IS NULL AND s.generated_ts IS NOT NULL)
  OR ((s.generated_ts = t.generated_ts OR (s.generated_ts IS NULL AND t.generated_ts IS NULL))
      AND s.raw_hash <> t.raw_hash)
) THEN UPDATE SET {sets}
WHEN NOT MATCHED THEN INSERT ({cols}) VALUES ({vals})"""


def watermark_sql(wh: Warehouse, target: Target, now: dt.datetime) -> list[str]:
    """Statements that move ``target``'s watermark to the newest staged load."""
    wm, stg = qualified(wh, WATERMARKS), qualified(wh, STAGING)
    name = const(target.table)
    return [
        f"DELETE FROM {wm} WHERE target = {name}",
        f"INSERT INTO {wm} (target, load_id, updated_at) "
        f"SELECT {name}, COALESCE(MAX(load_id), 0), {literal(now)} FROM {stg}",
    ]


def statements(wh: Warehouse, now: dt.datetime) -> list[tuple[str, str]]:
    """Every (target, statement) of one materialisation, in order."""
    out = []
    for target in TARGETS:
        out.append((target.table, merge_sql(wh, target, now)))
        out += [("", sql) for sql in watermark_sql(wh, target, now)]
    return out


def materialize(wh: Warehouse, *, now: dt.datetime) -> MaterializeResult:
    """Ensure every table exists (additively) and MERGE new staging rows into the targets."""
    ensure_tables(wh)
    result = MaterializeResult()
    with wh.transaction():
        for i, (table, sql) in enumerate(statements(wh, now)):
            n = wh.execute(sql)
            if table:
                result.changed[table] = n
            if i == 3:
                faults.checkpoint("materialize:mid")
    return result
