"""The OSDP link supervisor as pure state machines: when a gate's PD goes online or offline,
when to try again, and when the bus's line quality is worth a report.

``step(config, state, event)`` takes what the panel adapter observed on one gate's link and
returns the next ``LinkState`` with what the adapter must do (``commands``) and report
(``events``); it never touches libosdp or a socket. ``line_step`` does the same for a bus's
noise counters, and ``Backoff`` spaces the bus's TCP reconnects. Time is float seconds on a
monotonic clock carried by every event; a clock that steps back is held at the last time seen,
so it can neither shorten a backoff nor stretch an online session.

A gate's link has three phases:

* ``idle``: libosdp must not run the PD (left alone, libosdp 3.2.9 parks an offline PD for
  300 s and talks into dead connections). The PD is enabled once TCP is up and the retry time
  has come; a PD that libosdp still runs is disabled again.
* ``connecting``: libosdp's handshake (ID, capabilities, secure channel) runs. It goes online
  when libosdp says so without an offline notification in between; it fails on such a
  notification or after ``handshake_timeout``. A PD that answered but never went online has the
  wrong key or is not in secure mode (``SecureChannelRefused``); a bus where nobody answers at
  all gets a fresh TCP connection (``DropConnection``), the serial server may be wedged.
* ``online``: until TCP drops, libosdp takes the PD offline, or the PD stays silent for
  ``silence_timeout``. Going offline disables the PD (and flushes its queued commands) and
  retries with a doubling backoff, reset by a session that lasted ``stable_s``.

Imports: the standard library only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Literal

from .osdp_line import LineCounts

__all__ = [
    "Backoff",
    "DisablePd",
    "DropConnection",
    "EnablePd",
    "EnableRefused",
    "LineClean",
    "LineConfig",
    "LineNoise",
    "LineState",
    "LineStep",
    "LinkConfig",
    "LinkState",
    "NoAnswer",
    "Observe",
    "ResetConnectBackoff",
    "SecureChannelRefused",
    "Start",
    "Step",
    "Stop",
    "WentOffline",
    "WentOnline",
    "line_step",
    "step",
]

Phase = Literal["idle", "connecting", "online"]

TCP_LOST = "connection lost"
LIBOSDP_OFFLINE = "libosdp took the PD offline (no valid answer or secure channel lost)"
NO_SECURE_CHANNEL = "PD answered but no secure channel was established (wrong SCBK, or the PD is not in secure mode)"
NO_ANSWER_ON_BUS = "no answer from the bus"
STOPPED = "panel stopped"


def _check_time(value: float, name: str = "event time") -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number of seconds, got {value!r}")
    return float(value)


def _check_positive(owner: object, *names: str) -> None:
    for name in names:
        value = getattr(owner, name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0 or math.isinf(value):
            raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")


@dataclass(frozen=True)
class LinkConfig:
    silence_timeout: float = 2.0  # online PD silent this long: offline
    handshake_timeout: float = 4.0  # connecting this long without going online: failed
    retry_min: float = 0.2
    retry_max: float = 30.0
    stable_s: float = 10.0  # an online session longer than this resets the backoff
    disable_settle_s: float = 0.5  # libosdp still runs the PD this long after a disable: send it again

    def __post_init__(self) -> None:
        _check_positive(self, "silence_timeout", "handshake_timeout", "retry_min", "retry_max", "stable_s",
                        "disable_settle_s")
        if self.retry_max < self.retry_min:
            raise ValueError(f"retry_max {self.retry_max} is below retry_min {self.retry_min}")


# --- inputs ---------------------------------------------------------------


@dataclass(frozen=True)
class Observe:
    """One look at the gate's link, taken by the bus supervisor (every tick and on every wake-up)."""

    now: float
    connected: bool  # the bus's TCP connection is up
    pd_online: bool  # libosdp's online bit for this PD
    offline_notes: int  # libosdp "PD offline" notifications for this PD so far (only grows)
    rx_bytes: int  # bytes received on the bus so far (only grows per connection)
    last_rx: float  # when the bus last received a byte
    last_error: str = ""  # why TCP last failed, for the offline reason
    pd_enabled: bool = False  # libosdp runs the PD; read only while idle (``LinkState.reads_pd_enabled``)
    others_online: bool = False  # another gate on the same bus is online


@dataclass(frozen=True)
class EnableRefused:
    """libosdp refused the ``EnablePd`` just asked for: the attempt never started."""

    now: float


@dataclass(frozen=True)
class Start:
    """The panel (re)started; ``enabled`` when libosdp starts the PD's handshake by itself (TCP up)."""

    now: float
    enabled: bool
    offline_notes: int
    rx_bytes: int = 0


@dataclass(frozen=True)
class Stop:
    """The panel stopped: libosdp is gone, nothing is to be sent."""

    now: float


LinkEvent = Observe | EnableRefused | Start | Stop

# --- commands for the adapter ---------------------------------------------


@dataclass(frozen=True)
class EnablePd:
    """Let libosdp run the PD (its handshake starts); answer ``EnableRefused`` if libosdp says no."""


