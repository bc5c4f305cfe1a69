"""The gate (turnstile / speed gate / door) as an event-driven state machine.

``step(config, state, event)`` returns the next state plus everything the I/O
layer must do (``commands``), report to officers (``alarms``) and log
(``events``); it never touches hardware. Time is float seconds on a monotonic
clock, carried by every event, so a missed tick cannot stretch an unlock: each
event first applies every timeout that has fallen due.

Rules (pulse mode, as on PERCO-style turnstiles):

* a grant unlocks exactly one direction for ``open_seconds`` or until ONE
  passage in that direction, whichever comes first, then relocks;
* no passage before the deadline: relock and log ``GrantedNoEntry``. If the
  leaf is still open at the deadline the lock re-engages anyway and the person
  in the lane may still complete the granted passage until the leaf closes;
* a passage, or a leaf opening, without a grant is ``door_forced``;
* an authorised opening left open past ``open_seconds + held_grace_s`` is
  ``door_held``;
* two or more bodies in the lane during a grant cancel it (``tailgating``);
* a person holds one passage at a time: once they pass one gate, their open
  grant at any other gate is withdrawn (``Withdraw``), else a second body
  could go through on it under their name;
* the fire input opens both directions whatever the fail mode; power loss
  opens a fail-safe gate and leaves a fail-secure gate locked;
* a release (an evacuation or a drill, commanded by the site) opens both
  directions like the fire input, without a fire alarm; ending it relocks
  unless the fire input or power loss still holds the gate open.

Modes (``state.mode``): locked, unlocked, passing, held_open, forced,
fail_safe_open.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Literal

from .alarms import DOOR_FORCED, DOOR_HELD, FIRE_ALARM, POWER_LOST, TAILGATING, TAMPER, Alarm

__all__ = [
    "AlarmCleared",
    "AlarmOutput",
    "BeamCount",
    "Buzzer",
    "Command",
    "Deny",
    "FireAlarm",
    "GateConfig",
    "GateEvent",
    "GateState",
    "Grant",
    "GrantCancelled",
    "GrantRefused",
    "GrantedNoEntry",
    "LeafClosed",
    "LeafOpen",
    "Led",
    "Output",
    "Passage",
    "PassageComplete",
    "PendingGrant",
    "Power",
    "Relock",
    "Release",
    "Step",
    "Tamper",
    "Tick",
    "Unlock",
    "Withdraw",
    "step",
]

Direction = Literal["entry", "exit"]
Sides = Literal["entry", "exit", "both"]
Mode = Literal["locked", "unlocked", "passing", "held_open", "forced", "fail_safe_open"]


def _check_direction(direction: str) -> None:
    if direction not in ("entry", "exit"):
        raise ValueError(f"direction must be 'entry' or 'exit', got {direction!r}")


@dataclass(frozen=True)
class GateConfig:
    gate_id: str
    open_seconds: float = 5.0
    held_grace_s: float = 10.0
    fail_mode: Literal["safe", "secure"] = "secure"
    alarm_pulse_s: float = 10.0  # siren pulse for a momentary event (forced passage)
    deny_feedback_s: float = 2.0

    def __post_init__(self) -> None:
        if self.fail_mode not in ("safe", "secure"):
            raise ValueError(f"fail_mode must be 'safe' or 'secure', got {self.fail_mode!r}")
        for name in ("open_seconds", "alarm_pulse_s", "deny_feedback_s"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive")
        if not self.held_grace_s >= 0:
            raise ValueError("held_grace_s must not be negative")


# --- inputs ---------------------------------------------------------------


@dataclass(frozen=True)
class Grant:
    """The decision granted ``person_id`` one passage in ``direction``."""

    now: float
    direction: Direction
    person_id: str | None = None


@dataclass(frozen=True)
class Deny:
    """The decision refused a card: reader feedback only."""

    now: float
    reason: str = ""


@dataclass(frozen=True)
class PassageComplete:
    """The rotor / lane sensors report one person fully through in ``direction``."""

    now: float
    direction: Direction


@dataclass(frozen=True)
class BeamCount:
    """The lane's beam array sees ``count`` bodies in the lane right now."""

    now: float
    count: int


