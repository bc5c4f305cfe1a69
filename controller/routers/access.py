"""People, confidentiality training, gates, who is where, and the access event log."""
from __future__ import annotations

import datetime as dt
import json

from fastapi import APIRouter, HTTPException, Query, Request, status
from pydantic import BaseModel, Field, model_validator
from sqlalchemy import select

from controller.auth import DB, SITE_READERS, STAFF, require
from controller.credentials import credentials_document, latest_training, person_view
from controller.errors import documented
from controller.models import AccessEvent, GateState, Person, Presence, Site, TrainingRecord, User, aware, iso
from controller.params import Int64
from controller.wire_server import CommandError
from edge_agent.wire.kinds import CommandName
from edge_agent.wire.redact import redact
from edge_agent.wire.site import Badge

router = APIRouter(prefix="/api", tags=["access"])


def _site(db, site_id: int) -> Site:
    site = db.get(Site, site_id)
    if site is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such site")
    return site


@router.get("/sites/{site_id}/people")
def list_people(site_id: Int64, db: DB, user: User = require(*SITE_READERS)) -> list[dict]:
    _site(db, site_id)
    people = list(db.scalars(select(Person).where(Person.site_id == site_id).order_by(Person.person)))
    training = latest_training(db, [p.id for p in people])
    today = dt.date.today()
    views = [person_view(p, training.get(p.id), today) for p in people]
    if user.role not in {r.value for r in STAFF}:  # badge numbers are credentials; inspectors audit, not issue
        for v in views:
            v["badges"] = redact(Badge, v["badges"])
    return views


class TrainingIn(BaseModel):
    completed: dt.date
    expires: dt.date
    course: str = Field(default="confidentiality", min_length=1, max_length=100)

    @model_validator(mode="after")
    def _order(self):
        if self.expires <= self.completed:
            raise ValueError("expires must be after completed")
        return self


@router.post("/people/{person_pk}/training", status_code=201)
def record_training(person_pk: Int64, body: TrainingIn, request: Request, db: DB,
                    user: User = require(*STAFF)) -> dict:
    """Record a completed confidentiality training; the site's gates get it at once."""
    person = db.get(Person, person_pk)
    if person is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such person")
    db.add(TrainingRecord(person_id=person.id, course=body.course, completed=body.completed,
                          expires=body.expires, recorded_by=user.username))
    request.app.state.ledger.record(db, "training.recorded", {
        "person": person.person, "site_id": person.site_id, "course": body.course,
        "completed": body.completed.isoformat(), "expires": body.expires.isoformat(), "by": user.username})
    db.commit()
    pushed = push_credentials(request, db, db.get(Site, person.site_id))
    training = latest_training(db, [person.id]).get(person.id)
    return {**person_view(person, training, dt.date.today()), "pushed_to_edge": pushed}


def push_credentials(request: Request, db, site: Site) -> bool:
    """Best effort: an offline edge gets the document when it next asks (on reconnect)."""
    wire = request.app.state.wire
    agent_id = wire.agent_for_site(site.id)
    if agent_id is None:
        return False
    try:
        wire.send_command(agent_id, CommandName.SET_CREDENTIALS, credentials_document(db, site),
                          request.app.state.settings.command_timeout_s)
        return True
    except CommandError:
        return False


@router.get("/sites/{site_id}/gates", dependencies=[require(*SITE_READERS)])
def list_gates(site_id: Int64, db: DB) -> list[dict]:
    site = _site(db, site_id)
    states = {g.gate: g for g in db.scalars(select(GateState).where(GateState.site_id == site_id))}
    out = []
    for g in json.loads(site.config_json).get("gates", []):
        st = states.get(g["id"])
        out.append({"gate": g["id"], "name": g["name"], "kind": g["kind"], "area_in": g["area_in"],
                    "area_out": g["area_out"], "state": st.state if st else "unknown",
                    "online": st.online if st else False, "updated_at": iso(st.updated_at) if st else None})
    return out


@router.get("/sites/{site_id}/occupancy", dependencies=[require(*SITE_READERS)])
def occupancy(site_id: Int64, db: DB) -> dict:
    """Who is inside each area now (from completed passages)."""
    site = _site(db, site_id)
    names = dict(db.execute(select(Person.person, Person.name).where(Person.site_id == site_id)).all())
    areas: dict[str, list[dict]] = {a["id"]: [] for a in json.loads(site.config_json).get("areas", [])}
    for p in db.scalars(select(Presence).where(Presence.site_id == site_id).order_by(Presence.since)):
        areas.setdefault(p.area, []).append({"person": p.person, "name": names.get(p.person, p.person),
                                             "since": iso(p.since), "gate": p.gate})
    return {"areas": areas}


@router.get("/sites/{site_id}/access-events", dependencies=[require(*SITE_READERS)])
def access_events(site_id: Int64, db: DB, person: str | None = Query(None, max_length=64),
                  gate: str | None = Query(None, max_length=64), start: dt.datetime | None = None,
                  end: dt.datetime | None = None, limit: int = Query(200, ge=1, le=5000)) -> list[dict]:
    _site(db, site_id)
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


class PassbackReset(BaseModel):
    person: str | None = Field(default=None, max_length=64)  # None: everyone


@router.post("/sites/{site_id}/passback/reset", responses=documented(503, 502))
def reset_passback(site_id: Int64, body: PassbackReset, request: Request, db: DB,
                   user: User = require(*STAFF)) -> dict:
    """Set one person (or everyone) back to neutral for anti-passback, e.g. after a badge was
    handed over or a gate failed; ledgered, applied by the site's edge at once."""
    _site(db, site_id)
    wire = request.app.state.wire
    agent_id = wire.agent_for_site(site_id)
    if agent_id is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "the site's edge agent is not connected")
    try:
        result = wire.send_command(agent_id, CommandName.RESET_PASSBACK, {"person": body.person},
                                   request.app.state.settings.command_timeout_s)
    except CommandError as exc:
        raise HTTPException(status.HTTP_502_BAD_GATEWAY, f"edge agent: {exc}") from None
    request.app.state.ledger.append("passback.reset", {"site_id": site_id, "person": body.person,
                                                       "by": user.username})
    return result
