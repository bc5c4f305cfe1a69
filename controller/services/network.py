"""Customer VLAN isolation: change requests, customer approvals, apply through the edge, drift.

A customer's scope sees only its own VLANs and the changes that touch them (its own VLANs', and
every change that alters what its VLANs reach or what reaches them: it must approve those too),
decides only for itself, and may request changes to its own VLANs only.
"""
from __future__ import annotations

import base64
import binascii
from typing import Any

from cryptography.exceptions import InvalidSignature
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from controller import network as net
from controller import vpn_peers
from controller.domain_errors import (
    BadProof,
    Conflict,
    EdgeFailed,
    Forbidden,
    Invalid,
    NotFound,
)
from controller.ledger import Ledger
from controller.models import (
    Agent,
    Customer,
    Event,
    NetworkApproval,
    NetworkChange,
    User,
    iso,
    utcnow,
)
from controller.services import remote_rules
from controller.services import vpn as vpn_svc
from controller.services.edge import EdgeChannel, send_to_edge
from controller.services.scope import CustomerScope
from controller.services.sites import site_or_404
from edge_agent.wire.kinds import CommandName
from network_policy.approval import load_public_key

ALREADY_DECIDED = "this customer already decided on the change"


def _change(db, scope: CustomerScope, change_id: str) -> NetworkChange:
    change = db.get(NetworkChange, change_id)
    if change is None or not scope.sees_any(change.customers):
        raise NotFound("no such change")
    return change


def change_view(db, change: NetworkChange, scope: CustomerScope, full: bool = False) -> dict[str, Any]:
    approvals = db.scalars(select(NetworkApproval).where(NetworkApproval.change_id == change.id))
    slugs = {c.id: c.slug for c in db.scalars(select(Customer))}
    out: dict[str, Any] = {
        "id": change.id, "site_id": change.site_id, "title": change.title, "status": change.status,
        "created_by": change.created_by, "created_at": iso(change.created_at), "expires": change.expires,
        "customers": change.customers, "devices": sorted(change.devices),
        # a customer sees that another customer decided, not who there or why
        "approvals": [{"customer": slugs.get(a.customer_id), "decision": a.decision, "at": iso(a.at),
                       **({"by": a.by, "comment": a.comment} if scope.sees(slugs.get(a.customer_id)) else {})}
                      for a in approvals],
        "finished_at": iso(change.finished_at), "result_status": change.result.get("status"),
        "kind": change.kind, "spec": change.spec or {}}
    if full and change.kind != "acl":  # a VPN peer or remote-rules change: its lines are the whole of it
        out["device_plans"] = {d: {"vendor": p["vendor"], "commands": p["commands"]} for d, p in change.devices.items()}
        out["result"] = change.result
        out["signing"] = [net.signing_document(change, c) for c in change.customers if scope.sees(c)]
    elif full:
        if not scope.limited:
            out.update(before=change.before, after=change.after, analysis=change.analysis,
                       device_plans={d: {k: p[k] for k in ("vendor", "commands", "before_config", "after_config", "diff")}
                                     for d, p in change.devices.items()})
        else:
            out.update(net.customer_detail(net.site_config(site_or_404(db, change.site_id)), change, scope.slug))
        out["result"] = change.result
        out["signing"] = [net.signing_document(change, c) for c in change.customers if scope.sees(c)]
    return out


def overview(db, scope: CustomerScope, site_id: int) -> dict[str, Any]:
    """The site's customer VLANs (a customer: its own), their deployed isolation, the switches'
    latest drift check."""
    site = site_or_404(db, site_id)
    config = net.site_config(site)
    deployed = net.current_policies(db, site, config)
    agents = select(Agent.id).where(Agent.site_id == site_id)
    drift: dict[str, dict[str, Any]] = {}  # switch -> its latest drift report
    for e in db.scalars(select(Event).where(Event.agent_id.in_(agents), Event.kind == "network.drift")
                        .order_by(Event.id.desc()).limit(200)):
        drift.setdefault(e.data.get("device"), {"at": iso(e.received_at), **e.data})
    vlans = []
    for vid, (customer, subnet) in sorted(net.customer_vlans(config).items()):
        if not scope.sees(customer):
            continue
        policy = deployed.get(vid)
        routers = [d for d, r in net.routing(config).items() if vid in r]
        vlans.append({"vlan": vid, "customer": customer, "subnet": str(subnet), "isolated": policy is not None,
                      "allows": [net.allow_to_json(a) for a in policy.allows] if policy else [],
                      "default_allows": net.default_allow_list(config),
                      "routed_by": routers,
                      "verified": _vlan_verified(vid, [drift.get(d) for d in routers])})
    out: dict[str, Any] = {"site": site.slug, "vlans": vlans, "reach": net.reach_picture(config, deployed, scope.slug)}
    if not scope.limited:  # switches and their whole drift reports are the site's, not a customer's
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


def request_change(db, ledger: Ledger, scope: CustomerScope, site_id: int, title: str,
                   wanted: dict[int, list[dict] | None], by: str) -> dict[str, Any]:
    """``wanted``: VLAN id -> its complete new allow list (None: the site's default services)."""
    site = site_or_404(db, site_id)
    config = net.site_config(site)
    owners = {v: c for v, (c, _) in net.customer_vlans(config).items()}
    if scope.limited and any(owners.get(v) != scope.slug for v in wanted):
        raise Forbidden("a customer may request changes to its own VLANs only")
    try:
        change = net.create_change(db, site, title, by, wanted)
    except ValueError as exc:
        raise Invalid(str(exc)) from None
    ledger.record(db, "network.change_requested", {
        "change": change.id, "site_id": site_id, "by": by, "customers": change.customers,
        "commands": net.commands(change)})
    db.commit()
    return change_view(db, change, scope, full=True)


