"""Apply a broken-file case (tests/cases/daily/broken/*.yaml) to a copy of a valid day folder.

Edits: ``set`` (a CSV cell or JSON field of the first row matching ``where``), ``swap`` (two
columns of that row), ``duplicate_row``, ``append_copy`` (a copy of the first row with one
column changed), ``delete_column``, ``add_column``, ``append_line`` and ``delete_file``.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import orjson


def _first(rows: list[dict], where: dict | None) -> dict:
    for row in rows:
        if all(str(row.get(k)) == str(v) for k, v in (where or {}).items()):
            return row
    raise AssertionError(f"no row matches {where}")


def _read(path: Path) -> tuple[list[str], list[dict]]:
    if path.suffix == ".jsonl":
        rows = [orjson.loads(line) for line in path.read_bytes().splitlines() if line]
        return list(rows[0]), rows
    reader = csv.DictReader(io.StringIO(path.read_text()))
    return list(reader.fieldnames or []), list(reader)


def _write(path: Path, fields: list[str], rows: list[dict]) -> None:
    if path.suffix == ".jsonl":
        path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
        return
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(out.getvalue())


def apply(folder: Path, case: dict) -> None:
    """Break ``folder`` as ``case`` says."""
    path = folder / case["file"]
    edit = case["edit"]
    op = edit["op"]
    if op == "delete_file":
        path.unlink()
        return
    if op == "append_line":
        path.write_bytes(path.read_bytes() + edit["value"].encode() + b"\n")
        return
    fields, rows = _read(path)
    if op == "set":
        row = _first(rows, edit.get("where"))
        row[edit["column"]] = edit["value"]
        if edit["column"] not in fields:
            fields.append(edit["column"])
    elif op == "swap":
        row = _first(rows, edit.get("where"))
        row[edit["column"]], row[edit["other"]] = row[edit["other"]], row[edit["column"]]
    elif op == "duplicate_row":
        rows.append(dict(rows[0]))
    elif op == "append_copy":
        rows.append({**rows[0], edit["column"]: edit["value"]})
    elif op == "delete_column":
        fields.remove(edit["column"])
        rows = [{k: v for k, v in r.items() if k != edit["column"]} for r in rows]
    elif op == "add_column":
        fields.append(edit["column"])
        rows = [{**r, edit["column"]: edit["value"]} for r in rows]
    else:
        raise AssertionError(f"unknown edit {op}")
    _write(path, fields, rows)
