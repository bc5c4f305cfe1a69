"""Customer VLAN isolation: change requests, customer approvals, apply through the edge, drift.

A customer sees only its own VLANs and the changes that touch them (its own VLANs', and every
change that alters what its VLANs reach or what reaches them: it must approve those too),
approves or rejects only for itself, and may request changes to its own VLANs only. Officers request changes for any
customer VLAN and start approved ones; the edge verifies the approvals again before any line.
"""
from __future__ import annotations

import base64
import binascii
from typing import Any, Literal

from cryptography.exceptions import InvalidSignature
from fastapi import APIRouter, HTTPException, Request, status
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from controller import network as net
from controller.auth import DB, STAFF, CurrentUser, require
from controller.errors import documented
from controller.models import Agent, Customer, Event, NetworkApproval, NetworkChange, Role, Site, User, iso, utcnow
from controller.params import Int64
from controller.wire_server import CommandError
from edge_agent.wire.kinds import CommandName
from network_policy.approval import load_public_key

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


def _site(db, site_id: int) -> Site:
    site = db.get(Site, site_id)
    if site is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such site")
    return site


def _customer_slug(db, user: User) -> str | None:
    if user.role != Role.customer.value:
        return None
    c = db.get(Customer, user.customer_id)
    return c.slug if c is not None else ""


def _change(db, user: User, change_id: str) -> NetworkChange:
    change = db.get(NetworkChange, change_id)
    slug = _customer_slug(db, user)
    if change is None or (slug is not None and slug not in change.customers):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such change")
    return change


def change_view(db, change: NetworkChange, user: User, full: bool = False) -> dict[str, Any]:
    approvals = db.scalars(select(NetworkApproval).where(NetworkApproval.change_id == change.id))
    slugs = {c.id: c.slug for c in db.scalars(select(Customer))}
    slug = _customer_slug(db, user)
    out: dict[str, Any] = {
        "id": change.id, "site_id": change.site_id, "title": change.title, "status": change.status,
        "created_by": change.created_by, "created_at": iso(change.created_at), "expires": change.expires,
        "customers": change.customers, "devices": sorted(change.devices),
        # a customer sees that another customer decided, not who there or why
        "approvals": [{"customer": slugs.get(a.customer_id), "decision": a.decision, "at": iso(a.at),
                       **({"by": a.by, "comment": a.comment} if slug in (None, slugs.get(a.customer_id)) else {})}
                      for a in approvals],
        "finished_at": iso(change.finished_at), "result_status": change.result.get("status")}
    if full:
        if slug is None:
            out.update(before=change.before, after=change.after, analysis=change.analysis,
                       device_plans={d: {k: p[k] for k in ("vendor", "commands", "before_config", "after_config", "diff")}
                                     for d, p in change.devices.items()})
        else:
            out.update(net.customer_detail(net.site_config(_site(db, change.site_id)), change, slug))
        out["result"] = change.result
        out["signing"] = [net.signing_document(change, c) for c in change.customers if slug in (None, c)]
    return out


@router.get("/sites/{site_id}/network", dependencies=[require(*READERS)])
def network_overview(site_id: Int64, db: DB, user: CurrentUser) -> dict[str, Any]:
    """The site's customer VLANs (a customer: its own), their deployed isolation, the switches'
    latest drift check."""
    site = _site(db, site_id)
    config = net.site_config(site)
    deployed = net.current_policies(db, site, config)
    slug = _customer_slug(db, user)
    agents = select(Agent.id).where(Agent.site_id == site_id)
    drift: dict[str, dict[str, Any]] = {}  # switch -> its latest drift report
    for e in db.scalars(select(Event).where(Event.agent_id.in_(agents), Event.kind == "network.drift")
                        .order_by(Event.id.desc()).limit(200)):
        drift.setdefault(e.data.get("device"), {"at": iso(e.received_at), **e.data})
    vlans = []
    for vid, (customer, subnet) in sorted(net.customer_vlans(config).items()):
        if slug is not None and customer != slug:
            continue
        policy = deployed.get(vid)
        vlans.append({"vlan": vid, "customer": customer, "subnet": str(subnet), "isolated": policy is not None,
                      "allows": [net.allow_to_json(a) for a in policy.allows] if policy else [],
                      "default_allows": net.default_allow_list(config),
                      "routed_by": [d for d, r in net.routing(config).items() if vid in r],
                      "verified": _vlan_verified(vid, [drift.get(d) for d, r in net.routing(config).items() if vid in r])})
    out: dict[str, Any] = {"site": site.slug, "vlans": vlans, "reach": net.reach_picture(config, deployed, slug)}
    if slug is None:  # switches and their whole drift reports are the site's, not a customer's
        out["switches"] = [{"id": s.id, "vendor": s.vendor, "svis": list(s.svis), "drift": drift.get(s.id)}
                           for s in config.switches]
    return out


