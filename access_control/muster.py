"""Evacuation drills and their muster, as pure decisions over plain data.

A fire or evacuation drill releases every gate lane; the muster is the roll of who was inside
(by area, from the gates' presence) when it began. People are marked safe by a badge read at a
released lane or a muster point, or by an officer; whoever is on the roll and not safe is
missing. The site is accounted for at the moment the last person on the roll was marked safe.
Ending a drill relocks the lanes and resets anti-passback for everyone on the roll.

Nothing here reads a clock or a database: times are aware ``datetime`` values passed in.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from types import MappingProxyType
from typing import Any, Literal

from .schedule import require_aware

__all__ = [
    "DRILL_SCENARIOS",
    "PLAN_KINDS",
    "Muster",
    "SafeMark",
    "accounted_at",
    "board",
    "checklist_from_plan",
    "inside_areas",
    "lane_released",
    "mark_safe",
    "roll_call",
    "tick",
]

# The emergencies a site keeps a plan for, and those a drill rehearses by releasing the gates.
PLAN_KINDS = ("fire", "evacuation", "power_loss", "intrusion", "data_leak")
DRILL_SCENARIOS = ("fire", "evacuation")

How = Literal["badge", "officer"]


@dataclass(frozen=True)
class SafeMark:
    at: datetime
    how: How
    where: str  # the gate whose reader saw the badge, or the officer who marked the person


@dataclass(frozen=True)
class Muster:
    """The roll (person -> the area they were in when the drill began) and who is safe."""

    started_at: datetime
    roll: Mapping[str, str] = field(default_factory=dict)
    safe: Mapping[str, SafeMark] = field(default_factory=dict)

    def __post_init__(self) -> None:
        require_aware("started_at", self.started_at)
        object.__setattr__(self, "roll", MappingProxyType(dict(self.roll)))
        object.__setattr__(self, "safe", MappingProxyType(dict(self.safe)))

    @property
    def missing(self) -> frozenset[str]:
        return frozenset(p for p in self.roll if p not in self.safe)


def inside_areas(gates: Iterable[tuple[str, str]]) -> frozenset[str]:
    """The areas people are evacuated from: every area a gate leads into (``area_in`` of each
    ``(area_in, area_out)``). An area only ever left into (the street) is the outside."""
    return frozenset(area_in for area_in, _out in gates)


def roll_call(presence: Iterable[tuple[str, str]], inside: frozenset[str]) -> dict[str, str]:
    """``person -> area`` for everyone whose last passage put them in one of the ``inside`` areas."""
    return {person: area for person, area in presence if area in inside}


def mark_safe(m: Muster, person: str, at: datetime, how: How, where: str) -> tuple[Muster, bool]:
    """``person`` reached safety at ``at``; the first mark counts. Someone not on the roll (not
    inside when the drill began) changes nothing. A mark timed before the start (a clock behind)
    counts as at the start. Returns the muster and whether it changed."""
    require_aware("at", at)
    if how not in ("badge", "officer"):
        raise ValueError(f"how must be 'badge' or 'officer', got {how!r}")
    if person not in m.roll or person in m.safe:
        return m, False
    safe = dict(m.safe)
    safe[person] = SafeMark(max(at, m.started_at), how, where)
    return replace(m, safe=safe), True


def accounted_at(m: Muster) -> datetime | None:
    """When everyone on the roll was accounted for (the start, for an empty roll); None while
    anyone is missing."""
    if m.missing:
        return None
    return max((s.at for s in m.safe.values()), default=m.started_at)


def board(m: Muster, names: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The muster board: per area, who was inside, who is safe and who is missing (by name),
    the counts, and the seconds from the start until everyone was accounted for."""
    names = names or {}
    areas: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for person, area in sorted(m.roll.items(), key=lambda kv: (kv[1], kv[0])):
        a = areas.setdefault(area, {"inside": [], "safe": [], "missing": []})
        who: dict[str, Any] = {"person": person, "name": names.get(person, person)}
        a["inside"].append(who)
        mark = m.safe.get(person)
        if mark is None:
            a["missing"].append(who)
        else:
            a["safe"].append({**who, "at": mark.at.isoformat(), "how": mark.how, "where": mark.where})
    done = accounted_at(m)
    return {"areas": areas,
            "counts": {"inside": len(m.roll), "safe": len(m.safe), "missing": len(m.missing)},
            "accounted_at": done.isoformat() if done else None,
            "accounted_s": round((done - m.started_at).total_seconds(), 3) if done else None}


def lane_released(lanes: Mapping[str, Mapping[str, Any]], gate: str, key: str, at: str) -> dict[str, dict[str, Any]]:
    """Lanes (gate -> {"released_at", "relocked_at", ...}) with ``key`` of ``gate`` set to ``at``
    unless already set: the first report of a lane's release or relock is its time."""
    out = {g: dict(v) for g, v in lanes.items()}
    lane = out.setdefault(gate, {})
    if not lane.get(key):
        lane[key] = at
    return out


def checklist_from_plan(items: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """A drill's checklist: the plan's items, none ticked yet."""
    return [{"id": str(i["id"]), "text": dict(i["text"]), "done": False, "by": None, "at": None} for i in items]


def tick(checklist: list[Mapping[str, Any]], item: str, done: bool, by: str, at: datetime) -> list[dict[str, Any]]:
    """The checklist with ``item`` ticked (or unticked) by ``by`` at ``at``; an unknown item is
    a ValueError."""
    require_aware("at", at)
    out = [dict(i) for i in checklist]
    for i in out:
        if i["id"] == item:
            i.update(done=bool(done), by=by if done else None, at=at.isoformat() if done else None)
            return out
    raise ValueError(f"no checklist item {item!r}")
