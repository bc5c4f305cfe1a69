"""A customer's remote-work rules change only by a change that customer signed.

The rules (``customers[].remote`` in the site file: allowed or not, which kinds of data, a
watermark) are the customer's decision. A change of them is a network change of kind ``remote``
whose one line states the rules after it; once the customer signed it, starting it rewrites the
controller's copy of the site file (a new version, ledgered, pushed to the edge) and the work
policy answers by the new rules from that moment. Replacing the site file cannot change them
(``controller.remote_work.check_unchanged``).
"""
from __future__ import annotations

import json
import secrets
from typing import Any

from pydantic import ValidationError

from controller import network as net
from controller.domain_errors import Conflict, Forbidden, Invalid, NotFound
from controller.ledger import Ledger
from controller.models import NetworkChange, utcnow
from controller.services.edge import EdgeChannel
from controller.services.scope import CustomerScope
from controller.services.sites import site_or_404
from controller.remote_work import rules_of
from controller.sites import apply_site_config
from edge_agent.wire.site import SiteConfig

DEVICE = "rules:remote-work"  # the "device" a rules change's one line is signed under
MODALITIES = ("text", "audio", "image")


def rules_line(customer: str, allowed: bool, modalities: list[str], watermark: bool) -> str:
    kinds = ",".join(m for m in MODALITIES if m in modalities) or "none"
    return (f"remote-work {customer} allowed={'yes' if allowed else 'no'} modalities={kinds} "
            f"watermark={'yes' if watermark else 'no'}")


def with_rules(site_json: str, customer: str, rules: dict[str, Any]) -> SiteConfig:
    """The site file with ``customer``'s remote rules replaced, checked whole (remote work allowed
    on a site without a VPN gateway, say, is refused); ValueError says why."""
    doc = json.loads(site_json)
    entry = next((c for c in doc.get("customers", []) if c.get("id") == customer), None)
    if entry is None or entry.get("remote") is None:
        raise ValueError(f"customer {customer} has no remote range on this site (customers[].remote)")
    entry["remote"].update(allowed=bool(rules["allowed"]), modalities=list(rules["modalities"]),
                           watermark=bool(rules["watermark"]))
    try:
        return SiteConfig.model_validate(doc)
    except ValidationError as exc:
        raise ValueError("; ".join(e["msg"] for e in exc.errors())) from None


def request(db, ledger: Ledger, scope: CustomerScope, site_id: int, customer: str, allowed: bool,
            modalities: list[str], watermark: bool, by: str) -> dict[str, Any]:
    if not scope.sees(customer):
        raise Forbidden("a customer may change its own remote-work rules only")
    site = site_or_404(db, site_id)
    config = net.site_config(site)
    found = next((c for c in config.customers if c.id == customer), None)
    if found is None:
        raise NotFound(f"{customer!r} is not a customer of this site")
    if found.remote is None:
        raise Invalid(f"customer {customer} has no remote range on this site (customers[].remote)")
    unknown = sorted(set(modalities) - set(MODALITIES))
    if unknown:
        raise Invalid(f"unknown kinds of data: {', '.join(unknown)}")
    wanted = {"allowed": allowed, "modalities": sorted(set(modalities)), "watermark": watermark}
    if rules_of(config)[customer] == wanted:
        raise Invalid("the change changes nothing")
    try:
        with_rules(site.config_json, customer, wanted)
    except ValueError as exc:
        raise Invalid(str(exc)) from None
    now = utcnow()
    line = rules_line(customer, allowed, modalities, watermark)
    change = NetworkChange(
        id=f"rmt-{now:%Y%m%d}-{secrets.token_hex(4)}", site_id=site.id, created_by=by, created_at=now,
        title=f"Remote-work rules of {customer}", status="pending", customers=[customer],
        before={}, after={}, devices={DEVICE: {"vendor": "siteguard", "commands": [line]}}, analysis={},
        expires=net.approvals_expire(now),
        kind="remote", spec={"customer": customer, "before": rules_of(config)[customer], "after": wanted})
    db.add(change)
    ledger.record(db, "network.change_requested", {
        "change": change.id, "site_id": site_id, "by": by, "customers": [customer], "kind": "remote",
        "commands": net.commands(change)})
    db.commit()
    return {"change": change.id, "line": line}


def apply(db, ledger: Ledger, edge: EdgeChannel, change: NetworkChange, by: str) -> None:
    """Write the signed rules into the site file's copy: a new version, ledgered, pushed to the
    edge. The line is rendered again from the stated rules and must be the one signed."""
    spec = change.spec or {}
    customer, after = spec.get("customer"), spec.get("after") or {}
    line = rules_line(str(customer), bool(after.get("allowed")), list(after.get("modalities", [])),
                      bool(after.get("watermark")))
    if net.commands(change) != {DEVICE: [line]} or change.customers != [customer]:
        change.status, change.result, change.finished_at = "refused", {"error": "commands_mismatch"}, utcnow()
        db.commit()
        raise Conflict("the change's line is not what its rules render to")
    site = site_or_404(db, change.site_id)
    try:  # the site file may have changed since the request
        config = with_rules(site.config_json, str(customer), after)
    except ValueError as exc:
        raise Conflict(f"the site file no longer takes these rules: {exc}") from None
    site, _ = apply_site_config(db, config)
    change.status, change.finished_at = "applied", utcnow()
    change.result = {"status": "applied", "site_version": site.version}
    ledger.record(db, "remote.rules_changed", {
        "change": change.id, "site": site.slug, "customer": customer, "before": spec.get("before"),
        "after": after, "by": by, "approvals": [a["signature"] for a in net.approvals_for_edge(db, change)]})
    ledger.record(db, "site.config_changed", {
        "site": site.slug, "version": site.version, "config_hash": site.config_hash, "by": by,
        "change": change.id})
    db.commit()
    edge.push_config(site.id, site.config_json, site.config_hash)

