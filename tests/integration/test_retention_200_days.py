"""200 simulated days of recording through a SegmentStore, with a fake clock.

Two cameras write one small segment per simulated hour for 200 days; the
purge loop runs once per simulated day and keeps running after recording
stops until the 7-month maximum has passed for a good part of the footage.
The expected deletions are computed here independently (plain calendar
arithmetic in UTC) and compared day by day with what the store deleted.
"""

from __future__ import annotations

import calendar
import math
import time
from datetime import datetime, timedelta, timezone

from retention.capacity import Pressure, disk_pressure, forecast
from retention.chain import ProblemKind
from retention.policy import LegalHold, RetentionPolicy, RetentionViolation, check_deletion_allowed
from retention.segments import SegmentIndex, SegmentStore

UTC = timezone.utc
START = datetime(2026, 1, 1, tzinfo=UTC)
RECORD_DAYS = 200
RUN_DAYS = 245  # the purge loop keeps running after recording stops
CAMERAS = ("cam-01", "cam-02")
POLICY = RetentionPolicy(min_months=6, max_months=7, timezone="UTC")
HOLD = LegalHold("case-17", "cam-01", datetime(2026, 1, 20, tzinfo=UTC), datetime(2026, 1, 23, tzinfo=UTC),
                 "incident 17 investigation", placed_at=datetime(2026, 2, 1, tzinfo=UTC))
# Released after some held segments were due (Aug 20..23) and before the rest.
RELEASE_AT = datetime(2026, 8, 21, 12, tzinfo=UTC)
FULL_DISK_DAYS = (150, 220)


class FakeClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def plus_months(moment: datetime, months: int) -> datetime:
    """Calendar months in UTC, clamping the day; written independently of retention.policy."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))


def purge_time(day: int) -> datetime:
    return START + timedelta(days=day + 1)  # each midnight, after the day's recording


def held(camera: str, start: datetime, end: datetime) -> bool:
    return camera == HOLD.camera and start <= HOLD.end and end >= HOLD.start


def expected_purge_day(camera: str, start: datetime, end: datetime) -> int | None:
    """The first daily purge at which the segment must go (None: not within the run)."""
    due = plus_months(end, 7)
    if held(camera, start, end):
        due = max(due, RELEASE_AT)
    # purge_time(day) >= due  <=>  day + 1 >= days from START to due
    day = max(0, math.ceil((due - START) / timedelta(days=1)) - 1)
    return day if day < RUN_DAYS else None


def test_200_days_of_recording_purge_holds_full_disk_and_audit(tmp_path):
    began = time.monotonic()
    clock = FakeClock(START)
    # fsync off: the simulation is about time, not power cuts (unit tests keep it on).
    index = SegmentIndex(tmp_path / "index.db", durable=False)
    store = SegmentStore(tmp_path / "segments", index, POLICY, clock, durable=False)
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    index.add_hold(HOLD)

    expected: dict[int, set[tuple[str, datetime]]] = {}
    segment_bytes: dict[tuple[str, datetime], int] = {}
    deleted: dict[tuple[str, datetime], datetime] = {}
    full_disk: dict[int, tuple] = {}

    for day in range(RUN_DAYS):
        if day < RECORD_DAYS:
            for hour in range(24):
                start = START + timedelta(days=day, hours=hour)
                end = start + timedelta(hours=1)
                clock.now = end
                for cam in CAMERAS:
                    src = incoming / f"{cam}.mp4"
                    payload = f"{cam} {start:%Y-%m-%dT%H}\n".encode()
                    src.write_bytes(payload)
                    store.ingest(cam, start, end, src)
                    segment_bytes[(cam, start)] = len(payload)
                    when = expected_purge_day(cam, start, end)
                    if when is not None:
                        expected.setdefault(when, set()).add((cam, start))

        now = purge_time(day)
        clock.now = now
        if now > RELEASE_AT and index.get_hold(HOLD.id).released_at is None:
            index.release_hold(HOLD.id, RELEASE_AT)

        if day in FULL_DISK_DAYS:
            full_disk[day] = check_full_disk(store, now)

        purged = store.purge()
        got = {(r.camera, r.start) for r in purged}
        assert got == expected.get(day, set()), f"purge on day {day} ({now:%Y-%m-%d})"
        for r in purged:
            # Never younger than the minimum, and never while the hold was in force.
            assert r.deleted_at == now >= plus_months(r.end, 6)
            assert not (held(r.camera, r.start, r.end) and now < RELEASE_AT)
            deleted[(r.camera, r.start)] = now

    # The held segments outlived their due date and went only once released, each when due.
    held_keys = {k for k in segment_bytes if held(k[0], k[1], k[1] + timedelta(hours=1))}
    assert len(held_keys) == 3 * 24 + 2  # three days plus the two touching segments
    assert {deleted[k] for k in held_keys} == {purge_time(d) for d in (232, 233, 234)}
    assert all(deleted[k] > plus_months(k[1] + timedelta(hours=1), 7) for k in held_keys
               if plus_months(k[1] + timedelta(hours=1), 7) < RELEASE_AT)
    not_held_cam2 = ("cam-02", datetime(2026, 1, 21, tzinfo=UTC))
    assert deleted[not_held_cam2] == plus_months(not_held_cam2[1] + timedelta(hours=1), 7) + timedelta(hours=23)
    assert sum(len(v) for v in expected.values()) == len(deleted) > 0

    # What is left on disk is exactly what was not deleted.
    live = [r for cam in CAMERAS for r in index.records(cam) if not r.deleted]
    assert len(live) == len(segment_bytes) - len(deleted)
    assert store.usage() == sum(r.bytes for r in live)
    # Day 150: nothing is past the maximum, so a full disk is an alarm and nothing more.
    decision, deletable = full_disk[150]
    assert deletable == 0 and decision.level is Pressure.CRITICAL and decision.purge_bytes == 0
    # Day 220: the only space offered is the day's max-expired segments, and it is not enough.
    decision, deletable = full_disk[220]
    assert deletable > 0 and decision.purge_bytes == deletable
    assert decision.level is Pressure.CRITICAL and "even after purging" in decision.message

    # A clean audit, also against the heads an off-site copy would hold.
    heads = index.heads()
    assert store.audit(expected_heads=heads).ok

    # Tamper by hand: edit one byte of one file, delete another file.
    edited = next(r for r in index.records("cam-02") if not r.deleted and r.start.day == 10)
    removed = next(r for r in index.records("cam-01") if not r.deleted and r.start.day == 11)
    path = store.root / index.paths("cam-02")[edited.seq]
    data = bytearray(path.read_bytes())
    data[0] ^= 0x20
    path.write_bytes(bytes(data))
    (store.root / index.paths("cam-01")[removed.seq]).unlink()
    report = store.audit(expected_heads=heads)
    assert [(p.camera, p.seq, p.kind) for p in report.problems] == [
        ("cam-01", removed.seq, ProblemKind.FILE_MISSING),
        ("cam-02", edited.seq, ProblemKind.CONTENT_CHANGED),
    ]
    index.close()
    assert time.monotonic() - began < 30


def check_full_disk(store: SegmentStore, now: datetime):
    """Free space below the reserve: an alarm, and only max-expired segments may go."""
    index = store.index
    reserve = 10_000
    free = reserve // 2
    plan = store.plan(now)
    deletable = sum(s.bytes for s in plan.delete)
    rates = index.bitrates(now - timedelta(days=7), now)
    decision = disk_pressure(free, reserve, deletable, forecast(free, reserve, rates))
    assert decision.purge_bytes <= deletable
    for s in plan.delete:
        assert now >= plus_months(s.end, 7)
    if deletable == 0:
        # Nothing is old enough: critical, with a forecast, and the young stay protected.
        assert decision.level is Pressure.CRITICAL
        assert decision.days_left == 0.0
        assert 0 < decision.days_to_full < 10
        assert f"disk will fill in {decision.days_to_full:.1f} days" in decision.message
        live = [r for cam in CAMERAS for r in index.records(cam) if not r.deleted]
        oldest = min(live, key=lambda r: r.end)
        try:
            check_deletion_allowed(oldest.info(), store.policy, index.list_holds(), now)
        except RetentionViolation:
            pass
        else:
            raise AssertionError("a segment younger than the minimum was allowed to go")
        assert store.purge(now) == []
        assert len([r for cam in CAMERAS for r in index.records(cam) if not r.deleted]) == len(live)
    return decision, deletable
