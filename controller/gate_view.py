"""What the Gates page draws of each lane, and who a tailgate involved. Pure: plain values in,
plain values out."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

OPEN_STATES = frozenset({"unlocked", "passing", "fail_safe_open"})
ALARM_STATES = frozenset({"held_open", "forced"})
# How far around a tailgating alarm the access log is read for the people at that gate.
TAILGATE_WINDOW_S = 20.0


def lane_state(state: str, online: bool, active_alarms: int) -> str:
    """``offline`` (its controller is not answering), ``alarm`` (an alarm of the gate is active,
    or the leaf is held open or forced), ``open`` (a grant, a passage, fail-safe) or ``closed``."""
    if not online:
        return "offline"
    if active_alarms or state in ALARM_STATES:
        return "alarm"
    return "open" if state in OPEN_STATES else "closed"


@dataclass(frozen=True)
class Decision:
    """A badge read at the gate: who, when, granted or not."""
    at: dt.datetime
    person: str | None
    granted: bool | None


def tailgate_people(holder: str | None, raised_at: dt.datetime, decisions: list[Decision],
                    window_s: float = TAILGATE_WINDOW_S) -> tuple[str | None, str | None]:
    """The two people of a tailgate: the one whose grant was used (``holder`` when the alarm
    names them, else the last granted read at the gate before the alarm) and the one who went
    through on it, known only when their own badge was read at that gate around the alarm (a
    denied read just before, typically); None where no badge says who."""
    near = [d for d in decisions
            if d.person and -window_s <= (d.at - raised_at).total_seconds() <= window_s / 4]
    if holder is None:
        granted = [d for d in near if d.granted and d.at <= raised_at]
        holder = max(granted, key=lambda d: d.at).person if granted else None
    others = [d for d in near if d.person != holder]
    follower = min(others, key=lambda d: abs((d.at - raised_at).total_seconds())).person if others else None
    return holder, follower
