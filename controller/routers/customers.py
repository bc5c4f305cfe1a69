"""Customers and their VLANs; a customer user sees only its own."""
from __future__ import annotations

from fastapi import APIRouter, HTTPException, status
from sqlalchemy import select

from controller.auth import DB, CurrentUser, check_customer_scope, require
from controller.models import Customer, Role, Site, Vlan
from controller.params import Int64

router = APIRouter(prefix="/api", tags=["customers"])
READERS = (Role.admin, Role.officer, Role.inspector, Role.customer)


def customer_view(c: Customer) -> dict:
    return {"id": c.id, "slug": c.slug, "name": c.name,
            "approval_public_key": c.approval_public_key}


def vlan_view(v: Vlan, site_slug: str | None = None) -> dict:
    return {"id": v.id, "vlan_id": v.vlan_id, "name": v.name, "subnet": v.subnet,
            "customer_id": v.customer_id, "site_id": v.site_id, "site": site_slug}


@router.get("/customers", dependencies=[require(*READERS)])
def list_customers(db: DB, user: CurrentUser) -> list[dict]:
    stmt = select(Customer).order_by(Customer.slug)
    if user.role == Role.customer.value:
        stmt = stmt.where(Customer.id == user.customer_id)
    return [customer_view(c) for c in db.scalars(stmt)]


def _customer(db, user, customer_id: int) -> Customer:
    check_customer_scope(user, customer_id)
    c = db.get(Customer, customer_id)
    if c is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such customer")
    return c


@router.get("/customers/{customer_id}", dependencies=[require(*READERS)])
def get_customer(customer_id: Int64, db: DB, user: CurrentUser) -> dict:
    return customer_view(_customer(db, user, customer_id))


def customer_vlans(db, customer_id: int) -> list[dict]:
    sites = {s.id: s.slug for s in db.scalars(select(Site))}
    rows = db.scalars(select(Vlan).where(Vlan.customer_id == customer_id).order_by(Vlan.vlan_id))
    return [vlan_view(v, sites.get(v.site_id)) for v in rows]


@router.get("/customers/{customer_id}/vlans", dependencies=[require(*READERS)])
def list_customer_vlans(customer_id: Int64, db: DB, user: CurrentUser) -> list[dict]:
    _customer(db, user, customer_id)
    return customer_vlans(db, customer_id)


@router.get("/vlans/{vlan_pk}", dependencies=[require(*READERS)])
def get_vlan(vlan_pk: Int64, db: DB, user: CurrentUser) -> dict:
    v = db.get(Vlan, vlan_pk)
    if v is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such vlan")
    check_customer_scope(user, v.customer_id)
    return vlan_view(v)
