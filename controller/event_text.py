"""Events as people read them: an event's kind and payload become a sentence (a catalog message
id with its values), the pages its subject links to, and how much it matters.

Pure functions over plain data: no database, no request. The caller passes what the event does
not carry itself (the agent's name, its site, the names of people). The message ids are the
English sentences of controller/locale's catalogs; the page translates them and puts each
linked value inside its link. A value named in ``codes`` is a code the page words itself (a
reason, a gate state, an alarm kind, a time in the site's zone).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping
from urllib.parse import quote

from controller.i18n import N_

SEVERITIES = ("info", "warning", "critical")
ALARM_PREFIX = "alarm."
REFUSED_KIND = "wire.refused"

# Reports that say nothing new however often they come: kept, never shown in a feed by default.
ROUTINE_KINDS = frozenset({"segment.recorded", "network.change_progress"})

CAMERA_STATE_MESSAGES = {
    "recording": N_("Camera {camera} is recording"),
    "offline": N_("Camera {camera} went offline"),
    "tampered": N_("Camera {camera} was tampered with"),
    "stalled": N_("Camera {camera} stopped recording: its recorder stalled"),
    "stopped": N_("Camera {camera} stopped"),
    "reconnecting": N_("Camera {camera} is reconnecting"),
    "unauthorized": N_("Camera {camera} refused the site's password"),
    "error": N_("Camera {camera} reports an error"),
}
CAMERA_STATE_SEVERITY = {"recording": "info", "reconnecting": "info", "stopped": "info"}

CAMERA_ALARM_MESSAGES = {
    "camera_offline": N_("Camera {camera} went offline"),
    "camera_blackout": N_("Camera {camera} was blacked out"),
    "camera_covered": N_("Camera {camera} was covered"),
    "camera_defocus": N_("Camera {camera} was put out of focus"),
    "camera_moved": N_("Camera {camera} was moved"),
    "recorder_stalled": N_("Camera {camera} stopped recording: its recorder stalled"),
    "recording_gap": N_("Camera {camera} has a recording gap"),
    "segment_corrupt": N_("Camera {camera} wrote a corrupt segment"),
}


@dataclass(frozen=True)
class Sentence:
    msgid: str
    params: dict[str, Any] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)  # value name -> the page it opens
    codes: dict[str, str] = field(default_factory=dict)  # value name -> how the page words it
    severity: str = "info"

    def as_dict(self) -> dict[str, Any]:
        return {"msgid": self.msgid, "params": self.params, "links": self.links, "codes": self.codes,
                "severity": self.severity}


# --- where a subject's page is ------------------------------------------------------------------

def camera_href(site_id: int | None, camera: str, at: str | None = None) -> str | None:
    """The camera's page; ``at``: the moment whose recording it should play."""
    if site_id is None or not camera:
        return None
    return f"/cameras/{site_id}/{quote(camera, safe='')}" + (f"?at={quote(at, safe='')}" if at else "")


def seat_href(seat: str) -> str:
    return "/seats#" + quote(seat, safe="")


def gate_href(gate: str) -> str:
    return "/gates#" + quote(gate, safe="")


def person_href(person: str) -> str:
    return "/gates?person=" + quote(person, safe="")


def change_href(change: str) -> str:
    return "/network#" + quote(change, safe="")


@dataclass
class _Builder:
    site_id: int | None
    names: Mapping[str, str]
    at: str | None
    params: dict[str, Any] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)
    codes: dict[str, str] = field(default_factory=dict)

    def camera(self, camera: str | None, at: str | None = None) -> None:
        self.params["camera"] = camera or "?"
        href = camera_href(self.site_id, camera or "", at)
        if href:
            self.links["camera"] = href

    def seat(self, seat: str | None) -> None:
        self.params["seat"] = seat or "?"
        if seat:
            self.links["seat"] = seat_href(seat)

    def gate(self, gate: str | None) -> None:
        self.params["gate"] = gate or "?"
        if gate:
            self.links["gate"] = gate_href(gate)

    def person(self, person: str | None) -> None:
        self.params["person"] = self.names.get(person, person) if person else "?"
        if person:
            self.links["person"] = person_href(person)

    def change(self, change: str | None) -> None:
        self.params["change"] = change or "?"
        if change:
            self.links["change"] = change_href(change)

    def code(self, name: str, value: Any, how: str) -> None:
        self.params[name] = value
        self.codes[name] = how

    def done(self, msgid: str, severity: str = "info", **values: Any) -> Sentence:
        return Sentence(msgid, {**self.params, **values}, self.links, self.codes,
                        severity if severity in SEVERITIES else "warning")