@dataclass(frozen=True)
class LeafOpen:
    now: float


@dataclass(frozen=True)
class LeafClosed:
    now: float


@dataclass(frozen=True)
class Tick:
    now: float


@dataclass(frozen=True)
class FireAlarm:
    now: float
    on: bool


@dataclass(frozen=True)
class Power:
    now: float
    on: bool


@dataclass(frozen=True)
class Tamper:
    now: float


@dataclass(frozen=True)
class Withdraw:
    """``person_id``'s pending grant here, if any, is void (they went through another gate)."""

    now: float
    person_id: str
    reason: str = "passed_elsewhere"


@dataclass(frozen=True)
class Release:
    """The site releases the gate for an evacuation or a drill (``on``), or ends that release."""

    now: float
    on: bool


GateEvent = (Grant | Deny | PassageComplete | BeamCount | LeafOpen | LeafClosed | Tick | FireAlarm | Power | Tamper
             | Release
             | Withdraw)

# --- commands for the I/O layer ------------------------------------------


@dataclass(frozen=True)
class Unlock:
    """Release the lock for ``direction``; ``seconds`` is the device-side relock timer (None: until Relock)."""

    direction: Sides
    seconds: float | None


@dataclass(frozen=True)
class Relock:
    direction: Sides


@dataclass(frozen=True)
class AlarmOutput:
    """The siren / alarm relay; ``seconds=None`` keeps it on until switched off."""

    on: bool
    seconds: float | None = None


@dataclass(frozen=True)
class Led:
    colour: Literal["red", "green", "amber", "off"]
    seconds: float | None = None  # None: steady until the next Led command
    flash: bool = False


@dataclass(frozen=True)
class Buzzer:
    tone: Literal["short", "deny", "alarm", "off"]


Command = Unlock | Relock | AlarmOutput | Led | Buzzer

# --- log events -------------------------------------------------------------


@dataclass(frozen=True)
class Passage:
    """One person went through. ``cause``: ``grant`` (consumed a grant), ``forced``, ``fail_safe``."""

    gate_id: str
    direction: Direction
    person_id: str | None
    cause: Literal["grant", "forced", "fail_safe"]

    @property
    def authorized(self) -> bool:
        return self.cause == "grant"


@dataclass(frozen=True)
class GrantedNoEntry:
    gate_id: str
    direction: Direction
    person_id: str | None


@dataclass(frozen=True)
class GrantRefused:
    """The gate could not act on a grant (``busy``, ``leaf_open``, ``power_lost``, ``fail_safe_open``)."""

    gate_id: str
    direction: Direction
    person_id: str | None
    reason: str


@dataclass(frozen=True)
class GrantCancelled:
    """A pending grant was withdrawn (``tailgating``, ``fire_alarm``, ``power_lost``, ``released``, ``passed_elsewhere``)."""

    gate_id: str
    direction: Direction
    person_id: str | None
    reason: str


@dataclass(frozen=True)
class AlarmCleared:
    gate_id: str
    kind: str


Output = Passage | GrantedNoEntry | GrantRefused | GrantCancelled | AlarmCleared

# --- state ----------------------------------------------------------------


@dataclass(frozen=True)
class PendingGrant:
    """A grant not yet used; ``unlocked`` while the lock is released (until ``deadline``)."""

    direction: Direction
    person_id: str | None
    deadline: float
    unlocked: bool = True


