"""Seat coverage as the edge judged it, coverage history, the work policy at a seat, and
calibration. A customer's scope sees its own seats only; another's seat reads as absent."""
from __future__ import annotations

import datetime as dt
import json
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import aliased

from access_control.credentials import TrainingRecord
from controller.coverage_history import (
    Change,
    covered_share,
    percent_series,
    seat_spans,
)
from controller.credentials import site_today
from controller.domain_errors import Forbidden, Invalid, NotFound
from controller.ledger import Ledger
from controller.models import Agent, Event, Person, Presence, Site, aware, iso, utcnow
from controller.models import TrainingRecord as TrainingRow
from controller.policy import PersonFacts, SeatFacts, may_work
from controller.services.edge import EdgeChannel, send_to_edge
from controller.services.scope import CustomerScope
from controller.services.sites import site_or_404
from controller.sites import apply_site_config
from controller.timeline import axis_ticks
from edge_agent.wire.kinds import CommandName
from edge_agent.wire.site import SiteConfig

HISTORY_KINDS = ("seat.state", "coverage.gap")
EDGE_DOWN = "edge_down"


def seat_states(db, scope: CustomerScope, site_id: int) -> dict[str, Any]:
    site = site_or_404(db, site_id)
    latest = {seat: state for seat, state in _latest_states(db, site_id).items() if scope.sees(state.get("customer"))}
    seats = [latest[s] for s in sorted(latest)]
    covered = sum(1 for s in seats if s.get("covered"))
    config = SiteConfig.model_validate_json(site.config_json)
    layout = [{"seat": s.id, "customer": s.customer, "x": s.position.x, "y": s.position.y}
              for s in config.seats if scope.sees(s.customer)]
    return {"seats": seats, "covered": covered, "total": len(seats), "layout": layout,
            "percent": round(100.0 * covered / len(seats), 1) if seats else None}


def _latest_states(db, site_id: int) -> dict[str, dict[str, Any]]:
    """Each seat's newest seat.state event of the site, with when it arrived."""
    agents = select(Agent.id).where(Agent.site_id == site_id)
    latest: dict[str, dict[str, Any]] = {}
    for e in db.scalars(select(Event).where(Event.agent_id.in_(agents), Event.kind == "seat.state")
                        .order_by(Event.id.desc()).limit(5000)):
        seat = e.data.get("seat")
        if seat not in latest:
            latest[seat] = {"at": iso(e.received_at), **e.data}
    return latest


def site_coverage(db) -> list[dict[str, Any]]:
    """Each site's headline figure: the share of its seats covered, as its edge last reported."""
    out = []
    for site in db.scalars(select(Site).order_by(Site.slug)):
        agents = select(Agent.id).where(Agent.site_id == site.id)
        e = db.scalars(select(Event).where(Event.agent_id.in_(agents), Event.kind == "site.coverage")
                       .order_by(Event.id.desc()).limit(1)).first()
        data = e.data if e is not None else {}
        out.append({"site_id": site.id, "site": site.slug, "percent": data.get("percent"),
                    "covered": data.get("covered"), "seats": data.get("seats"),
                    "at": iso(e.received_at) if e is not None else None})
    return out


def _seat(db, scope: CustomerScope, site_id: int, seat_id: str) -> tuple[Site, SiteConfig, Any]:
    site = site_or_404(db, site_id)
    config = SiteConfig.model_validate_json(site.config_json)
    seat = next((s for s in config.seats if s.id == seat_id), None)
    if seat is None or not scope.sees(seat.customer):
        raise NotFound("no such seat")  # another's seat: not there
    return site, config, seat


def _changes(db, site_id: int, since: dt.datetime, until: dt.datetime) -> list[Change]:
    """The seat changes in the window, and for each seat the last one before it. A coverage gap
    (the edge was down) is a change to "not judged" for every seat at its start."""
    agents = select(Agent.id).where(Agent.site_id == site_id)
    base = select(Event).where(Event.agent_id.in_(agents), Event.kind.in_(HISTORY_KINDS))
    out: list[Change] = []
    before: set[str] = set()
    for e in db.scalars(base.where(Event.received_at < since).order_by(Event.id.desc()).limit(5000)):
        for c in _event_changes(e, since):
            if c.seat not in before:
                before.add(c.seat)
                out.append(c)
    for e in db.scalars(base.where(Event.received_at >= since, Event.received_at <= until).order_by(Event.id)):
        out.extend(_event_changes(e))
    return out