@dataclass(frozen=True)
class DisablePd:
    """Stop libosdp running the PD and flush its queued commands (a stale "open" must never fire
    on a later reconnect)."""


@dataclass(frozen=True)
class DropConnection:
    """Close the bus's TCP connection; it reconnects by itself."""

    reason: str


@dataclass(frozen=True)
class ResetConnectBackoff:
    """A PD came online over this connection: the next TCP reconnect may be quick again."""


Command = EnablePd | DisablePd | DropConnection | ResetConnectBackoff

# --- events for the gate logic and the log ----------------------------------


@dataclass(frozen=True)
class WentOnline:
    pass


@dataclass(frozen=True)
class WentOffline:
    reason: str


@dataclass(frozen=True)
class SecureChannelRefused:
    reason: str


@dataclass(frozen=True)
class NoAnswer:
    """The handshake timed out and the PD sent nothing at all (logged, not reported)."""


Output = WentOnline | WentOffline | SecureChannelRefused | NoAnswer


@dataclass(frozen=True)
class LinkState:
    phase: Phase = "idle"
    clock: float = -math.inf
    retry_at: float = 0.0  # idle: earliest time to enable the PD again
    backoff: float = 0.0  # the last retry delay
    attempt_started: float = 0.0
    attempt_rx: int = 0  # bus bytes received when the attempt began
    attempt_offline_notes: int = 0
    online_since: float = 0.0
    online_offline_notes: int = 0
    disable_requested_at: float = -math.inf
    # counters kept across sessions and restarts
    link_errors: int = 0  # online -> offline while TCP stayed up
    sc_failures: int = 0
    online_total: float = 0.0  # seconds online in finished sessions

    @property
    def online(self) -> bool:
        return self.phase == "online"

    @property
    def reads_pd_enabled(self) -> bool:
        """Whether the next ``Observe`` needs ``pd_enabled`` (asking libosdp takes its lock)."""
        return self.phase == "idle"

    def online_seconds(self, now: float) -> float:
        """Time online so far, the current session included."""
        if self.phase == "online":
            return self.online_total + max(0.0, now - self.online_since)
        return self.online_total


@dataclass(frozen=True)
class Step:
    state: LinkState
    commands: tuple[Command, ...] = ()
    events: tuple[Output, ...] = ()


def _disable(s: LinkState, now: float, commands: list[Command]) -> LinkState:
    commands.append(DisablePd())
    return replace(s, disable_requested_at=now)


def _retry_later(config: LinkConfig, s: LinkState, now: float) -> LinkState:
    backoff = min(max(s.backoff * 2, config.retry_min), config.retry_max)
    return replace(s, phase="idle", backoff=backoff, retry_at=now + backoff)


def _leave_online(s: LinkState, now: float) -> LinkState:
    return replace(s, phase="idle", online_total=s.online_total + max(0.0, now - s.online_since))


def _observe_online(config: LinkConfig, s: LinkState, e: Observe, now: float) -> Step:
    if not e.connected:
        reason, link_error = e.last_error or TCP_LOST, False
    elif e.offline_notes != s.online_offline_notes or not e.pd_online:
        reason, link_error = LIBOSDP_OFFLINE, True
    elif now - e.last_rx > config.silence_timeout:
        reason, link_error = f"PD silent for {now - e.last_rx:.1f} s", True
    else:
        return Step(s)
    commands: list[Command] = []
    s = _leave_online(s, now)
    s = replace(s, link_errors=s.link_errors + link_error)
    s = _disable(s, now, commands)
    # A session that lasted resets the backoff; a flapping link backs off.
    if now - s.online_since > config.stable_s:
        s = replace(s, backoff=0.0)
    return Step(_retry_later(config, s, now), tuple(commands), (WentOffline(reason),))


def _observe_connecting(config: LinkConfig, s: LinkState, e: Observe, now: float) -> Step:
    if not e.connected:
        commands: list[Command] = []
        return Step(_disable(replace(s, phase="idle"), now, commands), tuple(commands))
    notified = e.offline_notes != s.attempt_offline_notes
    if e.pd_online and not notified:
        s = replace(s, phase="online", online_since=now, online_offline_notes=e.offline_notes)
        return Step(s, (ResetConnectBackoff(),), (WentOnline(),))
    if not notified and now - s.attempt_started <= config.handshake_timeout:
        return Step(s)
    commands = []
    if e.rx_bytes > s.attempt_rx:
        s = replace(s, sc_failures=s.sc_failures + 1)
        events: tuple[Output, ...] = (SecureChannelRefused(NO_SECURE_CHANNEL),)
    else:
        events = (NoAnswer(),)
    s = _retry_later(config, _disable(s, now, commands), now)
    if isinstance(events[0], NoAnswer) and not e.others_online:
        commands.append(DropConnection(NO_ANSWER_ON_BUS))
    return Step(s, tuple(commands), events)


