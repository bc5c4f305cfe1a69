"""Events as the agents reported them and alarms raised from them, within the caller's scope."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from controller.alarms import ledger_record
from controller.ledger import Ledger
from controller.models import Agent, Alarm, Event, User, iso, utcnow
from controller.services.scope import customer_scope, scoped_or_404


def event_view(e: Event, agent_name: str | None = None) -> dict[str, Any]:
    return {"id": e.id, "agent_id": e.agent_id, "agent": agent_name, "seq": e.seq, "ts": e.ts,
            "received_at": iso(e.received_at), "kind": e.kind, "data": e.data,
            "customer_id": e.customer_id}


def alarm_view(a: Alarm) -> dict[str, Any]:
    return {"id": a.id, "kind": a.kind, "severity": a.severity, "message": a.message,
            "state": a.state, "source": a.source, "site_id": a.site_id, "agent_id": a.agent_id,
            "customer_id": a.customer_id, "raised_at": iso(a.raised_at),
            "cleared_at": iso(a.cleared_at),
            "acknowledged_by": a.acknowledged_by, "details": a.details}


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


def acknowledge(db, ledger: Ledger, user: User, alarm_id: int) -> Alarm:
    a = one_alarm(db, user, alarm_id)
    if a.state == "active":
        a.state, a.acknowledged_by, a.cleared_at = "acknowledged", user.username, utcnow()
        ledger.record(db, "alarm.acknowledged", {**ledger_record(a), "by": user.username})
        db.commit()
    return a
