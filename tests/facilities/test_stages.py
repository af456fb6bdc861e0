"""The three stages through the CLI on the challenge's sample records (today = 2025-08-11)."""

from __future__ import annotations

import datetime as dt
import shutil

import duckdb
import orjson

from tests.conftest import tree_digest
from tests.facilities.conftest import CASES, TODAY


def _metrics(folder):
    return duckdb.sql(
        f"SELECT * FROM read_parquet('{folder}/*.parquet') ORDER BY facility_id"
    ).fetchall()


def test_metrics_of_the_sample(cli, sample_dir, tmp_path):
    out = tmp_path / "out"
    result = cli("facilities", "metrics", "--input", sample_dir, "--output", out, "--today", TODAY)
    assert result.exit_code == 0, result.stderr
    rows = _metrics(out / "results/facility_metrics/run_2025_08_11_1")
    assert rows == [
        ("FAC12345", "City Hospital", 250, 5, dt.date(2025, 6, 30)),
        ("FAC54321", "Green Valley Clinic", 85, 2, dt.date(2024, 9, 30)),
        ("FAC67890", "Lakeside Medical Center", 320, 4, dt.date(2025, 12, 31)),
    ]


def test_metrics_rerun_gets_a_new_run_folder(cli, sample_dir, tmp_path):
    out = tmp_path / "out"
    for _ in range(2):
        assert (
            cli("facilities", "metrics", "-i", sample_dir, "-o", out, "--today", TODAY).exit_code
            == 0
        )
    runs = sorted(p.name for p in (out / "results/facility_metrics").iterdir())
    assert runs == ["run_2025_08_11_1", "run_2025_08_11_2"]
    first, second = (out / "results/facility_metrics" / r for r in runs)
    assert _metrics(first) == _metrics(second)
    assert [p.name for p in first.iterdir()] == ["part-00000.parquet"]  # only Parquet inside


def test_expiring_keeps_only_lakeside(cli, sample_dir, tmp_path):
    out = tmp_path / "filtered"
    result = cli(
        "facilities", "expiring", "-i", sample_dir, "-o", out, "--months", "6", "--today", TODAY
    )
    assert result.exit_code == 0, result.stderr
    lines = (out / "data_filtered.ndjson").read_bytes().splitlines()
    assert [orjson.loads(x)["facility_id"] for x in lines] == ["FAC67890"]
    original = orjson.loads((sample_dir / "data.json").read_bytes().splitlines()[2])
    assert orjson.loads(lines[0]) == original  # the record as it arrived, every field


def test_expiring_window_is_today_plus_round_months_times_30_5(cli, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    recs = [
        {"facility_id": f"F{d}", "accreditations": [{"valid_until": str(day)}]}
        for d, day in [(i, dt.date(2025, 8, 11) + dt.timedelta(days=i)) for i in (-1, 0, 183, 184)]
    ]
    (folder / "x.ndjson").write_bytes(b"\n".join(orjson.dumps(r) for r in recs))
    out = tmp_path / "out"
    assert cli("facilities", "expiring", "-i", folder, "-o", out, "--today", TODAY).exit_code == 0
    kept = [
        orjson.loads(x)["facility_id"] for x in (out / "x_filtered.ndjson").read_bytes().split()
    ]
    assert kept == ["F0", "F183"]


def test_on_upload_state_counts(cli, sample_dir, tmp_path):
    out = tmp_path / "out"
    args = ("facilities", "on-upload", "-i", sample_dir, "--key", "data.json", "-o", out)
    result = cli(*args, "--today", TODAY)
    assert result.exit_code == 0, result.stderr
    folder = out / "exports/state_counts/data/data.json/2025-08-11"
    assert (folder / "000000").read_text() == "state,accredited_facilities\nFL,1\nTX,1\n"
    marker = orjson.loads((folder / "marker.json").read_bytes())
    assert marker["status"] == "succeeded" and marker["rows"] == 2
    assert marker["date"] == TODAY and marker["source"] == "data/data.json"
    assert (folder / "manifest").read_text().strip().endswith("/000000")
    before = tree_digest(out)
    assert cli(*args, "--today", TODAY).exit_code == 0  # same upload, same day: same bytes
    assert tree_digest(out) == before
    # the object changes: a new result replaces the old one, under a new run id
    (sample_dir / "data.json").write_bytes(
        (sample_dir / "data.json").read_bytes().replace(b'"state": "FL"', b'"state": "GA"')
    )
    assert cli(*args, "--today", TODAY).exit_code == 0
    assert (folder / "000000").read_text() == "state,accredited_facilities\nGA,1\nTX,1\n"
    assert orjson.loads((folder / "marker.json").read_bytes())["run_id"] != marker["run_id"]


def test_url_encoded_key_in_output_path(cli, sample_dir, tmp_path):
    (sample_dir / "sub dir").mkdir()
    shutil.copy(sample_dir / "data.json", sample_dir / "sub dir" / "a+b.json")
    out = tmp_path / "out"
    args = ("--key", "sub dir/a+b.json", "-i", sample_dir, "-o", out, "--today", TODAY)
    assert cli("facilities", "on-upload", *args).exit_code == 0
    assert (out / "exports/state_counts/data/sub%20dir%2Fa%2Bb.json/2025-08-11/000000").is_file()


def test_keys_cannot_escape_the_prefix(cli, sample_dir, tmp_path):
    result = cli("facilities", "on-upload", "-i", sample_dir, "--key", "../x.json", "-o", tmp_path)
    assert result.exit_code == 2 and "may not contain" in " ".join(result.stderr.split())


def test_malformed_lines_and_bad_dates_are_counted_not_fatal(cli, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(CASES / "messy.ndjson", folder / "messy.ndjson")
    out = tmp_path / "out"
    result = cli("facilities", "metrics", "-i", folder, "-o", out, "--today", TODAY)
    assert result.exit_code == 4
    message = " ".join(result.stderr.split())  # the console wraps long lines
    assert "4 malformed skipped" in message and "2 unreadable dates" in message
    rows = _metrics(out / "results/facility_metrics/run_2025_08_11_1")
    assert [(r[0], r[4]) for r in rows] == [
        ("FAC00001", dt.date(2025, 10, 1)),
        ("FAC00003", dt.date(2026, 3, 1)),  # the bad date is NULL, the good one still counts
        ("FAC00004", None),
        ("FAC00005", None),
    ]
    issues = [
        orjson.loads(x)
        for x in (out / "issues/metrics/run_2025_08_11_1.ndjson").read_bytes().splitlines()
    ]
    assert [(i["line"], i["code"]) for i in issues] == [
        (2, "invalid_json"), (3, "invalid_json"), (5, "not_an_object"),
        (6, "missing_facility_id"), (7, "invalid_date"), (8, "invalid_date"),
    ]  # fmt: skip
    assert issues[1]["raw"] == "not json at all" and issues[0]["file"] == "messy.ndjson"
    # the other stages see the same good records and report the same problems
    result = cli("facilities", "on-upload", "-i", folder, "--key", "messy.ndjson", "-o", out,
                 "--today", TODAY)  # fmt: skip
    assert result.exit_code == 4
    counts = out / "exports/state_counts/in/messy.ndjson/2025-08-11/000000"
    assert counts.read_text() == "state,accredited_facilities\nFL,1\nTX,1\n"
