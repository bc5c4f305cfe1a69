"""Customer VLAN isolation: change requests, customer approvals, apply through the edge, drift.

A customer sees only its own VLANs and the changes that touch them (its own VLANs', and every
change that alters what its VLANs reach or what reaches them: it must approve those too),
approves or rejects only for itself, and may request changes to its own VLANs only. Officers request changes for any
customer VLAN and start approved ones; the edge verifies the approvals again before any line.
"""
from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from controller.auth import DB, STAFF, CurrentUser, require
from controller.deps import EdgeDep, LedgerDep, SettingsDep
from controller.errors import documented
from controller.models import Role, User
from controller.params import Int64
from controller.services import network as svc
from controller.services.scope import customer_scope

router = APIRouter(prefix="/api", tags=["network"])
READERS = (Role.admin, Role.officer, Role.inspector, Role.customer)


class AllowIn(BaseModel):
    proto: Literal["ip", "tcp", "udp", "icmp"]
    dst: str = Field(min_length=7, max_length=18, pattern=r"^[0-9./]+$")
    port: int | None = Field(default=None, ge=1, le=65535)
    note: str = Field(default="", max_length=100)


class ChangeIn(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    # VLAN id -> its complete new allow list; null: isolate with the site's default services
    vlans: dict[int, list[AllowIn] | None] = Field(min_length=1, max_length=50)


class ApprovalIn(BaseModel):
    # base64 of 64 bytes; checked after the caller's scope so a foreign change id reads "no such change"
    signature: str = Field(default="", max_length=200)


class RejectIn(BaseModel):
    comment: str = Field(default="", max_length=500)


@router.get("/sites/{site_id}/network", dependencies=[require(*READERS)])
def network_overview(site_id: Int64, db: DB, user: CurrentUser) -> dict[str, Any]:
    """The site's customer VLANs (a customer: its own), their deployed isolation, the switches'
    latest drift check."""
    return svc.overview(db, customer_scope(db, user), site_id)


@router.post("/sites/{site_id}/network/changes", status_code=201)
def create_change(site_id: Int64, body: ChangeIn, db: DB, ledger: LedgerDep,
                  user: User = require(Role.admin, Role.officer, Role.customer)) -> dict[str, Any]:
    wanted = {v: (None if allows is None else [a.model_dump() for a in allows]) for v, allows in body.vlans.items()}
    return svc.request_change(db, ledger, customer_scope(db, user), site_id, body.title, wanted, user.username)


@router.get("/sites/{site_id}/network/changes", dependencies=[require(*READERS)])
def list_changes(site_id: Int64, db: DB, user: CurrentUser) -> list[dict[str, Any]]:
    return svc.list_changes(db, customer_scope(db, user), site_id)


@router.get("/network/changes/{change_id}", dependencies=[require(*READERS)])
def get_change(change_id: str, db: DB, user: CurrentUser) -> dict[str, Any]:
    return svc.get_change(db, customer_scope(db, user), change_id)


@router.post("/network/changes/{change_id}/approve", responses=documented(400, 409))
def approve_change(change_id: str, body: ApprovalIn, db: DB, ledger: LedgerDep,
                   user: User = require(Role.customer)) -> dict[str, Any]:
    """The customer's Ed25519 signature over the change's digest for that customer. Checked here
    against the registered key so a wrong key is told at once; the edge checks it again."""
    return svc.approve(db, ledger, customer_scope(db, user), user, change_id, body.signature)


@router.post("/network/changes/{change_id}/reject", responses=documented(409))
def reject_change(change_id: str, body: RejectIn, db: DB, ledger: LedgerDep,
                  user: User = require(Role.customer)) -> dict[str, Any]:
    return svc.reject(db, ledger, customer_scope(db, user), user, change_id, body.comment)


@router.post("/network/changes/{change_id}/apply", responses=documented(409, 503))
def apply_change(change_id: str, db: DB, ledger: LedgerDep, edge: EdgeDep, settings: SettingsDep,
                 user: User = require(*STAFF)) -> dict[str, Any]:
    """Hand an approved change to the site's edge, which verifies and runs it (results arrive as
    events: the change ends applied, rolled back or failed)."""
    return svc.apply(db, ledger, edge, customer_scope(db, user), change_id, user.username, settings.command_timeout_s)


@router.post("/sites/{site_id}/network/drift-check", dependencies=[require(*STAFF)], responses=documented(503, 502))
def drift_check(site_id: Int64, db: DB, edge: EdgeDep, settings: SettingsDep) -> dict[str, Any]:
    return svc.drift_check(db, edge, site_id, settings.command_timeout_s)
