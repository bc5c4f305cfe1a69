"""Seat coverage as the edge last judged it: per seat covered or not, with its reasons, and the
site's coverage figure. A customer sees its own seats only."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, status
from sqlalchemy import select

from controller.auth import DB, CurrentUser, require
from controller.models import Agent, Customer, Event, Role, Site, iso
from edge_agent.wire.site import SiteConfig

router = APIRouter(prefix="/api", tags=["seats"])
READERS = (Role.admin, Role.officer, Role.inspector, Role.customer)


@router.get("/sites/{site_id}/seats", dependencies=[require(*READERS)])
def seat_states(site_id: int, db: DB, user: CurrentUser) -> dict[str, Any]:
    site = db.get(Site, site_id)
    if site is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such site")
    slug = None
    if user.role == Role.customer.value:
        c = db.get(Customer, user.customer_id)
        slug = c.slug if c is not None else ""
    agents = select(Agent.id).where(Agent.site_id == site_id)
    latest: dict[str, dict[str, Any]] = {}
    for e in db.scalars(select(Event).where(Event.agent_id.in_(agents), Event.kind == "seat.state")
                        .order_by(Event.id.desc()).limit(5000)):
        seat = e.data.get("seat")
        if seat in latest or (slug is not None and e.data.get("customer") != slug):
            continue
        latest[seat] = {"at": iso(e.received_at), **e.data}
    seats = [latest[s] for s in sorted(latest)]
    covered = sum(1 for s in seats if s.get("covered"))
    config = SiteConfig.model_validate_json(site.config_json)
    layout = [{"seat": s.id, "customer": s.customer, "x": s.position.x, "y": s.position.y}
              for s in config.seats if slug is None or s.customer == slug]
    return {"seats": seats, "covered": covered, "total": len(seats), "layout": layout,
            "percent": round(100.0 * covered / len(seats), 1) if seats else None}
