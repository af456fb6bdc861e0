"""The reader: NDJSON, JSON arrays and concatenated objects; malformed records reported."""

from __future__ import annotations

import duckdb
import orjson
import pytest

from hospigen.pipelines.facilities.reader import load, split_records
from hospigen.pipelines.facilities.storage import resolve
from tests.facilities.conftest import CASES

SAMPLE = (CASES / "sample" / "data.json").read_bytes()
RECORDS = [orjson.loads(line) for line in SAMPLE.splitlines()]


def _rows(folder, name):
    con = duckdb.connect()
    loaded = load(con, resolve(folder), keys=[name])
    rows = con.execute(
        "SELECT facility_id, employee_count, len(services), location.state FROM facilities_raw"
    ).fetchall()
    issues = con.execute("SELECT line, code FROM facility_issues").fetchall()
    return loaded, rows, issues


EXPECTED = [("FAC12345", 250, 5, "TX"), ("FAC54321", 85, 2, "CA"), ("FAC67890", 320, 4, "FL")]


@pytest.mark.parametrize(
    "body",
    [
        SAMPLE,
        SAMPLE.replace(b"\n", b"\r\n") + b"\n\n   \n",
        orjson.dumps(RECORDS),
        orjson.dumps(RECORDS, option=orjson.OPT_INDENT_2),
        b"".join(orjson.dumps(r, option=orjson.OPT_INDENT_2) for r in RECORDS),
        b"".join(orjson.dumps(r) for r in RECORDS),
    ],
    ids=["ndjson", "crlf-blank-lines", "array", "pretty-array", "pretty-concat", "concat"],
)
def test_every_shape_gives_the_same_records(tmp_path, body):
    (tmp_path / "f.json").write_bytes(body)
    loaded, rows, issues = _rows(tmp_path, "f.json")
    assert rows == EXPECTED and issues == [] and loaded.clean


def test_concatenated_with_a_broken_record_keeps_the_rest():
    loaded, rows, issues = _rows(CASES, "concatenated.json")
    assert [r[0] for r in rows] == ["FAC12345", "FAC54321", "FAC67890"]
    assert issues == [(13, "invalid_json")]
    assert loaded.malformed == 1


def test_broken_array_element_is_reported_with_its_line(tmp_path):
    body = b'[\n  {"facility_id": "A"},\n  {"facility_id": "B",, },\n  {"facility_id": "C"}\n]\n'
    (tmp_path / "a.json").write_bytes(body)
    _, rows, issues = _rows(tmp_path, "a.json")
    assert [r[0] for r in rows] == ["A", "C"] and issues == [(3, "invalid_json")]


def test_ndjson_lines_are_numbered_from_one():
    recs = split_records(b'\n{"a": 1}\n\n{"b": 2}\n')
    assert recs.lines.tolist() == [2, 4]
    assert [t.strip() for t in recs.texts.to_pylist()] == ['{"a": 1}', '{"b": 2}']


def test_invalid_utf8_is_a_malformed_line_not_a_crash(tmp_path):
    (tmp_path / "u.ndjson").write_bytes(SAMPLE + b'{"facility_id": "X\xff\xfe", "services": [}\n')
    _, rows, issues = _rows(tmp_path, "u.ndjson")
    assert len(rows) == 3 and issues == [(4, "invalid_json")]
