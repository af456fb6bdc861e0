"""Processing core: the bad-input corpus, random bytes, determinism of the rules."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from hospigen.pipelines.claims.core import process_batch
from hospigen.pipelines.claims.messages import INVALID_KINDS

CASES = Path(__file__).resolve().parents[1] / "cases" / "claims"
TS = dt.datetime(2025, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


def _lines(name: str) -> list[bytes]:
    return (CASES / name).read_bytes().split(b"\n")[:-1]


def test_every_bad_input_kind_lands_in_errors_with_its_code():
    for kind, code in INVALID_KINDS.items():
        lines = _lines(f"{kind}.ndjson")
        out = process_batch(lines, TS)
        assert out.claims.num_rows == 0, kind
        assert out.errors.column("error_code").to_pylist() == [code] * len(lines), kind
        assert out.errors.column("raw_message").to_pylist() == lines  # raw bytes kept
        assert all(out.errors.column("error").to_pylist())
        assert set(out.errors.column("error_timestamp").to_pylist()) == {TS}


def test_valid_corpus_is_accepted_with_real_nulls_and_scores():
    lines = _lines("valid.ndjson")
    out = process_batch(lines, TS)
    assert out.errors.num_rows == 0
    assert out.claims.num_rows == len(lines)
    notes = out.claims.column("notes")
    assert notes.null_count == len(lines)  # JSON null stays NULL, never the string "None"
    scores = out.claims.column("fraud_risk_score").to_pylist()
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert out.claims.column("days_to_submission").null_count == 0


def test_null_optional_fields_are_not_errors():
    line = _lines("valid.ndjson")[0]
    for field in (b"patient_age", b"provider_region", b"place_of_service", b"patient_gender"):
        import orjson

        obj = orjson.loads(line)
        obj[field.decode()] = None
        out = process_batch([orjson.dumps(obj)], TS)
        assert out.claims.num_rows == 1, field
        assert out.claims.column("fraud_risk_score")[0].as_py() is not None


def test_rules_explain_the_score():
    import orjson

    obj = orjson.loads(_lines("valid.ndjson")[0])
    obj.update(procedure_codes=["80053", "80048"], patient_death_date="2000-01-01")
    out = process_batch([orjson.dumps(obj)], TS)
    reasons = out.claims.column("fraud_reasons")[0].as_py()
    assert {"unbundling", "services_after_death"} <= set(reasons)
    assert out.claims.column("high_risk_flag")[0].as_py() is True


@settings(max_examples=60, deadline=None)
@given(st.lists(st.binary(max_size=200), min_size=1, max_size=30))
def test_random_bytes_never_crash_and_are_all_accounted(payloads):
    out = process_batch(pa.array(payloads, pa.binary()), TS)
    assert out.claims.num_rows + out.errors.num_rows == len(payloads)
    seqs = sorted(out.claims.column("_seq").to_pylist() + out.errors.column("_seq").to_pylist())
    assert seqs == list(range(len(payloads)))


@settings(max_examples=40, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["claim_id", "patient_id", "claim_amount", "service_date", "x"]),
        st.one_of(st.none(), st.integers(), st.floats(allow_nan=False), st.text(), st.booleans()),
    )
)
def test_random_objects_never_crash(obj):
    import json  # stdlib: unlike orjson it writes integers beyond 64 bits, which must not crash

    out = process_batch([json.dumps(obj).encode()], TS)
    assert out.claims.num_rows + out.errors.num_rows == 1


def _batch_equals_one_by_one(payloads: list[bytes]) -> None:
    # a vectorised batch gives every row what it gets alone: no row leaks into another
    batch = process_batch(payloads, TS)
    alone = [process_batch([p], TS, seq=[i]) for i, p in enumerate(payloads)]
    assert batch.claims.to_pylist() == pa.concat_tables([a.claims for a in alone]).to_pylist()
    assert batch.errors.to_pylist() == pa.concat_tables([a.errors for a in alone]).to_pylist()


def test_batch_equals_one_by_one_on_every_corpus():
    lines = [x for p in sorted(CASES.glob("*.ndjson")) for x in _lines(p.name)]
    _batch_equals_one_by_one(lines)
    # hostile shapes: several values on a line, escapes, integral floats, NaN, duplicate keys
    valid = _lines("valid.ndjson")[0]
    _batch_equals_one_by_one([
        valid, valid + b" " + valid, valid[:-1] + b',"claim_id":"dup"}',
        valid.replace(b'"patient_age":', b'"patient_age":1e1,"x":'),
        valid.replace(b'"notes":null', b'"notes":"a\\u00e9\\n\\"b"'),
        valid.replace(b'"notes":null', b'"notes":NaN'), valid,
    ])  # fmt: skip


_VALUE = st.one_of(
    st.none(), st.integers(-(2**70), 2**70), st.floats(), st.text(max_size=12), st.booleans(),
    st.lists(st.one_of(st.text(max_size=5), st.none(), st.integers()), max_size=3),
)  # fmt: skip


@settings(max_examples=40, deadline=None)
@given(st.lists(st.dictionaries(st.sampled_from(["claim_amount", "patient_age", "notes",
       "diagnosis_codes", "service_date", "ingest_ts", "provider_region", "x"]), _VALUE),
       min_size=1, max_size=8))  # fmt: skip
def test_batch_equals_one_by_one_on_random_edits(edits):
    import json

    import orjson

    base = orjson.loads(_lines("valid.ndjson")[0])
    _batch_equals_one_by_one([json.dumps({**base, **e}).encode() for e in edits])


def test_string_lists_and_escapes_are_typed_exactly():
    import orjson

    base = _lines("valid.ndjson")[0]

    def run(**fields) -> tuple[list, list]:
        obj = {**orjson.loads(base), **fields}
        out = process_batch([orjson.dumps(obj)], TS)
        return out.claims.to_pylist(), out.errors.column("error_code").to_pylist()

    claims, _ = run(diagnosis_codes=['A"x', "B\\y"], notes="tab\there")
    assert claims[0]["diagnosis_codes"] == ['A"x', "B\\y"]  # escaped: the JSON decoder's value
    assert claims[0]["notes"] == "tab\there"
    assert claims[0]["claim_id"] == orjson.loads(base)["claim_id"]  # plain fields unchanged
    claims, _ = run(diagnosis_codes=["E11.9", None])
    assert claims[0]["diagnosis_codes"] == ["E11.9", None]
    assert run(diagnosis_codes=[])[0][0]["diagnosis_codes"] == []
    for bad in (["E11.9", 1], [["E11.9"]], "E11.9", {"a": "b"}, [True]):
        assert run(diagnosis_codes=bad) == ([], ["wrong_type"]), bad
    # spaces inside the array: not the compact form, still a list of strings
    spaced = base.replace(b'"diagnosis_codes":[', b'"diagnosis_codes":[ ', 1)
    assert process_batch([spaced], TS).claims.num_rows == 1
