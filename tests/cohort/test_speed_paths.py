"""Faster code paths of the speed pass give exactly what the plain ones give."""

import datetime as dt

import numpy as np

from hospigen.engine.notes import _age_years
from hospigen.model import uuids
from hospigen.rng import KeyedRandom, _splitmix
from tests.conftest import tree_digest


def test_bits_many_equals_one_bits_call_per_draw():
    rnd = KeyedRandom(5, "id/observation")
    keys = np.arange(2_000, dtype=np.uint64) * np.uint64(1 << 20)
    draws = ("hi", "lo", 7)
    for got, draw in zip(rnd.bits_many(keys, draws), draws, strict=True):
        assert (got == rnd.bits(keys, draw)).all()


def test_row_ids_are_still_rfc_9562_version_8():
    ids = uuids(1, "encounter", np.arange(50))
    assert len(set(ids)) == 50
    assert all(i[14] == "8" and i[19] in "89ab" for i in ids)


def test_splitmix_of_a_scalar_equals_the_array_form_without_warnings():
    assert _splitmix(np.uint64(5)) == _splitmix(np.array([5], np.uint64))[0]


def test_integer_ages_match_calendar_arithmetic():
    rng = np.random.default_rng(2)
    birth = np.arange(-25_567, 22_000, 7)  # 1900 to 2030, every weekday in turn
    start_us = (birth + rng.integers(0, 40_000, len(birth))) * 86_400_000_000
    ages = _age_years(birth, start_us)
    epoch = dt.date(1970, 1, 1)
    for i in rng.integers(0, len(birth), 3_000):
        born = epoch + dt.timedelta(days=int(birth[i]))
        on = epoch + dt.timedelta(days=int(start_us[i] // 86_400_000_000))
        assert ages[i] == on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def test_every_format_writes_the_same_bytes_with_writer_threads_and_workers(cli, tmp_path):
    """One writer thread per format, and worker processes, change no byte of any format."""
    args = ("generate", "-n", 30, "--seed", 9, "--as-of", "2025-01-01", "--shard-size", 12,
            "--formats", "fhir,hl7v2,vista,synthea_csv,patient_ndjson,bulk_ndjson")  # fmt: skip
    assert cli(*args, "-o", tmp_path / "one").exit_code == 0
    assert cli(*args, "-o", tmp_path / "two", "-w", 2).exit_code == 0
    one, two = tree_digest(tmp_path / "one"), tree_digest(tmp_path / "two")
    assert len(one) > 26
    assert one == two


def test_a_failed_shard_write_leaves_no_finished_files(tmp_path, monkeypatch):
    """Closing runs on the writer threads, but never after its feed's last write failed."""
    import pytest

    from hospigen.export.csv import _CsvWriter
    from hospigen.generation import generate

    def broken(self, tables):
        raise OSError("disk full")

    monkeypatch.setattr(_CsvWriter, "write", broken)
    with pytest.raises(OSError, match="disk full"):
        generate(5, tmp_path, seed=1, as_of=dt.date(2025, 1, 1), formats=["csv", "parquet"])
    assert not list(tmp_path.glob("*.csv")) and not (tmp_path / "summary.json").exists()


def test_workers_through_the_api_leave_the_collector_as_they_found_it(tmp_path):
    """Forking workers freezes the long-lived objects for the run only; bytes are unchanged."""
    import gc

    from hospigen.generation import generate

    args = {"seed": 4, "as_of": dt.date(2025, 1, 1), "formats": ["parquet"], "shard_size": 20}
    generate(50, tmp_path / "one", **args)
    summary = generate(50, tmp_path / "three", workers=3, **args)
    assert gc.get_freeze_count() == 0
    assert summary.counts["patients"] == 50
    assert tree_digest(tmp_path / "one") == tree_digest(tmp_path / "three")
