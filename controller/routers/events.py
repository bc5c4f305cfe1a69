"""Events as the agents reported them, and alarms raised from them."""
from __future__ import annotations

from fastapi import APIRouter, Body, Query
from pydantic import BaseModel, Field

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


@router.get("/events/feed", dependencies=[require(*READERS)])
def event_feed(db: DB, user: CurrentUser, limit: int = Query(25, ge=1, le=200),
               kind: str | None = Query(None, max_length=80, pattern=r"^[a-z_]+(\.[a-z_.]+)?$"),
               site_id: Int64 | None = None,
               severity: str | None = Query(None, pattern="^(info|warning|critical)$"),
               routine: bool = False) -> list[dict]:
    """The latest events as sentences (a catalog message id, its values, the pages its subject
    links to), newest first; heartbeats and other routine reports left out unless asked for.
    ``kind``: a kind or a family ("gate"); ``severity``: that or worse."""
    return svc.event_feed(db, user, limit, kind, site_id, severity, routine)


@router.get("/events/{event_id}", dependencies=[require(*READERS)])
def get_event(event_id: Int64, db: DB, user: CurrentUser) -> dict:
    return svc.event_view(svc.one_event(db, user, event_id))


@router.get("/alarms", dependencies=[require(*READERS)])
def list_alarms(db: DB, user: CurrentUser, state: str | None = Query(None, pattern="^(active|cleared|acknowledged)$"),
                limit: int = Query(100, ge=1, le=1000)) -> list[dict]:
    return [svc.alarm_view(a) for a in svc.list_alarm_rows(db, user, state, limit)]


@router.get("/alarms/counts", dependencies=[require(*READERS)])
def open_alarm_counts(db: DB, user: CurrentUser) -> dict[str, int]:
    """Active alarms by severity (what every page's header shows)."""
    return svc.open_alarm_counts(db, user)


@router.get("/alarms/groups", dependencies=[require(*READERS)])
def alarm_groups(db: DB, user: CurrentUser) -> list[dict]:
    """Active alarms grouped by kind and subject, with how often each happened."""
    return svc.alarm_groups(db, user)


@router.get("/alarms/assignees", dependencies=[require(*STAFF)])
def alarm_assignees(db: DB) -> list[str]:
    """Who an alarm may be assigned to: the active officers and admins."""
    return svc.assignees(db)


@router.get("/alarms/{alarm_id}", dependencies=[require(*READERS)])
def get_alarm(alarm_id: Int64, db: DB, user: CurrentUser) -> dict:
    return svc.alarm_view(svc.one_alarm(db, user, alarm_id))


class Acknowledgement(BaseModel):
    note: str = Field(default="", max_length=2000)


class Assignment(BaseModel):
    to: str | None = Field(default=None, max_length=64)  # None: nobody


@router.post("/alarms/{alarm_id}/acknowledge")
def acknowledge_alarm(alarm_id: Int64, db: DB, ledger: LedgerDep, user: User = require(*STAFF),
                      body: Acknowledgement | None = Body(None)) -> dict:
    """Acknowledge an active alarm with an optional note; who, when and the note are ledgered."""
    return svc.alarm_view(svc.acknowledge(db, ledger, user, alarm_id, body.note if body else ""))


@router.post("/alarms/{alarm_id}/assign")
def assign_alarm(alarm_id: Int64, body: Assignment, db: DB, ledger: LedgerDep, user: User = require(*STAFF)) -> dict:
    """Give an alarm to an officer to handle (``to``: a username; null takes it back); ledgered."""
    return svc.alarm_view(svc.assign(db, ledger, user, alarm_id, body.to))
