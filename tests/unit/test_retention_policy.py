"""Tests for retention.policy: calendar-month retention, legal holds and the purge plan."""

from __future__ import annotations

import calendar
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from retention.policy import (
    LegalHold,
    RetentionPolicy,
    RetentionViolation,
    SegmentInfo,
    add_calendar_months,
    check_deletion_allowed,
    deletion_due,
    earliest_deletion,
    expires_at,
    is_held,
    purge_candidate_cutoff,
    purge_plan,
)

UTC = timezone.utc
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def seg(end: datetime, camera: str = "cam-01", sid: int = 1, length_s: int = 60, size: int = 100) -> SegmentInfo:
    return SegmentInfo(sid, camera, end - timedelta(seconds=length_s), end, size)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- calendar months -------------------------------------------------------------


@pytest.mark.parametrize(
    ("end", "months", "expected"),
    [
        (utc(2026, 1, 31, 10), 1, utc(2026, 2, 28, 10)),  # clamped to a short February
        (utc(2024, 1, 31, 10), 1, utc(2024, 2, 29, 10)),  # leap year February
        (utc(2024, 2, 29, 12), 12, utc(2025, 2, 28, 12)),  # leap day, next year has none
        (utc(2024, 2, 29, 12), 48, utc(2028, 2, 29, 12)),  # leap day to leap day
        (utc(2025, 8, 31, 23, 59), 6, utc(2026, 2, 28, 23, 59)),
        (utc(2023, 8, 31, 8), 6, utc(2024, 2, 29, 8)),
        (utc(2025, 12, 31, 1), 2, utc(2026, 2, 28, 1)),  # across the year end
        (utc(2025, 11, 15, 6, 30), 6, utc(2026, 5, 15, 6, 30)),
        (utc(2026, 3, 31), 6, utc(2026, 9, 30)),
        (utc(2026, 5, 1, 10, 1), 0, utc(2026, 5, 1, 10, 1)),
    ],
)
def test_calendar_months_clamp_day_of_month(end, months, expected):
    assert add_calendar_months(end, months, "UTC") == expected
    assert earliest_deletion(seg(end), RetentionPolicy(min_months=months)) == expected


def test_six_months_are_calendar_months_not_180_days():
    s = seg(utc(2026, 1, 1))
    assert earliest_deletion(s, RetentionPolicy()) == utc(2026, 7, 1)  # 181 days, not 180
    s = seg(utc(2026, 3, 1))
    assert earliest_deletion(s, RetentionPolicy()) == utc(2026, 9, 1)  # 184 days


def test_months_are_counted_in_the_site_timezone():
    # 23:30 on Aug 31 in New York is already Sep 1 in UTC; local counting gives Feb 28.
    end = datetime(2025, 8, 31, 23, 30, tzinfo=NEW_YORK)
    got = earliest_deletion(seg(end), RetentionPolicy(timezone="America/New_York"))
    assert got.astimezone(NEW_YORK) == datetime(2026, 2, 28, 23, 30, tzinfo=NEW_YORK)
    assert got == utc(2026, 3, 1, 4, 30)
    assert earliest_deletion(seg(end), RetentionPolicy(timezone="UTC")) == utc(2026, 3, 1, 3, 30)


def test_local_wall_clock_is_kept_across_dst():
    # 10:00 CET in January -> 10:00 CEST in July: one hour less in UTC terms.
    end = datetime(2026, 1, 15, 10, 0, tzinfo=BERLIN)
    got = earliest_deletion(seg(end), RetentionPolicy(timezone="Europe/Berlin"))
    assert got == utc(2026, 7, 15, 8, 0)


def test_result_in_a_dst_gap_moves_forward():
    # Mar 29 2026 02:30 does not exist in Berlin (clocks jump 02:00 -> 03:00).
    end = datetime(2025, 9, 29, 2, 30, tzinfo=BERLIN)
    policy = RetentionPolicy(timezone="Europe/Berlin")
    got = earliest_deletion(seg(end), policy)
    assert got == utc(2026, 3, 29, 1, 30)  # 03:30 CEST, the later reading
    with pytest.raises(RetentionViolation):
        check_deletion_allowed(seg(end), policy, [], got - timedelta(microseconds=1))
    check_deletion_allowed(seg(end), policy, [], got)


def test_result_in_a_dst_fold_takes_the_later_occurrence():
    # Oct 25 2026 02:30 happens twice in Berlin; the second one (CET) is later.
    end = datetime(2026, 4, 25, 2, 30, tzinfo=BERLIN)
    got = earliest_deletion(seg(end), RetentionPolicy(timezone="Europe/Berlin"))
    assert got == utc(2026, 10, 25, 1, 30)
    assert got.astimezone(BERLIN).tzname() == "CET"


