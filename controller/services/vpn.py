"""Remote work over WireGuard, the controller's side: peers requested, signed by their customer,
run by the edge; cut off at once by an officer; shown with their tunnel's health.

A peer change is a network change of kind ``vpn``: its one "device" is the gateway
(``vpn:<interface>``) and its lines are exactly what ``network_policy.vpn`` renders, so the
customer approves it through the same signing flow as an ACL change (browser or CLI) and the
edge re-renders and verifies the lines against its own site file before it runs any of them.
Only the device's public key is ever sent here; its private key stays on the device.
"""
from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
import ipaddress
import secrets
from typing import Any

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import or_, select

from controller import network as net
from controller.domain_errors import Conflict, EdgeFailed, EdgeUnavailable, Forbidden, Invalid, NotFound
from controller.ledger import Ledger
from controller.models import Alarm, Customer, NetworkChange, Person, Site, VpnPeer, aware, iso, utcnow
from controller.services import daily_report
from controller.services.edge import EdgeChannel, send_to_edge
from controller.services.scope import CustomerScope
from controller.services.sites import site_or_404
from controller.vpn_peers import mark_applied, refused
from edge_agent.wire.kinds import AlarmKind, CommandName
from edge_agent.wire.site import SiteConfig, VpnGateway
from network_policy import vpn

# States that hold the key and the address. A peer whose key is being replaced stays "rotating"
# (and served, see controller.vpn_peers.SERVING) until the gateway runs the signed rotation.
LIVE = ("requested", "active", "removing", "revoking", "rotating")
KEEPALIVE_S = 25  # what client configs ask for: the gateway may call a silent peer down


def gateway(config: SiteConfig) -> VpnGateway:
    if config.network.vpn is None:
        raise Invalid("this site has no VPN gateway (network.vpn in the site file)")
    return config.network.vpn


def reach(config: SiteConfig, customer: str) -> vpn.Reach:
    """What ``customer``'s remote peers may reach on this site, from the controller's copy of the
    site file (the edge builds the same from its own copy and compares)."""
    gw = gateway(config)
    found = next((c for c in config.customers if c.id == customer), None)
    if found is None:
        raise NotFound(f"{customer!r} is not a customer of this site")
    if found.remote is None:
        raise Invalid(f"customer {customer} has no remote range on this site (customers[].remote)")
    return vpn.Reach(customer, found.remote.range, tuple(v.subnet for v in found.vlans), gw.platform,
                     found.remote.allowed)


def _live(db, site_id: int) -> list[VpnPeer]:
    return list(db.scalars(select(VpnPeer).where(VpnPeer.site_id == site_id, VpnPeer.status.in_(LIVE))))


def free_address(net_range: ipaddress.IPv4Network, taken: set[str]) -> ipaddress.IPv4Address:
    for host in net_range.hosts():
        if str(host) not in taken:
            return host
    raise Conflict(f"the remote range {net_range} has no free address left")


def _peer_view(p: VpnPeer, slug: str | None, live: dict[str, Any] | None = None) -> dict[str, Any]:
    out = {"id": p.id, "site_id": p.site_id, "customer_id": p.customer_id, "customer": slug, "person": p.person,
           "label": p.label, "public_key": p.public_key, "address": p.address, "status": p.status,
           "add_change": p.add_change, "remove_change": p.remove_change, "created_by": p.created_by,
           "created_at": iso(p.created_at), "active_since": iso(p.active_since), "ended_at": iso(p.ended_at),
           "ended_by": p.ended_by, "end_reason": p.end_reason}
    if live is not None:
        out["tunnel"] = live
    return out


def _slugs(db) -> dict[int, str]:
    return {c.id: c.slug for c in db.scalars(select(Customer))}