@dataclass(frozen=True)
class GateState:
    mode: Mode = "locked"
    clock: float = float("-inf")
    grant: PendingGrant | None = None
    leaf_open: bool = False
    held_at: float | None = None  # when an authorised open leaf becomes door_held
    forced: bool = False  # leaf opened without a grant and not closed since
    held: bool = False  # door_held raised and leaf not closed since
    fire: bool = False
    power: bool = True
    released: bool = False  # an evacuation or drill holds both directions open

    @property
    def unlocked_direction(self) -> Sides | None:
        """What the lock currently releases, as commanded."""
        if self.mode == "fail_safe_open":
            return "both"
        if self.grant is not None and self.grant.unlocked:
            return self.grant.direction
        return None


@dataclass(frozen=True)
class Step:
    state: GateState
    commands: tuple[Command, ...] = ()
    alarms: tuple[Alarm, ...] = ()
    events: tuple[Output, ...] = ()


class _Out:
    def __init__(self) -> None:
        self.commands: list[Command] = []
        self.alarms: list[Alarm] = []
        self.events: list[Output] = []


def _fail_safe(config: GateConfig, s: GateState) -> bool:
    return s.fire or s.released or (not s.power and config.fail_mode == "safe")


def _mode(config: GateConfig, s: GateState) -> Mode:
    if _fail_safe(config, s):
        return "fail_safe_open"
    if s.forced:
        return "forced"
    if s.held:
        return "held_open"
    if s.leaf_open and (s.grant is not None or s.held_at is not None):
        return "passing"
    if s.grant is not None:
        return "unlocked"
    return "locked"


def _relock(s: GateState, out: _Out) -> GateState:
    """Re-engage the lock of the pending grant, if it is still released."""
    if s.grant is None or not s.grant.unlocked:
        return s
    out.commands += [Relock(s.grant.direction), Led("red")]
    return replace(s, grant=replace(s.grant, unlocked=False))


def _clear_alarms(config: GateConfig, s: GateState, out: _Out) -> GateState:
    if not (s.forced or s.held):
        return s
    out.commands += [AlarmOutput(False), Buzzer("off")]
    if s.forced:
        out.events.append(AlarmCleared(config.gate_id, DOOR_FORCED))
    if s.held:
        out.events.append(AlarmCleared(config.gate_id, DOOR_HELD))
    return replace(s, forced=False, held=False)


def _expire(config: GateConfig, s: GateState, now: float, out: _Out) -> GateState:
    g = s.grant
    if g is not None and now >= g.deadline:
        s = _relock(s, out)
        if not s.leaf_open:
            out.events.append(GrantedNoEntry(config.gate_id, g.direction, g.person_id))
            s = replace(s, grant=None)
    if s.leaf_open and s.held_at is not None and not s.held and not s.forced and now >= s.held_at:
        who = s.grant.person_id if s.grant else None
        out.alarms.append(Alarm(DOOR_HELD, config.gate_id, person_id=who, detail="leaf left open"))
        out.commands += [AlarmOutput(True), Buzzer("alarm")]
        s = replace(s, held=True)
    return s


def _enter_fail_safe(config: GateConfig, s: GateState, reason: str, out: _Out) -> GateState:
    if s.grant is not None:
        g = s.grant
        out.events.append(GrantCancelled(config.gate_id, g.direction, g.person_id, reason))
    s = _clear_alarms(config, s, out)
    out.commands += [Unlock("both", None), Led("amber")]
    return replace(s, grant=None, held_at=None)


def _leave_fail_safe(config: GateConfig, s: GateState, now: float, out: _Out) -> GateState:
    out.commands += [Relock("both"), Led("red")]
    # A leaf still open (people clearing the lane) gets the usual time to close.
    return replace(s, held_at=now + config.open_seconds + config.held_grace_s if s.leaf_open else None)


def _deny_feedback(config: GateConfig, out: _Out) -> None:
    out.commands += [Led("red", config.deny_feedback_s, flash=True), Buzzer("deny")]


