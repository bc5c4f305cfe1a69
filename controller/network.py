"""Network change requests on the controller: current intent, rendering, analysis, approvals.

The controller proposes and shows; the edge decides. What a customer signs is computed here from
the exact lines rendered per device, and the edge recomputes it from the lines it is about to
send, with keys from its own site file.
"""
from __future__ import annotations

import datetime as dt
import difflib
import ipaddress
import secrets
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from controller.models import Customer, NetworkApproval, NetworkChange, Site, VlanPolicy, utcnow
from edge_agent.wire.site import SiteConfig
from network_policy.acl import acls_from_json, acls_to_json, network
from network_policy.affected import customers_affected, flow_customers
from network_policy.approval import canonical, digest
from network_policy.intent import Allow, Service, default_allows, device_acls
from network_policy.intent import VlanPolicy as Policy
from network_policy.reachability import cross_customer_flows, differential, matrix
from network_policy.render import change_commands, config_text

APPROVAL_HOURS = 72  # how long a change may wait for its approvals


def approvals_expire(now: dt.datetime) -> str:
    """When the approvals of a change made ``now`` expire, as the signed documents state it."""
    return (now + dt.timedelta(hours=APPROVAL_HOURS)).strftime("%Y-%m-%dT%H:%M:%SZ")


def site_config(site: Site) -> SiteConfig:
    return SiteConfig.model_validate_json(site.config_json)


def services(config: SiteConfig) -> list[Service]:
    return [Service(s.id, network(str(s.address)), s.proto, tuple(s.ports)) for s in config.network.services]


def routing(config: SiteConfig) -> dict[str, list[int]]:
    return {s.id: list(s.svis) for s in config.switches if s.svis}


def vendors(config: SiteConfig) -> dict[str, str]:
    return {s.id: s.vendor for s in config.switches}


def customer_vlans(config: SiteConfig) -> dict[int, tuple[str, ipaddress.IPv4Network]]:
    return {v.id: (c.id, v.subnet) for c in config.customers for v in c.vlans}


def allow_to_json(a: Allow) -> dict[str, Any]:
    return {"seq": a.seq, "proto": a.proto, "dst": str(a.dst), "port": a.port, "note": a.note}


def allow_from_json(d: dict[str, Any]) -> Allow:
    return Allow(int(d["seq"]), d["proto"], network(str(d["dst"])), d.get("port"), str(d.get("note", ""))[:100])


def current_policies(db: Session, site: Site, config: SiteConfig) -> dict[int, Policy]:
    """The isolation deployed by applied changes; a VLAN missing here has no ACL on its switches
    (it is not isolated yet, and isolating it is itself a change its customer approves)."""
    stored = {r.vlan_id: r for r in db.scalars(select(VlanPolicy).where(VlanPolicy.site_id == site.id))}
    out = {}
    for vid, (customer, subnet) in customer_vlans(config).items():
        row = stored.get(vid)
        if row is not None:
            out[vid] = Policy(vid, customer, subnet, tuple(allow_from_json(a) for a in row.allows))
    return out


def default_allow_list(config: SiteConfig) -> list[dict[str, Any]]:
    """The allow list a VLAN gets when it is first isolated: the site's shared services."""
    return [allow_to_json(a) for a in default_allows(services(config))]


def with_seqs(old: Policy, wanted: list[dict[str, Any]]) -> Policy:
    """The new allow list with stable sequence numbers: an allow kept from ``old`` keeps its
    number (so its device entry is not touched), a new one takes the next free number."""
    by_key = {(a.proto, a.dst, a.port): a for a in old.allows}
    nxt = max((a.seq for a in old.allows), default=0) + 10
    allows = []
    for w in wanted:
        proto, dst, port = w["proto"], network(str(w["dst"])), w.get("port")
        kept = by_key.get((proto, dst, port))
        if kept is not None:
            allows.append(Allow(kept.seq, proto, dst, port, str(w.get("note", kept.note))[:100]))
        else:
            allows.append(Allow(nxt, proto, dst, port, str(w.get("note", ""))[:100]))
            nxt += 10
    return Policy(old.vlan, old.customer, old.subnet, tuple(allows))


def render(config: SiteConfig, before: dict[int, Policy], after: dict[int, Policy]) -> dict[str, Any]:
    """Per device that routes a changed VLAN: the lines, and the managed config before and after."""
    changed = {v for v in set(before) | set(after) if before.get(v) != after.get(v)}
    out: dict[str, Any] = {}
    vend = vendors(config)
    for device, routed in sorted(routing(config).items()):
        if not changed & set(routed):
            continue
        b, a = device_acls(before, routing(config), device), device_acls(after, routing(config), device)
        out[device] = {"vendor": vend[device], "before": acls_to_json(b), "after": acls_to_json(a),
                       "commands": change_commands(vend[device], b, a), **config_texts(vend[device], b, a)}
    return out


