"""Read facility records from NDJSON, a JSON array, or concatenated JSON objects.

Records are split into raw texts with their file and line (numpy over the bytes for NDJSON, a
streaming decoder for the other two shapes), then validated and parsed in DuckDB in one
vectorised pass (``json_valid`` + ``json_transform`` with the DDL's structure). Like Athena's
``ignore.malformed.json``, a malformed record is skipped, but here it is also *reported*: the
``facility_issues`` table keeps its file, line, a code, a message and the raw text. A record with
an unreadable date is kept (the date reads as NULL, as ``TRY_CAST`` does) and reported too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import duckdb
import numpy as np
import pyarrow as pa

from hospigen.pipelines.facilities.schema import transform_structure
from hospigen.pipelines.facilities.storage import Location

INPUT_PATTERN = r"\.(ndjson|jsonl|json)$"
ISSUE_SCHEMA = pa.schema(
    [("file", pa.string()), ("line", pa.int64()), ("code", pa.string()),
     ("message", pa.string()), ("raw", pa.large_string())]
)  # fmt: skip


@dataclass
class Records:
    """Raw record texts of one file, each with its 1-based starting line."""

    lines: np.ndarray
    texts: pa.LargeStringArray
    issues: list[dict] = field(default_factory=list)


_CHUNK = 1 << 22  # newline scan in cache-sized chunks: about twice as fast as one pass


def _newlines(buf: np.ndarray) -> np.ndarray:
    """Positions of every ``\\n`` byte."""
    parts = [np.flatnonzero(buf[i : i + _CHUNK] == 10) + i for i in range(0, len(buf), _CHUNK)]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def _ndjson(data: bytes) -> Records:
    """One record per non-blank line, zero-copy: Arrow offsets over the file's own bytes.

    Each text runs from its line's start to the next record's start, so it keeps its newline
    (and any blank lines after it): whitespace that JSON parsers ignore.
    """
    buf = np.frombuffer(data, dtype=np.uint8)
    newline = _newlines(buf)
    starts = np.concatenate([[0], newline + 1])
    ends = np.concatenate([newline, [len(buf)]])
    nonblank = ends > starts
    short = np.flatnonzero(nonblank & (ends - starts < 64))
    for i in short:  # only short lines can be all whitespace (CR-only, spaces)
        nonblank[i] = bool(data[starts[i] : ends[i]].strip())
    idx = np.flatnonzero(nonblank)
    offsets = np.append(starts[idx], len(buf)).astype(np.int64)
    texts = pa.LargeStringArray.from_buffers(len(idx), pa.py_buffer(offsets), pa.py_buffer(data))
    try:
        texts.validate(full=True)
    except pa.ArrowInvalid:  # invalid UTF-8: replace bad bytes, as the JSON readers would fail
        return _ndjson(bytes(data).decode("utf-8", errors="replace").encode())
    return Records((idx + 1).astype(np.int64), texts)


def _decoded(data: bytes, is_array: bool) -> Records:
    """Records of a JSON array or of concatenated objects; resyncs after a broken record."""
    text = data.decode("utf-8", errors="replace")
    newlines = np.flatnonzero(np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32) == 10)
    decoder = json.JSONDecoder()
    lines, texts, issues = [], [], []
    pos = text.index("[") + 1 if is_array else 0
    n = len(text)
    while pos < n:
        while pos < n and text[pos] in " \t\r\n,":
            pos += 1
        if pos >= n or (is_array and text[pos] == "]"):
            break
        line = int(np.searchsorted(newlines, pos, side="right")) + 1
        try:
            _, end = decoder.raw_decode(text, pos)
            lines.append(line)
            texts.append(text[pos:end])
            pos = end
        except json.JSONDecodeError as exc:
            # skip to the next line that starts a new object
            nxt = text.find("\n{", pos + 1)
            nxt_obj = text.find("\n  {", pos + 1) if is_array else -1
            stops = [p for p in (nxt, nxt_obj) if p >= 0]
            end = min(stops) + 1 if stops else n
            issues.append(_issue("", line, "invalid_json", str(exc), text[pos:end].strip()))
            pos = end
    return Records(np.array(lines, dtype=np.int64), pa.array(texts, pa.large_string()), issues)


def split_records(data: bytes | memoryview) -> Records:
    """Split a file's bytes into record texts, whatever its shape (only the head is sniffed)."""
    head = bytes(data[: 1 << 20])
    body = head.lstrip()
    if body.startswith(b"["):
        return _decoded(bytes(data), is_array=True)
    try:
        json.loads(body.split(b"\n", 1)[0])
        return _ndjson(data)
    except ValueError:
        pass
    if body.startswith(b"{"):
        try:  # pretty-printed or back-to-back objects: the first object spans past one line
            json.JSONDecoder().raw_decode(body.decode("utf-8", errors="replace"))
            return _decoded(bytes(data), is_array=False)
        except ValueError:
            pass
    return _ndjson(data)  # mostly NDJSON with a broken first line


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: object = None) -> object:
    """The single value of ``sql`` (fully fetched, so the connection is free again)."""
    return con.execute(sql, params).fetchall()[0][0]


def _issue(file: str, line: int, code: str, message: str, raw: str) -> dict:
    return {"file": file, "line": line, "code": code, "message": message, "raw": raw}


