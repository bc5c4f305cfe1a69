"""Gaps on a camera's recording timeline, as the controller computes them for the pages."""
from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from controller.services.cameras import find_gaps

T0 = dt.datetime(2026, 11, 25, 8, 0, tzinfo=dt.timezone.utc)


def seg(a: float, b: float):
    return SimpleNamespace(start=T0 + dt.timedelta(seconds=a), end=T0 + dt.timedelta(seconds=b))


def test_contiguous_segments_have_no_gap():
    assert find_gaps([seg(0, 60), seg(60.5, 120)], T0, T0 + dt.timedelta(seconds=120)) == []


def test_gap_between_segments_has_its_exact_span():
    gaps = find_gaps([seg(0, 60), seg(95, 120)], T0, T0 + dt.timedelta(seconds=120))
    assert gaps == [{"start": (T0 + dt.timedelta(seconds=60)).isoformat(),
                     "end": (T0 + dt.timedelta(seconds=95)).isoformat(), "seconds": 35.0}]


def test_overlapping_segments_and_an_open_end():
    gaps = find_gaps([seg(0, 60), seg(30, 70)], T0, T0 + dt.timedelta(seconds=100))
    assert [(g["seconds"], g.get("open", False)) for g in gaps] == [(30.0, True)]
