"""The edge's gate service: OSDP panel events in, pure decisions and gate state machines in the
middle, panel commands and events out.

Gates decide locally from the cached credentials, so they keep working while the controller is
away; every decision, passage and alarm goes through the durable outbox and catches up later.
One worker thread owns all gate state: panel callbacks and ticks only enqueue.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import os
import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from access_control import gate as g
from access_control import osdp_panel as p
from access_control.alarms import Alarm
from access_control.cards import CardFormatError, credential_key, decode
from access_control.credentials import CredentialDB, build_credential_db
from access_control.decision import AccessRequest, GatePolicy, decide
from access_control.passback import (
    PassbackPolicy,
    PresenceState,
    areas_for,
    record_passage,
    reset,
)
from access_control.schedule import Schedule, WeeklyWindow
from access_control.tailgating import TailgateConfig, TailgateDetector
from edge_agent.store import EdgeStore
from edge_agent.wire import payloads as P
from edge_agent.wire.kinds import AlarmKind, EventKind
from edge_agent.wire.site import Gate, SiteConfig

log = logging.getLogger("siteguard.edge.gates")

CREDENTIALS_KEY = "gate_credentials"
PRESENCE_KEY = "gate_presence"
READER_DIRECTION = {0: "entry", 1: "exit"}  # reader 0 faces the outside, reader 1 the inside
OUT_UNLOCK = {"entry": 0, "exit": 1}
OUT_SOUNDER = 2
IN_PASSAGE = {0: "entry", 1: "exit"}
IN_LEAF, IN_TAMPER, IN_FIRE, IN_BEAM = 2, 3, 4, 5
TICK_S = 0.1
MAX_PULSE_S = 25.5  # OSDP output timers are 8 bits of 100 ms


def gate_policy(spec: Gate, site: SiteConfig) -> GatePolicy:
    """What one gate enforces, from its site-file entry and the site's named schedules."""
    named = {s.id: Schedule(tuple(WeeklyWindow.parse(w.days, w.time) for w in s.windows)) for s in site.schedules}
    pb = spec.passback
    return GatePolicy(
        spec.id, area_in=spec.area_in, area_out=spec.area_out, timezone=site.site.timezone,
        passback=PassbackPolicy(mode=pb.mode, exempt=frozenset(pb.exempt),
                                timeout=dt.timedelta(minutes=pb.minutes) if pb.minutes else None),
        allowed_roles=None if spec.access.roles is None else frozenset(spec.access.roles),
        allowed_people=frozenset(spec.access.people),
        role_schedules={role: named[sid] for role, sid in spec.access.schedules.items()})


def iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# Gate alarms that are conditions of the gate (they last until cleared), as opposed to incidents.
STATEFUL_GATE_ALARMS = ("door_held", "tamper", "fire_alarm", "power_lost")


def _cleared(gate_id: str) -> P.GateAlarm:
    """The body that clears a gate's alarm."""
    return P.GateAlarm(source=f"gate:{gate_id}", state="cleared")


def gate_key(gate: Gate, keys_dir: Path) -> bytes:
    """The gate's SCBK: from its env var, else `<keys_dir>/<gate>.scbk` (hex)."""
    if gate.osdp.scbk_env and os.environ.get(gate.osdp.scbk_env):
        return bytes.fromhex(os.environ[gate.osdp.scbk_env].strip())
    path = keys_dir / f"{gate.id}.scbk"
    try:
        return bytes.fromhex(path.read_text().strip())
    except (OSError, ValueError) as exc:
        raise ValueError(f"gate {gate.id}: no secure channel key ({path}: {exc})") from None


@dataclass
class _Gate:
    spec: Gate
    config: g.GateConfig
    policy: GatePolicy
    state: g.GateState
    tailgate: TailgateDetector
    online: bool = False