def _new_change(db, site: Site, title: str, by: str, customer: str, lines: list[str], interface: str,
                spec: dict[str, Any]) -> NetworkChange:
    now = utcnow()
    change = NetworkChange(
        id=f"vpn-{now:%Y%m%d}-{secrets.token_hex(4)}", site_id=site.id, title=title[:200], created_by=by,
        created_at=now, status="pending", customers=[customer], before={}, after={},
        devices={vpn.device_name(interface): {"vendor": "wireguard", "commands": lines}}, analysis={},
        expires=net.approvals_expire(now),
        kind="vpn", spec=spec)
    db.add(change)
    return change


def request_peer(db, ledger: Ledger, scope: CustomerScope, site_id: int, customer: str, person: str,
                 public_key: str, address: str | None, label: str, by: str) -> dict[str, Any]:
    """A change that adds a peer: the customer must sign it before the edge runs it."""
    if not scope.sees(customer):
        raise Forbidden("a customer may request peers for its own remote workers only")
    site = site_or_404(db, site_id)
    config = net.site_config(site)
    gw, r = gateway(config), reach(config, customer)
    cust = db.scalar(select(Customer).where(Customer.slug == customer))
    who = db.scalar(select(Person).where(Person.site_id == site_id, Person.person == person))
    if cust is None:
        raise NotFound(f"{customer!r} is not a customer")
    if who is None or not who.active:
        raise Invalid(f"{person!r} is no active person of this site")
    if customer not in (who.customers or []):
        raise Invalid(f"{person} is not assigned to customer {customer}")
    live = _live(db, site_id)
    if any(p.public_key == public_key for p in live):
        raise Conflict("this public key is already a peer on this gateway")
    taken = {p.address for p in live}
    try:
        ip = ipaddress.IPv4Address(address) if address else free_address(r.remote_range, taken)
    except ValueError:
        raise Invalid(f"{address!r} is not an IPv4 address") from None
    if str(ip) in taken:
        raise Conflict(f"{ip} belongs to another peer")
    peer = vpn.Peer(public_key, ip, customer)
    try:
        lines = vpn.add_lines(gw.interface, peer, r)
    except vpn.PeerError as exc:
        raise Invalid(exc.detail) from None
    row = VpnPeer(site_id=site_id, customer_id=cust.id, person=person, label=label[:100], public_key=public_key,
                  address=str(ip), status="requested", created_by=by)
    db.add(row)
    db.flush()
    change = _new_change(db, site, f"VPN peer {ip} for {person}" + (f" ({label})" if label else ""), by, customer,
                         lines, gw.interface, {"action": "add", "peer_id": row.id, "person": person,
                                               "peer": {"public_key": public_key, "address": str(ip),
                                                        "customer": customer}})
    row.add_change = change.id
    ledger.record(db, "network.change_requested", {
        "change": change.id, "site_id": site_id, "by": by, "customers": [customer], "kind": "vpn",
        "commands": net.commands(change)})
    db.commit()
    return {"peer": _peer_view(row, customer), "change": change.id}


def request_removal(db, ledger: Ledger, scope: CustomerScope, peer_id: int, by: str) -> dict[str, Any]:
    """A change that takes an active peer away in the ordinary way (its customer signs it)."""
    row = _peer(db, scope, peer_id)
    if row.status != "active":
        raise Conflict(f"only an active peer can be removed; this one is {row.status}")
    site = site_or_404(db, row.site_id)
    config = net.site_config(site)
    slug = _slugs(db).get(row.customer_id, "")
    gw = gateway(config)
    r = dataclasses.replace(reach(config, slug), allowed=True)  # taking away is possible even where now denied
    lines = vpn.remove_lines(gw.interface, vpn.Peer(row.public_key, ipaddress.IPv4Address(row.address), slug), r)
    change = _new_change(db, site, f"Remove VPN peer {row.address} of {row.person}", by, slug, lines, gw.interface,
                         {"action": "remove", "peer_id": row.id, "person": row.person,
                          "peer": {"public_key": row.public_key, "address": row.address, "customer": slug}})
    row.status, row.remove_change = "removing", change.id
    ledger.record(db, "network.change_requested", {
        "change": change.id, "site_id": row.site_id, "by": by, "customers": [slug], "kind": "vpn",
        "commands": net.commands(change)})
    db.commit()
    return {"peer": _peer_view(row, slug), "change": change.id}


