"""Build ``terminology.duckdb`` from the shipped tables: one ``concepts`` table, all systems."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from hospigen.terminology.systems import system_uri
from hospigen.terminology.tables import code_table, shipped_systems


def build_database(path: str | Path) -> dict[str, int]:
    """Write (replace) the DuckDB file at ``path``; returns codes per system."""
    import duckdb

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.partial")
    tmp.unlink(missing_ok=True)
    counts: dict[str, int] = {}
    parts = []
    for system in shipped_systems():
        table = code_table(system)
        extras = [c for c in table.column_names if c not in ("code", "display")]
        rows = table.to_pylist()
        parts.append(
            pa.table(
                {
                    "system": [system] * len(rows),
                    "system_uri": [system_uri(system)] * len(rows),
                    "code": [r["code"] for r in rows],
                    "display": [r["display"] for r in rows],
                    "attributes": [{k: r[k] for k in extras} for r in rows],
                },
                schema=pa.schema(
                    [
                        ("system", pa.string()),
                        ("system_uri", pa.string()),
                        ("code", pa.string()),
                        ("display", pa.string()),
                        ("attributes", pa.map_(pa.string(), pa.string())),
                    ]
                ),
            )
        )
        counts[system] = len(rows)
    concepts = pa.concat_tables(parts)  # noqa: F841 - read by DuckDB's replacement scan
    with duckdb.connect(str(tmp)) as con:
        con.execute("CREATE TABLE concepts AS SELECT * FROM concepts")
        con.execute("ALTER TABLE concepts ADD PRIMARY KEY (system, code)")
    tmp.replace(path)
    return counts
