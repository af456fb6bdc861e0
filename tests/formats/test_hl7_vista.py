"""HL7 v2 and VistA exporters, their validators, and agreement across formats."""

from __future__ import annotations

import pyarrow.csv as pacsv
import pytest

from hospigen.export.hl7v2 import esc, split_messages
from hospigen.export.vista import m_number, m_string
from hospigen.validate.findings import Report
from hospigen.validate.hl7 import check_hl7, message_errors
from hospigen.validate.run import formats_ids, validate_folder
from hospigen.validate.zwr import check_zwr, gtm_dist, gtm_load, gtm_read_patients
from tests.conftest import tree_digest
from tests.formats.tables_fixture import clinical_tables, export, fixture_world


def test_every_hl7_message_passes_hl7apy_strict_and_python_hl7(exported):
    report = Report()
    for path in sorted((exported / "hl7v2").iterdir()):
        check_hl7(path, report)
    assert report.checked["hl7 messages"] == 66  # 6 × (5 ADT + 6 ORU)
    assert report.findings == []


def test_oru_carries_loinc_ucum_ranges_flags_and_own_times(exported, world):
    messages = split_messages((exported / "hl7v2" / "oru.hl7").read_bytes())
    obx = [s.split("|") for m in messages for s in m.split("\r") if s.startswith("OBX|")]
    obs = clinical_tables(world, range(6))["observations"]
    assert len(obx) == obs.num_rows
    sodium = next(f for f in obx if f[3].startswith("2951-2^"))
    assert sodium[2:9] == ["NM", sodium[3], "", "131", "mmol/L^^UCUM", "135-145", "L"]
    assert sodium[11] == "F" and sodium[14].endswith("+0000")
    pv1_classes = {s.split("|")[2] for m in messages for s in m.split("\r") if s[:4] == "PV1|"}
    assert pv1_classes <= set("BCEINOPRU")


def test_hl7_escaping_and_broken_messages_are_rejected(exported):
    assert esc("a|b^c~d\\e&f") == "a\\F\\b\\S\\c\\R\\d\\E\\e\\T\\f"
    message = split_messages((exported / "hl7v2" / "adt.hl7").read_bytes())[0]
    assert message_errors(message) == []
    assert [c for c, _ in message_errors(message.replace("\r", "\n"))] == ["lf"]
    no_pv1 = "\r".join(s for s in message.split("\r") if not s.startswith("PV1"))
    assert [c for c, _ in message_errors(no_pv1)] == ["hl7apy-strict"]


def test_mllp_framing_option(tmp_path):
    export(tmp_path, ["hl7v2"], fixture_world(), [range(0, 2)], **{"hl7v2.mllp": "true"})
    data = (tmp_path / "hl7v2" / "adt.mllp").read_bytes()
    assert data.startswith(b"\x0bMSH|") and data.endswith(b"\x1c\r")
    report = Report()
    check_hl7(tmp_path / "hl7v2" / "adt.mllp", report)
    assert report.checked["hl7 messages"] == 10 and report.findings == []


def test_zwr_formatting_rules():
    assert m_number(0.11) == ".11" and m_number(120.5) == "120.5" and m_number(3.0) == "3"
    assert m_string('say "hi"') == '"say ""hi"""' and m_string("café") == '"cafe"'


def test_vista_zwr_lints_clean_and_linter_rejects_broken_lines(exported, tmp_path):
    report = Report()
    check_zwr(exported / "vista" / "vista_globals.zwr", report)
    assert report.checked["zwr nodes"] > 500 and report.findings == []
    text = (exported / "vista" / "vista_globals.zwr").read_text()
    broken = text.replace('^DPT(1,0)="', '^DPT(1,0)="X', 1) + '^DPT(3,0)="UNCLOSED\n'
    broken += '^DPT(9,0)="NONAME^F^2700115^^^^^^900001234"\n^DPT(0.5,1)=""\n'
    (tmp_path / "bad.zwr").write_text(broken)
    report = Report()
    check_zwr(tmp_path / "bad.zwr", report)
    assert sorted(f.code for f in report.findings) == ["dpt-name", "syntax", "syntax"]


