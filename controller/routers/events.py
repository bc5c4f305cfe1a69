"""Events as the agents reported them, and alarms raised from them."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request, status
from sqlalchemy import select

from controller.alarms import ledger_record
from controller.auth import DB, STAFF, CurrentUser, check_customer_scope, require
from controller.models import Agent, Alarm, Event, Role, User, iso, utcnow
from controller.params import Int64

router = APIRouter(prefix="/api", tags=["events"])
READERS = (Role.admin, Role.officer, Role.inspector, Role.customer)


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


def _scoped(stmt, model, user: User):
    if user.role == Role.customer.value:
        return stmt.where(model.customer_id == user.customer_id)
    return stmt


def recent_events(db, user: User, limit: int, agent_id: int | None = None,
                  kind: str | None = None, after_id: int | None = None) -> list[dict]:
    stmt = select(Event, Agent.name).join(Agent, Agent.id == Event.agent_id)
    stmt = _scoped(stmt, Event, user)
    if agent_id is not None:
        stmt = stmt.where(Event.agent_id == agent_id)
    if kind:
        stmt = stmt.where(Event.kind == kind)
    if after_id is not None:
        stmt = stmt.where(Event.id > after_id)
    rows = db.execute(stmt.order_by(Event.id.desc()).limit(limit)).all()
    return [event_view(e, name) for e, name in rows]


@router.get("/events", dependencies=[require(*READERS)])
def list_events(db: DB, user: CurrentUser, limit: int = Query(100, ge=1, le=1000),
                agent_id: Int64 | None = None, kind: str | None = Query(None, max_length=80),
                after_id: Int64 | None = None) -> list[dict]:
    return recent_events(db, user, limit, agent_id, kind, after_id)


@router.get("/events/{event_id}", dependencies=[require(*READERS)])
def get_event(event_id: Int64, db: DB, user: CurrentUser) -> dict:
    e = db.get(Event, event_id)
    if e is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such event")
    check_customer_scope(user, e.customer_id)
    return event_view(e)


def list_alarm_rows(db, user: User, state: str | None, limit: int) -> list[Alarm]:
    stmt = _scoped(select(Alarm), Alarm, user)
    if state:
        stmt = stmt.where(Alarm.state == state)
    return list(db.scalars(stmt.order_by(Alarm.id.desc()).limit(limit)))


@router.get("/alarms", dependencies=[require(*READERS)])
def list_alarms(db: DB, user: CurrentUser, state: str | None = Query(None, pattern="^(active|cleared|acknowledged)$"),
                limit: int = Query(100, ge=1, le=1000)) -> list[dict]:
    return [alarm_view(a) for a in list_alarm_rows(db, user, state, limit)]


def _alarm(db, user: User, alarm_id: int) -> Alarm:
    a = db.get(Alarm, alarm_id)
    if a is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such alarm")
    check_customer_scope(user, a.customer_id)
    return a


@router.get("/alarms/{alarm_id}", dependencies=[require(*READERS)])
def get_alarm(alarm_id: Int64, db: DB, user: CurrentUser) -> dict:
    return alarm_view(_alarm(db, user, alarm_id))


@router.post("/alarms/{alarm_id}/acknowledge")
def acknowledge_alarm(alarm_id: Int64, db: DB, request: Request, user: User = require(*STAFF)) -> dict:
    a = _alarm(db, user, alarm_id)
    if a.state == "active":
        a.state, a.acknowledged_by, a.cleared_at = "acknowledged", user.username, utcnow()
        request.app.state.ledger.record(db, "alarm.acknowledged", {**ledger_record(a), "by": user.username})
        db.commit()
    return alarm_view(a)
