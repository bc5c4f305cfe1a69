"""The one alarm record every access-control decision and state machine emits.

An alarm is something a security officer must look at (a door forced, a badge
passed back); routine outcomes such as a denial for an unknown card are not
alarms, they are decisions the caller logs. Alarms carry no timestamp: each
module keeps its own clock type, and the shell that executes the outputs stamps
them when it forwards them to the controller.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = [
    "ALARM_KINDS",
    "Alarm",
    "DOOR_FORCED",
    "DOOR_HELD",
    "FIRE_ALARM",
    "PASSBACK",
    "POWER_LOST",
    "TAILGATING",
    "TAMPER",
]

PASSBACK: Final = "passback"
DOOR_FORCED: Final = "door_forced"
DOOR_HELD: Final = "door_held"
TAILGATING: Final = "tailgating"
TAMPER: Final = "tamper"
FIRE_ALARM: Final = "fire_alarm"
POWER_LOST: Final = "power_lost"

ALARM_KINDS: Final = frozenset({PASSBACK, DOOR_FORCED, DOOR_HELD, TAILGATING, TAMPER, FIRE_ALARM, POWER_LOST})


@dataclass(frozen=True)
class Alarm:
    """One alarm at one gate.

    ``count``/``expected`` say how many passages or persons were seen against
    how many grants (tailgating); ``window`` is the span, in the detector's
    clock, the counts refer to; ``detail`` is a short human-readable remark.
    """

    kind: str
    gate_id: str
    person_id: str | None = None
    direction: str | None = None
    count: int | None = None
    expected: int | None = None
    window: tuple[float, float] | None = None
    detail: str = ""

    def __post_init__(self) -> None:
        if self.kind not in ALARM_KINDS:
            raise ValueError(f"unknown alarm kind {self.kind!r} (known: {', '.join(sorted(ALARM_KINDS))})")
