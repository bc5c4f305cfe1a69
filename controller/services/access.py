"""People, their confidentiality training, gates, presence and the access log of a site."""
from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import func, or_, select

from controller.credentials import (
    credentials_document,
    latest_training,
    people_views,
    person_view,
    site_today,
)
from controller.domain_errors import EdgeFailed, EdgeUnavailable, NotFound
from controller.gate_view import (
    TAILGATE_WINDOW_S,
    Decision,
    lane_state,
    tailgate_people,
)
from controller.ledger import Ledger
from controller.models import (
    AccessEvent,
    Alarm,
    GateState,
    Person,
    Presence,
    Site,
    TrainingRecord,
    aware,
    iso,
)
from controller.services.edge import EdgeChannel, send_to_edge
from controller.services.sites import site_or_404
from edge_agent.wire.kinds import CommandName
from edge_agent.wire.redact import redact
from edge_agent.wire.site import Badge


def list_people(db, site_id: int, show_badges: bool) -> list[dict[str, Any]]:
    views = people_views(db, site_or_404(db, site_id))
    if not show_badges:  # badge numbers are credentials; inspectors audit, not issue
        for v in views:
            v["badges"] = redact(Badge, v["badges"])
    return views


def push_credentials(db, edge: EdgeChannel, site: Site, timeout: float) -> bool:
    """Best effort: an offline edge gets the document when it next asks (on reconnect)."""
    try:
        send_to_edge(edge, site.id, CommandName.SET_CREDENTIALS, credentials_document(db, site), timeout)
        return True
    except (EdgeUnavailable, EdgeFailed):
        return False


def record_training(db, ledger: Ledger, edge: EdgeChannel, person_pk: int, course: str, completed: dt.date,
                    expires: dt.date, by: str, timeout: float) -> dict[str, Any]:
    """A completed confidentiality training, ledgered; the site's gates get it at once."""
    person = db.get(Person, person_pk)
    if person is None:
        raise NotFound("no such person")
    db.add(TrainingRecord(person_id=person.id, course=course, completed=completed, expires=expires,
                          recorded_by=by))
    ledger.record(db, "training.recorded", {
        "person": person.person, "site_id": person.site_id, "course": course,
        "completed": completed.isoformat(), "expires": expires.isoformat(), "by": by})
    db.commit()
    site = db.get(Site, person.site_id)
    pushed = push_credentials(db, edge, site, timeout)
    training = latest_training(db, [person.id]).get(person.id)
    return {**person_view(person, training, site_today(site)), "pushed_to_edge": pushed}


def _gate_alarm_filter(site_id: int, gate_ids: list[str]):
    """Alarms about these gates: source ``gate:<id>`` (a condition) or ``gate:<id>:<time>`` (an incident)."""
    return (Alarm.site_id == site_id) & or_(*[
        (Alarm.source == f"gate:{g}") | Alarm.source.startswith(f"gate:{g}:", autoescape=True) for g in gate_ids
    ] or [Alarm.id.is_(None)])


def _gate_of(source: str) -> str:
    return source.split(":")[1] if source.count(":") >= 1 else ""


def gates(db, site_id: int) -> list[dict[str, Any]]:
    """Each gate with its state, its lane's state as drawn (open, closed, offline, alarm), its
    active alarms and who passed last (by name)."""
    site = site_or_404(db, site_id)
    config_gates = json.loads(site.config_json).get("gates", [])
    ids = [g["id"] for g in config_gates]
    states = {g.gate: g for g in db.scalars(select(GateState).where(GateState.site_id == site_id))}
    names = _names(db, site_id)
    active: dict[str, int] = {}
    for a in db.scalars(select(Alarm).where(_gate_alarm_filter(site_id, ids), Alarm.state == "active")):
        active[_gate_of(a.source)] = active.get(_gate_of(a.source), 0) + 1
    last_at = (select(AccessEvent.gate, func.max(AccessEvent.id).label("last"))
               .where(AccessEvent.site_id == site_id, AccessEvent.kind == "passage",
                      AccessEvent.person.is_not(None))
               .group_by(AccessEvent.gate).subquery())
    last = {e.gate: e for e in db.scalars(select(AccessEvent).join(last_at, AccessEvent.id == last_at.c.last))}
    out = []
    for g in config_gates:
        st = states.get(g["id"])
        state, online = (st.state, st.online) if st else ("unknown", False)
        p = last.get(g["id"])
        out.append({"gate": g["id"], "name": g["name"], "kind": g["kind"], "area_in": g["area_in"],
                    "area_out": g["area_out"], "state": state, "online": online,
                    "updated_at": iso(st.updated_at) if st else None,
                    "lane": lane_state(state, online, active.get(g["id"], 0)),
                    "active_alarms": active.get(g["id"], 0),
                    "last_passage": {"person": p.person, "name": names.get(p.person, p.person), "at": iso(p.at),
                                     "direction": p.direction} if p else None})
    return out


