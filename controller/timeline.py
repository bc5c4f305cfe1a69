"""What a timeline draws, prepared for the pages: the time axis (ticks on whole hours, or on whole
minutes in short windows, labelled in the site's local time), a camera's spans (recorded, deleted by
retention, being recorded now, gap) and its alarm bands. Pure: plain values in, plain dicts out,
every position also given as a share of the window (0..1) so the page only scales it."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

GAP_TOLERANCE_S = 2.0
# A finished segment reaches the controller some seconds after it closes (the edge's outbox).
REPORT_SLACK_S = 10.0
TICK_STEPS_MIN = (1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440)


@dataclass(frozen=True)
class SegmentFact:
    id: int
    seq: int
    start: dt.datetime
    end: dt.datetime
    deleted: bool = False
    sha256: str = ""


@dataclass(frozen=True)
class AlarmFact:
    id: int
    kind: str
    severity: str
    raised_at: dt.datetime
    cleared_at: dt.datetime | None
    message: str = ""


def _share(t: dt.datetime, start: dt.datetime, end: dt.datetime) -> float:
    span = (end - start).total_seconds()
    return round(min(1.0, max(0.0, (t - start).total_seconds() / span)), 6) if span > 0 else 0.0


def _placed(d: dict, start: dt.datetime, end: dt.datetime, a: dt.datetime, b: dt.datetime) -> dict:
    d.update(start=a.isoformat(), end=b.isoformat(), seconds=round((b - a).total_seconds(), 1),
             x0=_share(a, start, end), x1=_share(b, start, end))
    return d


def axis_ticks(start: dt.datetime, end: dt.datetime, tz: str, max_ticks: int = 8) -> list[dict]:
    """Ticks over [start, end] at the smallest step of TICK_STEPS_MIN giving at most ``max_ticks``,
    aligned on the site's local clock. ``hour`` marks a whole local hour, ``day`` a local midnight
    (labelled with its date, "MM-DD"); other ticks are labelled "HH:MM"."""
    if end <= start:
        return []
    zone = ZoneInfo(tz)
    minutes = (end - start).total_seconds() / 60
    step = next((s for s in TICK_STEPS_MIN if minutes / s <= max_ticks), TICK_STEPS_MIN[-1])
    local = start.astimezone(zone)
    # First tick: the first local time at or after start whose minutes-of-day divide by step.
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    of_day = (local - midnight).total_seconds() / 60
    k = int(-(-of_day // step))
    ticks, guard = [], 0
    while guard < max_ticks * 3:
        guard += 1
        # Whole local wall-clock times: midnight + k*step minutes, read in the zone (DST-safe).
        wall = (midnight.replace(tzinfo=None) + dt.timedelta(minutes=k * step))
        at = wall.replace(tzinfo=zone).astimezone(dt.timezone.utc)
        k += 1
        if at < start or (ticks and at.isoformat() <= ticks[-1]["at"]):  # before the window; a skipped DST hour
            continue
        if at > end:
            break
        lt = at.astimezone(zone)
        day = lt.hour == 0 and lt.minute == 0
        ticks.append({"at": at.isoformat(), "x": _share(at, start, end), "hour": lt.minute == 0, "day": day,
                      "label": lt.strftime("%m-%d") if day else lt.strftime("%H:%M")})
    return ticks


def camera_spans(segments: list[SegmentFact], start: dt.datetime, end: dt.datetime, *,
                 first_ever: dt.datetime | None, recording_now: bool, segment_seconds: float,
                 now: dt.datetime | None = None) -> list[dict]:
    """The camera's spans over [start, end], in time order, each ``{"kind", start, end, seconds,
    x0, x1}``: ``recorded`` and ``deleted`` (a segment; with ``id``, ``seq``, ``sha256``), ``gap``
    (nothing recorded where something should be) and ``recording`` (the segment the recorder is
    writing now, not reported yet: after the last reported segment, at most a segment's length
    plus the reporting delay back from ``now``, and only while the camera's state says recording).
    Before the camera's first segment ever there was nothing to record: no gap there."""
    now = now or end
    spans: list[dict] = []
    for s in segments:
        a, b = max(s.start, start), min(s.end, end)
        if b <= a:
            continue
        spans.append(_placed({"kind": "deleted" if s.deleted else "recorded", "id": s.id, "seq": s.seq,
                              "sha256": s.sha256}, start, end, a, b))
    if first_ever is None or first_ever >= end:
        return spans
    cursor = max(start, first_ever)
    holes: list[tuple[dt.datetime, dt.datetime]] = []
    for s in sorted((s for s in segments if not s.deleted), key=lambda s: s.start):
        if (s.start - cursor).total_seconds() > GAP_TOLERANCE_S:
            holes.append((cursor, s.start))
        cursor = max(cursor, s.end)
    tail_end = min(end, now)
    for a, b in holes:
        spans.append(_placed({"kind": "gap", "open": False}, start, end, a, b))
    if recording_now and tail_end > cursor:
        # The recorder is writing a segment now: however short the time since the last one.
        rec_from = max(cursor, tail_end - dt.timedelta(seconds=segment_seconds + REPORT_SLACK_S))
        if (rec_from - cursor).total_seconds() > GAP_TOLERANCE_S:
            spans.append(_placed({"kind": "gap", "open": False}, start, end, cursor, rec_from))
        spans.append(_placed({"kind": "recording"}, start, end, rec_from, tail_end))
    elif (tail_end - cursor).total_seconds() > GAP_TOLERANCE_S:
        spans.append(_placed({"kind": "gap", "open": True}, start, end, cursor, tail_end))
    spans.sort(key=lambda d: (d["start"], d["kind"]))
    return spans


def alarm_bands(alarms: list[AlarmFact], start: dt.datetime, end: dt.datetime,
                now: dt.datetime | None = None) -> list[dict]:
    """Each alarm's period inside [start, end]: raised_at to cleared_at, or to now while active
    (``active``: true). Alarms wholly outside the window are left out."""
    now = now or end
    out = []
    for al in sorted(alarms, key=lambda x: (x.raised_at, x.id)):
        b = al.cleared_at or now
        a, b = max(al.raised_at, start), min(b, end)
        if b < a or al.raised_at > end:
            continue
        out.append(_placed({"id": al.id, "kind": al.kind, "severity": al.severity, "message": al.message,
                            "active": al.cleared_at is None, "raised_at": al.raised_at.isoformat(),
                            "cleared_at": al.cleared_at.isoformat() if al.cleared_at else None},
                           start, end, a, b))
    return out