def _gb(n: Any) -> str:
    return f"{(n or 0) / 1e9:.1f}"


def describe(kind: str, data: Mapping[str, Any], *, site_id: int | None = None, agent: str | None = None,
             names: Mapping[str, str] | None = None, at: str | None = None) -> Sentence:
    """The sentence for one event. ``data``: its payload as stored; ``site_id``: its agent's site
    (for camera links); ``agent``: its agent's name; ``names``: person id -> name; ``at``: when it
    happened (a camera link plays the recording of that moment)."""
    d: Mapping[str, Any] = data if isinstance(data, Mapping) else {}
    b = _Builder(site_id, names or {}, at)
    b.params["agent"] = agent or "?"
    if kind.startswith(ALARM_PREFIX):
        return _alarm(b, kind[len(ALARM_PREFIX):], d)
    if kind == "agent.started":
        return b.done(N_("Edge agent {agent} started"))
    if kind == "config.applied":
        return b.done(N_("Edge agent {agent} applied site file {hash}"), hash=str(d.get("config_hash", ""))[:12])
    if kind == "camera.state":
        state = str(d.get("state", ""))
        b.camera(d.get("camera"))
        msgid = CAMERA_STATE_MESSAGES.get(state)
        if msgid is None:
            b.code("state", state, "camera_state")
            return b.done(N_("Camera {camera} is {state}"), "warning")
        return b.done(msgid, CAMERA_STATE_SEVERITY.get(state, "warning"))
    if kind == "camera.discovered":
        return b.done(N_("A camera not in the site file answers at {endpoint}"), "warning",
                      endpoint=str(d.get("endpoint", "")))
    if kind == "segment.recorded":
        b.camera(d.get("camera"), d.get("start"))
        return b.done(N_("Camera {camera} recorded segment {seq}"), seq=d.get("seq", "?"))
    if kind == "segment.deleted":
        b.camera(d.get("camera"))
        return b.done(N_("Segment {seq} of camera {camera} was deleted: {reason}"),
                      seq=d.get("seq", "?"), reason=str(d.get("reason", "")))
    if kind == "evidence.deleted":
        b.camera(d.get("camera"))
        return b.done(N_("Alarm frames of camera {camera} were deleted ({count}): {reason}"),
                      count=len(d.get("names") or []), reason=str(d.get("reason", "")))
    if kind == "retention.capacity":
        if d.get("ok"):
            return b.done(N_("The recording disk holds the retention period ({available} GB free)"),
                          available=_gb(d.get("available_bytes")))
        return b.done(N_("The recording disk is short of the retention period: {needed} GB needed, {available} GB free"),
                      "warning", needed=_gb(d.get("needed_bytes")), available=_gb(d.get("available_bytes")))
    if kind in ("retention.hold_placed", "retention.hold_released"):
        placed = kind == "retention.hold_placed"
        if d.get("camera"):
            b.camera(d.get("camera"))
            msgid = (N_("Legal hold {hold} placed on camera {camera}") if placed
                     else N_("Legal hold {hold} on camera {camera} released"))
        else:
            msgid = (N_("Legal hold {hold} placed on every camera") if placed
                     else N_("Legal hold {hold} on every camera released"))
        return b.done(msgid, hold=str(d.get("id", "")))
    if kind == "seat.state":
        b.seat(d.get("seat"))
        if d.get("covered"):
            return b.done(N_("Seat {seat} is covered"))
        b.code("reasons", list(d.get("reasons") or []), "reasons")
        return b.done(N_("Seat {seat} is not covered: {reasons}"), "warning")
    if kind == "site.coverage":
        return b.done(N_("{percent} % of the seats are covered ({covered} of {seats})"),
                      "info" if (d.get("percent") or 0) >= 100 else "warning",
                      percent=d.get("percent", 0), covered=d.get("covered", 0), seats=d.get("seats", 0))
    if kind == "coverage.gap":
        b.code("since", d.get("since"), "time")
        b.code("until", d.get("until"), "time")
        return b.done(N_("Seats were not covered from {since} to {until}: {seats}"), "warning",
                      seats=", ".join(str(s) for s in d.get("seats") or []))
    if kind == "gate.decision":
        b.gate(d.get("gate"))
        if not d.get("person"):
            b.code("reason", d.get("reason", ""), "reason")
            return b.done(N_("An unknown card was refused at gate {gate}: {reason}"), "warning")
        b.person(d.get("person"))
        if d.get("granted"):
            return b.done(N_("{person} may leave through gate {gate}") if d.get("direction") == "exit"
                          else N_("{person} may enter through gate {gate}"))
        b.code("reason", d.get("reason", ""), "reason")
        return b.done(N_("{person} was refused at gate {gate}: {reason}"), "warning")
    if kind == "gate.passage":
        b.gate(d.get("gate"))
        if not d.get("person"):
            return b.done(N_("Someone without a grant passed gate {gate}"), "warning")
        b.person(d.get("person"))
        return b.done(N_("{person} left through gate {gate}") if d.get("direction") == "exit"
                      else N_("{person} entered through gate {gate}"))
    if kind == "gate.grant_cancelled":
        b.gate(d.get("gate"))
        b.person(d.get("person"))
        b.code("reason", d.get("reason", ""), "reason")
        return b.done(N_("The grant of {person} at gate {gate} was withdrawn: {reason}"))
    if kind == "gate.passback_reset":
        if d.get("person"):
            b.person(d.get("person"))
            return b.done(N_("Anti-passback was reset for {person}"))
        return b.done(N_("Anti-passback was reset for everyone"))
    if kind == "gate.state":
        b.gate(d.get("gate"))
        if d.get("online") is False:
            return b.done(N_("Gate {gate} went offline"), "warning")
        b.code("state", d.get("state", ""), "gate_state")
        return b.done(N_("Gate {gate} is {state}"),
                      "warning" if d.get("state") in ("forced", "held_open", "fail_safe_open") else "info")
    if kind == "network.change_refused":
        b.change(d.get("change"))
        return b.done(N_("The edge refused network change {change}: {detail}"), "critical",
                      detail=str(d.get("detail") or d.get("reason") or ""))
    if kind == "network.change_started":
        b.change(d.get("change"))
        return b.done(N_("Network change {change} started on {devices}"),
                      devices=", ".join(str(x) for x in d.get("devices") or []))
    if kind == "network.change_progress":
        b.change(d.get("change"))
        return b.done(N_("Network change {change} on {device}: {status}"),
                      device=str(d.get("device", "")), status=str(d.get("status", "")))
    if kind == "network.change_result":
        b.change(d.get("change"))
        if d.get("status") == "applied":
            return b.done(N_("Network change {change} was applied"))
        return b.done(N_("Network change {change} did not apply: {status}"), "warning",
                      status=str(d.get("status", "")))
    if kind == "network.drift":
        b.links["device"] = "/network"
        b.params["device"] = str(d.get("device", ""))
        if d.get("error"):
            return b.done(N_("The drift check of switch {device} failed"), "warning")
        if d.get("in_sync") is False:
            return b.done(N_("Switch {device} drifted from its intended configuration"), "critical")
        return b.done(N_("Switch {device} matches its intended configuration"))
    if kind == "vpn.peer_applied":
        b.params["change"] = str(d.get("change", ""))  # no controller page for peer changes yet
        if d.get("action") == "remove":
            return b.done(N_("VPN peer {address} of {customer} was removed by approved change {change}"),
                          address=str(d.get("address", "")), customer=str(d.get("customer", "")))
        return b.done(N_("VPN peer {address} of {customer} was added by approved change {change}"),
                      address=str(d.get("address", "")), customer=str(d.get("customer", "")))
    if kind == "vpn.peer_refused":
        b.params["change"] = str(d.get("change", ""))  # no controller page for peer changes yet
        return b.done(N_("The edge refused VPN peer change {change}: {detail}"), "critical",
                      detail=str(d.get("detail") or d.get("reason") or ""))
    if kind == "vpn.peer_revoked":
        return b.done(N_("Officer {officer} revoked VPN peer {address} of {customer}: {reason}"), "warning",
                      officer=str(d.get("officer", "")), address=str(d.get("address", "")),
                      customer=str(d.get("customer", "")), reason=str(d.get("reason", "")))
    if kind == REFUSED_KIND:
        return b.done(N_("Edge agent {agent} sent a {kind} event that was refused: {reason}"), "warning",
                      kind=str(d.get("kind", "")), reason=str(d.get("reason", "")))
    return b.done(N_("Edge agent {agent} reported {kind}"), kind=kind)


