"""Events as the agents reported them, and alarms raised from them."""
from __future__ import annotations

from fastapi import APIRouter, Query

from controller.auth import DB, STAFF, CurrentUser, require
from controller.deps import LedgerDep
from controller.models import Role, User
from controller.params import Int64
from controller.services import events as svc

router = APIRouter(prefix="/api", tags=["events"])
READERS = (Role.admin, Role.officer, Role.inspector, Role.customer)


@router.get("/events", dependencies=[require(*READERS)])
def list_events(db: DB, user: CurrentUser, limit: int = Query(100, ge=1, le=1000),
                agent_id: Int64 | None = None, kind: str | None = Query(None, max_length=80),
                after_id: Int64 | None = None) -> list[dict]:
    return svc.recent_events(db, user, limit, agent_id, kind, after_id)


@router.get("/events/{event_id}", dependencies=[require(*READERS)])
def get_event(event_id: Int64, db: DB, user: CurrentUser) -> dict:
    return svc.event_view(svc.one_event(db, user, event_id))


@router.get("/alarms", dependencies=[require(*READERS)])
def list_alarms(db: DB, user: CurrentUser, state: str | None = Query(None, pattern="^(active|cleared|acknowledged)$"),
                limit: int = Query(100, ge=1, le=1000)) -> list[dict]:
    return [svc.alarm_view(a) for a in svc.list_alarm_rows(db, user, state, limit)]


@router.get("/alarms/{alarm_id}", dependencies=[require(*READERS)])
def get_alarm(alarm_id: Int64, db: DB, user: CurrentUser) -> dict:
    return svc.alarm_view(svc.one_alarm(db, user, alarm_id))


@router.post("/alarms/{alarm_id}/acknowledge")
def acknowledge_alarm(alarm_id: Int64, db: DB, ledger: LedgerDep, user: User = require(*STAFF)) -> dict:
    return svc.alarm_view(svc.acknowledge(db, ledger, user, alarm_id))
