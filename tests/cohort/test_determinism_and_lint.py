"""Determinism (seed, workers, run size), the linter, scenario/module errors."""

import datetime as dt

import numpy as np
import pyarrow.compute as pc

from hospigen.engine.lint import lint_file
from hospigen.generation import build_shard, make_plan
from hospigen.world import World
from tests.conftest import CASES, tree_digest

ARGS = (
    "generate",
    "--as-of",
    "2025-01-01",
    "--scenario",
    "cardiometabolic",
    "--module",
    "mental_health_integrated_care",
    "--module",
    "mental_health_integrated_care",
)


def test_same_seed_same_bytes_and_workers_do_not_matter(cli, tmp_path):
    assert cli(*ARGS, "-n", 120, "-o", tmp_path / "a", "--seed", 3).exit_code == 0
    cli(*ARGS, "-n", 120, "-o", tmp_path / "b", "--seed", 3, "--workers", 2, "--shard-size", 35)
    cli(*ARGS, "-n", 120, "-o", tmp_path / "c", "--seed", 4)
    a, b, c = (tree_digest(tmp_path / x) for x in "abc")
    assert a == b
    assert a["observations.csv"] != c["observations.csv"]


def test_patient_k_is_the_same_in_small_and_large_runs():
    world = World(9, dt.date(2025, 1, 1))
    plan = make_plan("copd_home_oxygen")
    small = build_shard(world, np.arange(0, 30), plan)
    large = build_shard(world, np.arange(0, 90), plan)
    for name in ("patients", "encounters", "observations", "conditions", "notes"):
        ids = small["patients"].column("patient_id")
        big = large[name].filter(pc.is_in(large[name].column("patient_id"), value_set=ids))
        assert big.equals(small[name]), name


def test_linter_reports_every_problem_with_file_and_state(cli):
    broken = CASES / "cohort" / "broken_module.yaml"
    result = cli("modules", "lint", broken)
    assert result.exit_code == 2
    out = result.stderr
    for state, words in (
        ("hba1c", "loinc code 69730-0"),
        ("choose", "probabilities sum to 0.700"),
        ("choose", "unknown state 'nowhere'"),
        ("teleport", "unknown state type"),
        ("teleport", "unreachable"),
        ("pregnant", "open to males"),
    ):
        assert f"broken_module.yaml:{state}: " in out and words in out, (state, words)


def test_probabilities_not_summing_to_one_are_rejected(cli, tmp_path):
    bad = CASES / "cohort" / "bad_probabilities.yaml"
    assert any("probabilities sum to 0.800" in str(f) for f in lint_file(bad))
    (tmp_path / "bad_probabilities.yaml").write_text(bad.read_text())
    run = cli(
        "generate",
        "-n",
        5,
        "-o",
        tmp_path / "o",
        "--as-of",
        "2025-01-01",
        "--modules-dir",
        tmp_path,
        "--module",
        "bad_probabilities",
    )
    assert run.exit_code == 2 and "probabilities sum to 0.800" in run.stderr


def test_builtin_modules_lint_clean_and_list(cli):
    assert cli("modules", "lint", "--all").exit_code == 0
    listing = cli("modules", "list").stdout
    assert "cardiometabolic_intensive" in listing and "prenatal_care_management" in listing
    scen = cli("generate", "--list-scenarios").stdout
    for name in (
        "general",
        "cardiometabolic",
        "pediatric_asthma",
        "prenatal_care",
        "pediatrics",
        "oncology_survivorship",
        "ckd_dialysis",
        "copd_home_oxygen",
        "mental_health_integrated",
    ):
        assert name in scen
    assert cli("generate", "-n", 5, "--scenario", "nope", "--as-of", "2025-01-01").exit_code == 2


def test_smoke_command_and_summary(cli, tmp_path):
    import json

    run = cli(
        "generate",
        "--num-records",
        25,
        "--scenario",
        "cardiometabolic",
        "--output-dir",
        tmp_path,
        "--as-of",
        "2025-01-01",
    )
    assert run.exit_code == 0, run.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["counts"]["patients"] == 25 and summary["top_conditions"]
    assert "top conditions" in run.stdout
    for table in ("encounters", "conditions", "observations", "notes"):
        assert (tmp_path / f"{table}.csv").exists() and (tmp_path / f"{table}.parquet").exists()


def test_user_module_folder(cli, tmp_path):
    src = (CASES / "cohort" / "bad_probabilities.yaml").read_text()
    fixed = src.replace("0.3}", "0.5}")
    (tmp_path / "my_module.yaml").write_text(fixed.replace("bad_probabilities", "my_module"))
    assert cli("modules", "list", "--modules-dir", tmp_path).stdout.count("my_module") == 1