def _vlan_verified(vlan: int, reports: list[dict[str, Any] | None]) -> dict[str, Any] | None:
    """The latest drift check of one VLAN across the switches that route it: in sync only when
    every one of them was checked and holds exactly the approved ACL."""
    if not reports or any(r is None for r in reports):
        return None
    per = [r.get("vlans", {}).get(str(vlan)) for r in reports if r is not None]
    return {"at": min(r["at"] for r in reports if r is not None),
            "in_sync": all(x is True for x in per) if all(x is not None for x in per) else None}


@router.post("/sites/{site_id}/network/changes", status_code=201)
def create_change(site_id: Int64, body: ChangeIn, db: DB, request: Request,
                  user: User = require(Role.admin, Role.officer, Role.customer)) -> dict[str, Any]:
    site = _site(db, site_id)
    slug = _customer_slug(db, user)
    config = net.site_config(site)
    owners = {v: c for v, (c, _) in net.customer_vlans(config).items()}
    if slug is not None and any(owners.get(v) != slug for v in body.vlans):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "a customer may request changes to its own VLANs only")
    wanted = {v: (None if allows is None else [a.model_dump() for a in allows]) for v, allows in body.vlans.items()}
    try:
        change = net.create_change(db, site, body.title, user.username, wanted)
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, str(exc)) from None
    request.app.state.ledger.record(db, "network.change_requested", {
        "change": change.id, "site_id": site_id, "by": user.username, "customers": change.customers,
        "commands": net.commands(change)})
    db.commit()
    return change_view(db, change, user, full=True)


@router.get("/sites/{site_id}/network/changes", dependencies=[require(*READERS)])
def list_changes(site_id: Int64, db: DB, user: CurrentUser) -> list[dict[str, Any]]:
    _site(db, site_id)
    slug = _customer_slug(db, user)
    rows = db.scalars(select(NetworkChange).where(NetworkChange.site_id == site_id)
                      .order_by(NetworkChange.created_at.desc()).limit(200))
    return [change_view(db, c, user) for c in rows if slug is None or slug in c.customers]


@router.get("/network/changes/{change_id}", dependencies=[require(*READERS)])
def get_change(change_id: str, db: DB, user: CurrentUser) -> dict[str, Any]:
    return change_view(db, _change(db, user, change_id), user, full=True)


def _decide(db, user: User, change_id: str) -> tuple[NetworkChange, Customer]:
    change = _change(db, user, change_id)
    customer = db.get(Customer, user.customer_id)
    if customer is None or customer.slug not in change.customers:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such change")
    if change.status != "pending":
        raise HTTPException(status.HTTP_409_CONFLICT, f"the change is {change.status}")
    if db.scalar(select(NetworkApproval).where(NetworkApproval.change_id == change.id,
                                               NetworkApproval.customer_id == customer.id)) is not None:
        raise HTTPException(status.HTTP_409_CONFLICT, "this customer already decided on the change")
    return change, customer


def _record_decision(db, decision: NetworkApproval) -> None:
    """Two decisions of one customer racing past ``_decide``: the unique key lets one in."""
    db.add(decision)
    try:
        db.flush()
    except IntegrityError:
        db.rollback()
        raise HTTPException(status.HTTP_409_CONFLICT, "this customer already decided on the change") from None