def test_vista_patients_have_fileman_dates_and_ssn_in_piece_9(exported, world):
    patients = world.patients(range(6)).to_pylist()
    text = (exported / "vista" / "vista_globals.zwr").read_text()
    zero = next(x for x in text.splitlines() if x.startswith("^DPT(1,0)="))
    pieces = zero.split("=", 1)[1].strip('"').split("^")
    birth = patients[0]["birth_date"]
    assert pieces[2] == f"{birth.year - 1700}{birth.month:02d}{birth.day:02d}"
    assert pieces[8] == patients[0]["ssn"].replace("-", "")
    assert '^DPT(0)="PATIENT^2I^6^6"' in text


@pytest.mark.skipif(gtm_dist() is None, reason="GT.M (Debian fis-gtm) is not installed")
def test_gtm_loads_the_zwr_and_reads_patients_back(exported, world, tmp_path):
    result = gtm_load(exported / "vista" / "vista_globals.zwr", tmp_path / "db")
    assert result.returncode == 0, result.stderr
    rows, header = gtm_read_patients(tmp_path / "db")
    patients = world.patients(range(6)).to_pylist()
    assert header == "PATIENT^2I^6^6"
    assert [(dfn, ssn) for dfn, _, ssn in rows] == [
        (p["patient_key"] + 1, p["ssn"].replace("-", "")) for p in patients
    ]
    assert rows[0][1].startswith(patients[0]["last_name"].upper() + ",")


@pytest.mark.skipif(gtm_dist() is None, reason="GT.M (Debian fis-gtm) is not installed")
def test_gtm_rejects_a_broken_node(tmp_path):
    bad = tmp_path / "bad.zwr"
    bad.write_text('label\n01-JAN-2025 00:00:00 ZWR\n^DPT(1,0)="A,B^F"\n^DPT(4,0="X"\n')
    assert gtm_load(bad, tmp_path / "db").returncode != 0


def test_ids_agree_across_csv_fhir_hl7_and_vista(exported, world):
    patients = set(pacsv.read_csv(exported / "patients.csv")["patient_id"].to_pylist())
    encounters = set(pacsv.read_csv(exported / "encounters.csv")["encounter_id"].to_pylist())
    ids = formats_ids(exported)
    assert ids["bulk_ndjson"] == (patients, encounters)
    assert ids["hl7v2"] == (patients, encounters)
    text = (exported / "vista" / "vista_globals.zwr").read_text()
    ssns = {x.split('"')[3] for x in text.splitlines() if x.startswith('^DPT("SSN"')}
    assert ssns == {p["ssn"].replace("-", "") for p in world.patients(range(6)).to_pylist()}
    visits = sum(1 for x in text.splitlines() if x.startswith("^AUPNVSIT(") and ",0)=" in x
                 and not x.startswith("^AUPNVSIT(0)"))  # fmt: skip
    assert visits == len(encounters)


def test_validate_cli_passes_clean_output_and_fails_broken(cli, exported, tmp_path):
    ok = cli("validate", exported)
    assert ok.exit_code == 0, ok.stdout + ok.stderr
    assert "no errors" in ok.stdout
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(exported / "bulk", broken / "bulk")
    path = broken / "bulk" / "Patient.ndjson"
    path.write_bytes(path.read_bytes().replace(b'"gender":"female"', b'"gender":"F"', 1))
    bad = cli("validate", broken)
    assert bad.exit_code == 1 and "schema" in bad.stdout
    assert cli("validate", tmp_path / "missing").exit_code == 2


def test_hl7_and_vista_do_not_depend_on_shard_boundaries(tmp_path):
    world = fixture_world()
    export(tmp_path / "a", ["hl7v2", "vista"], world, [range(0, 4)])
    export(tmp_path / "b", ["hl7v2", "vista"], world, [range(0, 1), range(1, 4)])
    assert tree_digest(tmp_path / "a") == tree_digest(tmp_path / "b")


def test_validate_folder_reports_counts(exported):
    report = validate_folder(exported, sample=5, gtm=False)
    assert report.ok and report.checked["consistency formats"] == 2
