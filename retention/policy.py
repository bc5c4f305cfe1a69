"""Retention policy and legal holds: which recorded segments may be deleted, and when.

Pure decisions over plain data; the caller passes ``now``. Retention is counted
in calendar months of the site's local time, because that is how the rule is
written ("kept 6 months"), not in 30-day blocks: a segment that ended on
Aug 31 at 10:00 local time may go on Feb 28 (or 29) at 10:00, not earlier.

Deleting too early is the failure that matters, so every ambiguity is resolved
towards keeping longer: a local time that falls in a DST gap moves forward, one
that occurs twice means its later occurrence, and a hold touching a segment
only at its boundary still holds it.
"""

from __future__ import annotations

import calendar
import functools
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "LegalHold",
    "PurgePlan",
    "RetentionPolicy",
    "RetentionViolation",
    "SegmentInfo",
    "add_calendar_months",
    "check_deletion_allowed",
    "deletion_due",
    "describe_segment",
    "earliest_deletion",
    "expires_at",
    "format_span",
    "format_time",
    "is_held",
    "purge_candidate_cutoff",
    "purge_plan",
]

UTC = timezone.utc


class RetentionViolation(ValueError):
    """A deletion would break the retention rule (too young, or under legal hold)."""


def _require_aware(name: str, value: object) -> None:
    if not isinstance(value, datetime):
        raise ValueError(f"{name} must be a datetime")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class RetentionPolicy:
    """Keep every segment at least ``min_months`` after it ended; purge after ``max_months``.

    ``max_months=None`` means nothing is ever purged automatically.
    """

    min_months: int = 6
    max_months: int | None = None
    timezone: str = "UTC"

    def __post_init__(self) -> None:
        if not _is_int(self.min_months) or self.min_months < 0:
            raise ValueError("min_months must be a non-negative int")
        if self.max_months is not None:
            if not _is_int(self.max_months):
                raise ValueError("max_months must be an int or None")
            if self.max_months < self.min_months:
                raise ValueError(
                    f"max_months ({self.max_months}) is shorter than min_months ({self.min_months})"
                )
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            raise ValueError(f"unknown timezone {self.timezone!r}") from None

    @property
    def zone(self) -> ZoneInfo:
        # ZoneInfo caches instances by key, so this is cheap.
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class SegmentInfo:
    """What the policy needs to know about one recorded segment."""

    id: Hashable
    camera: str
    start: datetime
    end: datetime
    bytes: int

    def __post_init__(self) -> None:
        _require_aware("segment start", self.start)
        _require_aware("segment end", self.end)
        if self.end < self.start:
            raise ValueError(f"segment {self.id} ends before it starts")
        if not _is_int(self.bytes) or self.bytes < 0:
            raise ValueError("segment bytes must be a non-negative int")


@dataclass(frozen=True)
class LegalHold:
    """Keep every segment of ``camera`` (None: all cameras) that overlaps [start, end].

    A hold is in force from ``placed_at`` (None: always) until ``released_at``
    (None: not released). Released holds are kept so an audit can tell whether
    a past deletion happened while a hold was in force.
    """

    id: str
    camera: str | None
    start: datetime
    end: datetime
    reason: str
    released_at: datetime | None = None
    placed_at: datetime | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id:
            raise ValueError("legal hold id must be a non-empty string")
        if self.camera is not None and (not isinstance(self.camera, str) or not self.camera):
            raise ValueError("legal hold camera must be a non-empty string or None")
        _require_aware("legal hold start", self.start)
        _require_aware("legal hold end", self.end)
        if self.end < self.start:
            raise ValueError(f"legal hold {self.id} ends before it starts")
        if not isinstance(self.reason, str) or not self.reason.strip():
            raise ValueError("a legal hold needs a reason")
        if self.released_at is not None:
            _require_aware("legal hold released_at", self.released_at)
        if self.placed_at is not None:
            _require_aware("legal hold placed_at", self.placed_at)
        if self.placed_at is not None and self.released_at is not None and self.released_at < self.placed_at:
            raise ValueError(f"legal hold {self.id} is released before it was placed")

    def in_force(self, now: datetime) -> bool:
        if self.placed_at is not None and now < self.placed_at:
            return False
        return self.released_at is None or now < self.released_at

    def covers(self, segment: SegmentInfo) -> bool:
        if self.camera is not None and self.camera != segment.camera:
            return False
        # Closed intervals: a segment touching the held period at one instant
        # may still show its first or last second.
        return segment.start <= self.end and segment.end >= self.start


