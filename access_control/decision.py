"""Grant or deny one card presented at one gate: a pure function of local data.

Everything the decision needs is passed in (the credential cache, the
passback record, the gate's policy, the time), so a gate decides the same way
whether or not the controller is reachable.

Checks run in a fixed order and the first failure is the reason:

1. the gate is open for evacuation (fire, or power loss on a fail-safe gate):
   ``gate_fail_safe_open``, granted, nothing else checked;
2. ``unknown_card``; ``badge_revoked``; ``badge_not_yet_valid``; ``badge_expired``;
3. ``person_disabled``; ``not_allowed_on_gate``;
4. entry only: ``no_training`` / ``training_expired`` for roles that need it,
   then ``outside_schedule``. Exits skip these on purpose: a lapse while
   inside must never trap someone on the floor;
5. passback: ``passback_denied``, or ``passback_soft`` (granted, with alarm);
6. ``granted``.

Dates (badge validity, training) are site-local days; ``now`` must be aware.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Final, Literal, get_args
from zoneinfo import ZoneInfo

from .alarms import PASSBACK, Alarm
from .credentials import CredentialDB, training_status
from .passback import PassbackPolicy, PresenceState, areas_for, check
from .schedule import Schedule, require_aware

__all__ = [
    "DENIAL_REASONS",
    "GRANT_REASONS",
    "AccessRequest",
    "Decision",
    "Direction",
    "GatePolicy",
    "Reason",
    "decide",
]

Direction = Literal["entry", "exit"]
Reason = Literal[
    "granted",
    "passback_soft",
    "gate_fail_safe_open",
    "unknown_card",
    "badge_revoked",
    "badge_not_yet_valid",
    "badge_expired",
    "person_disabled",
    "not_allowed_on_gate",
    "no_training",
    "training_expired",
    "outside_schedule",
    "passback_denied",
]
GRANT_REASONS: Final = frozenset({"granted", "passback_soft", "gate_fail_safe_open"})
DENIAL_REASONS: Final = frozenset(get_args(Reason)) - GRANT_REASONS


@dataclass(frozen=True)
class AccessRequest:
    """A card presented at ``gate_id`` for ``direction``.

    ``fail_safe_open`` is the gate's own report that it stands open for
    evacuation; the I/O layer reads it from the gate state machine.
    """

    gate_id: str
    direction: Direction
    credential: str
    fail_safe_open: bool = False

    def __post_init__(self) -> None:
        if self.direction not in ("entry", "exit"):
            raise ValueError(f"direction must be 'entry' or 'exit', got {self.direction!r}")


def _frozen(mapping: Mapping[str, Schedule]) -> Mapping[str, Schedule]:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True)
class GatePolicy:
    """What one gate enforces; built by the edge agent from the site file and controller settings.

    ``allowed_roles=None`` lets every role through; ``allowed_people`` are let
    through regardless of role. A person schedule replaces the role schedule;
    with neither, there is no time restriction.
    """

    gate_id: str
    area_in: str
    area_out: str
    timezone: str = "UTC"
    passback: PassbackPolicy = PassbackPolicy()
    training_roles: frozenset[str] = frozenset({"annotator"})
    allowed_roles: frozenset[str] | None = None
    allowed_people: frozenset[str] = frozenset()
    role_schedules: Mapping[str, Schedule] = field(default_factory=dict)
    person_schedules: Mapping[str, Schedule] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.area_in == self.area_out:
            raise ValueError("area_in and area_out must differ")
        ZoneInfo(self.timezone)  # fail at configuration time, not at the first card
        object.__setattr__(self, "training_roles", frozenset(self.training_roles))
        object.__setattr__(self, "allowed_people", frozenset(self.allowed_people))
        if self.allowed_roles is not None:
            object.__setattr__(self, "allowed_roles", frozenset(self.allowed_roles))
        object.__setattr__(self, "role_schedules", _frozen(self.role_schedules))
        object.__setattr__(self, "person_schedules", _frozen(self.person_schedules))

    def schedule_for(self, person_id: str, role: str) -> Schedule | None:
        return self.person_schedules.get(person_id) or self.role_schedules.get(role)


@dataclass(frozen=True)
class Decision:
    granted: bool
    reason: Reason
    alarms: tuple[Alarm, ...] = ()
    person_id: str | None = None


def _deny(reason: Reason, person_id: str | None = None, alarms: tuple[Alarm, ...] = ()) -> Decision:
    return Decision(False, reason, alarms, person_id)


def decide(
    request: AccessRequest,
    credentials: CredentialDB,
    presence: PresenceState,
    policy: GatePolicy,
    now: datetime,
) -> Decision:
    """Grant or deny ``request``; see the module docstring for the order of checks."""
    require_aware("now", now)
    if request.gate_id != policy.gate_id:
        raise ValueError(f"request for gate {request.gate_id!r} checked against policy of {policy.gate_id!r}")
    badge = credentials.find_badge(request.credential)
    person = credentials.people.get(badge.person_id) if badge is not None else None

    if request.fail_safe_open:
        return Decision(True, "gate_fail_safe_open", (), person.id if person else None)
    if badge is None or person is None:
        return _deny("unknown_card")

    today = now.astimezone(ZoneInfo(policy.timezone)).date()
    if badge.revoked:
        return _deny("badge_revoked", person.id)
    if badge.valid_from is not None and today < badge.valid_from:
        return _deny("badge_not_yet_valid", person.id)
    if badge.valid_until is not None and today > badge.valid_until:
        return _deny("badge_expired", person.id)
    if not person.enabled:
        return _deny("person_disabled", person.id)
    if not (policy.allowed_roles is None or person.role in policy.allowed_roles or person.id in policy.allowed_people):
        return _deny("not_allowed_on_gate", person.id)

    if request.direction == "entry":
        if person.role in policy.training_roles:
            trained = training_status(person.training, today)
            if trained != "current":
                return _deny("no_training" if trained == "none" else "training_expired", person.id)
        schedule = policy.schedule_for(person.id, person.role)
        if schedule is not None and not schedule.allows(now, policy.timezone):
            return _deny("outside_schedule", person.id)

    from_area, to_area = areas_for(request.direction, policy.area_in, policy.area_out)
    verdict = check(presence, person.id, from_area, to_area, policy.passback, now)
    if verdict.outcome == "ok":
        return Decision(True, "granted", (), person.id)
    assert verdict.recorded is not None
    alarm = Alarm(
        PASSBACK,
        policy.gate_id,
        person_id=person.id,
        direction=request.direction,
        detail=f"recorded in {verdict.recorded.area} since {verdict.recorded.since.isoformat()}",
    )
    if verdict.outcome == "soft":
        return Decision(True, "passback_soft", (alarm,), person.id)
    return _deny("passback_denied", person.id, (alarm,))