def config_texts(vendor: str, before: dict, after: dict) -> dict[str, list[str]]:
    """The managed configuration before and after, and their diff, for a reviewer."""
    before_text, after_text = config_text(vendor, before), config_text(vendor, after)
    return {"before_config": before_text, "after_config": after_text,
            "diff": list(difflib.unified_diff(before_text, after_text, "before", "after", lineterm="", n=2))}


def analyse(config: SiteConfig, before: dict[int, Policy], after: dict[int, Policy]) -> dict[str, Any]:
    vlans = {v: subnet for v, (_, subnet) in customer_vlans(config).items()}
    if config.network.platform_vlan is not None:
        vlans[config.network.platform_vlan.id] = config.network.platform_vlan.subnet
    owners = {v: c for v, (c, _) in customer_vlans(config).items()}
    b = {v: p.acl() for v, p in before.items()}
    a = {v: p.acl() for v, p in after.items()}
    diff = differential(vlans, b, a)
    leaks = cross_customer_flows(vlans, owners, a)
    flows = (*diff.newly_permitted, *diff.newly_denied, *leaks)
    return {"newly_permitted": [str(f) for f in diff.newly_permitted],
            "newly_denied": [str(f) for f in diff.newly_denied],
            "cross_customer": [str(f) for f in leaks],
            # which customers each flow concerns, so each is shown only its own
            "parties": {str(f): sorted(flow_customers(customer_vlans(config), f)) for f in flows}}


def policies_json(policies: dict[int, Policy]) -> dict[str, list[dict[str, Any]]]:
    return {str(v): [allow_to_json(a) for a in p.allows] for v, p in sorted(policies.items())}


def create_change(db: Session, site: Site, title: str, by: str, wanted: dict[int, list[dict[str, Any]] | None],
                  now: dt.datetime | None = None) -> NetworkChange:
    """``wanted``: VLAN id -> its complete new allow list (None: the site's default services).
    ValueError explains a bad request."""
    config = site_config(site)
    vlans = customer_vlans(config)
    before = current_policies(db, site, config)
    after = dict(before)
    for vid, allows in wanted.items():
        if vid not in vlans:
            raise ValueError(f"VLAN {vid} is not a customer VLAN of site {site.slug}")
        customer, subnet = vlans[vid]
        base = before.get(vid) or Policy(vid, customer, subnet, ())
        after[vid] = with_seqs(base, default_allow_list(config) if allows is None else allows)
    if all(after.get(v) == before.get(v) for v in wanted):
        raise ValueError("the change changes nothing")
    # Not only the owners: every customer whose VLANs' reachability the change alters.
    touched = sorted(customers_affected(vlans, {v: p.acl() for v, p in before.items()},
                                        {v: p.acl() for v, p in after.items()}))
    devices = render(config, before, after)
    if not devices:
        raise ValueError("no switch routes the VLANs this change touches (switches[].svis)")
    now = now or utcnow()
    change = NetworkChange(
        id=f"chg-{now:%Y%m%d}-{secrets.token_hex(4)}", site_id=site.id, title=title[:200], created_by=by,
        created_at=now, status="pending", customers=touched, before=policies_json(before),
        after=policies_json(after), devices=devices, analysis=analyse(config, before, after),
        expires=approvals_expire(now))
    db.add(change)
    return change


def customer_detail(config: SiteConfig, change: NetworkChange, customer: str) -> dict[str, Any]:
    """What one customer sees of a change it must approve: the intent of its own VLANs and of the
    VLANs the change edits, the flows that concern it, and per device the configuration of those
    VLANs only. The lines stay whole: its signature covers every line of every device."""
    own = {str(v) for v, (c, _) in customer_vlans(config).items() if c == customer}
    visible = own | {v for v in set(change.before) | set(change.after) if change.before.get(v) != change.after.get(v)}
    parties = change.analysis.get("parties")  # absent on changes from before it was recorded: owners only

    def mine(flows: list[str]) -> list[str]:
        return flows if parties is None else [f for f in flows if customer in parties.get(f, ())]

    plans = {}
    for device, p in change.devices.items():
        b, a = ({v: acl for v, acl in acls_from_json(p[k]).items() if str(v) in visible} for k in ("before", "after"))
        plans[device] = {"vendor": p["vendor"], "commands": p["commands"], **config_texts(p["vendor"], b, a)}
    return {"before": {v: x for v, x in change.before.items() if v in visible},
            "after": {v: x for v, x in change.after.items() if v in visible},
            "analysis": {k: mine(change.analysis.get(k, [])) for k in ("newly_permitted", "newly_denied", "cross_customer")},
            "device_plans": plans}


