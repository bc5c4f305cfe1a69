"""Coverage history: seat spans and the site's step line from seat-state changes."""
from __future__ import annotations

import datetime as dt

from controller.coverage_history import Change, Span, covered_share, percent_series, seat_spans

T0 = dt.datetime(2026, 11, 1, 8, tzinfo=dt.timezone.utc)


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def test_spans_start_from_the_state_before_the_window_and_merge_repeats():
    changes = [Change(at(-30), "A1", True), Change(at(10), "A1", False, ("occluded",)),
               Change(at(12), "A1", False, ("occluded",)),  # the same again: no new span
               Change(at(20), "A1", True), Change(at(5), "A2", True), Change(at(90), "A1", False)]
    spans = seat_spans(changes, ["A1", "A2", "A3"], at(0), at(60))
    assert spans["A1"] == [Span(at(0), at(10), True), Span(at(10), at(20), False, ("occluded",)),
                           Span(at(20), at(60), True)]
    assert spans["A2"] == [Span(at(0), at(5), None), Span(at(5), at(60), True)]
    assert spans["A3"] == [Span(at(0), at(60), None)]


def test_changes_of_unknown_seats_are_ignored():
    spans = seat_spans([Change(at(1), "Z9", False)], ["A1"], at(0), at(60))
    assert spans == {"A1": [Span(at(0), at(60), None)]}


def test_percent_counts_judged_seats_only():
    spans = seat_spans([Change(at(-1), "A1", True), Change(at(5), "A2", True), Change(at(10), "A1", False),
                        Change(at(30), "A1", True)], ["A1", "A2"], at(0), at(60))
    assert percent_series(spans) == [(at(0), 100.0), (at(10), 50.0), (at(30), 100.0)]
    assert percent_series(seat_spans([], ["A1"], at(0), at(60))) == [(at(0), None)]


def test_covered_share_counts_unjudged_time_as_not_proven():
    spans = seat_spans([Change(at(15), "A1", True), Change(at(30), "A1", False, ("occluded",)),
                        Change(at(45), "A1", True)], ["A1"], at(0), at(60))["A1"]
    assert covered_share(spans) == 50.0  # 0-15 unjudged, 15-30 covered, 30-45 occluded, 45-60 covered
    assert covered_share([Span(at(0), at(0), True)]) is None
    assert covered_share(seat_spans([Change(at(-5), "A1", True)], ["A1"], at(0), at(60))["A1"]) == 100.0
