"""Timestamps and dates written as text in bulk equal Python's own formatting of each value."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pytest

from hospigen.export.timetext import (
    date_text,
    epoch_seconds,
    iso_date,
    iso_seconds,
    seconds_text,
)
from hospigen.model.calendar import civil_dates

UTC = dt.UTC
EDGES = [
    dt.datetime(1970, 1, 1, tzinfo=UTC),
    dt.datetime(1969, 12, 31, 23, 59, 59, tzinfo=UTC),  # the second before the epoch
    dt.datetime(1900, 2, 28, 12, tzinfo=UTC),  # 1900 is not a leap year
    dt.datetime(1900, 3, 1, tzinfo=UTC),
    dt.datetime(2000, 2, 29, 1, 2, 3, tzinfo=UTC),  # 2000 is
    dt.datetime(2024, 12, 31, 23, 59, 59, tzinfo=UTC),
    dt.datetime(1, 1, 1, tzinfo=UTC),
    dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC),
    None,
]


def _random_times(n: int) -> list[dt.datetime | None]:
    rng = np.random.default_rng(7)
    seconds = rng.integers(-2_500_000_000, 2_000_000_000, n)  # 1890 to 2033
    times = [dt.datetime.fromtimestamp(int(s), UTC) for s in seconds]
    return [None if i % 11 == 0 else t for i, t in enumerate(times)] + EDGES


def test_civil_dates_match_the_calendar_for_every_day_of_three_centuries():
    days = np.arange(-36524 * 2, 36524 * 2)  # 1770 to 2169
    year, month, day = civil_dates(days)
    epoch = dt.date(1970, 1, 1)
    expected = [epoch + dt.timedelta(days=int(d)) for d in days]
    assert [(int(y), int(m), int(d)) for y, m, d in zip(year, month, day, strict=True)] == [
        (e.year, e.month, e.day) for e in expected
    ]


@pytest.mark.parametrize("unit", ["s", "ms", "us"])
def test_iso_seconds_equals_strftime_per_value(unit):
    times = _random_times(3000)
    column = pa.array(times, pa.timestamp(unit, tz="UTC"))
    expected = [t.strftime("%Y-%m-%dT%H:%M:%SZ").rjust(20, "0") if t else None for t in times]
    assert iso_seconds(column).to_pylist() == expected


def test_hl7_style_text_of_a_chunked_column_with_sub_second_parts():
    times = [t.replace(microsecond=654321) if t else None for t in _random_times(500)]
    column = pa.chunked_array([pa.array(times[:200], pa.timestamp("us", tz="UTC")),
                               pa.array(times[200:], pa.timestamp("us", tz="UTC"))])  # fmt: skip
    got = seconds_text(column, "", "", "", "+0000").to_pylist()
    expected = [t.strftime("%Y%m%d%H%M%S").rjust(14, "0") + "+0000" if t else None for t in times]
    assert got == expected


def test_date_text_of_dates_and_of_timestamps():
    times = _random_times(1000)
    dates = [t.date() if t else None for t in times]
    expected = [d.isoformat() if d else None for d in dates]
    assert iso_date(pa.array(dates, pa.date32())).to_pylist() == expected
    assert iso_date(pa.array(times, pa.timestamp("s", tz="UTC"))).to_pylist() == expected
    compact = date_text(pa.array(dates, pa.date32()), "").to_pylist()
    assert compact == [d.replace("-", "") if d else None for d in expected]


def test_empty_and_all_null_columns():
    assert iso_seconds(pa.array([], pa.timestamp("s", tz="UTC"))).to_pylist() == []
    assert iso_date(pa.array([None, None], pa.date32())).to_pylist() == [None, None]


def test_a_year_that_four_digits_cannot_hold_is_refused():
    ten_thousand = np.array([np.datetime64("10000-01-01T00:00:00", "s")]).astype(np.int64)
    with pytest.raises(ValueError, match="outside 0-9999"):
        iso_seconds(pa.array(ten_thousand, pa.timestamp("s", tz="UTC")))


def test_epoch_seconds_round_down_and_mark_nulls():
    times = [t.replace(microsecond=250000) if t else None for t in _random_times(300)]
    got = epoch_seconds(pa.array(times, pa.timestamp("us", tz="UTC")))
    floor = [int(t.timestamp() // 1) if t else np.iinfo(np.int64).min for t in times]
    assert got.tolist() == floor
    days = epoch_seconds(pa.array([dt.date(1969, 12, 31), None], pa.date32()))
    assert days.tolist() == [-86400, np.iinfo(np.int64).min]


def test_fileman_dates_round_down_like_the_other_formats():
    """VistA's FileMan date-times (year - 1700) and inverse dates, before 1970 included."""
    from hospigen.export.vista import fm_dates, fm_inverse

    times = [dt.datetime(1968, 5, 1, 20, 46, 3, 360000, tzinfo=UTC),
             dt.datetime(2024, 2, 29, 7, 0, 0, tzinfo=UTC),
             dt.datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC), None]  # fmt: skip
    column = pa.array(times, pa.timestamp("us", tz="UTC"))
    assert fm_dates(column).to_pylist() == ["2680501.204603", "3240229.07", "2991231.235959", None]
    assert fm_inverse(column.slice(0, 3)).to_pylist() == [
        "7319497.795397",
        "6759769.93",
        "7008767.764041",
    ]


def test_dates_are_accepted_wherever_timestamps_are():
    dates = pa.array([dt.date(1969, 12, 31), None, dt.date(2000, 2, 29)], pa.date32())
    assert iso_seconds(dates).to_pylist() == ["1969-12-31T00:00:00Z", None, "2000-02-29T00:00:00Z"]
    as_date64 = dates.cast(pa.date64())
    assert date_text(as_date64, "").to_pylist() == ["19691231", None, "20000229"]