def request_rotation(db, ledger: Ledger, scope: CustomerScope, peer_id: int, public_key: str,
                     by: str) -> dict[str, Any]:
    """A change that replaces an active peer's key at the same address (a new device, or a key
    that may have leaked): one signed change adds the new key and removes the old one. The new
    key is a new peer row; the old one stays served as "rotating" until the gateway ran it."""
    row = _peer(db, scope, peer_id)
    if row.status != "active":
        raise Conflict(f"only an active peer's key can be rotated; this one is {row.status}")
    try:
        vpn.check_key(public_key)
    except vpn.PeerError as exc:
        raise Invalid(exc.detail) from None
    site = site_or_404(db, row.site_id)
    config = net.site_config(site)
    slug = _slugs(db).get(row.customer_id, "")
    gw, r = gateway(config), reach(config, slug)
    if any(p.public_key == public_key for p in _live(db, row.site_id)):
        raise Conflict("this public key is already a peer on this gateway")
    ip = ipaddress.IPv4Address(row.address)
    try:
        lines = vpn.rotate_lines(gw.interface, vpn.Peer(row.public_key, ip, slug), vpn.Peer(public_key, ip, slug), r)
    except vpn.PeerError as exc:
        raise Invalid(exc.detail) from None
    new = VpnPeer(site_id=row.site_id, customer_id=row.customer_id, person=row.person, label=row.label,
                  public_key=public_key, address=row.address, status="requested", created_by=by)
    db.add(new)
    db.flush()
    change = _new_change(db, site, f"Rotate the key of VPN peer {row.address} of {row.person}", by, slug, lines,
                         gw.interface, {"action": "rotate", "peer_id": new.id, "replaces_peer_id": row.id,
                                        "replaces": row.public_key, "person": row.person,
                                        "peer": {"public_key": public_key, "address": row.address,
                                                 "customer": slug}})
    new.add_change = change.id
    row.status, row.remove_change = "rotating", change.id
    ledger.record(db, "network.change_requested", {
        "change": change.id, "site_id": row.site_id, "by": by, "customers": [slug], "kind": "vpn",
        "commands": net.commands(change)})
    db.commit()
    return {"peer": _peer_view(new, slug), "replaces": _peer_view(row, slug), "change": change.id}


def _peer(db, scope: CustomerScope, peer_id: int) -> VpnPeer:
    row = db.get(VpnPeer, peer_id)
    if row is None or not scope.sees_id(row.customer_id):
        raise NotFound("no such peer")
    return row


def edge_payload(db, change: NetworkChange) -> dict[str, Any]:
    spec = change.spec or {}
    out = {"change": change.id, "action": spec["action"], "peer": spec["peer"],
           "lines": next(iter(net.commands(change).values())), "approvals": net.approvals_for_edge(db, change)}
    if spec["action"] == "rotate":
        out["replaces"] = spec["replaces"]
    return out


def apply(db, ledger: Ledger, edge: EdgeChannel, change: NetworkChange, by: str, timeout: float) -> None:
    """Hand an approved peer change to the edge; it answers once the gateway holds it."""
    try:
        result = send_to_edge(edge, change.site_id, CommandName.VPN_APPLY, edge_payload(db, change), timeout)
    except EdgeFailed as exc:
        change.status, change.result, change.finished_at = "refused", {"error": exc.reason}, utcnow()
        refused(db, change, exc.reason)
        db.commit()
        raise Conflict(f"the edge refused the change: {exc.reason}") from None
    mark_applied(db, change, result)
    ledger.record(db, "network.change_started", {"change": change.id, "by": by})
    db.commit()


