"""Disk capacity against retention: forecasts, the startup check and disk-pressure decisions.

Pure arithmetic over numbers the caller measured. The one rule these
decisions keep: a full disk is an alarm, never a reason to delete recordings
younger than the minimum retention. The only space they ever count on
freeing is what the caller reports as deletable (segments past the maximum
retention and not held).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from .policy import RetentionPolicy, add_calendar_months

__all__ = [
    "CapacityReport",
    "Decision",
    "Forecast",
    "Pressure",
    "bytes_per_day",
    "disk_pressure",
    "forecast",
    "format_bytes",
    "required_bytes",
    "retention_days",
    "startup_check",
]

SECONDS_PER_DAY = 86_400


def _non_negative(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0")
    return value


def bytes_per_day(bitrates_bps: Mapping[str, float]) -> float:
    """Bytes all cameras write per day at their bitrates (bits per second)."""
    return sum(_non_negative(f"bitrate of {cam}", bps) for cam, bps in bitrates_bps.items()) / 8 * SECONDS_PER_DAY


@dataclass(frozen=True)
class Forecast:
    days_left: float  # until free space drops to the reserve; inf when nothing records
    bytes_per_day: float


def _days(space: float, per_day: float) -> float:
    if space <= 0:
        return 0.0
    return math.inf if per_day <= 0 else space / per_day


def forecast(free_bytes: int, reserve_bytes: int, bitrates_bps: Mapping[str, float]) -> Forecast:
    """How long until recording eats the free space down to the reserve."""
    _non_negative("free_bytes", free_bytes)
    _non_negative("reserve_bytes", reserve_bytes)
    per_day = bytes_per_day(bitrates_bps)
    return Forecast(_days(free_bytes - reserve_bytes, per_day), per_day)


def retention_days(months: int, now: datetime, tz: str) -> int:
    """Calendar days from today to the same local date ``months`` months on (clamped)."""
    policy = RetentionPolicy(min_months=months, timezone=tz)
    zone = policy.zone
    until = add_calendar_months(now, months, zone).astimezone(zone)
    return (until.date() - now.astimezone(zone).date()).days


def required_bytes(policy_min_months: int, bitrates: Mapping[str, float], now: datetime, tz: str) -> int:
    """Space needed to hold the full minimum retention at these bitrates, starting ``now``."""
    return math.ceil(retention_days(policy_min_months, now, tz) * bytes_per_day(bitrates))


def format_bytes(n: float) -> str:
    """Decimal units rounded up to 0.1, so 'add 2.1 TB' is always enough."""
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6)):
        if n >= size:
            return f"{math.ceil(n / size * 10) / 10:.1f} {unit}"
    return f"{math.ceil(n / 1e6 * 10) / 10:.1f} MB"


def _mbit(bps: float) -> str:
    return f"{bps / 1e6:.1f} Mbit/s"


def _fleet(bitrates: Mapping[str, float]) -> str:
    rates = list(bitrates.values())
    noun = "camera" if len(rates) == 1 else "cameras"
    if min(rates) == max(rates):
        return f"{len(rates)} {noun} at {_mbit(rates[0])}"
    return f"{len(rates)} {noun} at {_mbit(min(rates))}–{_mbit(max(rates))} ({_mbit(sum(rates))} in total)"


@dataclass(frozen=True)
class CapacityReport:
    ok: bool
    needed_bytes: int
    available_bytes: int
    message: str
    days_available: float = math.inf
    days_needed: int = 0


def startup_check(
    total_bytes: int,
    used_by_others_bytes: int,
    reserve_percent: float,
    policy: RetentionPolicy,
    bitrates: Mapping[str, float],
    now: datetime,
) -> CapacityReport:
    """Can this disk hold the minimum retention for these cameras? Says what to change if not."""
    _non_negative("total_bytes", total_bytes)
    _non_negative("used_by_others_bytes", used_by_others_bytes)
    if not 0 <= _non_negative("reserve_percent", reserve_percent) < 100:
        raise ValueError("reserve_percent must be in [0, 100)")
    available = max(0, math.floor(total_bytes * (1 - reserve_percent / 100)) - used_by_others_bytes)
    days_needed = retention_days(policy.min_months, now, policy.timezone)
    per_day = bytes_per_day(bitrates)
    needed = math.ceil(days_needed * per_day)
    months = f"{policy.min_months} months"
    if per_day <= 0:
        return CapacityReport(True, 0, available, "no camera records: nothing to hold", math.inf, days_needed)
    days_available = available / per_day
    head = (f"disk holds {math.floor(days_available)} days of recordings for {_fleet(bitrates)}; "
            f"{months} need {days_needed} days")
    if available < needed:
        fits = available / needed
        rates = list(bitrates.values())
        if min(rates) == max(rates):
            lower = f"lower bitrates to {math.floor(rates[0] * fits / 1e5) / 10:.1f} Mbit/s per camera"
        else:
            lower = f"lower bitrates by {math.ceil((1 - fits) * 100)}%"
        message = f"{head}: add {format_bytes(needed - available)} or {lower}"
        return CapacityReport(False, needed, available, message, days_available, days_needed)
    message = head
    if policy.max_months is None:
        message += "; no maximum retention is set, so nothing is purged and the disk fills in " \
                   f"{math.floor(days_available)} days"
    else:
        max_days = retention_days(policy.max_months, now, policy.timezone)
        if days_available < max_days:
            # Under pressure only segments past the maximum are purged, so the
            # disk would fill in the window between minimum and maximum.
            message += (f"; warning: the maximum of {policy.max_months} months needs {max_days} days, "
                        f"so the disk fills before the purge frees space")
    return CapacityReport(True, needed, available, message, days_available, days_needed)


class Pressure(StrEnum):
    OK = "ok"
    PURGE = "purge-allowed"
    CRITICAL = "critical"


@dataclass(frozen=True)
class Decision:
    """What to do about disk space. ``purge_bytes`` never exceeds what the caller called deletable."""

    level: Pressure
    days_left: float  # until the reserve is reached, after any allowed purge
    days_to_full: float  # until no space is left at all, after any allowed purge
    purge_bytes: int
    message: str


def _fmt_days(days: float) -> str:
    return "never (nothing records)" if math.isinf(days) else f"{days:.1f} days"


def disk_pressure(
    free_bytes: int,
    reserve_bytes: int,
    deletable_bytes: int,
    forecast: Forecast,
    critical_days: float = 7.0,
) -> Decision:
    """OK, purge-allowed (only what is past the maximum retention) or CRITICAL.

    ``deletable_bytes`` must count only segments past the maximum retention and
    not held; the decision never frees more than that, whatever the pressure.
    """
    for name, value in (("free_bytes", free_bytes), ("reserve_bytes", reserve_bytes),
                        ("deletable_bytes", deletable_bytes), ("critical_days", critical_days)):
        _non_negative(name, value)
    per_day = forecast.bytes_per_day
    now_days = _days(free_bytes - reserve_bytes, per_day)
    after = _days(free_bytes + deletable_bytes - reserve_bytes, per_day)
    to_full = _days(free_bytes + deletable_bytes, per_day)
    if free_bytes > reserve_bytes and now_days >= critical_days:
        return Decision(Pressure.OK, now_days, _days(free_bytes, per_day), 0,
                        f"ok: {_fmt_days(now_days)} until the reserve is reached")
    if deletable_bytes > 0 and after >= critical_days:
        return Decision(Pressure.PURGE, after, to_full, int(deletable_bytes),
                        f"low space: {_fmt_days(now_days)} until the reserve; purging "
                        f"{format_bytes(deletable_bytes)} past the maximum retention gives {_fmt_days(after)}")
    freed = (f"even after purging {format_bytes(deletable_bytes)} past the maximum retention, "
             if deletable_bytes > 0 else "")
    where = "free space is below the reserve" if after <= 0 else f"the reserve is reached in {_fmt_days(after)}"
    return Decision(
        Pressure.CRITICAL, after, to_full, int(deletable_bytes),
        f"CRITICAL: {freed}{where} and the disk will fill in {_fmt_days(to_full)}; nothing deletable "
        f"is old enough and recordings younger than the minimum retention are kept: "
        f"add storage or lower bitrates",
    )