def _aware_time(text: Any, fallback: dt.datetime) -> dt.datetime:
    try:
        at = dt.datetime.fromisoformat(str(text))
    except ValueError:
        return fallback
    return at if at.tzinfo is not None else at.replace(tzinfo=dt.timezone.utc)


def _event_changes(e: Event, clamp: dt.datetime | None = None) -> list[Change]:
    received = aware(e.received_at)
    if e.kind == "coverage.gap":
        at = _aware_time(e.data.get("since"), received)
        seats = e.data.get("seats")
        seats = [s for s in seats if isinstance(s, str)] if isinstance(seats, list) else []
        changes = [Change(at, seat, None, (EDGE_DOWN,)) for seat in seats]
    else:
        at = _aware_time(e.ts, received)
        changes = [Change(at, str(e.data.get("seat")), bool(e.data.get("covered")),
                          tuple(e.data.get("reasons") or ()))]
    if clamp is not None:
        changes = [Change(min(c.at, clamp), c.seat, c.covered, c.reasons) for c in changes]
    return changes


def _span_view(span) -> dict[str, Any]:
    return {"start": span.start.isoformat(), "end": span.end.isoformat(), "covered": span.covered,
            "reasons": list(span.reasons)}


def coverage_history(db, scope: CustomerScope, site_id: int, hours: float) -> dict[str, Any]:
    """The coverage % as a step line and every seat's spans over the last ``hours``."""
    site = site_or_404(db, site_id)
    config = SiteConfig.model_validate_json(site.config_json)
    seats = [s.id for s in config.seats if scope.sees(s.customer)]
    until = utcnow()
    since = until - dt.timedelta(hours=hours)
    spans = seat_spans(_changes(db, site_id, since, until), seats, since, until)
    return {"since": since.isoformat(), "until": until.isoformat(),
            "timezone": config.site.timezone, "ticks": axis_ticks(since, until, config.site.timezone),
            "percent": [{"at": t.isoformat(), "percent": p} for t, p in percent_series(spans)],
            "seats": {seat: [_span_view(x) for x in v] for seat, v in spans.items()},
            "covered_share": {seat: covered_share(v) for seat, v in spans.items()}}


def seat_detail(db, scope: CustomerScope, site_id: int, seat_id: str, hours: float) -> dict[str, Any]:
    site, config, seat = _seat(db, scope, site_id, seat_id)
    until = utcnow()
    since = until - dt.timedelta(hours=hours)
    spans = seat_spans(_changes(db, site_id, since, until), [seat.id], since, until)[seat.id]
    latest = _latest_states(db, site_id).get(seat.id)
    resolution = {c.id: list(c.resolution) for c in config.cameras}
    return {"seat": seat.id, "customer": seat.customer, "min_screen_px": seat.min_screen_px,
            "views": [{"camera": v.camera, "resolution": resolution.get(v.camera), "seat_zone": [list(p) for p in v.seat],
                       "screen_zone": [list(p) for p in v.screen]} for v in seat.views],
            "state": latest, "since": since.isoformat(), "until": until.isoformat(),
            "timezone": config.site.timezone, "ticks": axis_ticks(since, until, config.site.timezone),
            "history": [_span_view(x) for x in spans], "covered_share": covered_share(spans)}


def seat_frame(db, edge: EdgeChannel, scope: CustomerScope, site_id: int, seat_id: str,
               timeout: float) -> dict[str, Any]:
    """The frame the seat was last judged on, fetched from the edge (media stays on site); for a
    customer, other customers' screens come blacked out."""
    _, _, seat = _seat(db, scope, site_id, seat_id)
    return send_to_edge(edge, site_id, CommandName.SEAT_FRAME, {"seat": seat.id, "customer": scope.slug}, timeout)


