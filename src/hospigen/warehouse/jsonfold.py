"""DuckDB rendering: read many JSON paths of one row with one parse.

DuckDB stores a JSON value as text and parses it again for every ``raw->>'$.path'``: a MERGE
that reads ten fields of each resource parsed every resource ten times (the patients MERGE, with
its preferred-name and -address CASEs, about fifty). DuckDB's list form
``json_extract_string(raw, ['$.a', '$.b'])`` parses once and returns every path, so rendering for
DuckDB rewrites a statement's field reads into lookups in one such list per row. BigQuery stores
JSON parsed and has no list form: its rendering is left as it is.

The rewrite is structural, not a general optimiser: it applies to the JSON reads of the ``raw``
column of a derived table aliased ``latest`` (``… FROM (SELECT … raw …) AS latest``), in the
text before that table. The statement builders write their SQL in that shape for every engine.
"""

from __future__ import annotations

import re

#: a JSON read of the unqualified ``raw`` column: ``raw->>'$.a.b'`` (text) or ``raw->'$.a'``
_ACCESS = re.compile(r"(?<![\w.\"])raw(->>|->)'(\$[^']*)'")
#: the derived table whose ``raw`` column is read
SOURCE = "latest"
_END = f") AS {SOURCE}"
#: the per-row lists of text values (``->>``) and JSON values (``->``)
_TEXT, _JSON = "_raw_text", "_raw_json"


def _opening(sql: str, close: int) -> int:
    """Index of the ``(`` that the ``)`` at ``close`` closes (quoted text skipped)."""
    depth, i = 0, close
    while i >= 0:
        ch = sql[i]
        if ch == "'":
            i = sql.rindex("'", 0, i)  # jump over a string literal ('' pairs up too)
        elif ch == ")":
            depth += 1
        elif ch == "(":
            depth -= 1
            if depth == 0:
                return i
        i -= 1
    raise ValueError("unbalanced parentheses")


def fold_json_paths(sql: str) -> str:
    """``sql`` with the JSON reads of ``latest.raw`` taken from one parse per row (see module
    docstring); any other statement is returned unchanged."""
    if sql.count(_END) != 1:
        return sql
    close = sql.index(_END)
    start = _opening(sql, close)
    head = sql[:start]
    texts: dict[str, int] = {}
    jsons: dict[str, int] = {}

    def lookup(m: re.Match) -> str:
        op, path = m.group(1), m.group(2)
        found = texts if op == "->>" else jsons
        index = found.setdefault(path, len(found) + 1)  # DuckDB lists count from 1
        return f"{_TEXT if op == '->>' else _JSON}[{index}]"

    head = _ACCESS.sub(lookup, head)
    if not texts and not jsons:
        return sql
    lists = [f"json_extract_string(raw, {_paths(texts)}) AS {_TEXT}"] if texts else []
    if jsons:
        lists.append(f"json_extract(raw, {_paths(jsons)}) AS {_JSON}")
    derived = sql[start : close + len(_END)]
    wrapped = f"(SELECT *, {', '.join(lists)} FROM {derived}) AS {SOURCE}"
    return head + wrapped + sql[close + len(_END) :]


def _paths(paths: dict[str, int]) -> str:
    # the paths come from the statement's own string literals, which hold no quote
    return "[" + ", ".join(f"'{p}'" for p in paths) + "]"
