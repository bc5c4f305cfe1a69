"""Weekly access schedules, evaluated in the site's time zone.

A schedule is a set of weekly windows ("Mon-Fri 08:00-20:00"). Windows are
read on the site's wall clock, so a 08:00 start stays 08:00 across DST
changes. A window whose end is not after its start runs past midnight into the
next day; 00:00-00:00 is a whole day.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo

__all__ = ["DAY_NAMES", "Schedule", "WeeklyWindow", "require_aware"]

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def require_aware(name: str, value: object) -> datetime:
    """Refuse naive datetimes: a gate must never guess which clock ``now`` is on."""
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
    return value


@dataclass(frozen=True)
class WeeklyWindow:
    """Open from ``start`` to ``end`` (exclusive) on each day in ``days`` (0 = Monday)."""

    days: frozenset[int]
    start: time
    end: time

    def __post_init__(self) -> None:
        days = frozenset(self.days)
        if not days or any(not isinstance(d, int) or not 0 <= d <= 6 for d in days):
            raise ValueError(f"days must be a non-empty set of 0 (Monday) .. 6 (Sunday), got {sorted(self.days)!r}")
        object.__setattr__(self, "days", days)
        for name in ("start", "end"):
            value = getattr(self, name)
            if not isinstance(value, time) or value.tzinfo is not None:
                raise ValueError(f"{name} must be a naive datetime.time (site wall clock)")

    @classmethod
    def parse(cls, days: str | Iterable[str], span: str) -> WeeklyWindow:
        """``WeeklyWindow.parse("mon-fri", "08:00-20:00")`` or ``parse(["sat"], "22:00-06:00")``."""
        start_text, sep, end_text = span.partition("-")
        if not sep:
            raise ValueError(f"time span must look like 08:00-20:00, got {span!r}")
        return cls(_parse_days(days), time.fromisoformat(start_text.strip()), time.fromisoformat(end_text.strip()))

    def contains(self, local: datetime) -> bool:
        """Whether the site-local wall time ``local`` falls inside this window."""
        t = local.time().replace(tzinfo=None, fold=0)
        day = local.weekday()
        if self.start < self.end:
            return day in self.days and self.start <= t < self.end
        # Overnight: the evening part belongs to the listed day, the morning part to the day after.
        return (day in self.days and t >= self.start) or ((day - 1) % 7 in self.days and t < self.end)


def _parse_days(days: str | Iterable[str]) -> frozenset[int]:
    items = [days] if isinstance(days, str) else list(days)
    out: set[int] = set()
    for item in items:
        for part in item.split(","):
            first, _, last = part.strip().lower().partition("-")
            if first not in DAY_NAMES or (last and last not in DAY_NAMES):
                raise ValueError(f"unknown day {part.strip()!r} (use {', '.join(DAY_NAMES)} or ranges like mon-fri)")
            lo = DAY_NAMES.index(first)
            hi = DAY_NAMES.index(last) if last else lo
            out.update((lo + i) % 7 for i in range((hi - lo) % 7 + 1))
    return frozenset(out)


@dataclass(frozen=True)
class Schedule:
    """Access allowed while any window is open; an empty schedule never allows."""

    windows: tuple[WeeklyWindow, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "windows", tuple(self.windows))

    def allows(self, now: datetime, tz: ZoneInfo | str) -> bool:
        zone = ZoneInfo(tz) if isinstance(tz, str) else tz
        local = require_aware("now", now).astimezone(zone)
        return any(w.contains(local) for w in self.windows)