def revoke(db, ledger: Ledger, edge: EdgeChannel, peer_id: int, officer: str, reason: str,
           timeout: float) -> dict[str, Any]:
    """Cut a peer off now (a lost laptop): no customer signature, ledgered, shown to the customer.

    The platform stops serving the peer's address the moment this is recorded; the gateway is
    told at once, and a revocation it did not confirm stays ``revoking`` and can be sent again."""
    row = db.get(VpnPeer, peer_id)
    if row is None:
        raise NotFound("no such peer")
    if row.status not in ("active", "removing", "revoking", "rotating"):
        raise Conflict(f"only a live peer can be revoked; this one is {row.status}")
    if not reason.strip():
        raise Invalid("say why the peer is revoked")
    row.status, row.ended_at, row.ended_by, row.end_reason = "revoking", utcnow(), officer, reason[:500]
    db.commit()
    slug = _slugs(db).get(row.customer_id)
    try:
        result = send_to_edge(edge, row.site_id, CommandName.VPN_REVOKE,
                              {"public_key": row.public_key, "officer": officer, "reason": reason[:500]}, timeout)
        edge_note: dict[str, Any] = {"seconds": result.get("seconds"), "held": result.get("held", True)}
        row.status = "revoked"
    except (EdgeFailed, EdgeUnavailable) as exc:
        edge_note = {"error": str(exc)[:300]}
    ledger.record(db, "vpn.revocation", {  # the order; the gateway's own report follows
        "peer": row.id, "site_id": row.site_id, "customer": slug, "person": row.person,
        "public_key": row.public_key, "address": row.address, "officer": officer, "reason": reason[:500],
        "edge": edge_note})
    db.commit()
    return {**_peer_view(row, slug), "edge": edge_note}


def _tunnel_figures(edge: EdgeChannel, site_id: int, timeout: float) -> tuple[dict[str, dict[str, Any]], str | None]:
    try:
        peers = send_to_edge(edge, site_id, CommandName.VPN_STATUS, {}, timeout).get("peers", [])
    except (EdgeFailed, EdgeUnavailable) as exc:
        return {}, str(exc)[:300]
    return {p["public_key"]: {k: p.get(k) for k in ("endpoint", "handshake_age_s", "rx_bytes", "tx_bytes", "down")}
            for p in peers}, None


def overview(db, scope: CustomerScope, edge: EdgeChannel | None, site_id: int, timeout: float,
             include_ended: bool = True) -> dict[str, Any]:
    """The site's gateway and its peers (a customer: its own), live peers with their tunnel's
    figures from the edge: endpoint, last handshake age, bytes each way, down or up."""
    site = site_or_404(db, site_id)
    config = net.site_config(site)
    gw = config.network.vpn
    slugs = _slugs(db)
    rows = db.scalars(scope.filter(select(VpnPeer).where(VpnPeer.site_id == site_id), VpnPeer.customer_id)
                      .order_by(VpnPeer.id.desc()).limit(500))
    figures, error = ({}, None) if edge is None or gw is None else _tunnel_figures(edge, site_id, timeout)
    peers = [_peer_view(p, slugs.get(p.customer_id), figures.get(p.public_key) if p.status in LIVE else None)
             for p in rows if include_ended or p.status in LIVE]
    customers = [{"customer": c.id, "allowed": c.remote.allowed, "range": str(c.remote.range),
                  "modalities": list(c.remote.modalities), "watermark": c.remote.watermark}
                 for c in config.customers if c.remote is not None and scope.sees(c.id)]
    return {"site": site.slug, "gateway": None if gw is None else {
                "interface": gw.interface, "listen_port": gw.listen_port, "mtu": gw.mtu,
                "down_after_s": vpn.DOWN_AFTER_S},
            "customers": customers, "peers": peers, "edge_error": error}