@dataclass(frozen=True)
class PurgePlan:
    """``delete``: due and free to go, oldest first. ``kept_held``: due but under a legal hold.

    ``next_due``: the earliest future moment another segment of the input
    becomes due (held segments excluded: they wait for their release).
    """

    delete: list[SegmentInfo] = field(default_factory=list)
    kept_held: list[SegmentInfo] = field(default_factory=list)
    next_due: datetime | None = None


def _zone(tz: tzinfo | str) -> tzinfo:
    return ZoneInfo(tz) if isinstance(tz, str) else tz


def add_calendar_months(moment: datetime, months: int, tz: tzinfo | str) -> datetime:
    """``moment`` plus ``months`` calendar months of local time in ``tz``, as aware UTC.

    The day of month is clamped (Aug 31 + 6 months = Feb 28/29). A result that
    does not exist locally (DST gap) or exists twice (DST fold) is resolved to
    the later instant, so a retention deadline can only move later.
    """
    _require_aware("moment", moment)
    if not _is_int(months) or months < 0:
        raise ValueError("months must be a non-negative int")
    zone = _zone(tz)
    local = moment.astimezone(zone)
    carry, month0 = divmod(local.month - 1 + months, 12)
    year, month = local.year + carry, month0 + 1
    day = min(local.day, calendar.monthrange(year, month)[1])
    wall = local.replace(tzinfo=None, year=year, month=month, day=day)
    # fold=0 maps a gap time with the offset before the transition (later
    # instant); fold=1 maps a repeated time to its second occurrence.
    candidates = (wall.replace(tzinfo=zone, fold=f).astimezone(UTC) for f in (0, 1))
    return max(candidates)


def earliest_deletion(segment: SegmentInfo, policy: RetentionPolicy) -> datetime:
    """The first moment the segment may be deleted: its end plus the minimum retention."""
    return add_calendar_months(segment.end, policy.min_months, policy.zone)


def expires_at(segment: SegmentInfo, policy: RetentionPolicy) -> datetime | None:
    """When the maximum retention ends (None: the policy never purges)."""
    if policy.max_months is None:
        return None
    return add_calendar_months(segment.end, policy.max_months, policy.zone)


def deletion_due(segment: SegmentInfo, policy: RetentionPolicy) -> datetime | None:
    """When the purge loop should delete the segment (None: never automatically)."""
    expiry = expires_at(segment, policy)
    if expiry is None:
        return None
    # max >= min in months, but DST resolution is not strictly monotone; never
    # let a purge date precede the minimum.
    return max(expiry, earliest_deletion(segment, policy))


@functools.lru_cache(maxsize=None)
def _shortest_span_days(months: int) -> int:
    """Fewest days that ``months`` calendar months can span (e.g. 7 months: Feb..Aug = 212)."""
    first = date(2000, 1, 1)  # a 4-year leap cycle holds every month-length pattern
    shortest = None
    for offset in range(4 * 365 + 1):
        day = first + timedelta(days=offset)
        carry, month0 = divmod(day.month - 1 + months, 12)
        year, month = day.year + carry, month0 + 1
        later = date(year, month, min(day.day, calendar.monthrange(year, month)[1]))
        span = (later - day).days
        shortest = span if shortest is None else min(shortest, span)
    return shortest


def purge_candidate_cutoff(policy: RetentionPolicy, now: datetime) -> datetime | None:
    """Segments that ended after this moment cannot be due at ``now``.

    Lets an index fetch only plausible candidates instead of every segment.
    Two days of slack cover DST, zone offset changes and century years
    without a leap day. A cutoff that were too early could only postpone a
    purge, never bring one forward: purge_plan still checks every candidate.
    """
    _require_aware("now", now)
    if policy.max_months is None:
        return None
    return now - timedelta(days=_shortest_span_days(policy.max_months) - 2)