def live_seat(db, site_id: int, seat_id: str, offline_after_s: float) -> tuple[bool | None, tuple[str, ...]]:
    """The seat as an edge agent on line judges it this round; (None, ()) when none does. The
    seat.state events only mark changes, so they cannot tell a quiet seat from a dead agent.
    Only the one seat's entry is read out of each agent's status: a site's status holds every
    seat, and this is asked on every served page."""
    cutoff = utcnow() - dt.timedelta(seconds=offline_after_s)
    entry = Agent.status[("seats", seat_id)]
    for seen, state in db.execute(select(Agent.last_seen_at, entry).where(
            Agent.site_id == site_id, Agent.revoked.is_(False)).order_by(Agent.id)):
        seen = aware(seen)
        if seen is not None and seen > cutoff and isinstance(state, dict) and "covered" in state:
            return bool(state["covered"]), tuple(str(r) for r in state.get("reasons") or ())
    return None, ()


def person_facts(db, site_id: int, person_id: str) -> PersonFacts | None:
    """The person, their training that expires last and where the gates put them, in one query."""
    t = aliased(TrainingRow)
    latest = (select(t.id).where(t.person_id == Person.id).order_by(t.expires.desc(), t.id.desc())
              .limit(1).correlate(Person).scalar_subquery())
    found = db.execute(
        select(Person, TrainingRow.completed, TrainingRow.expires, Presence.area).select_from(Person)
        .outerjoin(TrainingRow, TrainingRow.id == latest)
        .outerjoin(Presence, (Presence.site_id == Person.site_id) & (Presence.person == Person.person))
        .where(Person.site_id == site_id, Person.person == person_id)).first()
    if found is None:
        return None
    p, completed, expires, area = found
    return PersonFacts(p.person, p.role, p.active, tuple(p.customers or ()),
                       None if expires is None else TrainingRecord(completed, expires), area)


def seat_policy(db, scope: CustomerScope, site_id: int, seat_id: str, person: str | None,
                offline_after_s: float) -> dict[str, Any]:
    """May the seat's customer's data be shown at this seat now, and, given ``person``, to them.
    A customer may ask about its own seats, not about people."""
    site, config, seat = _seat(db, scope, site_id, seat_id)
    if person is not None and scope.limited:
        raise Forbidden("a customer may not look up people")
    covered, reasons = live_seat(db, site_id, seat.id, offline_after_s)
    seat_facts = SeatFacts(seat.id, seat.customer, covered, reasons)
    facts = person_facts(db, site_id, person) if person is not None else None
    inside = frozenset(g.area_in for g in config.gates)
    verdict = may_work(seat_facts, facts, inside, site_today(site), check_person=person is not None)
    return {"seat": seat.id, "customer": seat.customer, "person": person, "allowed": verdict.allowed,
            "reasons": list(verdict.reasons), "seat_covered": covered, "seat_reasons": list(reasons),
            "area": facts.area if facts else None, "checked_at": iso(utcnow())}


def calibrate(db, ledger: Ledger, edge: EdgeChannel, scope: CustomerScope, site_id: int, seat_id: str,
              camera: str, seat_zone: list, screen_zone: list, by: str) -> dict[str, Any]:
    """Set where a seat and its screen are in one camera's frame: the site config gets a new
    version, is ledgered and pushed to the edge, which judges with it at once."""
    site, config, seat = _seat(db, scope, site_id, seat_id)
    if camera not in {c.id for c in config.cameras}:
        raise NotFound("no such camera")
    doc = json.loads(site.config_json)
    entry = next(s for s in doc["seats"] if s["id"] == seat.id)
    views = [v for v in entry["views"] if v["camera"] != camera]
    views.append({"camera": camera, "seat": [list(p) for p in seat_zone], "screen": [list(p) for p in screen_zone]})
    entry["views"] = views
    try:
        new = SiteConfig.model_validate(doc)
    except ValidationError as exc:
        raise Invalid("the polygons do not fit the site config",
                      [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]) from None
    site, changed = apply_site_config(db, new)
    if changed:
        ledger.record(db, "seat.calibrated", {
            "site": site.slug, "seat": seat.id, "camera": camera, "version": site.version,
            "config_hash": site.config_hash, "by": by, "seat_zone": seat_zone, "screen_zone": screen_zone})
    db.commit()
    pushed = edge.push_config(site.id, site.config_json, site.config_hash) if changed else 0
    return {"seat": seat.id, "camera": camera, "version": site.version, "changed": changed, "pushed_to_agents": pushed}
