"""Events as the agents reported them and alarms raised from them, within the caller's scope."""
from __future__ import annotations

from typing import Any, Iterable

from sqlalchemy import func, select

from controller import event_text
from controller.alarms import count_open, group_alarms, ledger_record
from controller.domain_errors import Invalid
from controller.ledger import Ledger
from controller.models import Agent, Alarm, Event, Person, Role, User, iso, utcnow
from controller.services.scope import customer_scope, scoped_or_404

# Event families the feed filters by: the part of a kind before its dot.
EVENT_FAMILIES = ("agent", "alarm", "camera", "config", "coverage", "evidence", "gate", "network",
                  "retention", "seat", "segment", "site", "wire")
# How many stored events a feed reads at most to fill one page after its severity filter.
FEED_SCAN = 2000
# Who an alarm may be assigned to.
ASSIGNABLE_ROLES = (Role.officer.value, Role.admin.value)


def event_view(e: Event, agent_name: str | None = None) -> dict[str, Any]:
    return {"id": e.id, "agent_id": e.agent_id, "agent": agent_name, "seq": e.seq, "ts": e.ts,
            "received_at": iso(e.received_at), "kind": e.kind, "data": e.data,
            "customer_id": e.customer_id}


def alarm_view(a: Alarm, names: dict[str, str] | None = None) -> dict[str, Any]:
    details = a.details or {}
    raised = iso(a.raised_at)
    return {"id": a.id, "kind": a.kind, "severity": a.severity, "message": a.message,
            "state": a.state, "source": a.source, "site_id": a.site_id, "agent_id": a.agent_id,
            "customer_id": a.customer_id, "raised_at": raised,
            "cleared_at": iso(a.cleared_at), "repeats": a.repeats or 0,
            "last_raised_at": iso(a.last_raised_at) or raised,
            "acknowledged_by": a.acknowledged_by, "acknowledged_at": iso(a.acknowledged_at),
            "ack_note": a.ack_note or "", "assigned_to": a.assigned_to, "assigned_at": iso(a.assigned_at),
            "links": alarm_links(a.site_id, details, raised),
            "sentence": event_text.describe("alarm." + a.kind, {**details, "severity": a.severity,
                                                                       "message": details.get("message") or a.message},
                                            site_id=a.site_id, names=names, at=raised).as_dict(),
            "details": details}


def alarm_links(site_id: int | None, details: dict[str, Any], at: str | None) -> dict[str, str]:
    """The pages an alarm is about: its camera at the moment it was raised (the recording of
    then), its seat, its gate, its network change."""
    links: dict[str, str] = {}
    camera = details.get("camera")
    if isinstance(camera, str) and (href := event_text.camera_href(site_id, camera, at)):
        links["camera"] = href
    if isinstance(details.get("seat"), str):
        links["seat"] = event_text.seat_href(details["seat"])
    if isinstance(details.get("gate"), str):
        links["gate"] = event_text.gate_href(details["gate"])
    if isinstance(details.get("change"), str):
        links["change"] = event_text.change_href(details["change"])
    return links


def person_names(db, people: Iterable[str]) -> dict[str, str]:
    wanted = {p for p in people if isinstance(p, str) and p}
    if not wanted:
        return {}
    return {p: n for p, n in db.execute(select(Person.person, Person.name).where(Person.person.in_(wanted)))}


def event_feed(db, user: User, limit: int = 25, kind: str | None = None, site_id: int | None = None,
               severity: str | None = None, routine: bool = False) -> list[dict[str, Any]]:
    """The latest events as sentences, newest first, in the user's scope. ``kind``: an exact
    kind ("gate.passage") or a family ("gate"); ``severity``: that severity or worse; routine
    reports (heartbeats, recorded segments) only with ``routine`` or a kind that is routine."""
    stmt = select(Event, Agent.name, Agent.site_id).join(Agent, Agent.id == Event.agent_id)
    stmt = customer_scope(db, user).filter(stmt, Event.customer_id)
    if kind:
        stmt = stmt.where(Event.kind == kind if "." in kind else Event.kind.like(kind + ".%"))
    if site_id is not None:
        stmt = stmt.where(Agent.site_id == site_id)
    if not routine and kind not in event_text.ROUTINE_KINDS:
        stmt = stmt.where(Event.routine.is_(False))
    floor = event_text.SEVERITIES.index(severity) if severity in event_text.SEVERITIES else 0
    rows = db.execute(stmt.order_by(Event.id.desc()).limit(limit if floor == 0 else FEED_SCAN)).all()
    names = person_names(db, [(e.data or {}).get("person") for e, _, _ in rows])
    out = []
    for e, agent, site in rows:
        sentence = event_text.describe(e.kind, e.data or {}, site_id=site, agent=agent, names=names, at=e.ts)
        if event_text.SEVERITIES.index(sentence.severity) < floor:
            continue
        out.append({"id": e.id, "ts": e.ts, "kind": e.kind, "agent": agent, "agent_id": e.agent_id,
                    "customer_id": e.customer_id,
                    "site_id": site, "severity": sentence.severity, "sentence": sentence.as_dict()})
        if len(out) >= limit:
            break
    return out