def list_changes(db, scope: CustomerScope, site_id: int) -> list[dict[str, Any]]:
    site_or_404(db, site_id)
    rows = db.scalars(select(NetworkChange).where(NetworkChange.site_id == site_id)
                      .order_by(NetworkChange.created_at.desc()).limit(200))
    return [change_view(db, c, scope) for c in rows if scope.sees_any(c.customers)]


def get_change(db, scope: CustomerScope, change_id: str) -> dict[str, Any]:
    return change_view(db, _change(db, scope, change_id), scope, full=True)


def _decide(db, scope: CustomerScope, user: User, change_id: str) -> tuple[NetworkChange, Customer]:
    change = _change(db, scope, change_id)
    customer = db.get(Customer, user.customer_id)
    if customer is None or customer.slug not in change.customers:
        raise NotFound("no such change")
    if change.status != "pending":
        raise Conflict(f"the change is {change.status}")
    if db.scalar(select(NetworkApproval).where(NetworkApproval.change_id == change.id,
                                               NetworkApproval.customer_id == customer.id)) is not None:
        raise Conflict(ALREADY_DECIDED)
    return change, customer


def _record_decision(db, decision: NetworkApproval) -> None:
    """Two decisions of one customer racing past ``_decide``: the unique key lets one in."""
    db.add(decision)
    try:
        db.flush()
    except IntegrityError:
        db.rollback()
        raise Conflict(ALREADY_DECIDED) from None


def approve(db, ledger: Ledger, scope: CustomerScope, user: User, change_id: str, signature: str) -> dict[str, Any]:
    """The customer's Ed25519 signature over the change's digest for that customer, checked
    against the registered key so a wrong key is told at once; the edge checks it again."""
    change, customer = _decide(db, scope, user, change_id)
    if not customer.approval_public_key:
        raise Conflict("no approval key is registered for this customer")
    doc = net.signing_document(change, customer.slug)
    try:
        sig = base64.b64decode(signature, validate=True)
        if len(sig) != 64:
            raise ValueError("an Ed25519 signature is 64 bytes")
        load_public_key(customer.approval_public_key).verify(sig, bytes.fromhex(doc["digest"]))
    except (InvalidSignature, binascii.Error, ValueError):
        raise BadProof("the signature does not verify with the customer's registered key") from None
    _record_decision(db, NetworkApproval(change_id=change.id, customer_id=customer.id, decision="approve",
                                         signature=signature, by=user.username))
    approved = {r.customer_id for r in db.scalars(select(NetworkApproval).where(
        NetworkApproval.change_id == change.id, NetworkApproval.decision == "approve"))}
    needed = {c.id for c in db.scalars(select(Customer).where(Customer.slug.in_(change.customers)))}
    if needed <= approved:
        change.status = "approved"
    ledger.record(db, "network.change_approved", {
        "change": change.id, "customer": customer.slug, "by": user.username, "digest": doc["digest"],
        "signature": signature})
    db.commit()
    return change_view(db, change, scope, full=True)


def reject(db, ledger: Ledger, scope: CustomerScope, user: User, change_id: str, comment: str) -> dict[str, Any]:
    change, customer = _decide(db, scope, user, change_id)
    _record_decision(db, NetworkApproval(change_id=change.id, customer_id=customer.id, decision="reject",
                                         comment=comment, by=user.username))
    change.status, change.finished_at = "rejected", utcnow()
    if change.kind == "vpn":
        vpn_peers.decided(db, change)
    ledger.record(db, "network.change_rejected", {
        "change": change.id, "customer": customer.slug, "by": user.username, "comment": comment})
    db.commit()
    return change_view(db, change, scope, full=True)


def apply(db, ledger: Ledger, edge: EdgeChannel, scope: CustomerScope, change_id: str, by: str,
          timeout: float) -> dict[str, Any]:
    """Hand an approved change to the site's edge, which verifies and runs it (results arrive as
    events: the change ends applied, rolled back or failed)."""
    change = _change(db, scope, change_id)
    if change.status != "approved":
        raise Conflict(f"only an approved change can run; this one is {change.status}")
    if change.kind == "vpn":
        vpn_svc.apply(db, ledger, edge, change, by, timeout)
        return change_view(db, change, scope)
    if change.kind == "remote":
        remote_rules.apply(db, ledger, edge, change, by)
        return change_view(db, change, scope)
    site = site_or_404(db, change.site_id)
    if net.stale(db, site, change):
        raise Conflict("another change moved this site's isolation since this one was rendered; "
                       "request it again")
    try:
        result = send_to_edge(edge, site.id, CommandName.NETWORK_APPLY, net.edge_payload(db, change), timeout)
    except EdgeFailed as exc:
        change.status, change.result, change.finished_at = "refused", {"error": exc.reason}, utcnow()
        db.commit()
        raise Conflict(f"the edge refused the change: {exc.reason}") from None
    change.status = "applying"
    ledger.record(db, "network.change_started", {"change": change.id, "by": by})
    db.commit()
    return {**change_view(db, change, scope), "edge": result}


def drift_check(db, edge: EdgeChannel, site_id: int, timeout: float) -> dict[str, Any]:
    site_or_404(db, site_id)
    return send_to_edge(edge, site_id, CommandName.NETWORK_DRIFT_CHECK, {}, timeout)
