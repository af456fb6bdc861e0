"""SQL written once (DuckDB dialect) and rendered per engine with sqlglot.

Only two things ever enter SQL text besides our own templates: identifiers, which must match
:data:`IDENTIFIER` and are quoted, and literals of trusted Python types (int, float, datetime),
formatted here. User-supplied strings never do; they travel as table data.
"""

from __future__ import annotations

import datetime as dt
import functools
import re

from hospigen.errors import UsageError

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")


def ident(name: str) -> str:
    """``name`` validated and double-quoted as a SQL identifier."""
    if not isinstance(name, str) or not IDENTIFIER.match(name):
        raise UsageError(
            f"invalid SQL identifier {name!r}: use letters, digits and _ (not a leading digit)"
        )
    return f'"{name}"'


def literal(value: object) -> str:
    """A SQL literal for a trusted typed value (no free text)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValueError("timestamps in SQL must be timezone-aware")
        text = value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f+00:00")
        return f"CAST('{text}' AS TIMESTAMPTZ)"
    raise TypeError(f"no SQL literal for {type(value).__name__}")


@functools.lru_cache(maxsize=512)
def render(sql: str, dialect: str) -> str:
    """``sql`` (DuckDB dialect) in ``dialect`` (a sqlglot dialect name); one statement.

    DuckDB runs the text as written, but with the JSON reads of one row folded into one parse
    (:func:`~hospigen.warehouse.jsonfold.fold_json_paths`)."""
    if dialect == "duckdb":
        from hospigen.warehouse.jsonfold import fold_json_paths

        return fold_json_paths(sql)
    import sqlglot

    return sqlglot.transpile(sql, read="duckdb", write=dialect, pretty=True)[0]
