"""Shared generated cohorts (generated once per session through the real CLI)."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest

from hospigen.cli.app import main

AS_OF = "2025-01-01"


def _generate(folder, *args) -> dict:
    code = main(
        [
            "generate",
            "--as-of",
            AS_OF,
            "-o",
            str(folder),
            "--output-format",
            "parquet",
            *map(str, args),
        ]
    )
    assert code == 0
    return {p.stem: pq.read_table(p) for p in folder.glob("*.parquet")}


@pytest.fixture(scope="session")
def general_cohort(tmp_path_factory):
    """3,000 patients of the `general` scenario."""
    return _generate(tmp_path_factory.mktemp("general"), "-n", 3000, "--seed", 11)


@pytest.fixture(scope="session")
def seed_cohort(tmp_path_factory):
    """The seed's multi-module cohort (200 patients, seed 42)."""
    return _generate(
        tmp_path_factory.mktemp("seed"),
        "-n",
        200,
        "--scenario",
        "oncology_survivorship",
        "--module",
        "ckd_dialysis_planning",
        "--module",
        "mental_health_integrated_care",
        "--seed",
        42,
    )


@pytest.fixture(scope="session")
def scenario_cohort(tmp_path_factory):
    """A small cohort per scenario, generated lazily."""
    cache: dict[str, dict] = {}

    def get(name: str, n: int = 250) -> dict:
        if name not in cache:
            cache[name] = _generate(
                tmp_path_factory.mktemp(name), "-n", n, "--scenario", name, "--seed", 5
            )
        return cache[name]

    return get
