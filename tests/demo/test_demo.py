"""The whole platform end to end (`hospigen demo`), its no-op re-run, and the HTML report
opened in headless Chromium."""

from __future__ import annotations

import hashlib
import shutil
import subprocess

import duckdb
import pytest

from hospigen.report import SECTIONS

ARGS = ("--patients", 40, "--days", 1, "--facilities", 200, "--seed", 3, "--as-of", "2025-01-01")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from hospigen.cli.app import main

    out = tmp_path_factory.mktemp("demo") / "run"
    code = main(["demo", "--out", str(out), *map(str, ARGS)])
    assert code == 0, (out / "demo.log").read_text()[-3000:]
    return out


def test_demo_lands_every_pipeline_in_the_warehouse(demo):
    with duckdb.connect(str(demo / "warehouse.duckdb"), read_only=True) as con:
        count = lambda t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # noqa: E731
        assert count("cohort.patients") == 40
        assert count("synthea_raw.patients") == 40  # ingested from the generated FHIR
        assert count("synthea_raw.encounters") == count("cohort.encounters")
        assert count("daily.encounters") > 0 and count("daily.vitals") > 0
        assert count("claims_events_stream") > 0
        assert count("processing_errors") > 0  # the demo publishes 2 % invalid messages
        assert count("facilities.facility_metrics") == 200
        checks = con.execute("SELECT check_name, status FROM quality.checks").fetchall()
    assert {name for name, _ in checks} >= {"formats validate", "claims quality"}
    assert all(status == "passed" for _, status in checks), checks


def test_second_run_is_a_no_op(demo, cli):
    before = hashlib.sha256((demo / "warehouse.duckdb").read_bytes()).hexdigest()
    result = cli("demo", "--out", demo, *ARGS)
    assert result.exit_code == 0
    assert "nothing to do" in result.stdout
    assert hashlib.sha256((demo / "warehouse.duckdb").read_bytes()).hexdigest() == before


def test_report_has_every_section_drawn(demo):
    text = (demo / "report.html").read_text()
    # self-contained: no scripts, stylesheets or images fetched from anywhere
    assert "<script" not in text and "<link" not in text and "<img" not in text
    assert "class='card missing'" not in text
    assert text.count("<svg") >= len(SECTIONS) - 1  # every section but the quality table
    for title in ("Population pyramid", "Encounter mix", "Fraud detection (ROC)",
                  "Facility state counts", "Data quality and contracts"):  # fmt: skip
        assert title in text


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.skip("chromium is not installed (scripts/system-deps.sh installs it)")
    return path


def test_report_renders_in_headless_chromium(demo, tmp_path):
    from PIL import Image

    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}"]  # fmt: skip
    url = (demo / "report.html").as_uri()
    shot = tmp_path / "report.png"
    subprocess.run([_chromium(), *flags, "--window-size=1400,2600", f"--screenshot={shot}", url],
                   check=True, capture_output=True, timeout=120)  # fmt: skip
    image = Image.open(shot).convert("L")
    assert image.size == (1400, 2600)
    # drawn plots: a large share of the page is ink, not the plain background
    dark = sum(image.histogram()[:200]) / (image.size[0] * image.size[1])
    assert dark > 0.02, f"only {dark:.1%} of the screenshot is drawn"
    dom = subprocess.run([_chromium(), *flags, "--dump-dom", url], check=True,
                         capture_output=True, text=True, timeout=120).stdout  # fmt: skip
    assert dom.count("<svg") >= len(SECTIONS) - 1
    assert "Accredited facilities per state" in dom
