"""``hospigen facilities watch``: the local event trigger, bounded with --once/--max-events."""

from __future__ import annotations

import os
import shutil

from tests.facilities.conftest import CASES, TODAY


def test_watch_processes_new_and_changed_files_once(cli, sample_dir, tmp_path):
    out = tmp_path / "out"
    args = ("facilities", "watch", str(sample_dir), "-o", out, "--today", TODAY, "--once")
    first = cli(*args)
    assert first.exit_code == 0, first.stderr
    assert "1 upload(s) processed" in first.stdout
    assert cli(*args).stdout.count("0 upload(s) processed") == 1  # nothing new
    shutil.copy(CASES / "messy.ndjson", sample_dir / "messy.ndjson")
    path = sample_dir / "data.json"
    path.write_bytes(path.read_bytes().replace(b'"state": "TX"', b'"state": "NM"'))
    os.utime(path, (1, 1))  # a different mtime, as an upload would give
    third = cli(*args)
    assert third.exit_code == 4  # messy.ndjson had malformed records
    assert "2 upload(s) processed" in third.stdout
    counts = out / "exports/state_counts/data/data.json/2025-08-11/000000"
    assert counts.read_text() == "state,accredited_facilities\nFL,1\nNM,1\n"


def test_watch_max_events_stops_early(cli, sample_dir, tmp_path):
    shutil.copy(sample_dir / "data.json", sample_dir / "second.json")
    out = tmp_path / "out"
    result = cli("facilities", "watch", str(sample_dir), "-o", out, "--today", TODAY,
                 "--max-events", "1", "--interval", "0")  # fmt: skip
    assert "1 upload(s) processed in 1 poll(s)" in result.stdout


def test_watch_refuses_output_inside_the_watched_folder(cli, sample_dir):
    result = cli("facilities", "watch", str(sample_dir), "-o", sample_dir / "exports", "--once")
    assert result.exit_code == 2
