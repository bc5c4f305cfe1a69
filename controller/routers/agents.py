"""Edge agents: enrolment, liveness, commands."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from controller.auth import DB, SITE_READERS, STAFF, require
from controller.deps import EdgeDep, LedgerDep, SettingsDep
from controller.errors import documented
from controller.models import Role, User
from controller.params import Int64
from controller.services import agents as svc
from edge_agent.wire.kinds import CommandName

router = APIRouter(prefix="/api/agents", tags=["agents"])


@router.get("", dependencies=[require(*SITE_READERS)])
def list_agents(db: DB, settings: SettingsDep) -> list[dict]:
    return svc.agent_views(db, settings.agent_offline_after_s)


@router.get("/{agent_id}", dependencies=[require(*SITE_READERS)])
def get_agent(agent_id: Int64, db: DB, settings: SettingsDep) -> dict:
    return svc.one_agent_view(db, agent_id, settings.agent_offline_after_s)


class Enrolment(BaseModel):
    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
    site: str = Field(min_length=1, max_length=64)
    public_key: str = Field(min_length=40, max_length=40)


@router.post("", status_code=201, responses=documented(409))
def enroll_agent(body: Enrolment, db: DB, ledger: LedgerDep, user: User = require(Role.admin)) -> dict:
    a = svc.enroll(db, ledger, body.name, body.site, body.public_key, user.username)
    return {"id": a.id, "name": a.name}


@router.post("/{agent_id}/revoke")
def revoke_agent(agent_id: Int64, db: DB, ledger: LedgerDep, edge: EdgeDep, user: User = require(Role.admin)) -> dict:
    a = svc.revoke(db, ledger, edge, agent_id, user.username)
    return {"id": a.id, "revoked": True}


class CommandRequest(BaseModel):
    name: str = Field(pattern=r"^(ping|status|reload_config)$")
    args: dict[str, Any] = Field(default_factory=dict)


@router.post("/{agent_id}/commands", responses=documented(503, 504))
def run_command(agent_id: Int64, body: CommandRequest, db: DB, edge: EdgeDep, settings: SettingsDep,
                user: User = require(*STAFF)) -> dict:
    result = svc.run_command(db, edge, agent_id, CommandName(body.name), body.args, settings.command_timeout_s)
    return {"ok": True, "result": result}