def _on_grant(config: GateConfig, s: GateState, e: Grant, now: float, out: _Out) -> GateState:
    _check_direction(e.direction)
    if _fail_safe(config, s):
        reason = "fail_safe_open"
    elif not s.power:
        reason = "power_lost"
    elif s.grant is not None:
        reason = "busy"
    elif s.leaf_open:
        reason = "leaf_open"
    else:
        out.commands += [
            Unlock(e.direction, config.open_seconds),
            Led("green", config.open_seconds),
            Buzzer("short"),
        ]
        return replace(s, grant=PendingGrant(e.direction, e.person_id, now + config.open_seconds))
    out.events.append(GrantRefused(config.gate_id, e.direction, e.person_id, reason))
    if reason != "fail_safe_open":
        _deny_feedback(config, out)
    return s


def _on_passage(config: GateConfig, s: GateState, e: PassageComplete, out: _Out) -> GateState:
    _check_direction(e.direction)
    if _fail_safe(config, s):
        out.events.append(Passage(config.gate_id, e.direction, None, "fail_safe"))
        return s
    g = s.grant
    if g is not None and g.direction == e.direction:
        s = _relock(s, out)
        out.events.append(Passage(config.gate_id, e.direction, g.person_id, "grant"))
        return replace(s, grant=None)
    out.events.append(Passage(config.gate_id, e.direction, None, "forced"))
    if s.forced:
        return s  # the passage through a leaf already reported as forced: one intrusion, one alarm
    out.alarms.append(Alarm(DOOR_FORCED, config.gate_id, direction=e.direction, detail="passage without grant"))
    out.commands.append(AlarmOutput(True, config.alarm_pulse_s))
    return s


def _on_beams(config: GateConfig, s: GateState, e: BeamCount, out: _Out) -> GateState:
    if not isinstance(e.count, int) or e.count < 0:
        raise ValueError(f"beam count must be a non-negative integer, got {e.count!r}")
    g = s.grant
    if _fail_safe(config, s) or g is None or e.count < 2:
        return s
    # One person per grant: a second body in the lane closes it for both.
    if g.unlocked:
        out.commands.append(Relock(g.direction))
    out.commands += [Led("red"), Buzzer("alarm"), AlarmOutput(True, config.alarm_pulse_s)]
    out.alarms.append(
        Alarm(
            TAILGATING,
            config.gate_id,
            person_id=g.person_id,
            direction=g.direction,
            count=e.count,
            expected=1,
            detail="lane",
        )
    )
    out.events.append(GrantCancelled(config.gate_id, g.direction, g.person_id, "tailgating"))
    return replace(s, grant=None)


def _on_withdraw(config: GateConfig, s: GateState, e: Withdraw, out: _Out) -> GateState:
    g = s.grant
    if g is None or g.person_id != e.person_id:
        return s
    s = _relock(s, out)
    out.events.append(GrantCancelled(config.gate_id, g.direction, g.person_id, e.reason))
    # A leaf already swinging keeps its held timer; nobody may complete the passage on this grant.
    return replace(s, grant=None)


def _on_leaf_open(config: GateConfig, s: GateState, now: float, out: _Out) -> GateState:
    if s.leaf_open:
        return s
    s = replace(s, leaf_open=True)
    if _fail_safe(config, s):
        return s
    if s.grant is not None:
        return replace(s, held_at=now + config.open_seconds + config.held_grace_s)
    out.alarms.append(Alarm(DOOR_FORCED, config.gate_id, detail="leaf opened without grant"))
    out.commands += [AlarmOutput(True), Buzzer("alarm")]
    return replace(s, forced=True)


def _on_leaf_closed(config: GateConfig, s: GateState, out: _Out) -> GateState:
    if not s.leaf_open:
        return s
    s = _clear_alarms(config, replace(s, leaf_open=False, held_at=None), out)
    g = s.grant
    if g is not None and not g.unlocked:
        # Deadline passed while the leaf stood open and nobody went through.
        out.events.append(GrantedNoEntry(config.gate_id, g.direction, g.person_id))
        s = replace(s, grant=None)
    return s