def _names(db, site_id: int) -> dict[str, str]:
    return dict(db.execute(select(Person.person, Person.name).where(Person.site_id == site_id)).all())


def gate_alarms(db, site_id: int, hours: float, limit: int = 100) -> list[dict[str, Any]]:
    """The gates' alarms of the last ``hours`` (active ones whatever their age), newest first,
    with the people they concern by name; a tailgate names both: the one whose grant was used
    and the one who went through on it (when a badge of theirs was read at the gate around it)."""
    site = site_or_404(db, site_id)
    ids = [g["id"] for g in json.loads(site.config_json).get("gates", [])]
    since = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=hours)
    rows = list(db.scalars(select(Alarm).where(_gate_alarm_filter(site_id, ids),
                                               or_(Alarm.raised_at >= since, Alarm.state == "active"))
                           .order_by(Alarm.raised_at.desc(), Alarm.id.desc()).limit(limit)))
    names = _names(db, site_id)

    def who(person: str | None, role: str) -> dict[str, Any]:
        return {"person": person, "name": names.get(person, person) if person else None, "role": role}

    out = []
    for a in rows:
        d = a.details or {}
        gate = d.get("gate") or _gate_of(a.source)
        raised = aware(a.raised_at)
        people = []
        if a.kind == "tailgating":
            window = dt.timedelta(seconds=TAILGATE_WINDOW_S)
            reads = [Decision(aware(e.at), e.person, e.granted) for e in db.scalars(
                select(AccessEvent).where(AccessEvent.site_id == site_id, AccessEvent.gate == gate,
                                          AccessEvent.kind == "decision",
                                          AccessEvent.at >= raised - window, AccessEvent.at <= raised + window))]
            holder, follower = tailgate_people(d.get("person"), raised, reads)
            people = [who(holder, "badged"), who(follower, "followed")]
        elif d.get("person"):
            people = [who(d["person"], "badged")]
        out.append({"id": a.id, "kind": a.kind, "severity": a.severity, "state": a.state, "gate": gate,
                    "message": a.message, "raised_at": iso(a.raised_at), "cleared_at": iso(a.cleared_at),
                    "count": d.get("count"), "expected": d.get("expected"), "people": people})
    return out


def occupancy(db, site_id: int) -> dict[str, Any]:
    """Who is inside each area now (from completed passages)."""
    site = site_or_404(db, site_id)
    names = _names(db, site_id)
    areas: dict[str, list[dict]] = {a["id"]: [] for a in json.loads(site.config_json).get("areas", [])}
    for p in db.scalars(select(Presence).where(Presence.site_id == site_id).order_by(Presence.since)):
        areas.setdefault(p.area, []).append({"person": p.person, "name": names.get(p.person, p.person),
                                             "since": iso(p.since), "gate": p.gate})
    return {"areas": areas}


def access_events(db, site_id: int, person: str | None, gate: str | None, start: dt.datetime | None,
                  end: dt.datetime | None, limit: int) -> list[dict[str, Any]]:
    site_or_404(db, site_id)
    stmt = select(AccessEvent).where(AccessEvent.site_id == site_id)
    if person:
        stmt = stmt.where(AccessEvent.person == person)
    if gate:
        stmt = stmt.where(AccessEvent.gate == gate)
    if start:
        stmt = stmt.where(AccessEvent.at >= aware(start))
    if end:
        stmt = stmt.where(AccessEvent.at < aware(end))
    rows = db.scalars(stmt.order_by(AccessEvent.at.desc(), AccessEvent.id.desc()).limit(limit))
    return [{"id": r.id, "at": iso(r.at), "gate": r.gate, "person": r.person, "kind": r.kind,
             "direction": r.direction, "granted": r.granted, "reason": r.reason} for r in rows]


def reset_passback(db, ledger: Ledger, edge: EdgeChannel, site_id: int, person: str | None, by: str,
                   timeout: float) -> dict:
    """One person (or everyone) back to neutral for anti-passback; ledgered, applied at once."""
    site_or_404(db, site_id)
    result = send_to_edge(edge, site_id, CommandName.RESET_PASSBACK, {"person": person}, timeout)
    ledger.append("passback.reset", {"site_id": site_id, "person": person, "by": by})
    return result