def test_segment_ending_in_the_repeated_hour_keeps_its_own_occurrence():
    # Ends in the second 02:30 of Oct 25 2026 (CET); six months on is plain 02:30 CEST in April.
    end = datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    assert end.astimezone(BERLIN).fold == 1
    got = earliest_deletion(seg(end), RetentionPolicy(timezone="Europe/Berlin"))
    assert got == utc(2027, 4, 25, 0, 30)


def test_expires_at_is_none_without_a_maximum():
    s = seg(utc(2026, 1, 31))
    assert expires_at(s, RetentionPolicy()) is None
    assert deletion_due(s, RetentionPolicy()) is None
    assert expires_at(s, RetentionPolicy(6, 7)) == utc(2026, 8, 31)


@pytest.mark.parametrize(
    "kwargs",
    [dict(min_months=-1), dict(min_months=6, max_months=5), dict(timezone="Mars/Olympus"),
     dict(min_months=True), dict(min_months=6.0)],
)
def test_policy_rejects_bad_settings(kwargs):
    with pytest.raises(ValueError):
        RetentionPolicy(**kwargs)


def test_naive_times_are_refused():
    with pytest.raises(ValueError):
        SegmentInfo(1, "cam-01", datetime(2026, 1, 1), datetime(2026, 1, 1, 0, 1), 10)
    with pytest.raises(ValueError):
        purge_plan([], RetentionPolicy(6, 7), [], datetime(2026, 1, 1))
    with pytest.raises(ValueError):
        SegmentInfo(1, "cam-01", utc(2026, 1, 1, 0, 1), utc(2026, 1, 1), 10)  # ends before start


# --- legal holds and the deletion guard --------------------------------------------


def hold(**kw) -> LegalHold:
    base = dict(id="h1", camera="cam-01", start=utc(2026, 1, 10), end=utc(2026, 1, 12),
                reason="incident 42", released_at=None, placed_at=None)
    base.update(kw)
    return LegalHold(**base)


def test_hold_covers_overlapping_segments_of_its_camera_while_in_force():
    h = hold(placed_at=utc(2026, 2, 1), released_at=utc(2026, 9, 1))
    inside = seg(utc(2026, 1, 11, 12))
    touching = SegmentInfo(2, "cam-01", utc(2026, 1, 12), utc(2026, 1, 12, 0, 1), 1)
    other_cam = seg(utc(2026, 1, 11, 12), camera="cam-02")
    outside = seg(utc(2026, 1, 13))
    now = utc(2026, 8, 1)
    assert is_held(inside, [h], now) is h
    assert is_held(touching, [h], now) is h
    assert is_held(other_cam, [h], now) is None
    assert is_held(outside, [h], now) is None
    assert is_held(inside, [h], utc(2026, 1, 31)) is None  # not placed yet
    assert is_held(inside, [h], utc(2026, 9, 1)) is None  # released
    assert is_held(other_cam, [hold(camera=None)], now) is not None  # all cameras


def test_hold_validation():
    with pytest.raises(ValueError):
        hold(end=utc(2026, 1, 1))
    with pytest.raises(ValueError):
        hold(reason=" ")
    with pytest.raises(ValueError):
        hold(placed_at=utc(2026, 3, 1), released_at=utc(2026, 2, 1))


def test_check_deletion_allowed_names_the_segment_and_the_date():
    s = SegmentInfo(1234, "cam-01", utc(2026, 5, 1, 10), utc(2026, 5, 1, 10, 1), 10)
    policy = RetentionPolicy(6, 7)
    with pytest.raises(RetentionViolation) as err:
        check_deletion_allowed(s, policy, [], utc(2026, 6, 1))
    assert str(err.value) == (
        "cam-01 segment 1234 (2026-05-01 10:00–10:01 UTC): may not be deleted before its minimum "
        "retention of 6 months ends on 2026-11-01 10:01 UTC"
    )
    h = hold(start=utc(2026, 5, 1), end=utc(2026, 5, 2))
    with pytest.raises(RetentionViolation, match="under legal hold h1 \\(incident 42\\)"):
        check_deletion_allowed(s, policy, [h], utc(2027, 1, 1))
    check_deletion_allowed(s, policy, [hold(start=utc(2026, 5, 1), end=utc(2026, 5, 2),
                                            released_at=utc(2026, 12, 1))], utc(2027, 1, 1))


# --- purge plan -------------------------------------------------------------------


def test_purge_plan_deletes_only_expired_unheld_segments():
    policy = RetentionPolicy(min_months=6, max_months=7)
    now = utc(2026, 9, 15)
    expired = SegmentInfo(1, "cam-01", utc(2026, 2, 1), utc(2026, 2, 1, 0, 1), 10)
    expired_older = SegmentInfo(2, "cam-02", utc(2026, 1, 1), utc(2026, 1, 1, 0, 1), 10)
    held = SegmentInfo(3, "cam-01", utc(2026, 1, 11), utc(2026, 1, 11, 0, 1), 10)
    between = SegmentInfo(4, "cam-01", utc(2026, 3, 1), utc(2026, 3, 1, 0, 1), 10)  # past min, not max
    young = SegmentInfo(5, "cam-01", utc(2026, 8, 1), utc(2026, 8, 1, 0, 1), 10)
    plan = purge_plan([expired, held, between, young, expired_older], policy, [hold()], now)
    assert plan.delete == [expired_older, expired]  # oldest first
    assert plan.kept_held == [held]
    assert plan.next_due == utc(2026, 10, 1, 0, 1)


