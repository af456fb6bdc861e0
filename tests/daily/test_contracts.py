"""Contracts: the shipped files load, the generator passes, each broken file fires its rule."""

from __future__ import annotations

import shutil

import orjson
import pytest
import yaml

from hospigen.contracts import check_folder, load_contracts
from hospigen.errors import UsageError
from tests.conftest import CASES
from tests.daily import mutate
from tests.daily.conftest import day

BROKEN = sorted((CASES / "daily" / "broken").glob("*.yaml"))


def test_shipped_contracts_cover_the_five_files():
    contracts = load_contracts()
    assert {c.file for c in contracts.values()} == {
        "patients.csv", "encounters.csv", "vitals.csv", "labs.csv", "notes.jsonl",
    }  # fmt: skip
    assert contracts["vitals"].body["primary_key"] == ["encounter_id", "event_time", "vital_type"]


def test_contracts_list_prints_every_dataset(cli):
    result = cli("contracts", "list")
    assert result.exit_code == 0
    for name in ("patients", "encounters", "vitals", "labs", "notes"):
        assert name in result.stdout


def test_a_generated_day_has_no_failed_or_skipped_check(month):
    findings = check_folder(month / "data/raw" / day(12).isoformat())
    assert {f.status for f in findings} == {"pass"}
    assert len(findings) > 100


@pytest.mark.parametrize("case_path", BROKEN, ids=[p.stem for p in BROKEN])
def test_each_broken_file_fires_its_rule(month, tmp_path, cli, case_path):
    case = yaml.safe_load(case_path.read_text())
    folder = tmp_path / day(12).isoformat()
    shutil.copytree(month / "data/raw" / day(12).isoformat(), folder)
    mutate.apply(folder, case)
    result = cli("contracts", "check", folder, "--output", "json")
    assert result.exit_code == 1
    assert "contract check(s) failed" in result.stderr
    findings = orjson.loads(result.stdout)[str(folder)]
    failed = {(f["dataset"], f["check"], f["target"]) for f in findings if f["status"] == "fail"}
    for expect in case["expect"]:
        assert (expect["dataset"], expect["check"], expect["target"]) in failed, failed


def test_there_is_a_broken_case_for_every_kind_of_check():
    fired = {e["check"] for p in BROKEN for e in yaml.safe_load(p.read_text())["expect"]}
    kinds = {"file_present", "valid_json", "column_present", "no_extra_columns", "no_extra_fields",
             "required", "type", "enum", "maximum", "pattern", "primary_key", "foreign_key",
             "time_window", "rule", "checksum"}  # fmt: skip
    assert kinds <= fired
    rules = {e["target"] for p in BROKEN for e in yaml.safe_load(p.read_text())["expect"]
             if e["check"] == "rule"}  # fmt: skip
    shipped = {r["name"] for c in load_contracts().values() for r in c.body["rules"]
               if r["kind"] != "unique" and "batch_date" not in r["kind"]}  # fmt: skip
    assert shipped <= rules


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"dataset": "x; DROP TABLE y", "file": "x.csv", "fields": {}}, "not a snake_case"),
        ({"dataset": "x", "file": "../x.csv", "fields": {}}, "bare file name"),
        ({"dataset": "x", "file": "x.csv", "fields": {"a": {"type": "blob"}}}, "type must be"),
        (
            {
                "dataset": "x",
                "file": "x.csv",
                "fields": {"a": {"type": "string"}},
                "rules": [{"name": "r", "kind": "compare", "left": "a", "op": ";", "right": "a"}],
            },
            "op must be",
        ),
    ],
)
def test_a_malformed_contract_is_refused(tmp_path, body, message):
    (tmp_path / "x.contract.json").write_bytes(orjson.dumps(body))
    with pytest.raises(UsageError, match=message):
        load_contracts(tmp_path)


def test_check_of_a_missing_folder_is_a_usage_error(cli, tmp_path):
    result = cli("contracts", "check", tmp_path / "nope")
    assert result.exit_code == 2
    assert "not a folder" in result.stderr
