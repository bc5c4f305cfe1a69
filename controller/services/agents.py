"""Edge agents: their views, enrolment, revocation and commands sent to one agent."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from controller.domain_errors import (
    Conflict,
    EdgeTimeout,
    EdgeUnavailable,
    Invalid,
    NotFound,
)
from controller.ledger import Ledger
from controller.models import Agent, Site, aware, utcnow
from controller.services.edge import EdgeChannel, checked_args
from controller.wire_server import AgentNotConnected, CommandError
from edge_agent.wire.keys import KeyFileError, parse_public_key
from edge_agent.wire.kinds import CommandName


def agent_view(a: Agent, site_slug: str | None, offline_after_s: float) -> dict[str, Any]:
    seen = aware(a.last_seen_at)
    online = bool(seen and (utcnow() - seen).total_seconds() < offline_after_s and not a.revoked)
    return {
        "id": a.id, "name": a.name, "site": site_slug, "public_key": a.public_key,
        "online": online, "revoked": a.revoked,
        "last_seen_at": seen.isoformat() if seen else None,
        "pending_events": a.pending, "config_hash": a.config_hash, "status": a.status or {},
    }


def agent_views(db, offline_after_s: float) -> list[dict[str, Any]]:
    sites = {s.id: s.slug for s in db.scalars(select(Site))}
    return [agent_view(a, sites.get(a.site_id), offline_after_s)
            for a in db.scalars(select(Agent).order_by(Agent.name))]


def agent_or_404(db, agent_id: int) -> Agent:
    agent = db.get(Agent, agent_id)
    if agent is None:
        raise NotFound("no such agent")
    return agent


def one_agent_view(db, agent_id: int, offline_after_s: float) -> dict[str, Any]:
    a = agent_or_404(db, agent_id)
    site = db.get(Site, a.site_id) if a.site_id else None
    return agent_view(a, site.slug if site else None, offline_after_s)


def enroll(db, ledger: Ledger, name: str, site_slug: str, public_key: str, by: str) -> Agent:
    try:
        key = parse_public_key(public_key).decode()
    except KeyFileError as exc:
        raise Invalid(str(exc)) from None
    site = db.scalar(select(Site).where(Site.slug == site_slug))
    if site is None:
        raise Invalid(f"unknown site {site_slug!r}")
    agent = Agent(name=name, site_id=site.id, public_key=key, status={})
    db.add(agent)
    ledger.record(db, "agent.enrolled", {"agent": name, "site": site_slug, "public_key": key, "by": by})
    try:
        db.commit()
    except IntegrityError:
        db.rollback()
        raise Conflict("agent name or key already enrolled") from None
    return agent


def revoke(db, ledger: Ledger, edge: EdgeChannel, agent_id: int, by: str) -> Agent:
    a = agent_or_404(db, agent_id)
    a.revoked = True
    ledger.record(db, "agent.revoked", {"agent": a.name, "by": by})
    db.commit()
    edge.reload_keys()
    return a


def run_command(db, edge: EdgeChannel, agent_id: int, name: CommandName, args: dict[str, Any],
                timeout: float) -> dict:
    agent_or_404(db, agent_id)
    checked = checked_args(name, args)
    try:
        return edge.send_command(agent_id, name, checked, timeout)
    except AgentNotConnected:
        raise EdgeUnavailable("the agent is not connected") from None
    except CommandError as exc:
        raise EdgeTimeout(f"agent: {exc}") from None
