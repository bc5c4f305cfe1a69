"""Customers and their VLANs, as far as the caller's scope reaches."""
from __future__ import annotations

from sqlalchemy import select

from controller.domain_errors import NotFound
from controller.models import Customer, Site, User, Vlan
from controller.services.scope import customer_scope, scoped_or_404


def customer_view(c: Customer) -> dict:
    return {"id": c.id, "slug": c.slug, "name": c.name,
            "approval_public_key": c.approval_public_key}


def vlan_view(v: Vlan, site_slug: str | None = None) -> dict:
    return {"id": v.id, "vlan_id": v.vlan_id, "name": v.name, "subnet": v.subnet,
            "customer_id": v.customer_id, "site_id": v.site_id, "site": site_slug}


def customers(db, user: User) -> list[Customer]:
    stmt = customer_scope(db, user).filter(select(Customer).order_by(Customer.slug), Customer.id)
    return list(db.scalars(stmt))


def one_customer(db, user: User, customer_id: int) -> Customer:
    customer_scope(db, user).check(customer_id)
    c = db.get(Customer, customer_id)
    if c is None:
        raise NotFound("no such customer")
    return c


def customer_vlans(db, user: User, customer_id: int) -> list[dict]:
    one_customer(db, user, customer_id)
    sites = {s.id: s.slug for s in db.scalars(select(Site))}
    rows = db.scalars(select(Vlan).where(Vlan.customer_id == customer_id).order_by(Vlan.vlan_id))
    return [vlan_view(v, sites.get(v.site_id)) for v in rows]


def one_vlan(db, user: User, vlan_pk: int) -> Vlan:
    return scoped_or_404(db, user, Vlan, vlan_pk, "no such vlan")
