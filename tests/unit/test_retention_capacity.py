"""Tests for retention.capacity: forecasts, the startup check and disk-pressure decisions."""

from __future__ import annotations

import math
from datetime import datetime, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from retention.capacity import (
    Forecast,
    Pressure,
    bytes_per_day,
    disk_pressure,
    forecast,
    format_bytes,
    required_bytes,
    retention_days,
    startup_check,
)
from retention.policy import RetentionPolicy

UTC = timezone.utc
MARCH_1 = datetime(2026, 3, 1, 12, tzinfo=UTC)
EIGHT_AT_4M = {f"cam-{i:02d}": 4e6 for i in range(1, 9)}
PER_DAY_8_AT_4M = 8 * 4e6 / 8 * 86_400  # 345.6 GB a day


def test_forecast_arithmetic():
    # 8 Mbit/s is 1 MB/s, 86.4 GB a day.
    f = forecast(186_400_000_000, 100_000_000_000, {"cam-01": 8e6})
    assert f.bytes_per_day == 86_400_000_000
    assert f.days_left == pytest.approx(1.0)
    assert forecast(10, 100, {"cam-01": 8e6}).days_left == 0.0  # already below the reserve
    assert forecast(10**12, 0, {}).days_left == math.inf
    assert bytes_per_day(EIGHT_AT_4M) == PER_DAY_8_AT_4M
    with pytest.raises(ValueError):
        bytes_per_day({"cam-01": -1})
    with pytest.raises(ValueError):
        forecast(-1, 0, {})


@pytest.mark.parametrize(
    ("now", "days"),
    [
        (datetime(2026, 3, 1, tzinfo=UTC), 184),
        (datetime(2026, 1, 1, tzinfo=UTC), 181),
        (datetime(2025, 8, 31, tzinfo=UTC), 181),  # to Feb 28
        (datetime(2023, 8, 31, tzinfo=UTC), 182),  # to Feb 29 of a leap year
        (datetime(2026, 7, 1, tzinfo=UTC), 184),
    ],
)
def test_retention_days_are_calendar_days(now, days):
    assert retention_days(6, now, "UTC") == days


def test_retention_days_use_the_local_date():
    # 23:00 on Feb 28 UTC is already Mar 1 in Berlin: Mar 1 -> Sep 1 is 184 days.
    assert retention_days(6, datetime(2026, 2, 28, 23, tzinfo=UTC), "Europe/Berlin") == 184
    assert retention_days(6, datetime(2026, 2, 28, 23, tzinfo=UTC), "UTC") == 181


def test_required_bytes():
    assert required_bytes(6, EIGHT_AT_4M, MARCH_1, "UTC") == math.ceil(184 * PER_DAY_8_AT_4M)
    assert required_bytes(6, {}, MARCH_1, "UTC") == 0


def test_startup_check_says_what_is_missing():
    available = int(131.5 * PER_DAY_8_AT_4M)
    report = startup_check(available, 0, 0, RetentionPolicy(6, 7), EIGHT_AT_4M, MARCH_1)
    assert not report.ok
    assert report.needed_bytes == math.ceil(184 * PER_DAY_8_AT_4M)
    assert report.available_bytes == available
    # 52.5 days at 345.6 GB = 18.144 TB, rounded up; 131.5/184 of 4 Mbit/s = 2.86, rounded down.
    assert report.message == (
        "disk holds 131 days of recordings for 8 cameras at 4.0 Mbit/s; 6 months need 184 days: "
        "add 18.2 TB or lower bitrates to 2.8 Mbit/s per camera"
    )


def test_startup_check_counts_other_data_and_the_reserve():
    total = 100 * 10**12
    report = startup_check(total, 10 * 10**12, 10, RetentionPolicy(6), EIGHT_AT_4M, MARCH_1)
    assert report.available_bytes == 80 * 10**12
    assert report.ok
    assert report.message.startswith("disk holds 231 days of recordings for 8 cameras at 4.0 Mbit/s; "
                                     "6 months need 184 days")
    assert "no maximum retention is set" in report.message
    mixed = startup_check(10**12, 0, 5, RetentionPolicy(6, 7), {"a": 2e6, "b": 6e6}, MARCH_1)
    assert not mixed.ok
    assert "2 cameras at 2.0 Mbit/s–6.0 Mbit/s (8.0 Mbit/s in total)" in mixed.message
    assert "lower bitrates by" in mixed.message


def test_startup_check_warns_when_the_maximum_does_not_fit():
    available = 200 * PER_DAY_8_AT_4M  # holds 6 months (184 days) but not 7 (214)
    report = startup_check(available, 0, 0, RetentionPolicy(6, 7), EIGHT_AT_4M, MARCH_1)
    assert report.ok
    assert "warning: the maximum of 7 months needs 214 days" in report.message
    fine = startup_check(2 * available, 0, 0, RetentionPolicy(6, 7), EIGHT_AT_4M, MARCH_1)
    assert fine.ok and "warning" not in fine.message