def _alarm(b: _Builder, alarm: str, d: Mapping[str, Any]) -> Sentence:
    cleared = d.get("state") == "cleared"
    severity = "info" if cleared else str(d.get("severity") or "warning")
    b.code("title", alarm, "alarm")
    if d.get("camera") or alarm in CAMERA_ALARM_MESSAGES:
        camera = d.get("camera") or str(d.get("source", "")).removeprefix("camera:")
        b.camera(camera, b.at)
        if cleared:
            return b.done(N_("Camera {camera}: {title} is over"), severity)
        if alarm == "recording_gap" and d.get("seconds") is not None:
            return b.done(N_("Camera {camera} did not record for {seconds} s"), severity, seconds=d["seconds"])
        return b.done(CAMERA_ALARM_MESSAGES.get(alarm, N_("Camera {camera}: {title}")), severity)
    if d.get("seat"):
        b.seat(d.get("seat"))
        if cleared:
            return b.done(N_("Seat {seat}: {title} is over"), severity)
        b.code("reasons", list(d.get("reasons") or []), "reasons")
        return b.done(N_("Seat {seat} is not covered: {reasons}"), severity)
    if d.get("gate"):
        b.gate(d.get("gate"))
        if cleared:
            return b.done(N_("Gate {gate}: {title} is over"), severity)
        if d.get("person"):
            b.person(d.get("person"))
            return b.done(N_("Gate {gate}: {title} by {person}"), severity)
        return b.done(N_("Gate {gate}: {title}"), severity)
    if d.get("change"):
        b.change(d.get("change"))
        if cleared:
            return b.done(N_("Network change {change}: {title} is over"), severity)
        return b.done(N_("Network change {change}: {title}"), severity)
    if alarm == "retention_disk_critical" and not cleared and d.get("days_left") is not None:
        return b.done(N_("The recording disk fills in {days} days, and nothing on it may be deleted yet"),
                      severity, days=d["days_left"])
    if cleared:
        return b.done(N_("{title} is over"), severity)
    return b.done(N_("{title}: {message}"), severity, message=str(d.get("message") or ""))


def severity_of(kind: str, data: Mapping[str, Any]) -> str:
    return describe(kind, data).severity


def is_routine(kind: str, data: Mapping[str, Any], previous: Any = None) -> bool:
    """Whether an event only repeats what was known: a kind that is routine by nature, or a
    camera's or gate's periodic state report that says what the last one said (``previous``:
    the state its subject had before it, as ``state_key`` gives it; None: no earlier report)."""
    if kind in ROUTINE_KINDS:
        return True
    if kind == "network.drift":
        return data.get("in_sync") is True and not data.get("error")
    if kind in ("camera.state", "gate.state"):
        return previous is not None and previous == state_key(kind, data)
    return False


def state_key(kind: str, data: Mapping[str, Any]) -> Any:
    """What a state report says, to compare with the one before it."""
    if kind == "camera.state":
        return data.get("state")
    if kind == "gate.state":
        return (data.get("state"), data.get("online"))
    return None