def is_held(segment: SegmentInfo, holds: Iterable[LegalHold], now: datetime) -> LegalHold | None:
    """The first legal hold in force at ``now`` that covers the segment, if any."""
    _require_aware("now", now)
    for hold in holds:
        if hold.in_force(now) and hold.covers(segment):
            return hold
    return None


def check_deletion_allowed(
    segment: SegmentInfo, policy: RetentionPolicy, holds: Iterable[LegalHold], now: datetime
) -> None:
    """Raise RetentionViolation unless deleting the segment at ``now`` keeps the rule.

    This checks the hard limits (minimum retention, legal holds) and is the
    last guard the I/O layer calls right before removing a file.
    """
    _require_aware("now", now)
    zone = policy.zone
    earliest = earliest_deletion(segment, policy)
    if now < earliest:
        raise RetentionViolation(
            f"{describe_segment(segment, zone)}: may not be deleted before its minimum retention "
            f"of {policy.min_months} months ends on {format_time(earliest, zone)}"
        )
    hold = is_held(segment, holds, now)
    if hold is not None:
        raise RetentionViolation(
            f"{describe_segment(segment, zone)}: under legal hold {hold.id} ({hold.reason})"
        )


def purge_plan(
    segments: Iterable[SegmentInfo], policy: RetentionPolicy, holds: Sequence[LegalHold], now: datetime
) -> PurgePlan:
    """Decide which segments the purge loop deletes at ``now``.

    Only segments past the maximum retention and not held are deleted; each
    one is also run through check_deletion_allowed, so a planning bug raises
    instead of deleting young evidence.
    """
    _require_aware("now", now)
    if policy.max_months is None:
        return PurgePlan()
    holds = list(holds)
    delete: list[SegmentInfo] = []
    kept_held: list[SegmentInfo] = []
    next_due: datetime | None = None
    for segment in segments:
        due = deletion_due(segment, policy)
        assert due is not None
        if due > now:
            next_due = due if next_due is None else min(next_due, due)
        elif is_held(segment, holds, now) is not None:
            kept_held.append(segment)
        else:
            check_deletion_allowed(segment, policy, holds, now)
            delete.append(segment)
    delete.sort(key=lambda s: (s.end, s.camera))
    return PurgePlan(delete=delete, kept_held=kept_held, next_due=next_due)


# --- wording shared by violations and audit reports -------------------------------


def format_time(moment: datetime, tz: tzinfo | str) -> str:
    """``2026-05-01 10:00 CEST`` (seconds only when not zero)."""
    local = moment.astimezone(_zone(tz))
    fmt = "%Y-%m-%d %H:%M:%S" if local.second or local.microsecond else "%Y-%m-%d %H:%M"
    return f"{local.strftime(fmt)} {local.tzname()}"


def format_span(start: datetime, end: datetime, tz: tzinfo | str) -> str:
    """``2026-05-01 10:00–10:01 UTC``; the date and zone are repeated only when they change."""
    zone = _zone(tz)
    a, b = start.astimezone(zone), end.astimezone(zone)

    def clock(t: datetime) -> str:
        return t.strftime("%H:%M:%S" if t.second or t.microsecond else "%H:%M")

    first = f"{a.strftime('%Y-%m-%d')} {clock(a)}"
    second = clock(b) if b.date() == a.date() else f"{b.strftime('%Y-%m-%d')} {clock(b)}"
    if a.tzname() == b.tzname():
        return f"{first}–{second} {a.tzname()}"
    return f"{first} {a.tzname()}–{second} {b.tzname()}"


def describe_segment(segment: SegmentInfo, tz: tzinfo | str) -> str:
    """``cam-01 segment 1234 (2026-05-01 10:00–10:01 UTC)``."""
    return f"{segment.camera} segment {segment.id} ({format_span(segment.start, segment.end, tz)})"
