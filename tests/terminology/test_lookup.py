import pytest
import simple_icd_10_cm as icd

from hospigen.errors import UnknownCodeError
from hospigen.terminology import Terminology, build_database
from hospigen.terminology.tables import code_table


def test_lookup_known_codes_with_units():
    terms = Terminology()
    hr = terms.lookup("loinc", "8867-4")
    assert hr.display == "Heart rate" and hr.get("unit") == "/min"
    assert hr.uri == "http://loinc.org"
    assert terms.lookup("hcpcs", "99213").uri == "http://www.ama-assn.org/go/cpt"


def test_unknown_code_and_system_raise_clear_errors():
    terms = Terminology()
    with pytest.raises(UnknownCodeError, match="loinc code '0000-0'"):
        terms.lookup("loinc", "0000-0")
    with pytest.raises(UnknownCodeError, match="unknown code system"):
        terms.lookup("nosuch", "1")


def test_duckdb_build_gives_the_same_answers(tmp_path):
    db = tmp_path / "terminology.duckdb"
    counts = build_database(db)
    assert counts["loinc"] == code_table("loinc").num_rows
    from_db, from_csv = Terminology(db), Terminology()
    assert from_db.source == str(db)
    for system in counts:
        assert {c.code for c in from_db.codes(system)} == {c.code for c in from_csv.codes(system)}
    assert from_db.lookup("loinc", "4548-4") == from_csv.lookup("loinc", "4548-4")


def test_every_icd10cm_code_is_a_real_billable_code_with_its_official_title():
    for row in code_table("icd10cm").to_pylist():
        assert icd.is_valid_item(row["code"]), row["code"]
        assert icd.get_description(row["code"]) == row["display"], row["code"]


def test_no_cpt_descriptor_text_is_shipped():
    for row in code_table("hcpcs").to_pylist():
        if row["kind"] == "cpt":
            assert row["display"] == "", f"CPT {row['code']} carries descriptor text"
