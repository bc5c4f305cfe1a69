"""The controller's record of a site's VPN peers, kept in step with the changes that move them
and the edge's reports (its answers and its events, which may arrive in either order)."""
from __future__ import annotations

from typing import Any

from controller.models import NetworkChange, VpnPeer, utcnow

# The states in which the platform serves work at a peer's address: a peer whose key is being
# rotated keeps its address and its rules on the gateway until the rotation runs.
SERVING = ("active", "rotating")


def _replaced(db, change: NetworkChange) -> VpnPeer | None:
    """The peer a rotation change replaces (None for any other change)."""
    spec = change.spec or {}
    if spec.get("action") != "rotate":
        return None
    return db.get(VpnPeer, int(spec.get("replaces_peer_id", 0)))


def _rotation_dropped(db, change: NetworkChange) -> None:
    """A rotation that will not run: the old key was never touched, so its peer is active again."""
    old = _replaced(db, change)
    if old is not None and old.status == "rotating":
        old.status, old.remove_change = "active", None


def mark_applied(db, change: NetworkChange, result: dict[str, Any]) -> None:
    """The gateway ran the change (the edge's answer, or its event arriving later): idempotent."""
    if change.status == "applied":
        return
    spec = change.spec or {}
    change.status, change.result, change.finished_at = "applied", {"status": "applied", **result}, utcnow()
    row = db.get(VpnPeer, int(spec.get("peer_id", 0)))
    if row is None:
        return
    if spec.get("action") in ("add", "rotate") and row.status == "requested":
        row.status, row.active_since = "active", utcnow()
    elif spec.get("action") == "remove" and row.status == "removing":
        row.status, row.ended_at, row.ended_by, row.end_reason = "removed", utcnow(), change.created_by, "removed"
    old = _replaced(db, change)
    if old is not None and old.status == "rotating":
        old.status, old.ended_at, old.ended_by, old.end_reason = "rotated", utcnow(), change.created_by, "key rotated"


def record_applied_event(db, site_id: int, data: dict[str, Any]) -> None:
    """One event per key the gateway changed: a rotation reports the new key's add and the old
    key's removal under one change id, and the first of them applies the change."""
    change = db.get(NetworkChange, str(data.get("change", "")))
    if change is not None and change.site_id == site_id and change.kind == "vpn":
        mark_applied(db, change, {"action": (change.spec or {}).get("action", data.get("action"))})


def record_refused_event(db, site_id: int, data: dict[str, Any]) -> None:
    """The edge refused a peer change before running any line: the peer never came (or stays)."""
    change = db.get(NetworkChange, str(data.get("change", "")))
    if change is None or change.site_id != site_id or change.kind != "vpn":
        return
    if change.status in ("approved", "applying"):
        change.status, change.result, change.finished_at = "refused", data, utcnow()
    refused(db, change, str(data.get("reason", "")))


def refused(db, change: NetworkChange, reason: str) -> None:
    """The edge refused the change before running a line of it."""
    _dropped(db, change, "refused", f"refused by the edge: {reason}")


def decided(db, change: NetworkChange) -> None:
    """A customer rejected a peer change."""
    _dropped(db, change, "rejected", "rejected by the customer")


def _dropped(db, change: NetworkChange, status: str, reason: str) -> None:
    """A peer change that will not run: an added peer never comes (``status``), a removal or a
    rotation is dropped and the old key stays active, as the gateway never changed."""
    _rotation_dropped(db, change)
    row = db.get(VpnPeer, int((change.spec or {}).get("peer_id", 0)))
    if row is not None and row.status == "requested":
        row.status, row.ended_at, row.end_reason = status, utcnow(), reason[:500]
    elif row is not None and row.status == "removing":
        row.status, row.remove_change = "active", None