def test_without_a_maximum_nothing_is_purged():
    very_old = SegmentInfo(1, "cam-01", utc(2000, 1, 1), utc(2000, 1, 1, 0, 1), 10)
    plan = purge_plan([very_old], RetentionPolicy(min_months=6), [], utc(2026, 1, 1))
    assert plan.delete == [] and plan.kept_held == [] and plan.next_due is None


def test_purge_plan_refuses_to_plan_a_young_deletion(monkeypatch):
    # Even a broken expiry computation cannot get a young segment deleted.
    import retention.policy as policy_module

    monkeypatch.setattr(policy_module, "deletion_due", lambda s, p: s.end)
    young = seg(utc(2026, 8, 1))
    with pytest.raises(RetentionViolation):
        policy_module.purge_plan([young], RetentionPolicy(6, 7), [], utc(2026, 8, 2))


# --- properties -------------------------------------------------------------------

ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata"]
T0 = utc(2024, 1, 1)


def moments(days: int = 900):
    return st.integers(0, days * 86_400).map(lambda s: T0 + timedelta(seconds=s))


@st.composite
def policies(draw):
    mn = draw(st.integers(0, 12))
    mx = draw(st.one_of(st.none(), st.integers(mn, mn + 4)))
    return RetentionPolicy(mn, mx, draw(st.sampled_from(ZONES)))


@st.composite
def segments(draw):
    start = draw(moments(600))
    return SegmentInfo(draw(st.integers(1, 10**6)), draw(st.sampled_from(["cam-01", "cam-02", "cam-03"])),
                       start, start + timedelta(seconds=draw(st.integers(0, 7200))), draw(st.integers(0, 10**9)))


@st.composite
def holds(draw):
    start = draw(moments(600))
    placed = draw(st.one_of(st.none(), moments()))
    released = draw(st.one_of(st.none(), moments()))
    if placed is not None and released is not None and released < placed:
        placed, released = released, placed
    return LegalHold(draw(st.text("abc", min_size=1, max_size=3)),
                     draw(st.sampled_from([None, "cam-01", "cam-02"])), start,
                     start + timedelta(hours=draw(st.integers(0, 24 * 10))), "case",
                     released_at=released, placed_at=placed)


@settings(max_examples=300, deadline=None)
@given(st.lists(segments(), max_size=25), policies(), st.lists(holds(), max_size=4), moments())
def test_purge_plan_never_deletes_young_or_held_segments(segs, policy, hs, now):
    plan = purge_plan(segs, policy, hs, now)
    deleted = {id(s) for s in plan.delete}
    cutoff = purge_candidate_cutoff(policy, now)
    for s in segs:
        allowed = True
        try:
            check_deletion_allowed(s, policy, hs, now)
        except RetentionViolation:
            allowed = False
        due = deletion_due(s, policy)
        if id(s) in deleted:
            assert now >= earliest_deletion(s, policy)
            assert is_held(s, hs, now) is None
            assert allowed
            assert due is not None and now >= due
        # check_deletion_allowed agrees with the plan: the plan is exactly the
        # allowed segments whose maximum retention is over.
        assert (id(s) in deleted) == (allowed and due is not None and now >= due)
        if cutoff is not None and s.end > cutoff:
            assert id(s) not in deleted and due > now
    if policy.max_months is None:
        assert plan.delete == [] and plan.next_due is None
    elif plan.next_due is not None:
        assert plan.next_due > now


def reference_add_months_utc(moment: datetime, months: int) -> datetime:
    y, m = divmod(moment.month - 1 + months, 12)
    year, month = moment.year + y, m + 1
    return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))


@settings(max_examples=300, deadline=None)
@given(moments(3000), st.integers(0, 60))
def test_utc_months_match_a_plain_reference(moment, months):
    assert add_calendar_months(moment, months, "UTC") == reference_add_months_utc(moment, months)


@settings(max_examples=300, deadline=None)
@given(moments(3000), st.integers(0, 24), st.sampled_from(ZONES))
def test_retention_never_shorter_than_its_local_wall_clock(moment, months, zone):
    got = add_calendar_months(moment, months, zone).astimezone(ZoneInfo(zone))
    local = moment.astimezone(ZoneInfo(zone))
    want = reference_add_months_utc(local.replace(tzinfo=None), months)
    # The local reading is the same wall time, or later when it fell into a DST gap.
    assert got.replace(tzinfo=None) >= want
    assert got.replace(tzinfo=None) - want <= timedelta(hours=1)
    assert got >= moment
    assume(months > 0)
    assert got - moment >= timedelta(days=28 * months - 1)