@router.post("/network/changes/{change_id}/approve", responses=documented(400, 409))
def approve_change(change_id: str, body: ApprovalIn, db: DB, request: Request,
                   user: User = require(Role.customer)) -> dict[str, Any]:
    """The customer's Ed25519 signature over the change's digest for that customer. Checked here
    against the registered key so a wrong key is told at once; the edge checks it again."""
    change, customer = _decide(db, user, change_id)
    if not customer.approval_public_key:
        raise HTTPException(status.HTTP_409_CONFLICT, "no approval key is registered for this customer")
    doc = net.signing_document(change, customer.slug)
    try:
        sig = base64.b64decode(body.signature, validate=True)
        if len(sig) != 64:
            raise ValueError("an Ed25519 signature is 64 bytes")
        load_public_key(customer.approval_public_key).verify(sig, bytes.fromhex(doc["digest"]))
    except (InvalidSignature, binascii.Error, ValueError):
        raise HTTPException(status.HTTP_400_BAD_REQUEST,
                            "the signature does not verify with the customer's registered key") from None
    _record_decision(db, NetworkApproval(change_id=change.id, customer_id=customer.id, decision="approve",
                                         signature=body.signature, by=user.username))
    approved = {r.customer_id for r in db.scalars(select(NetworkApproval).where(
        NetworkApproval.change_id == change.id, NetworkApproval.decision == "approve"))}
    needed = {c.id for c in db.scalars(select(Customer).where(Customer.slug.in_(change.customers)))}
    if needed <= approved:
        change.status = "approved"
    request.app.state.ledger.record(db, "network.change_approved", {
        "change": change.id, "customer": customer.slug, "by": user.username, "digest": doc["digest"],
        "signature": body.signature})
    db.commit()
    return change_view(db, change, user, full=True)


@router.post("/network/changes/{change_id}/reject", responses=documented(409))
def reject_change(change_id: str, body: RejectIn, db: DB, request: Request,
                  user: User = require(Role.customer)) -> dict[str, Any]:
    change, customer = _decide(db, user, change_id)
    _record_decision(db, NetworkApproval(change_id=change.id, customer_id=customer.id, decision="reject",
                                         comment=body.comment, by=user.username))
    change.status, change.finished_at = "rejected", utcnow()
    request.app.state.ledger.record(db, "network.change_rejected", {
        "change": change.id, "customer": customer.slug, "by": user.username, "comment": body.comment})
    db.commit()
    return change_view(db, change, user, full=True)


@router.post("/network/changes/{change_id}/apply", responses=documented(409, 503))
def apply_change(change_id: str, db: DB, request: Request, user: User = require(*STAFF)) -> dict[str, Any]:
    """Hand an approved change to the site's edge, which verifies and runs it (results arrive as
    events: the change ends applied, rolled back or failed)."""
    change = _change(db, user, change_id)
    if change.status != "approved":
        raise HTTPException(status.HTTP_409_CONFLICT, f"only an approved change can run; this one is {change.status}")
    site = _site(db, change.site_id)
    if net.stale(db, site, change):
        raise HTTPException(status.HTTP_409_CONFLICT,
                            "another change moved this site's isolation since this one was rendered; "
                            "request it again")
    wire = request.app.state.wire
    agent_id = wire.agent_for_site(site.id)
    if agent_id is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "the site's edge agent is not connected")
    try:
        result = wire.send_command(agent_id, CommandName.NETWORK_APPLY, net.edge_payload(db, change),
                                   request.app.state.settings.command_timeout_s)
    except CommandError as exc:
        change.status, change.result, change.finished_at = "refused", {"error": str(exc)}, utcnow()
        db.commit()
        raise HTTPException(status.HTTP_409_CONFLICT, f"the edge refused the change: {exc}") from None
    change.status = "applying"
    request.app.state.ledger.record(db, "network.change_started", {"change": change.id, "by": user.username})
    db.commit()
    return {**change_view(db, change, user), "edge": result}


@router.post("/sites/{site_id}/network/drift-check", dependencies=[require(*STAFF)], responses=documented(503, 502))
def drift_check(site_id: Int64, db: DB, request: Request) -> dict[str, Any]:
    _site(db, site_id)
    wire = request.app.state.wire
    agent_id = wire.agent_for_site(site_id)
    if agent_id is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "the site's edge agent is not connected")
    try:
        return wire.send_command(agent_id, CommandName.NETWORK_DRIFT_CHECK, {},
                                 request.app.state.settings.command_timeout_s)
    except CommandError as exc:
        raise HTTPException(status.HTTP_502_BAD_GATEWAY, f"edge agent: {exc}") from None
