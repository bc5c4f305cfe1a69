"""Anti-passback per area: a badge may only leave the area its holder is recorded in.

Areas are shared by several gates, so the record is per person, not per gate:
entering floor3 through gate-main and then presenting the same badge at
gate-side into floor3 again is passback (the card was handed back over the
gate). A person with no record is neutral and may pass anywhere.

Modes: ``off``; ``hard`` (deny); ``soft`` (allow, raise an alarm); ``timed``
(deny, but a record older than ``timeout`` no longer counts, so the person is
neutral again). Exempt people are never checked. An officer's ``reset`` makes
everyone, or one person, neutral.

The record moves only on a *completed* passage (``record_passage``): a grant
that nobody walks through must not place the person on the other side.
All functions are pure; time is an aware ``datetime``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Literal

from .schedule import require_aware

__all__ = [
    "PassbackMode",
    "PassbackPolicy",
    "PassbackResult",
    "Presence",
    "PresenceState",
    "areas_for",
    "check",
    "record_passage",
    "reset",
]

PassbackMode = Literal["off", "hard", "soft", "timed"]
_MODES = ("off", "hard", "soft", "timed")


@dataclass(frozen=True)
class PassbackPolicy:
    mode: PassbackMode = "hard"
    timeout: timedelta | None = None  # only for ``timed``
    exempt: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if self.mode not in _MODES:
            raise ValueError(f"unknown passback mode {self.mode!r} (known: {', '.join(_MODES)})")
        if self.mode == "timed":
            if self.timeout is None or self.timeout <= timedelta(0):
                raise ValueError("timed passback needs a positive timeout")
        elif self.timeout is not None:
            raise ValueError(f"timeout only applies to timed passback, not {self.mode!r}")
        object.__setattr__(self, "exempt", frozenset(self.exempt))


@dataclass(frozen=True)
class Presence:
    """Where a person was last seen going: the area, since when, through which gate."""

    area: str
    since: datetime
    gate_id: str | None = None


@dataclass(frozen=True)
class PresenceState:
    """Immutable map person id -> ``Presence``; people not in it are neutral."""

    entries: Mapping[str, Presence] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "entries", MappingProxyType(dict(self.entries)))

    def __hash__(self) -> int:
        return hash(frozenset(self.entries.items()))

    def get(self, person_id: str) -> Presence | None:
        return self.entries.get(person_id)

    def __contains__(self, person_id: object) -> bool:
        return person_id in self.entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def in_area(self, area: str) -> frozenset[str]:
        """Everyone recorded in ``area`` (for a roll call; timed records are not aged here)."""
        return frozenset(p for p, presence in self.entries.items() if presence.area == area)


@dataclass(frozen=True)
class PassbackResult:
    """``ok``: may pass; ``denied``: hard/timed violation; ``soft``: may pass, with an alarm."""

    outcome: Literal["ok", "denied", "soft"]
    recorded: Presence | None = None

    @property
    def allowed(self) -> bool:
        return self.outcome != "denied"


def areas_for(direction: str, area_in: str, area_out: str) -> tuple[str, str]:
    """``(from_area, to_area)`` for a passage: entry goes area_out -> area_in."""
    if direction == "entry":
        return area_out, area_in
    if direction == "exit":
        return area_in, area_out
    raise ValueError(f"direction must be 'entry' or 'exit', got {direction!r}")


def _effective(presence: Presence | None, policy: PassbackPolicy, now: datetime) -> Presence | None:
    if presence is None:
        return None
    if policy.mode == "timed" and policy.timeout is not None and now - presence.since >= policy.timeout:
        return None
    return presence


def check(
    state: PresenceState,
    person_id: str,
    from_area: str,
    to_area: str,
    policy: PassbackPolicy,
    now: datetime,
) -> PassbackResult:
    """May ``person_id`` pass from ``from_area`` to ``to_area`` now?

    A violation is a record in any area other than ``from_area``: already in
    ``to_area`` (card handed back), or somewhere the person never left.
    """
    require_aware("now", now)
    if from_area == to_area:
        raise ValueError("a passage must change area")
    if policy.mode == "off" or person_id in policy.exempt:
        return PassbackResult("ok")
    recorded = _effective(state.get(person_id), policy, now)
    if recorded is None or recorded.area == from_area:
        return PassbackResult("ok", recorded)
    return PassbackResult("soft" if policy.mode == "soft" else "denied", recorded)


def record_passage(
    state: PresenceState, person_id: str, to_area: str, now: datetime, gate_id: str | None = None
) -> PresenceState:
    """The state after ``person_id`` completed a passage into ``to_area``."""
    require_aware("now", now)
    entries = dict(state.entries)
    entries[person_id] = Presence(to_area, now, gate_id)
    return PresenceState(entries)


def reset(state: PresenceState, person_id: str | None = None) -> PresenceState:
    """Officer reset: everyone neutral, or only ``person_id``."""
    if person_id is None:
        return PresenceState()
    if person_id not in state.entries:
        return state
    entries = dict(state.entries)
    del entries[person_id]
    return PresenceState(entries)