def commands(change: NetworkChange) -> dict[str, list[str]]:
    return {d: spec["commands"] for d, spec in change.devices.items()}


def signing_document(change: NetworkChange, customer: str) -> dict[str, str]:
    """What one customer signs: the canonical document and its SHA-256 (the signed bytes)."""
    return {"customer": customer, "expires": change.expires,
            "canonical": canonical(change.id, customer, commands(change), change.expires).decode(),
            "digest": digest(change.id, customer, commands(change), change.expires)}


def approvals_for_edge(db: Session, change: NetworkChange) -> list[dict[str, str]]:
    rows = db.scalars(select(NetworkApproval).where(NetworkApproval.change_id == change.id,
                                                    NetworkApproval.decision == "approve"))
    slugs = {c.id: c.slug for c in db.scalars(select(Customer))}
    return [{"change_id": change.id, "customer": slugs[r.customer_id], "expires": change.expires,
             "signature": r.signature or ""} for r in rows]


def edge_payload(db: Session, change: NetworkChange) -> dict[str, Any]:
    devices = {d: {k: spec[k] for k in ("vendor", "before", "after", "commands")} for d, spec in change.devices.items()}
    return {"change": change.id, "devices": devices, "approvals": approvals_for_edge(db, change)}


def stale(db: Session, site: Site, change: NetworkChange) -> bool:
    """Whether another change moved the intent since this one was rendered."""
    return policies_json(current_policies(db, site, site_config(site))) != change.before


def record_result(db: Session, site_id: int, data: dict[str, Any]) -> None:
    """The edge's report of a run: the change's status and, when applied, the new intent."""
    change = db.get(NetworkChange, str(data.get("change", "")))
    if change is None or change.site_id != site_id:
        return
    status = str(data.get("status", "failed"))[:20]
    change.status = status
    change.result = data
    change.finished_at = utcnow()
    if status == "applied":
        for vid, allows in change.after.items():
            row = db.get(VlanPolicy, (site_id, int(vid)))
            if row is None:
                row = VlanPolicy(site_id=site_id, vlan_id=int(vid))
                db.add(row)
            row.allows, row.change_id, row.updated_at = allows, change.id, utcnow()


def record_refusal(db: Session, site_id: int, data: dict[str, Any]) -> None:
    change = db.get(NetworkChange, str(data.get("change", "")))
    if change is not None and change.site_id == site_id and change.status in ("approved", "applying"):
        change.status = "refused"
        change.result = data
        change.finished_at = utcnow()


def reach_picture(config: SiteConfig, deployed: dict[int, Policy], customer: str | None = None) -> dict[str, Any]:
    """What each customer VLAN reaches now, summarised per destination for a picture: "all",
    "some" (some ports or protocols) or "none". A customer sees its own VLANs as rows, and
    the other customers' VLANs folded into one column that names none of them."""
    vlans = {v: subnet for v, (_, subnet) in customer_vlans(config).items()}
    owners = {v: c for v, (c, _) in customer_vlans(config).items()}
    if config.network.platform_vlan is not None:
        vlans[config.network.platform_vlan.id] = config.network.platform_vlan.subnet
    service_labels = {str(s.address): s.id for s in config.network.services}
    flows = matrix(vlans, {v: p.acl() for v, p in deployed.items()},
                   [Policy(v, owners[v], vlans[v], tuple(allow_from_json(a) for a in default_allow_list(config))).acl()
                    for v in owners])
    cells: dict[tuple[int, str], list[bool]] = {}
    for f, ok in flows.items():
        if f.src_vlan not in owners or (customer is not None and owners[f.src_vlan] != customer):
            continue
        dst = f.dst
        if dst.startswith("vlan "):
            dv = int(dst.split()[1])
            if dv in owners:
                dst = "own VLANs" if owners[dv] == owners[f.src_vlan] else (
                    "other customers" if customer is not None else f"VLAN {dv} ({owners[dv]})")
            else:
                dst = f"platform VLAN {dv}"
        else:
            dst = service_labels.get(dst, dst)
        cells.setdefault((f.src_vlan, dst), []).append(ok)
    for v in {src for src, _ in cells}:  # inside its own VLAN traffic is switched, never filtered
        own = "own VLANs" if customer is not None else f"VLAN {v} ({owners[v]})"
        cells.setdefault((v, own), []).append(True)
    columns = sorted({d for _, d in cells}, key=lambda d: (d.startswith(("VLAN", "other", "own")), d))
    rows = sorted({v for v, _ in cells})
    grid = {str(v): {d: ("all" if all(cells[(v, d)]) else "some" if any(cells[(v, d)]) else "none")
                     for d in columns if (v, d) in cells} for v in rows}
    return {"rows": [str(v) for v in rows], "columns": columns, "cells": grid}