def _on_fire(config: GateConfig, s: GateState, e: FireAlarm, now: float, out: _Out) -> GateState:
    if e.on == s.fire:
        return s
    was_open = _fail_safe(config, s)
    s = replace(s, fire=e.on)
    if e.on:
        out.alarms.append(Alarm(FIRE_ALARM, config.gate_id, detail="fire input: both directions open"))
        return s if was_open else _enter_fail_safe(config, s, "fire_alarm", out)
    out.events.append(AlarmCleared(config.gate_id, FIRE_ALARM))
    return s if _fail_safe(config, s) else _leave_fail_safe(config, s, now, out)


def _on_release(config: GateConfig, s: GateState, e: Release, now: float, out: _Out) -> GateState:
    if e.on == s.released:
        return s
    was_open = _fail_safe(config, s)
    s = replace(s, released=e.on)
    if e.on:
        return s if was_open else _enter_fail_safe(config, s, "released", out)
    return s if _fail_safe(config, s) else _leave_fail_safe(config, s, now, out)


def _on_power(config: GateConfig, s: GateState, e: Power, now: float, out: _Out) -> GateState:
    if e.on == s.power:
        return s
    was_open = _fail_safe(config, s)
    s = replace(s, power=e.on)
    if e.on:
        out.events.append(AlarmCleared(config.gate_id, POWER_LOST))
        return _leave_fail_safe(config, s, now, out) if was_open and not _fail_safe(config, s) else s
    detail = "fail-safe: both directions open" if config.fail_mode == "safe" else "fail-secure: locked"
    out.alarms.append(Alarm(POWER_LOST, config.gate_id, detail=detail))
    if _fail_safe(config, s):
        return s if was_open else _enter_fail_safe(config, s, "power_lost", out)
    if s.grant is not None:
        # An unpowered fail-secure lock is engaged: the grant cannot be used.
        g = s.grant
        s = _relock(s, out)
        out.events.append(GrantCancelled(config.gate_id, g.direction, g.person_id, "power_lost"))
        s = replace(s, grant=None)
    return s


def step(config: GateConfig, state: GateState, event: GateEvent) -> Step:
    """Apply ``event`` to ``state``; returns the new state and the outputs, in execution order."""
    if not isinstance(event, GateEvent):
        raise TypeError(f"not a gate event: {event!r}")
    if not math.isfinite(event.now):
        raise ValueError(f"event time must be a finite number of seconds, got {event.now!r}")
    # A clock that steps back must not re-open time already spent on a grant.
    now = max(float(event.now), state.clock)
    out = _Out()
    s = _expire(config, replace(state, clock=now), now, out)
    if isinstance(event, Grant):
        s = _on_grant(config, s, event, now, out)
    elif isinstance(event, PassageComplete):
        s = _on_passage(config, s, event, out)
    elif isinstance(event, BeamCount):
        s = _on_beams(config, s, event, out)
    elif isinstance(event, LeafOpen):
        s = _on_leaf_open(config, s, now, out)
    elif isinstance(event, LeafClosed):
        s = _on_leaf_closed(config, s, out)
    elif isinstance(event, FireAlarm):
        s = _on_fire(config, s, event, now, out)
    elif isinstance(event, Power):
        s = _on_power(config, s, event, now, out)
    elif isinstance(event, Release):
        s = _on_release(config, s, event, now, out)
    elif isinstance(event, Withdraw):
        s = _on_withdraw(config, s, event, out)
    elif isinstance(event, Tamper):
        out.alarms.append(Alarm(TAMPER, config.gate_id, detail="reader or cabinet tamper switch"))
    elif isinstance(event, Deny):
        _deny_feedback(config, out)
    s = replace(s, mode=_mode(config, s))
    return Step(s, tuple(out.commands), tuple(out.alarms), tuple(out.events))
