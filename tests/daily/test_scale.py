"""The batch at 100x the seed's volume (16,000 admissions a day) still meets its contracts."""

from __future__ import annotations

import datetime as dt

import pytest

from hospigen.contracts import check_folder
from hospigen.daily_batch import DailyConfig, run_day


@pytest.mark.slow
def test_a_16000_encounter_day_passes_its_contracts(tmp_path):
    (tmp_path / "c.yaml").write_text(
        "registry: {initial_count: 10000, new_patients_per_day: 500, max_total: 500000}\n"
        "encounters: {per_day: 16000}\n"
    )
    cfg = DailyConfig.load(tmp_path / "c.yaml")
    result = run_day(cfg, dt.date(2025, 1, 12), "raw", tmp_path)
    assert result.counts["encounters.csv"] > 15_000
    failed = [f for f in check_folder(result.folder) if f.status != "pass"]
    assert failed == []