def recent_events(db, user: User, limit: int, agent_id: int | None = None,
                  kind: str | None = None, after_id: int | None = None) -> list[dict]:
    stmt = select(Event, Agent.name).join(Agent, Agent.id == Event.agent_id)
    stmt = customer_scope(db, user).filter(stmt, Event.customer_id)
    if agent_id is not None:
        stmt = stmt.where(Event.agent_id == agent_id)
    if kind:
        stmt = stmt.where(Event.kind == kind)
    if after_id is not None:
        stmt = stmt.where(Event.id > after_id)
    rows = db.execute(stmt.order_by(Event.id.desc()).limit(limit)).all()
    return [event_view(e, name) for e, name in rows]


def one_event(db, user: User, event_id: int) -> Event:
    return scoped_or_404(db, user, Event, event_id, "no such event")


def list_alarm_rows(db, user: User, state: str | None, limit: int) -> list[Alarm]:
    stmt = customer_scope(db, user).filter(select(Alarm), Alarm.customer_id)
    if state:
        stmt = stmt.where(Alarm.state == state)
    return list(db.scalars(stmt.order_by(Alarm.id.desc()).limit(limit)))


def one_alarm(db, user: User, alarm_id: int) -> Alarm:
    return scoped_or_404(db, user, Alarm, alarm_id, "no such alarm")


def acknowledge(db, ledger: Ledger, user: User, alarm_id: int, note: str = "") -> Alarm:
    """Acknowledge an active alarm: who, when and their note, ledgered with the alarm's change
    in one transaction. An alarm no longer active is left as it is."""
    a = one_alarm(db, user, alarm_id)
    if a.state == "active":
        now = utcnow()
        a.state, a.acknowledged_by, a.acknowledged_at, a.cleared_at = "acknowledged", user.username, now, now
        a.ack_note = note.strip()
        ledger.record(db, "alarm.acknowledged", {**ledger_record(a), "by": user.username, "at": iso(now),
                                                 "note": a.ack_note})
        db.commit()
    return a


def assign(db, ledger: Ledger, user: User, alarm_id: int, to: str | None) -> Alarm:
    """Give an alarm to an officer (or an admin) to handle, or take it back (``to`` None);
    ledgered with the change."""
    a = one_alarm(db, user, alarm_id)
    if to:
        target = db.scalar(select(User).where(User.username == to))
        if target is None or not target.active or target.role not in ASSIGNABLE_ROLES:
            raise Invalid(f"{to} is not an active officer")
    if a.assigned_to != (to or None):
        now = utcnow()
        a.assigned_to, a.assigned_at = to or None, now if to else None
        ledger.record(db, "alarm.assigned", {**ledger_record(a), "to": to or None, "by": user.username,
                                             "at": iso(now)})
        db.commit()
    return a


def assignees(db) -> list[str]:
    return list(db.scalars(select(User.username).where(User.active.is_(True), User.role.in_(ASSIGNABLE_ROLES))
                           .order_by(User.username)))


def open_alarm_counts(db, user: User) -> dict[str, int]:
    """Active alarms by severity in the user's scope: one grouped count."""
    stmt = customer_scope(db, user).filter(
        select(Alarm.severity, func.count()).where(Alarm.state == "active"), Alarm.customer_id)
    return count_open(db.execute(stmt.group_by(Alarm.severity)).all())


def alarm_groups(db, user: User, limit: int = 200) -> list[dict[str, Any]]:
    """The active alarms in the user's scope, grouped by kind and subject (controller.alarms)."""
    rows = list_alarm_rows(db, user, "active", limit)
    names = person_names(db, [(a.details or {}).get("person") for a in rows])
    return group_alarms(alarm_view(a, names) for a in rows)
