"""The spans, ticks and alarm bands a timeline draws (controller/timeline.py)."""
from __future__ import annotations

import datetime as dt

from controller.timeline import AlarmFact, SegmentFact, alarm_bands, axis_ticks, camera_spans

UTC = dt.timezone.utc
T0 = dt.datetime(2026, 3, 2, 1, 30, tzinfo=UTC)  # 09:30 in Asia/Shanghai


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def segs(*bounds: tuple[float, float], deleted: set[int] = frozenset()) -> list[SegmentFact]:
    return [SegmentFact(i, i, at(a), at(b), i in deleted) for i, (a, b) in enumerate(bounds)]


def kinds(spans: list[dict]) -> list[tuple[str, float, float]]:
    return [(s["kind"], (dt.datetime.fromisoformat(s["start"]) - T0).total_seconds(),
             (dt.datetime.fromisoformat(s["end"]) - T0).total_seconds()) for s in spans]


def test_the_segment_being_written_is_recording_not_a_gap():
    spans = camera_spans(segs((0, 60), (60, 120)), at(0), at(150), first_ever=at(0), recording_now=True,
                         segment_seconds=60)
    assert kinds(spans) == [("recorded", 0, 60), ("recorded", 60, 120), ("recording", 120, 150)]
    assert spans[-1]["x1"] == 1.0 and spans[-1]["x0"] == 0.8


def test_a_camera_not_recording_has_an_open_gap_at_the_end():
    spans = camera_spans(segs((0, 60)), at(0), at(150), first_ever=at(0), recording_now=False, segment_seconds=60)
    assert kinds(spans) == [("recorded", 0, 60), ("gap", 60, 150)]
    assert spans[-1]["open"] is True


def test_a_trailing_hole_longer_than_a_segment_is_a_gap_then_the_recording():
    spans = camera_spans(segs((0, 60)), at(0), at(400), first_ever=at(0), recording_now=True, segment_seconds=60)
    assert kinds(spans) == [("recorded", 0, 60), ("gap", 60, 330), ("recording", 330, 400)]
    assert spans[1]["open"] is False


def test_gaps_between_segments_and_deleted_segments():
    spans = camera_spans(segs((0, 60), (100, 160), (160, 220), deleted={2}), at(0), at(230),
                         first_ever=at(0), recording_now=True, segment_seconds=60)
    # A deleted segment's time is no recording: the recorder's hole after it ends in the live one.
    assert kinds(spans) == [("recorded", 0, 60), ("gap", 60, 100), ("recorded", 100, 160),
                            ("deleted", 160, 220), ("recording", 160, 230)]


def test_small_jitter_between_segments_is_no_gap():
    spans = camera_spans(segs((0, 60), (61.5, 120)), at(0), at(125), first_ever=at(0), recording_now=True,
                         segment_seconds=60)
    assert [k for k, *_ in kinds(spans)] == ["recorded", "recorded", "recording"]


def test_nothing_before_the_first_segment_ever_is_a_gap():
    spans = camera_spans(segs((300, 360)), at(0), at(365), first_ever=at(300), recording_now=True,
                         segment_seconds=60)
    assert kinds(spans) == [("recorded", 300, 360), ("recording", 360, 365)]
    assert camera_spans([], at(0), at(100), first_ever=None, recording_now=True, segment_seconds=60) == []


def test_segments_are_clipped_to_the_window():
    spans = camera_spans(segs((-30, 30), (30, 90)), at(0), at(60), first_ever=at(-30), recording_now=True,
                         segment_seconds=60)
    assert kinds(spans) == [("recorded", 0, 30), ("recorded", 30, 60)]
    assert spans[0]["x0"] == 0.0 and spans[1]["x1"] == 1.0


def test_alarm_bands_run_to_clear_or_to_now():
    alarms = [AlarmFact(1, "camera_covered", "critical", at(10), at(40)),
              AlarmFact(2, "camera_offline", "critical", at(80), None),
              AlarmFact(3, "camera_moved", "warning", at(-500), at(-400))]
    bands = alarm_bands(alarms, at(0), at(100))
    assert [(b["id"], b["active"], b["x0"], b["x1"]) for b in bands] == [(1, False, 0.1, 0.4), (2, True, 0.8, 1.0)]
    assert bands[0]["kind"] == "camera_covered" and bands[0]["seconds"] == 30


def test_ticks_fall_on_whole_local_hours_and_midnight_has_its_date():
    start = dt.datetime(2026, 3, 1, 13, 20, tzinfo=UTC)  # 21:20 in Shanghai
    ticks = axis_ticks(start, start + dt.timedelta(hours=24), "Asia/Shanghai")
    assert 6 <= len(ticks) <= 12
    assert all(t["hour"] for t in ticks)
    labels = [t["label"] for t in ticks]
    assert "03-02" in labels  # local midnight
    assert labels[0] == "00:00" or labels[0].endswith(":00") or labels[0] == "03-02"
    xs = [t["x"] for t in ticks]
    assert xs == sorted(xs) and 0 <= xs[0] and xs[-1] <= 1


def test_an_hour_window_ticks_every_few_minutes_in_site_time():
    start = dt.datetime(2026, 3, 2, 1, 7, tzinfo=UTC)
    ticks = axis_ticks(start, start + dt.timedelta(hours=1), "Asia/Shanghai")
    assert [t["label"] for t in ticks] == ["09:10", "09:20", "09:30", "09:40", "09:50", "10:00"]
    assert [t["hour"] for t in ticks] == [False] * 5 + [True]
    utc = axis_ticks(start, start + dt.timedelta(hours=1), "UTC")
    assert utc[-1]["label"] == "02:00"


def test_ticks_over_a_daylight_saving_change_stay_on_whole_hours():
    start = dt.datetime(2026, 3, 29, 0, 0, tzinfo=UTC)  # Europe/Berlin jumps 02:00 -> 03:00 at 01:00 UTC
    ticks = axis_ticks(start, start + dt.timedelta(hours=6), "Europe/Berlin")
    assert all(t["label"].endswith(":00") for t in ticks)
    ats = [dt.datetime.fromisoformat(t["at"]) for t in ticks]
    assert len(set(ats)) == len(ats) and ats == sorted(ats)


def test_a_segment_reported_a_moment_ago_still_leaves_the_recording_one_drawn():
    spans = camera_spans(segs((0, 60)), at(0), at(60.5), first_ever=at(0), recording_now=True, segment_seconds=60)
    assert kinds(spans) == [("recorded", 0, 60), ("recording", 60, 60.5)]
