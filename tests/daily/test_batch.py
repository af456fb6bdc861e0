"""The daily batch through the CLI: contracts, registry growth, idempotency, run order."""

from __future__ import annotations

import shutil

import orjson
import pytest

from hospigen.daily_batch import DailyConfig, size_on
from tests.conftest import tree_digest
from tests.daily.conftest import DAYS, day


def test_thirty_days_pass_their_contracts(month, cli):
    result = cli("contracts", "check", month / "data" / "raw")
    assert result.exit_code == 0, result.stdout
    assert result.stdout.count("checks passed") == DAYS


def test_every_day_has_all_five_files_and_a_manifest(month):
    for i in range(DAYS):
        folder = month / "data" / "raw" / day(i).isoformat()
        names = sorted(p.name for p in folder.iterdir())
        assert names == sorted(["encounters.csv", "patients.csv", "vitals.csv", "labs.csv",
                                "notes.jsonl", "manifest.json"])  # fmt: skip


def test_registry_grows_exactly_as_configured(month):
    cfg = DailyConfig.load()
    for i in range(DAYS):
        manifest = orjson.loads(
            (month / "data/raw" / day(i).isoformat() / "manifest.json").read_bytes()
        )
        assert manifest["registry_size"] == 100 + 5 * i
    lines = (month / "state" / "patients_master.csv").read_text().splitlines()
    assert len(lines) - 1 == size_on(cfg, day(DAYS - 1)) == 100 + 5 * (DAYS - 1)
    keys = [int(line.split(",", 1)[0]) for line in lines[1:]]
    assert keys == list(range(len(keys)))


def test_registry_caps_at_max_total(tmp_path):
    (tmp_path / "c.yaml").write_text(
        "registry: {initial_count: 3, new_patients_per_day: 2, max_total: 6}\n"
    )
    cfg = DailyConfig.load(tmp_path / "c.yaml")
    assert [size_on(cfg, day(i)) for i in range(4)] == [3, 5, 6, 6]


def test_rerun_reproduces_bytes_and_does_not_grow_the_registry(month, cli, tmp_path):
    copy = tmp_path / "root"
    shutil.copytree(month, copy)
    before = tree_digest(copy)
    for i in (0, 14, DAYS - 1):
        result = cli("daily", "--date", day(i).isoformat(), "--mode", "raw", "--root", copy)
        assert result.exit_code == 0, result.stderr
    assert tree_digest(copy) == before


def test_out_of_order_runs_equal_in_order_runs(month, cli, tmp_path):
    for i in (DAYS - 1, 2, 17, 0):
        assert cli("daily", "--date", day(i).isoformat(), "--root", tmp_path).exit_code == 0
    for i in (DAYS - 1, 2, 17, 0):
        name = day(i).isoformat()
        assert tree_digest(tmp_path / "data/raw" / name) == tree_digest(month / "data/raw" / name)
    assert tree_digest(tmp_path / "state") == tree_digest(month / "state")


@pytest.mark.parametrize("damage", ["edit", "truncate", "delete", "foreign_seed_meta"])
def test_a_damaged_registry_is_rebuilt_and_changes_nothing(month, cli, tmp_path, damage):
    shutil.copytree(month, tmp_path / "root")
    root = tmp_path / "root"
    master = root / "state" / "patients_master.csv"
    meta = root / "state" / "patients_master.csv.meta.json"
    if damage == "edit":
        master.write_text(master.read_text().replace(",F,", ",M,", 3))
    elif damage == "truncate":
        master.write_bytes(master.read_bytes()[:5000])
    elif damage == "delete":
        master.unlink()
    else:
        body = orjson.loads(meta.read_bytes())
        body["identity"]["seed"] = 7
        meta.write_bytes(orjson.dumps(body))
    before = tree_digest(month / "data/raw" / day(20).isoformat())
    result = cli("daily", "--date", day(20).isoformat(), "--root", root)
    assert result.exit_code == 0, result.stderr
    assert tree_digest(root / "data/raw" / day(20).isoformat()) == before
    if damage != "delete":
        assert "rebuilt" in result.stderr
    assert master.stat().st_size > 0