def test_startup_check_with_no_room_at_all():
    report = startup_check(10**12, 2 * 10**12, 5, RetentionPolicy(6), EIGHT_AT_4M, MARCH_1)
    assert not report.ok and report.available_bytes == 0
    assert report.message.startswith("disk holds 0 days")
    with pytest.raises(ValueError):
        startup_check(10**12, 0, 100, RetentionPolicy(6), EIGHT_AT_4M, MARCH_1)


def test_format_bytes_rounds_up():
    assert format_bytes(18.144e12) == "18.2 TB"
    assert format_bytes(2e12) == "2.0 TB"
    assert format_bytes(850.01e9) == "850.1 GB"
    assert format_bytes(12) == "0.1 MB"


# --- disk pressure ------------------------------------------------------------------

GB = 10**9


def test_plenty_of_space_is_ok():
    f = forecast(1000 * GB, 100 * GB, {"cam-01": 8e6})
    d = disk_pressure(1000 * GB, 100 * GB, 0, f)
    assert d.level is Pressure.OK and d.purge_bytes == 0
    assert d.days_left == pytest.approx(900 / 86.4)


def test_disk_filling_within_the_warning_window_is_critical_before_it_is_full():
    f = forecast(500 * GB, 100 * GB, {"cam-01": 8e6})
    d = disk_pressure(500 * GB, 100 * GB, 0, f, critical_days=7)
    assert d.level is Pressure.CRITICAL and d.purge_bytes == 0
    assert d.days_left == pytest.approx(400 / 86.4)
    assert d.message.startswith("CRITICAL: the reserve is reached in 4.6 days and the disk will fill in 5.8 days")
    assert disk_pressure(500 * GB, 100 * GB, 0, f, critical_days=4).level is Pressure.OK


def test_low_space_allows_purging_only_what_is_past_the_maximum():
    f = forecast(150 * GB, 100 * GB, {"cam-01": 8e6})
    d = disk_pressure(150 * GB, 100 * GB, 1000 * GB, f)
    assert d.level is Pressure.PURGE
    assert d.purge_bytes == 1000 * GB
    assert d.days_left == pytest.approx(1050 / 86.4)
    assert "past the maximum retention" in d.message


def test_full_disk_with_nothing_old_enough_is_critical():
    f = forecast(50 * GB, 100 * GB, {"cam-01": 8e6})
    d = disk_pressure(50 * GB, 100 * GB, 0, f)
    assert d.level is Pressure.CRITICAL
    assert d.purge_bytes == 0
    assert d.days_left == 0.0
    assert d.days_to_full == pytest.approx(50 / 86.4)
    assert d.message.startswith("CRITICAL: free space is below the reserve and the disk will fill in 0.6 days")
    assert "younger than the minimum retention are kept" in d.message


def test_too_little_to_purge_is_still_critical():
    f = forecast(150 * GB, 100 * GB, {"cam-01": 8e6})
    d = disk_pressure(150 * GB, 100 * GB, 10 * GB, f)
    assert d.level is Pressure.CRITICAL
    assert d.purge_bytes == 10 * GB
    assert d.days_left == pytest.approx(60 / 86.4)
    assert "even after purging 10.0 GB past the maximum retention" in d.message


@settings(max_examples=500, deadline=None)
@given(
    st.integers(0, 10**14), st.integers(0, 10**13), st.integers(0, 10**13),
    st.lists(st.floats(0, 5e7), max_size=8), st.floats(0, 60),
)
def test_disk_pressure_never_frees_more_than_the_deletable(free, reserve, deletable, rates, critical_days):
    bitrates = {f"cam-{i}": r for i, r in enumerate(rates)}
    f = forecast(free, reserve, bitrates)
    d = disk_pressure(free, reserve, deletable, f, critical_days)
    # The only deletion a decision can lead to is the max-expired space the caller offered.
    assert 0 <= d.purge_bytes <= deletable
    if deletable == 0:
        assert d.purge_bytes == 0
        assert d.level in (Pressure.OK, Pressure.CRITICAL)
    if d.level is Pressure.OK:
        assert free > reserve and d.purge_bytes == 0
    if free <= reserve and deletable == 0:
        assert d.level is Pressure.CRITICAL and d.days_left == 0.0
    assert d.days_left <= d.days_to_full


def test_disk_pressure_validates_input():
    with pytest.raises(ValueError):
        disk_pressure(-1, 0, 0, Forecast(1.0, 1.0))
