"""Tailgating detection from passages, beam crossings and camera person counts."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from access_control.alarms import Alarm
from access_control.tailgating import Episode, TailgateConfig, TailgateDetector

CONFIG = TailgateConfig("gate-main", window_s=8.0)


def fresh():
    return TailgateDetector(CONFIG)


def feed(detector, calls):
    """Apply (method, args) calls; returns the detector and every alarm, in order."""
    alarms = []
    for name, *args in calls:
        detector, out = getattr(detector, name)(*args)
        alarms.extend(out)
    return detector, alarms


def tailgating(count, expected, window, source):
    return Alarm(
        "tailgating",
        "gate-main",
        count=count,
        expected=expected,
        window=window,
        detail=f"{count} through on {expected} grant(s) ({source})",
    )


def test_one_person_per_grant_is_quiet():
    d, alarms = feed(fresh(), [("grant", 0.0), ("passages", 2.0), ("grant", 20.0), ("passages", 21.0)])
    assert alarms == []
    assert d.episode == Episode(20.0, 28.0, 1, 1)


def test_tailgater_following_on_one_grant():
    d, alarms = feed(fresh(), [("grant", 10.0), ("passages", 11.0), ("passages", 12.0)])
    assert alarms == [tailgating(2, 1, (10.0, 18.0), "passages")]


def test_each_further_person_raises_the_count():
    _, alarms = feed(fresh(), [("grant", 0.0), ("passages", 1.0), ("passages", 1.5), ("passages", 2.0)])
    assert alarms == [tailgating(2, 1, (0.0, 8.0), "passages"), tailgating(3, 1, (0.0, 8.0), "passages")]


def test_beam_crossings_count_several_at_once():
    _, alarms = feed(fresh(), [("grant", 0.0), ("passages", 1.0, 3, "beams")])
    assert alarms == [tailgating(3, 1, (0.0, 8.0), "beams")]


def test_overlapping_grants_merge_into_one_window():
    d, alarms = feed(fresh(), [("grant", 0.0), ("grant", 3.0), ("passages", 4.0), ("passages", 5.0)])
    assert alarms == []
    assert d.episode == Episode(0.0, 11.0, 2, 2)
    d, alarms = feed(d, [("passages", 10.5)])
    assert alarms == [tailgating(3, 2, (0.0, 11.0), "passages")]


def test_passages_outside_any_window_are_left_to_door_forced():
    d, alarms = feed(fresh(), [("passages", 1.0), ("grant", 10.0), ("passages", 11.0), ("passages", 18.5)])
    assert alarms == []
    assert d.episode is None


def test_window_end_is_inclusive():
    _, alarms = feed(fresh(), [("grant", 0.0), ("passages", 1.0), ("passages", 8.0)])
    assert alarms == [tailgating(2, 1, (0.0, 8.0), "passages")]


def test_camera_sees_more_persons_than_grants():
    d, alarms = feed(
        fresh(), [("grant", 0.0), ("camera", 0.5, 1), ("camera", 1.0, 2), ("camera", 1.5, 2), ("camera", 2.0, 3)]
    )
    assert alarms == [tailgating(2, 1, (0.0, 8.0), "camera"), tailgating(3, 1, (0.0, 8.0), "camera")]
    assert d.episode.persons_seen == 3


def test_camera_outside_a_window_is_ignored():
    _, alarms = feed(fresh(), [("camera", 0.0, 4), ("grant", 10.0), ("camera", 30.0, 4)])
    assert alarms == []


def test_tick_closes_the_episode_and_clock_never_steps_back():
    d, _ = feed(fresh(), [("grant", 0.0), ("tick", 8.5)])
    assert d.episode is None
    d, _ = feed(d, [("grant", 3.0)])  # stale timestamp: counted at the detector's clock
    assert d.episode == Episode(8.5, 16.5, 1)


def test_bad_counts_are_refused():
    with pytest.raises(ValueError):
        fresh().passages(0.0, 0)
    with pytest.raises(ValueError):
        fresh().camera(0.0, -1)
    with pytest.raises(ValueError):
        TailgateConfig("g", window_s=0)
    with pytest.raises(ValueError):
        fresh().grant(float("nan"))


@given(st.lists(st.tuples(st.floats(0.0, 3.0), st.integers(0, 1)), max_size=30))
def test_each_grant_followed_by_at_most_one_passage_is_never_tailgating(script):
    d, t = fresh(), 0.0
    for gap, passes in script:
        t += gap
        d, alarms = d.grant(t)
        assert alarms == ()
        if passes:
            d, alarms = d.passages(t + 0.5)
            assert alarms == ()


@given(st.integers(1, 5), st.integers(0, 8))
def test_excess_in_one_window_always_alarms(grants, passages):
    d = fresh()
    for i in range(grants):
        d, _ = d.grant(i * 0.1)
    alarms = []
    for i in range(passages):
        d, out = d.passages(1.0 + i * 0.1)
        alarms.extend(out)
    assert len(alarms) == max(0, passages - grants)
    assert [a.count for a in alarms] == list(range(grants + 1, passages + 1))
    assert all(a.expected == grants and a.kind == "tailgating" for a in alarms)