@dataclass
class Loaded:
    """What :func:`load` put into the connection."""

    files: list[str]
    records: int  # records read (good and bad)
    rows: int  # rows in facilities_raw
    malformed: int  # records skipped
    bad_values: int  # kept records with an unreadable value (dates)
    lines: pa.Table = field(repr=False, default=None)  # file_no, line, raw, _row

    @property
    def clean(self) -> bool:
        """True when nothing was skipped or unreadable."""
        return self.malformed == 0 and self.bad_values == 0


# One parse per record: TRY keeps the vectorised fast path and turns a broken record into NULL.
_PARSE = """
CREATE OR REPLACE TEMP TABLE facility_parsed AS
SELECT file_no, line, _row, TRY(json_transform(raw, $structure)) AS r
FROM facility_lines
"""

_RAW_VIEW = """
CREATE OR REPLACE TEMP VIEW facilities_raw AS
SELECT f.file AS _file, p.line AS _line, p._row, r.*
FROM facility_parsed p JOIN facility_files f USING (file_no)
WHERE p.r.facility_id IS NOT NULL
"""

# Only the few failed records are examined again, to say what is wrong with them.
_CLASSIFY = """
CREATE OR REPLACE TEMP TABLE facility_issues AS
SELECT * FROM facility_issues_pre
UNION ALL
SELECT file, line, code,
       CASE code WHEN 'invalid_json' THEN 'not valid JSON'
                 WHEN 'not_an_object' THEN 'a record must be a JSON object'
                 ELSE 'facility_id is missing or not a string' END AS message,
       raw
FROM (SELECT f.file, b.line, b._row, rtrim(b.raw, ' ' || chr(13) || chr(10) || chr(9)) AS raw,
             CASE WHEN NOT json_valid(b.raw) THEN 'invalid_json'
                  WHEN json_type(b.raw) <> 'OBJECT' THEN 'not_an_object'
                  ELSE 'missing_facility_id' END AS code
      FROM facility_bad b JOIN facility_files f USING (file_no)
      ORDER BY b._row)
"""

_BAD_DATES = """
INSERT INTO facility_issues
SELECT _file, _line, 'invalid_date',
       'facility ' || facility_id || ': valid_until is not a YYYY-MM-DD date (read as NULL)',
       a.valid_until
FROM (SELECT _file, _line, _row, facility_id, unnest(accreditations) AS a FROM facilities_raw)
WHERE a.valid_until IS NOT NULL AND TRY_CAST(a.valid_until AS DATE) IS NULL
ORDER BY _row
"""

_LINES_SCHEMA = pa.schema(
    [("file_no", pa.int32()), ("line", pa.int64()), ("raw", pa.large_string())]
)


def load(
    con: duckdb.DuckDBPyConnection,
    source: Location,
    keys: list[str] | None = None,
    columns: list[str] | None = None,
) -> Loaded:
    """Read ``keys`` (default: every ``*.json/ndjson/jsonl`` below ``source``) into ``con``.

    Creates ``facility_lines`` (file_no, line, raw, _row) and ``facility_files`` (file_no,
    file), the view ``facilities_raw`` (``_file``, ``_line``, ``_row`` and the DDL columns, or
    only ``facility_id`` + ``columns``) and the table ``facility_issues``.
    """
    keys = source.files(INPUT_PATTERN) if keys is None else keys
    tables, pre_issues, names = [], [], []
    for no, key in enumerate(keys):
        name = key or source.root.rsplit("/", 1)[-1]  # keys, not machine paths, in reports
        names.append(name)
        recs = split_records(source.read_buffer(key))
        pre_issues += [{**i, "file": name} for i in recs.issues]
        file_no = pa.array(np.full(len(recs.lines), no, dtype=np.int32))
        tables.append(pa.table([file_no, recs.lines, recs.texts], schema=_LINES_SCHEMA))
    lines = pa.concat_tables(tables) if tables else _LINES_SCHEMA.empty_table()
    lines = lines.append_column("_row", pa.array(np.arange(lines.num_rows, dtype=np.int64)))
    con.register("facility_lines", lines)
    files = pa.table({"file_no": pa.array(range(len(names)), pa.int32()), "file": names})
    con.register("facility_files", files)
    con.register("facility_issues_pre", pa.Table.from_pylist(pre_issues, schema=ISSUE_SCHEMA))
    wanted = (
        None if columns is None else ["facility_id", *[c for c in columns if c != "facility_id"]]
    )
    con.execute(_PARSE, {"structure": transform_structure(wanted)})
    con.execute(_RAW_VIEW)
    bad = con.execute(
        "SELECT _row FROM facility_parsed WHERE r IS NULL OR r.facility_id IS NULL"
    ).fetchnumpy()["_row"]
    con.register("facility_bad", lines.take(pa.array(bad, pa.int64())))
    con.execute(_CLASSIFY)
    malformed = scalar(con, "SELECT count(*) FROM facility_issues")
    bad_values = 0
    if wanted is None or "accreditations" in wanted:
        con.execute(_BAD_DATES)
        bad_values = scalar(con, "SELECT count(*) FROM facility_issues") - malformed
    rows = lines.num_rows - len(bad)
    return Loaded(keys, lines.num_rows + len(pre_issues), rows, malformed, bad_values, lines)
