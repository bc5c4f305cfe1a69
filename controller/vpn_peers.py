"""The controller's record of a site's VPN peers, kept in step with the changes that move them
and the edge's reports (its answers and its events, which may arrive in either order)."""
from __future__ import annotations

from typing import Any

from controller.models import NetworkChange, VpnPeer, utcnow


def mark_applied(db, change: NetworkChange, result: dict[str, Any]) -> None:
    """The gateway ran the change (the edge's answer, or its event arriving later): idempotent."""
    if change.status == "applied":
        return
    spec = change.spec or {}
    change.status, change.result, change.finished_at = "applied", {"status": "applied", **result}, utcnow()
    row = db.get(VpnPeer, int(spec.get("peer_id", 0)))
    if row is None:
        return
    if spec.get("action") == "add" and row.status == "requested":
        row.status, row.active_since = "active", utcnow()
    elif spec.get("action") == "remove" and row.status == "removing":
        row.status, row.ended_at, row.ended_by, row.end_reason = "removed", utcnow(), change.created_by, "removed"


def record_applied_event(db, site_id: int, data: dict[str, Any]) -> None:
    change = db.get(NetworkChange, str(data.get("change", "")))
    if change is not None and change.site_id == site_id and change.kind == "vpn":
        mark_applied(db, change, {"action": data.get("action")})


def record_refused_event(db, site_id: int, data: dict[str, Any]) -> None:
    """The edge refused a peer change before running any line: the peer never came (or stays)."""
    change = db.get(NetworkChange, str(data.get("change", "")))
    if change is None or change.site_id != site_id or change.kind != "vpn":
        return
    if change.status in ("approved", "applying"):
        change.status, change.result, change.finished_at = "refused", data, utcnow()
    refused(db, change, str(data.get("reason", "")))


def refused(db, change: NetworkChange, reason: str) -> None:
    row = db.get(VpnPeer, int((change.spec or {}).get("peer_id", 0)))
    if row is not None and row.status == "requested":
        row.status, row.ended_at, row.end_reason = "refused", utcnow(), f"refused by the edge: {reason}"[:500]
    elif row is not None and row.status == "removing":
        row.status, row.remove_change = "active", None  # nothing changed on the gateway


def decided(db, change: NetworkChange) -> None:
    """A customer rejected a peer change: an added peer never comes, a removal is dropped."""
    row = db.get(VpnPeer, int((change.spec or {}).get("peer_id", 0)))
    if row is None:
        return
    if row.status == "requested":
        row.status, row.ended_at, row.end_reason = "rejected", utcnow(), "rejected by the customer"
    elif row.status == "removing":
        row.status, row.remove_change = "active", None