def _observe_idle(config: LinkConfig, s: LinkState, e: Observe, now: float) -> Step:
    if e.pd_enabled:
        if now - s.disable_requested_at > config.disable_settle_s:
            commands: list[Command] = []
            return Step(_disable(s, now, commands), tuple(commands))
        return Step(s)
    if e.connected and now >= s.retry_at:
        s = replace(s, phase="connecting", attempt_started=now, attempt_rx=e.rx_bytes,
                    attempt_offline_notes=e.offline_notes)
        return Step(s, (EnablePd(),))
    return Step(s)


def step(config: LinkConfig, state: LinkState, event: LinkEvent) -> Step:
    """The next state of one gate's link after ``event``, with what to do and report."""
    if not isinstance(event, (Observe, EnableRefused, Start, Stop)):
        raise TypeError(f"not a link event: {event!r}")
    # A clock that steps back must not shorten a backoff or a timeout already running.
    now = max(_check_time(event.now), state.clock)
    s = replace(state, clock=now)
    if isinstance(event, Observe):
        if s.phase == "online":
            return _observe_online(config, s, event, now)
        if s.phase == "connecting":
            return _observe_connecting(config, s, event, now)
        return _observe_idle(config, s, event, now)
    if isinstance(event, EnableRefused):
        return Step(replace(s, phase="idle") if s.phase == "connecting" else s)
    if isinstance(event, Start):
        # Counters survive a restart; the link itself starts over.
        s = replace(LinkState(), clock=now, link_errors=s.link_errors, sc_failures=s.sc_failures,
                    online_total=s.online_seconds(now))
        if event.enabled:
            # libosdp enables every PD at start: that is the first attempt.
            s = replace(s, phase="connecting", attempt_started=now, attempt_rx=event.rx_bytes,
                        attempt_offline_notes=event.offline_notes)
        return Step(s)
    if s.phase == "online":  # Stop
        return Step(_leave_online(s, now), (), (WentOffline(STOPPED),))
    return Step(replace(s, phase="idle"))  # Stop


# --- line quality of a bus --------------------------------------------------


@dataclass(frozen=True)
class LineConfig:
    report_s: float = 5.0  # at most one noise report per this many seconds
    quiet_s: float = 60.0  # no noise this long after a report: the line is clean again

    def __post_init__(self) -> None:
        _check_positive(self, "report_s", "quiet_s")


@dataclass(frozen=True)
class LineState:
    clock: float = -math.inf
    reported: LineCounts = field(default_factory=LineCounts)  # the bus's counts at the last noise report
    reported_at: float = -math.inf
    noisy: bool = False  # a noise report is out and no LineClean has followed


@dataclass(frozen=True)
class LineNoise:
    """Noise since the last report; it cannot be traced to one address, so every gate gets it."""

    noise_bytes: int
    bad_frames: int
    frames: int


@dataclass(frozen=True)
class LineClean:
    quiet_s: float


@dataclass(frozen=True)
class LineStep:
    state: LineState
    event: LineNoise | LineClean | None = None


def line_step(config: LineConfig, state: LineState, now: float, counts: LineCounts) -> LineStep:
    """Whether the bus's running ``counts`` (a ``FrameScanner``'s totals) make a report now."""
    now = max(_check_time(now), state.clock)
    s = replace(state, clock=now)
    new = counts - s.reported
    if new.noise_bytes < 0 or new.frames < 0 or new.bad_frames < 0:
        raise ValueError(f"line counts went backwards: {counts} after {s.reported}")
    if new.noise_bytes and now - s.reported_at >= config.report_s:
        return LineStep(replace(s, reported=counts, reported_at=now, noisy=True),
                        LineNoise(new.noise_bytes, new.bad_frames, new.frames))
    if s.noisy and not new.noise_bytes and now - s.reported_at >= config.quiet_s:
        return LineStep(replace(s, noisy=False), LineClean(config.quiet_s))
    return LineStep(s)


# --- TCP reconnect backoff ------------------------------------------------------


@dataclass(frozen=True)
class Backoff:
    """When the bus's TCP connection may be tried again: doubling from ``minimum`` to ``maximum``
    after each failure; a connection that held ``stable_after`` starts over from ``minimum``."""

    minimum: float = 0.2
    maximum: float = 10.0
    stable_after: float = 10.0
    delay: float | None = None  # the next delay; None: ``minimum``

    def __post_init__(self) -> None:
        _check_positive(self, "minimum", "maximum", "stable_after")
        if self.maximum < self.minimum:
            raise ValueError(f"maximum {self.maximum} is below minimum {self.minimum}")

    @property
    def next_delay(self) -> float:
        return self.minimum if self.delay is None else self.delay

    def failed(self, now: float) -> tuple[float, Backoff]:
        """A connect failed at ``now``: the time of the next attempt, and the backoff after it."""
        delay = self.next_delay
        return _check_time(now) + delay, replace(self, delay=min(delay * 2, self.maximum))

    def dropped(self, now: float, connected_at: float) -> tuple[float, Backoff]:
        """A connection made at ``connected_at`` dropped at ``now``."""
        held = _check_time(now) - _check_time(connected_at, "connected_at")
        return (self.reset() if held >= self.stable_after else self).failed(now)

    def reset(self) -> Backoff:
        return replace(self, delay=None)
