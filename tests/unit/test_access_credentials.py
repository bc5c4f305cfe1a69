"""The local credential cache and weekly schedules."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from access_control.cards import credential_key, decode, encode
from access_control.credentials import (
    BadgeRecord,
    CredentialDB,
    PersonRecord,
    TrainingRecord,
    build_credential_db,
)
from access_control.schedule import Schedule, WeeklyWindow

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")


def test_build_from_demo_site_file():
    from edge_agent.wire.site import load_site_file

    site = load_site_file(Path(__file__).resolve().parents[2] / "simulators" / "sites" / "demo.yaml")
    db = build_credential_db(p.model_dump() for p in site.people)
    assert len(db.people) == len(site.people)
    card = decode(*encode("wiegand26", 12, 10005))
    badge = db.find_badge(card.key)
    assert badge == BadgeRecord("wiegand26:12:10005", "p-005")
    assert db.people["p-005"] == PersonRecord(
        "p-005", "annotator", True, TrainingRecord(date(2023, 6, 1), date(2024, 6, 1))
    )
    assert db.find_badge(decode(*encode("h10304", 300, 20001)).key).person_id == "p-009"
    assert db.badges["wiegand26:12:10007"].valid_until == date(2024, 12, 31)


def test_build_accepts_iso_dates_from_json():
    db = build_credential_db(
        [
            {
                "id": "p-1",
                "role": "annotator",
                "badges": [{"number": "0042", "format": "wiegand26", "facility": 1, "valid_from": "2025-01-01"}],
                "training": {"completed": "2025-01-01", "expires": "2026-01-01"},
                "enabled": False,
            }
        ]
    )
    assert db.badges == {"wiegand26:1:42": BadgeRecord("wiegand26:1:42", "p-1", valid_from=date(2025, 1, 1))}
    assert db.people["p-1"] == PersonRecord(
        "p-1", "annotator", False, TrainingRecord(date(2025, 1, 1), date(2026, 1, 1))
    )


def test_badge_without_facility_matches_any_facility():
    db = build_credential_db([{"id": "p-1", "role": "staff", "badges": [{"number": "7", "format": "wiegand26"}]}])
    assert db.find_badge(credential_key("wiegand26", 99, 7)).person_id == "p-1"
    assert db.find_badge(credential_key("wiegand34", 99, 7)) is None
    assert db.find_badge("garbage") is None


def test_exact_facility_wins_and_ambiguity_is_refused():
    with pytest.raises(ValueError, match="overlaps"):
        build_credential_db(
            [
                {"id": "p-1", "role": "staff", "badges": [{"number": "7", "facility": 1}]},
                {"id": "p-2", "role": "staff", "badges": [{"number": "7"}]},
            ]
        )


def test_duplicates_are_refused():
    with pytest.raises(ValueError, match="duplicate person id 'p-1'"):
        build_credential_db([{"id": "p-1", "role": "staff"}, {"id": "p-1", "role": "staff"}])
    with pytest.raises(ValueError, match="belongs to both"):
        build_credential_db(
            [
                {"id": "p-1", "role": "staff", "badges": [{"number": "7", "facility": 1}]},
                {"id": "p-2", "role": "staff", "badges": [{"number": "0007", "facility": 1}]},
            ]
        )


def test_db_is_immutable_and_consistent():
    db = CredentialDB({"wiegand26:1:1": BadgeRecord("wiegand26:1:1", "p")}, {"p": PersonRecord("p", "staff")})
    with pytest.raises(TypeError):
        db.badges["x"] = None  # type: ignore[index]
    with pytest.raises(ValueError):
        CredentialDB({"wiegand26:1:2": BadgeRecord("wiegand26:1:1", "p")}, {})
    with pytest.raises(ValueError):
        CredentialDB({}, {"q": PersonRecord("p", "staff")})


def test_training_current_until_the_expiry_day():
    t = TrainingRecord(date(2025, 1, 10), date(2026, 1, 10))
    assert [t.current_on(d) for d in (date(2025, 1, 9), date(2025, 1, 10), date(2026, 1, 9), date(2026, 1, 10))] == [
        False,
        True,
        True,
        False,
    ]


# --- schedules ------------------------------------------------------------


def at(tz, *args):
    return datetime(*args, tzinfo=tz)


def test_weekday_office_hours_in_site_time():
    office = Schedule((WeeklyWindow.parse("mon-fri", "08:00-20:00"),))
    # 2025-06-02 is a Monday.
    assert office.allows(at(SHANGHAI, 2025, 6, 2, 8, 0), "Asia/Shanghai")
    assert not office.allows(at(SHANGHAI, 2025, 6, 2, 7, 59), "Asia/Shanghai")
    assert not office.allows(at(SHANGHAI, 2025, 6, 2, 20, 0), "Asia/Shanghai")
    assert not office.allows(at(SHANGHAI, 2025, 6, 7, 10, 0), "Asia/Shanghai")  # Saturday
    # 01:00 UTC on Monday is 09:00 in Shanghai.
    assert office.allows(at(timezone.utc, 2025, 6, 2, 1, 0), SHANGHAI)
    assert not office.allows(at(timezone.utc, 2025, 6, 2, 1, 0), "UTC")


def test_overnight_window_belongs_to_its_start_day():
    night = Schedule((WeeklyWindow.parse("fri", "22:00-06:00"),))
    assert night.allows(at(BERLIN, 2025, 6, 6, 23, 0), BERLIN)  # Friday evening
    assert night.allows(at(BERLIN, 2025, 6, 7, 5, 59), BERLIN)  # Saturday early
    assert not night.allows(at(BERLIN, 2025, 6, 7, 6, 0), BERLIN)
    assert not night.allows(at(BERLIN, 2025, 6, 6, 5, 0), BERLIN)  # Friday early: Thursday not listed
    whole_sunday = Schedule((WeeklyWindow.parse(["sun"], "00:00-00:00"),))
    assert whole_sunday.allows(at(BERLIN, 2025, 6, 8, 0, 0), BERLIN)
    assert whole_sunday.allows(at(BERLIN, 2025, 6, 8, 23, 59), BERLIN)
    assert not whole_sunday.allows(at(BERLIN, 2025, 6, 9, 0, 0), BERLIN)


def test_wall_clock_survives_dst_change():
    office = Schedule((WeeklyWindow.parse("mon-sun", "08:00-09:00"),))
    # Berlin switches to summer time on 2025-03-30; 08:30 local is allowed on both sides.
    assert office.allows(at(BERLIN, 2025, 3, 29, 8, 30), BERLIN)
    assert office.allows(at(BERLIN, 2025, 3, 31, 8, 30), BERLIN)
    assert office.allows(datetime(2025, 3, 31, 6, 30, tzinfo=timezone.utc), BERLIN)
    assert not office.allows(datetime(2025, 3, 29, 6, 30, tzinfo=timezone.utc), BERLIN)


def test_day_ranges_wrap_and_lists():
    assert WeeklyWindow.parse("sat-mon", "01:00-02:00").days == frozenset({5, 6, 0})
    assert WeeklyWindow.parse("mon,wed", "01:00-02:00").days == frozenset({0, 2})


@pytest.mark.parametrize(
    ("days", "span"), [("funday", "08:00-09:00"), ("mon", "0800"), ("mon", "25:00-26:00"), ([], "08:00-09:00")]
)
def test_bad_windows_are_refused(days, span):
    with pytest.raises(ValueError):
        WeeklyWindow.parse(days, span)


def test_naive_now_is_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        Schedule(()).allows(datetime(2025, 1, 1), "UTC")


def test_empty_schedule_never_allows():
    assert not Schedule(()).allows(at(BERLIN, 2025, 1, 1), BERLIN)


@given(
    st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(BERLIN)),
    st.times(),
    st.times(),
)
def test_window_agrees_with_a_minute_by_minute_reading(now, start, end):
    start, end = start.replace(second=0, microsecond=0), end.replace(second=0, microsecond=0)
    window = WeeklyWindow(frozenset({0}), start, end)  # Mondays only
    local = now.astimezone(BERLIN)
    t = local.time().replace(tzinfo=None, fold=0)
    monday, tuesday = local.weekday() == 0, local.weekday() == 1
    if start < end:
        expected = monday and start <= t < end
    else:
        expected = (monday and t >= start) or (tuesday and t < end)
    assert window.contains(local) == expected
    # Opening is inclusive and closing exclusive, to the minute.
    monday = datetime(2025, 6, 2, tzinfo=BERLIN)
    assert window.contains(monday.replace(hour=start.hour, minute=start.minute))
    if start < end:
        assert not window.contains(monday.replace(hour=end.hour, minute=end.minute))
    else:
        assert not window.contains((monday + timedelta(days=1)).replace(hour=end.hour, minute=end.minute))


def test_schedule_is_checked_in_the_policy_zone_even_across_midnight():
    late = Schedule((WeeklyWindow(frozenset({0}), time(23, 0), time(1, 0)),))
    monday_2330_shanghai = at(SHANGHAI, 2025, 6, 2, 23, 30)
    assert late.allows(monday_2330_shanghai, SHANGHAI)
    assert late.allows(monday_2330_shanghai + timedelta(hours=1), SHANGHAI)  # Tuesday 00:30
    assert not late.allows(monday_2330_shanghai + timedelta(hours=2), SHANGHAI)
