"""Customers and their VLANs; a customer user sees only its own."""
from __future__ import annotations

from fastapi import APIRouter

from controller.auth import DB, CurrentUser, require
from controller.models import Role
from controller.params import Int64
from controller.services import customers as svc

router = APIRouter(prefix="/api", tags=["customers"])
READERS = (Role.admin, Role.officer, Role.inspector, Role.customer)


@router.get("/customers", dependencies=[require(*READERS)])
def list_customers(db: DB, user: CurrentUser) -> list[dict]:
    return [svc.customer_view(c) for c in svc.customers(db, user)]


@router.get("/customers/{customer_id}", dependencies=[require(*READERS)])
def get_customer(customer_id: Int64, db: DB, user: CurrentUser) -> dict:
    return svc.customer_view(svc.one_customer(db, user, customer_id))


@router.get("/customers/{customer_id}/vlans", dependencies=[require(*READERS)])
def list_customer_vlans(customer_id: Int64, db: DB, user: CurrentUser) -> list[dict]:
    return svc.customer_vlans(db, user, customer_id)


@router.get("/vlans/{vlan_pk}", dependencies=[require(*READERS)])
def get_vlan(vlan_pk: Int64, db: DB, user: CurrentUser) -> dict:
    return svc.vlan_view(svc.one_vlan(db, user, vlan_pk))
