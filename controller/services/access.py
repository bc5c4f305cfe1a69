"""People, their confidentiality training, gates, presence and the access log of a site."""
from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import select

from controller.credentials import (
    credentials_document,
    latest_training,
    people_views,
    person_view,
    site_today,
)
from controller.domain_errors import EdgeFailed, EdgeUnavailable, NotFound
from controller.ledger import Ledger
from controller.models import (
    AccessEvent,
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


def gates(db, site_id: int) -> list[dict[str, Any]]:
    site = site_or_404(db, site_id)
    states = {g.gate: g for g in db.scalars(select(GateState).where(GateState.site_id == site_id))}
    out = []
    for g in json.loads(site.config_json).get("gates", []):
        st = states.get(g["id"])
        out.append({"gate": g["id"], "name": g["name"], "kind": g["kind"], "area_in": g["area_in"],
                    "area_out": g["area_out"], "state": st.state if st else "unknown",
                    "online": st.online if st else False, "updated_at": iso(st.updated_at) if st else None})
    return out


def occupancy(db, site_id: int) -> dict[str, Any]:
    """Who is inside each area now (from completed passages)."""
    site = site_or_404(db, site_id)
    names = dict(db.execute(select(Person.person, Person.name).where(Person.site_id == site_id)).all())
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
