"""Edge agents: enrolment, liveness, commands."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request, status
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from controller.auth import DB, SITE_READERS, STAFF, require
from controller.errors import documented
from controller.models import Agent, Role, Site, User, aware, utcnow
from controller.params import Int64
from controller.wire_server import AgentNotConnected, CommandError
from edge_agent.wire.keys import KeyFileError, parse_public_key
from edge_agent.wire.kinds import CommandName

router = APIRouter(prefix="/api/agents", tags=["agents"])


def agent_view(a: Agent, site_slug: str | None, offline_after_s: float) -> dict[str, Any]:
    seen = aware(a.last_seen_at)
    online = bool(seen and (utcnow() - seen).total_seconds() < offline_after_s and not a.revoked)
    return {
        "id": a.id, "name": a.name, "site": site_slug, "public_key": a.public_key,
        "online": online, "revoked": a.revoked,
        "last_seen_at": seen.isoformat() if seen else None,
        "pending_events": a.pending, "config_hash": a.config_hash, "status": a.status or {},
    }


def list_agent_views(db, request: Request) -> list[dict[str, Any]]:
    sites = {s.id: s.slug for s in db.scalars(select(Site))}
    offline_after = request.app.state.settings.agent_offline_after_s
    return [agent_view(a, sites.get(a.site_id), offline_after)
            for a in db.scalars(select(Agent).order_by(Agent.name))]


@router.get("", dependencies=[require(*SITE_READERS)])
def list_agents(db: DB, request: Request) -> list[dict]:
    return list_agent_views(db, request)


def _get(db, agent_id: int) -> Agent:
    agent = db.get(Agent, agent_id)
    if agent is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such agent")
    return agent


@router.get("/{agent_id}", dependencies=[require(*SITE_READERS)])
def get_agent(agent_id: Int64, db: DB, request: Request) -> dict:
    a = _get(db, agent_id)
    site = db.get(Site, a.site_id) if a.site_id else None
    return agent_view(a, site.slug if site else None, request.app.state.settings.agent_offline_after_s)


class Enrolment(BaseModel):
    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
    site: str = Field(min_length=1, max_length=64)
    public_key: str = Field(min_length=40, max_length=40)


def enroll(db, ledger, name: str, site_slug: str, public_key: str, by: str) -> Agent:
    try:
        key = parse_public_key(public_key).decode()
    except KeyFileError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    site = db.scalar(select(Site).where(Site.slug == site_slug))
    if site is None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"unknown site {site_slug!r}")
    agent = Agent(name=name, site_id=site.id, public_key=key, status={})
    db.add(agent)
    ledger.record(db, "agent.enrolled", {"agent": name, "site": site_slug, "public_key": key, "by": by})
    try:
        db.commit()
    except IntegrityError:
        db.rollback()
        raise HTTPException(status.HTTP_409_CONFLICT, "agent name or key already enrolled") from None
    return agent


@router.post("", status_code=201, responses=documented(409))
def enroll_agent(body: Enrolment, db: DB, request: Request, user: User = require(Role.admin)) -> dict:
    a = enroll(db, request.app.state.ledger, body.name, body.site, body.public_key, user.username)
    return {"id": a.id, "name": a.name}


@router.post("/{agent_id}/revoke")
def revoke_agent(agent_id: Int64, db: DB, request: Request, user: User = require(Role.admin)) -> dict:
    a = _get(db, agent_id)
    a.revoked = True
    request.app.state.ledger.record(db, "agent.revoked", {"agent": a.name, "by": user.username})
    db.commit()
    request.app.state.wire.reload_keys()
    return {"id": a.id, "revoked": True}


class CommandRequest(BaseModel):
    name: str = Field(pattern=r"^(ping|status|reload_config)$")
    args: dict[str, Any] = Field(default_factory=dict)


@router.post("/{agent_id}/commands", responses=documented(503, 504))
def run_command(agent_id: Int64, body: CommandRequest, db: DB, request: Request,
                user: User = require(*STAFF)) -> dict:
    _get(db, agent_id)
    timeout = request.app.state.settings.command_timeout_s
    try:
        result = request.app.state.wire.send_command(agent_id, CommandName(body.name), body.args, timeout)
    except AgentNotConnected:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "the agent is not connected") from None
    except CommandError as exc:
        raise HTTPException(status.HTTP_504_GATEWAY_TIMEOUT, f"agent: {exc}") from None
    return {"ok": True, "result": result}