class GateService:
    def __init__(self, config: SiteConfig, outbox: EdgeStore, keys_dir: Path,
                 panel_factory: Callable[..., Any] = p.OsdpPanel,
                 wall: Callable[[], float] = time.time, mono: Callable[[], float] = time.monotonic) -> None:
        self.config, self.outbox, self.wall, self.mono = config, outbox, wall, mono
        self.gates: dict[str, _Gate] = {}
        for spec in config.gates:
            self.gates[spec.id] = _Gate(
                spec=spec,
                config=g.GateConfig(spec.id, open_seconds=min(spec.open_seconds, MAX_PULSE_S),
                                    fail_mode=spec.fail_mode),
                policy=gate_policy(spec, config),
                state=g.GateState(), tailgate=TailgateDetector(TailgateConfig(spec.id)))
        self.credentials = self._load_credentials()
        self.presence = self._load_presence()
        links = [p.GateLink.from_channel(s.id, s.osdp.channel, s.osdp.address, gate_key(s, keys_dir),
                                         s.osdp.baud) for s in config.gates]
        self._queue: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.panel = panel_factory(links, on_event=lambda gid, ev: self._queue.put((gid, ev)))
        self._halt = threading.Event()
        self._worker: threading.Thread | None = None
        self.latencies: list[float] = []  # card read seen -> unlock submitted, seconds
        # Called with the gate id on every grant; the agent points it at the gate camera's lane
        # watcher, which answers through persons_seen().
        self.on_grant: Callable[[str], None] | None = None

    # --- credentials and presence (local, durable) --------------------------------------------

    def _load_credentials(self) -> CredentialDB:
        raw = self.outbox.get(CREDENTIALS_KEY)
        if raw:
            try:
                return build_credential_db(self._people_for_db(json.loads(raw)["people"]))
            except (ValueError, KeyError, TypeError) as exc:
                log.warning("cached credentials unusable (%s); using the site file", exc)
        return build_credential_db([pp.model_dump(mode="json") for pp in self.config.people])

    @staticmethod
    def _people_for_db(people: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The controller's credentials document, shaped like site-file people."""
        return [{"id": d["person"], "name": d.get("name", ""), "role": d["role"],
                 "customers": d.get("customers", []), "badges": d.get("badges", []),
                 "training": d.get("training"), "enabled": d.get("active", True)} for d in people]

    def set_credentials(self, doc: dict[str, Any]) -> P.CredentialsResult:
        db = build_credential_db(self._people_for_db(doc["people"]))  # validate before storing
        self.outbox.put(CREDENTIALS_KEY, json.dumps(doc))
        self._queue.put(("", ("credentials", db)))
        return P.CredentialsResult(people=len(doc["people"]), version=doc.get("version"))

    def _load_presence(self) -> PresenceState:
        raw = self.outbox.get(PRESENCE_KEY)
        state = PresenceState()
        if raw:
            for person, (area, since, gate_id) in json.loads(raw).items():
                state = record_passage(state, person, area, dt.datetime.fromisoformat(since), gate_id)
        return state

    def _save_presence(self) -> None:
        doc = {pid: (pr.area, pr.since.isoformat(), pr.gate_id) for pid, pr in self.presence.entries.items()}
        self.outbox.put(PRESENCE_KEY, json.dumps(doc))

    # --- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        self.panel.start()
        self._worker = threading.Thread(target=self._run, name="gates", daemon=True)
        self._worker.start()

    def stop(self) -> None:
        self._halt.set()
        if self._worker:
            self._worker.join(5)
        self.panel.stop()

    def _run(self) -> None:
        next_tick = 0.0
        while not self._halt.is_set():
            try:
                gid, ev = self._queue.get(timeout=TICK_S)
            except queue.Empty:
                gid, ev = "", None
            try:
                if ev is not None:
                    self._on_event(gid, ev)
                if self.mono() >= next_tick:
                    next_tick = self.mono() + TICK_S
                    for gate_id in self.gates:
                        self._step(gate_id, g.Tick(self.mono()))
            except Exception:  # one bad event must not stop every gate
                log.exception("gate event %r from %s failed", ev, gid)

    # --- events from the panel -----------------------------------------------------------------

    def _on_event(self, gate_id: str, ev: Any) -> None:
        if isinstance(ev, tuple):  # from the controller's commands, applied here by the one worker
            if ev[0] == "credentials":
                self.credentials = ev[1]
            elif ev[0] == "reset_passback":
                self.presence = reset(self.presence, ev[1])
                self._save_presence()
                self.outbox.append(EventKind.GATE_PASSBACK_RESET, P.GatePassbackReset(person=ev[1]))
            elif ev[0] == "release":
                self._release(*ev[1:])
            elif ev[0] == "persons" and gate_id in self.gates:
                gate = self.gates[gate_id]
                gate.tailgate, alarms = gate.tailgate.camera(self.mono(), ev[1])
                self._alarms(gate, alarms)
            return
        gate = self.gates.get(gate_id)
        if gate is None:
            return
        if isinstance(ev, p.CardRead):
            self._card(gate, ev)
        elif isinstance(ev, p.Input):
            self._input(gate, ev)
        elif isinstance(ev, p.Tamper) and ev.active:
            self._step(gate.spec.id, g.Tamper(self.mono()))
        elif isinstance(ev, (p.Online, p.Offline)):
            gate.online = isinstance(ev, p.Online)
            self._report_state(gate)
            # Raised and cleared through the store's alarm state: once each, across restarts too.
            if gate.online:
                self.outbox.clear_alarm(AlarmKind.GATE_OFFLINE, _cleared(gate_id))
                self.outbox.clear_alarm(AlarmKind.GATE_SECURE_CHANNEL, _cleared(gate_id))
            else:
                self.outbox.raise_alarm(AlarmKind.GATE_OFFLINE, P.GateAlarm(
                    source=f"gate:{gate_id}", severity="critical", gate=gate_id,
                    message=f"gate {gate_id} controller offline ({ev.reason})"[:P.MAX_TEXT]))
        elif isinstance(ev, p.LineNoise):
            self.outbox.raise_alarm(AlarmKind.OSDP_LINE_NOISE, P.GateAlarm(
                source=f"gate:{gate_id}", severity="warning", gate=gate_id,
                noise_bytes=ev.noise_bytes, bad_frames=ev.bad_frames, frames=ev.frames,
                message=f"gate {gate_id}: OSDP line noise ({ev.noise_bytes} stray bytes, "
                        f"{ev.bad_frames} bad frames, {ev.frames} good frames); check wiring and termination"))
        elif isinstance(ev, p.LineClean):
            self.outbox.clear_alarm(AlarmKind.OSDP_LINE_NOISE, _cleared(gate_id))
        elif isinstance(ev, p.SecureChannelFailed):
            self.outbox.raise_alarm(AlarmKind.GATE_SECURE_CHANNEL, P.GateAlarm(
                source=f"gate:{gate_id}", severity="critical", gate=gate_id,
                message=f"gate {gate_id}: secure channel refused ({ev.reason})"[:P.MAX_TEXT]))

    def _card(self, gate: _Gate, ev: p.CardRead) -> None:
        direction = READER_DIRECTION.get(ev.reader, "entry")
        now_wall = self.wall()
        try:
            card = decode(ev.bits, ev.bit_length)
            key = credential_key(card.format, card.facility, card.number)
        except CardFormatError as exc:
            self.outbox.append(EventKind.GATE_DECISION, P.GateDecision(
                gate=gate.spec.id, at=iso(now_wall), direction=direction,
                person=None, granted=False, reason="bad_card", detail=str(exc)[:200]))
            self._step(gate.spec.id, g.Deny(self.mono(), "bad_card"))
            return
        now = dt.datetime.fromtimestamp(now_wall, dt.timezone.utc)
        decision = decide(AccessRequest(gate.spec.id, direction, key,
                                        fail_safe_open=gate.state.mode == "fail_safe_open"),
                          self.credentials, self.presence, gate.policy, now)
        self.outbox.append(EventKind.GATE_DECISION, P.GateDecision(
            gate=gate.spec.id, at=iso(now_wall), direction=direction,
            person=decision.person_id, granted=decision.granted,
            reason=decision.reason, card=key))
        self._alarms(gate, decision.alarms)
        if decision.granted:
            self._step(gate.spec.id, g.Grant(self.mono(), direction, decision.person_id))
            gate.tailgate, alarms = gate.tailgate.grant(self.mono())
            self._alarms(gate, alarms)
            self.latencies.append(self.mono() - ev.monotonic)
            if self.on_grant is not None:
                self.on_grant(gate.spec.id)
        else:
            self._step(gate.spec.id, g.Deny(self.mono(), decision.reason))

    def _input(self, gate: _Gate, ev: p.Input) -> None:
        now = self.mono()
        if ev.no in IN_PASSAGE and ev.active:
            self._step(gate.spec.id, g.PassageComplete(now, IN_PASSAGE[ev.no]))
        elif ev.no == IN_LEAF:
            self._step(gate.spec.id, g.LeafOpen(now) if ev.active else g.LeafClosed(now))
        elif ev.no == IN_TAMPER and ev.active:
            self._step(gate.spec.id, g.Tamper(now))
        elif ev.no == IN_FIRE:
            self._step(gate.spec.id, g.FireAlarm(now, ev.active))
        elif ev.no == IN_BEAM and ev.active:
            gate.tailgate, alarms = gate.tailgate.passages(now, 1, source="beams")
            self._alarms(gate, alarms)

    # --- the state machine and its outputs -----------------------------------------------------

    def _step(self, gate_id: str, event: Any) -> None:
        gate = self.gates[gate_id]
        before = gate.state.mode
        result = g.step(gate.config, gate.state, event)
        gate.state = result.state
        for cmd in result.commands:
            self._command(gate_id, cmd)
        self._alarms(gate, result.alarms)
        for out in result.events:
            self._log_event(gate, out)
        if isinstance(event, g.Tick):
            gate.tailgate, alarms = gate.tailgate.tick(event.now)
            self._alarms(gate, alarms)
        if gate.state.mode != before:
            self._report_state(gate)

    def _command(self, gate_id: str, cmd: Any) -> None:
        if isinstance(cmd, g.Unlock):
            for direction in (("entry", "exit") if cmd.direction == "both" else (cmd.direction,)):
                if cmd.seconds is None:
                    self.panel.set_output(gate_id, OUT_UNLOCK[direction], True)
                else:
                    self.panel.pulse_output(gate_id, OUT_UNLOCK[direction], min(cmd.seconds, MAX_PULSE_S))
        elif isinstance(cmd, g.Relock):
            for out in OUT_UNLOCK.values():
                self.panel.set_output(gate_id, out, False)
        elif isinstance(cmd, g.AlarmOutput):
            if cmd.on and cmd.seconds:
                self.panel.pulse_output(gate_id, OUT_SOUNDER, min(cmd.seconds, MAX_PULSE_S))
            else:
                self.panel.set_output(gate_id, OUT_SOUNDER, bool(cmd.on))
        elif isinstance(cmd, g.Led):
            ms = int(min(cmd.seconds or 1, 25) * 1000)
            self.panel.led(gate_id, cmd.colour, on_ms=500 if cmd.flash else ms,
                           off_ms=500 if cmd.flash else 0, temporary=True, duration_s=cmd.seconds or 1)
        elif isinstance(cmd, g.Buzzer):
            self.panel.buzz(gate_id)

    def _log_event(self, gate: _Gate, out: Any) -> None:
        at = iso(self.wall())
        if isinstance(out, g.Passage):
            area_from, area_to = areas_for(out.direction, gate.spec.area_in, gate.spec.area_out)
            if out.cause == "grant" and out.person_id:
                self.presence = record_passage(self.presence, out.person_id, area_to,
                                               dt.datetime.now(dt.timezone.utc), gate.spec.id)
                self._save_presence()
                for other in self.gates:
                    if other != gate.spec.id:
                        self._step(other, g.Withdraw(self.mono(), out.person_id))
            # Tailgating counts people from the lane beam (one pulse each), not passage events:
            # counting both would see every single passage twice.
            self.outbox.append(EventKind.GATE_PASSAGE, P.GatePassage(
                gate=gate.spec.id, at=at, direction=out.direction,
                person=out.person_id, cause=out.cause,
                area_from=area_from,
                area_to=area_to if out.cause == "grant" else None))
        elif isinstance(out, g.GrantCancelled):
            # A grant that will not be used (tailgating, fire, power, its holder went through
            # another gate): in the access log, so the grant is not read as a missing passage.
            self.outbox.append(EventKind.GATE_GRANT_CANCELLED, P.GateGrantCancelled(
                gate=gate.spec.id, at=at, direction=out.direction,
                person=out.person_id, reason=out.reason))
        elif isinstance(out, g.GrantedNoEntry):
            self.outbox.append(AlarmKind.GRANTED_NO_ENTRY.event, P.GateAlarm(
                source=f"gate:{gate.spec.id}:{at}", severity="info", gate=gate.spec.id,
                person=getattr(out, "person_id", None),
                message=f"{gate.spec.id}: access granted but nobody passed"))
        elif isinstance(out, g.AlarmCleared):
            self.outbox.clear_alarm(AlarmKind(out.kind), _cleared(gate.spec.id))

    def _alarms(self, gate: _Gate, alarms: tuple[Alarm, ...] | list[Alarm]) -> None:
        for a in alarms:
            severity = "critical" if a.kind in ("door_forced", "tailgating", "tamper") else "warning"
            message = (f"{gate.spec.id}: {a.kind.replace('_', ' ')}"
                       + (f" ({a.count} passages for {a.expected} grants)" if a.count is not None else "")
                       + (f" by {a.person_id}" if a.person_id else "") + (f": {a.detail}" if a.detail else ""))
            body = P.GateAlarm(
                source=f"gate:{gate.spec.id}" if a.kind in STATEFUL_GATE_ALARMS
                else f"gate:{gate.spec.id}:{iso(self.wall())}",
                severity=severity, gate=gate.spec.id, person=a.person_id,
                direction=a.direction, count=a.count, expected=a.expected, message=message[:P.MAX_TEXT])
            if a.kind in STATEFUL_GATE_ALARMS:  # a condition: raised once until it clears
                self.outbox.raise_alarm(AlarmKind(a.kind), body)
            else:  # an incident (a tailgate, a forced passage): each one is its own alarm
                self.outbox.append(AlarmKind(a.kind).event, body)

    def _report_state(self, gate: _Gate) -> None:
        self.outbox.append(EventKind.GATE_STATE, P.GateState(
            gate=gate.spec.id, state=gate.state.mode, online=gate.online))

    # --- commands from the controller ----------------------------------------------------------

    def status(self) -> dict[str, Any]:
        return {gid: {"state": gt.state.mode, "online": gt.online} for gid, gt in self.gates.items()}

    def persons_seen(self, gate_id: str, count: int) -> None:
        """The gate's camera counted ``count`` people in its lane (from the lane watcher's thread;
        applied by the one worker)."""
        self._queue.put((gate_id, ("persons", int(count))))

    def release(self, on: bool, reset_passback: list[str], timeout: float = 5.0) -> P.ReleaseGatesResult:
        """Every lane released for an evacuation or drill (both directions open over OSDP), or
        relocked; on relock the people evacuated are reset to neutral for anti-passback. Applied
        by the one worker; answers once it has commanded the lanes, with the time of each."""
        done, lanes = threading.Event(), []
        self._queue.put(("", ("release", on, list(reset_passback), lanes, done)))
        if not done.wait(timeout):
            raise RuntimeError("the gate worker did not apply the release in time")
        return P.ReleaseGatesResult(on=on, lanes=lanes,
                                    reset=len(set(reset_passback)) if not on else 0)

    def _release(self, on: bool, people: list[str], lanes: list, done: threading.Event) -> None:
        try:
            for gate_id, gate in self.gates.items():
                self._step(gate_id, g.Release(self.mono(), on))
                lanes.append(P.LaneRelease(gate=gate_id, at=iso(self.wall()), state=gate.state.mode,
                                           online=gate.online))
            if not on:
                for person in dict.fromkeys(people):
                    self.presence = reset(self.presence, person)
                    self.outbox.append(EventKind.GATE_PASSBACK_RESET, P.GatePassbackReset(person=person))
                self._save_presence()
        finally:
            done.set()

    def reset_passback(self, person: str | None) -> P.ResetPassbackResult:
        """An officer's reset of anti-passback: one person, or everyone, back to neutral."""
        self._queue.put(("", ("reset_passback", person)))
        return P.ResetPassbackResult(reset=person or "all")