def test_each_encounter_lands_in_exactly_one_folder(month_db):
    dup = month_db.execute(
        "SELECT count(*) - count(DISTINCT encounter_id) FROM encounters"
    ).fetchone()
    assert dup == (0,)
    same_day = month_db.execute(
        "SELECT count(*) FROM encounters WHERE CAST(discharge_time AS DATE)::VARCHAR "
        "<> regexp_extract(filename, '(\\d{4}-\\d{2}-\\d{2})', 1)"
    ).fetchone()
    assert same_day == (0,)


def test_new_patients_differ_from_day_to_day(month_db):
    # the seed re-used one seed a day, so every day's new patients were the same people
    names = month_db.execute(
        "SELECT registered_date, string_agg(first_name || ' ' || last_name, ',' "
        "ORDER BY patient_key) FROM patients WHERE registered_date > DATE '2025-01-01' "
        "GROUP BY 1"
    ).fetchall()
    assert len({n for _, n in names}) == len(names) > 10


def test_a_different_seed_gives_different_data(month, cli, tmp_path):
    assert (
        cli("daily", "--date", day(5).isoformat(), "--root", tmp_path, "--seed", "7").exit_code == 0
    )
    ours = tree_digest(tmp_path / "data/raw" / day(5).isoformat())
    theirs = tree_digest(month / "data/raw" / day(5).isoformat())
    assert set(ours.values()).isdisjoint(theirs.values())


def test_sample_mode_writes_the_sample_folder(cli, tmp_path):
    assert (
        cli("daily", "--date", day(3).isoformat(), "--mode", "sample", "--root", tmp_path).exit_code
        == 0
    )
    assert (tmp_path / "data/sample" / day(3).isoformat() / "manifest.json").is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--date", "2024-12-31"], "before the registry start date"),
        (["--date", "2025-02-30"], "--date must be a date"),
        (["--date", "2025-01-02", "--mode", "cooked"], "--mode must be raw or sample"),
        (["--from", "2025-01-05", "--to", "2025-01-02"], "is before --from"),
        (["--from", "2025-01-05"], "--from and --to go together"),
    ],
)
def test_bad_arguments_fail_with_one_clear_line(cli, tmp_path, args, message):
    result = cli("daily", "--root", tmp_path, *args)
    assert result.exit_code == 2
    assert message in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("encounters: {per_dya: 3}\n", "unknown config key 'encounters.per_dya'"),
        ("encounters: {scenario_weights: {flu: 1}}\n", "unknown scenarios"),
        ("registry: {initial_count: -1}\n", "registry.initial_count"),
        ("vitals: {manual_every_minutes: 7}\n", "divisors"),
        ("[unclosed\n", "not valid YAML"),
    ],
)
def test_bad_config_fails_with_one_clear_line(cli, tmp_path, text, message):
    (tmp_path / "c.yaml").write_text(text)
    result = cli(
        "daily", "--date", "2025-01-02", "--root", tmp_path, "--config", tmp_path / "c.yaml"
    )
    assert result.exit_code == 2
    assert message in " ".join(result.stderr.split())


def test_scenario_weights_are_configurable(cli, tmp_path):
    (tmp_path / "c.yaml").write_text(
        "encounters:\n  scenario_weights: {routine: 0, chest_pain: 0, sepsis: 1, copd_hypoxia: 0}\n"
    )
    args = ("daily", "--date", "2025-01-09", "--root", tmp_path, "--config", tmp_path / "c.yaml")
    assert cli(*args).exit_code == 0
    text = (tmp_path / "data/raw/2025-01-09/encounters.csv").read_text().splitlines()[1:]
    assert text and all(",sepsis,high," in line for line in text)