def client_config(db, scope: CustomerScope, peer_id: int, endpoint_host: str) -> dict[str, Any]:
    """The device's WireGuard config without its private key (the device makes that and keeps
    it): the page that made the key fills it in, in the browser, and shows it as a QR code."""
    row = _peer(db, scope, peer_id)
    if row.status not in ("requested", "active"):
        raise Conflict(f"this peer is {row.status}")
    site = site_or_404(db, row.site_id)
    config = net.site_config(site)
    gw = gateway(config)
    r = reach(config, _slugs(db).get(row.customer_id, ""))
    allowed = sorted({str(v) for v in r.vlans} | {f"{a}/32" for a in r.platform})
    return {"peer": row.id, "public_key": row.public_key, "address": row.address,
            "text": client_config_text(row.address, gw.mtu, gw.endpoint or endpoint_host, gw.listen_port, allowed,
                                       gateway_public_key=_gateway_public(gw))}


def _gateway_public(gw: VpnGateway) -> str | None:
    """The gateway's public key: stated in the site file, or derived from an inline private key
    (a key kept in an env variable or a file on the edge is not in the controller's copy)."""
    if gw.public_key:
        return gw.public_key
    if not gw.private_key:
        return None
    try:
        raw = base64.b64decode(gw.private_key.strip(), validate=True)
        pub = X25519PrivateKey.from_private_bytes(raw).public_key()
    except (ValueError, binascii.Error):
        return None
    return base64.b64encode(pub.public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()


def client_config_text(address: str, mtu: int, host: str, port: int, allowed: list[str],
                       gateway_public_key: str | None) -> str:
    return "\n".join([
        "[Interface]",
        "PrivateKey = <the private key made on this device>",
        f"Address = {address}/32",
        f"MTU = {mtu}",
        "",
        "[Peer]",
        f"PublicKey = {gateway_public_key or '<the gateway public key>'}",
        f"Endpoint = {host}:{port}",
        f"AllowedIPs = {', '.join(allowed)}",
        f"PersistentKeepalive = {KEEPALIVE_S}",
        ""])


def report_rows(db, site: Site, start: dt.datetime, end: dt.datetime) -> list[dict[str, Any]] | None:
    """The daily report's remote-work section: every peer live at some moment of the day, how it
    ended if it did, and how often and how long its tunnel was down (the edge's alarms, named by
    address: each counts for the peer that held the address then, so a rotated or re-issued
    address does not lend its alarms to the other peer)."""
    if net.site_config(site).network.vpn is None:
        return None
    slugs = _slugs(db)
    rows = db.scalars(select(VpnPeer).where(VpnPeer.site_id == site.id, VpnPeer.created_at < end,
                                            VpnPeer.active_since.is_not(None),
                                            or_(VpnPeer.ended_at.is_(None), VpnPeer.ended_at >= start))
                      .order_by(VpnPeer.address, VpnPeer.id))
    alarms: dict[str, list[tuple[dt.datetime, dt.datetime]]] = {}  # source -> (raised, cleared or end)
    for a in db.scalars(select(Alarm).where(Alarm.site_id == site.id, Alarm.kind == AlarmKind.VPN_PEER_DOWN.value,
                                            Alarm.raised_at < end,
                                            or_(Alarm.cleared_at.is_(None), Alarm.cleared_at >= start))):
        alarms.setdefault(a.source, []).append((aware(a.raised_at), aware(a.cleared_at) if a.cleared_at else end))
    out = []
    for p in rows:
        held_from = max(start, aware(p.active_since))
        held_to = min(end, aware(p.ended_at)) if p.ended_at else end
        since = aware(p.active_since)  # an alarm is the peer's that held the address when it was raised
        mine = [(r, c) for r, c in alarms.get(f"vpn:{p.address}", []) if since <= r < held_to and c > held_from]
        down_s = sum((min(c, held_to) - max(r, held_from)).total_seconds() for r, c in mine)
        out.append({"customer": slugs.get(p.customer_id), "person": p.person, "label": p.label, "address": p.address,
                    "status": p.status, "active_since": aware(p.active_since),
                    "ended_at": aware(p.ended_at) if p.ended_at else None, "ended_by": p.ended_by,
                    "end_reason": p.end_reason, "down_alarms": sum(1 for r, _ in mine if r >= start),
                    "down_s": round(down_s)})
    return out


daily_report.EXTRA_SECTIONS["vpn_peers"] = report_rows
