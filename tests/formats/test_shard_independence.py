"""Every format writes the same bytes whatever the shard size and the number of workers.

The seed's multi-module plan draws several lab panels at the same encounter and second (a CBC
and a metabolic panel together), which is where FHIR DiagnosticReports once came out in an
order that depended on where the shard boundaries fell.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import orjson

from hospigen.export import fhir_resources as fr
from hospigen.export.fhir_columns import render_blocks
from hospigen.export.shardview import ShardView
from hospigen.generation import build_shard, make_plan
from hospigen.world import World
from tests.conftest import tree_digest

FORMATS = "csv,parquet,fhir,bulk_ndjson,patient_ndjson,hl7v2,vista,synthea_csv"
SEED_PLAN = ("--scenario", "oncology_survivorship", "--module", "ckd_dialysis_planning",
             "--module", "mental_health_integrated_care")  # fmt: skip


def test_every_format_is_the_same_for_two_shard_sizes_and_two_worker_counts(cli, tmp_path):
    args = ("generate", "-n", 10, "--seed", 42, "--as-of", "2025-01-01", *SEED_PLAN,
            "--output-format", "both", "--formats", FORMATS)  # fmt: skip
    runs = {"whole": ("--shard-size", 10), "sevens": ("--shard-size", 7),
            "sevens-w2": ("--shard-size", 7, "-w", 2)}  # fmt: skip
    for name, extra in runs.items():
        assert cli(*args, *extra, "-o", tmp_path / name).exit_code == 0
    whole = tree_digest(tmp_path / "whole")
    assert any(path.startswith("bulk/DiagnosticReport") for path in whole)
    assert len(whole) > 60
    for name in ("sevens", "sevens-w2"):
        differing = sorted(p for p, h in tree_digest(tmp_path / name).items() if whole.get(p) != h)
        assert differing == [], name


def test_lab_reports_come_in_the_reference_builders_order():
    """Panels drawn together are reported in the order of their first result, as the dict
    builders (the reference path) do."""
    world = World(42, dt.date(2025, 1, 1))
    plan = make_plan(SEED_PLAN[1], [SEED_PLAN[3], SEED_PLAN[5]])
    tables = build_shard(world, np.arange(60), plan)
    blocks = render_blocks(ShardView(tables), "2025-01-02T00:00:00Z", local_refs=False)
    reports = [b for b in blocks if b.kind == "DiagnosticReport"]
    reference = fr.render_patients(tables, "2025-01-02T00:00:00Z", local_refs=False)
    seen = 0
    for i, (_, _, expected) in enumerate(reference):
        got = [orjson.loads(row)["id"] for block in reports for row in block.rows(i)]
        assert got == [r["id"] for r in expected if r["resourceType"] == "DiagnosticReport"]
        seen += len(got)
    assert seen > 500
