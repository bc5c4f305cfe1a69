"""Remote work over WireGuard: the site's peers and their tunnels, peer changes the customer signs
(then approved and started like any network change), an officer's immediate revocation, the
client's config without its private key, and a customer's remote-work rules."""
from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from controller.auth import DB, STAFF, CurrentUser, require
from controller.deps import EdgeDep, LedgerDep, SettingsDep
from controller.errors import documented
from controller.models import Role, User
from controller.params import Int64
from controller.services import remote_rules
from controller.services import vpn as svc
from controller.services.scope import customer_scope

router = APIRouter(prefix="/api", tags=["vpn"])
READERS = (Role.admin, Role.officer, Role.inspector, Role.customer)
REQUESTERS = (Role.admin, Role.officer, Role.customer)


class PeerIn(BaseModel):
    customer: str = Field(min_length=1, max_length=64)
    person: str = Field(min_length=1, max_length=64)  # the site file's person id who uses the device
    # the device's public key (made on the device: `wg genkey | wg pubkey`, or the WireGuard app)
    public_key: str = Field(min_length=44, max_length=44)
    address: str | None = Field(default=None, max_length=15)  # default: the next free one of the range
    label: str = Field(default="", max_length=100)


class RotateIn(BaseModel):
    # the device's new public key; checked after the caller's scope so a foreign peer id reads "no such peer"
    public_key: str = Field(default="", max_length=44)


class RevokeIn(BaseModel):
    reason: str = Field(min_length=1, max_length=500)


class RulesIn(BaseModel):
    customer: str = Field(min_length=1, max_length=64)
    allowed: bool
    modalities: list[Literal["text", "audio", "image"]] = Field(default_factory=list, max_length=3)
    watermark: bool = True


@router.get("/sites/{site_id}/vpn", dependencies=[require(*READERS)])
def vpn_overview(site_id: Int64, db: DB, user: CurrentUser, edge: EdgeDep, settings: SettingsDep) -> dict[str, Any]:
    """The gateway, each customer's remote rules and the peers (a customer: its own), the live
    ones with their tunnel's figures from the edge: endpoint, handshake age, bytes, down."""
    return svc.overview(db, customer_scope(db, user), edge, site_id, settings.command_timeout_s)


@router.post("/sites/{site_id}/vpn/peers", status_code=201, responses=documented(400, 409))
def request_peer(site_id: Int64, body: PeerIn, db: DB, ledger: LedgerDep,
                 user: User = require(*REQUESTERS)) -> dict[str, Any]:
    """A change that adds the device as a peer; its customer signs it, then an officer starts it."""
    return svc.request_peer(db, ledger, customer_scope(db, user), site_id, body.customer, body.person,
                            body.public_key, body.address, body.label, user.username)


@router.post("/vpn/peers/{peer_id}/remove", status_code=201, responses=documented(409))
def request_removal(peer_id: Int64, db: DB, ledger: LedgerDep, user: User = require(*REQUESTERS)) -> dict[str, Any]:
    """A change that removes an active peer, signed by its customer like the one that added it."""
    return svc.request_removal(db, ledger, customer_scope(db, user), peer_id, user.username)


@router.post("/vpn/peers/{peer_id}/rotate", status_code=201, responses=documented(400, 409))
def request_rotation(peer_id: Int64, body: RotateIn, db: DB, ledger: LedgerDep,
                     user: User = require(*REQUESTERS)) -> dict[str, Any]:
    """A change that replaces an active peer's key at the same address; its customer signs it,
    and the old key keeps working until the change is started."""
    return svc.request_rotation(db, ledger, customer_scope(db, user), peer_id, body.public_key, user.username)


@router.post("/vpn/peers/{peer_id}/revoke", responses=documented(409, 400))
def revoke_peer(peer_id: Int64, body: RevokeIn, db: DB, ledger: LedgerDep, edge: EdgeDep, settings: SettingsDep,
                user: User = require(*STAFF)) -> dict[str, Any]:
    """Cut a peer off now (a lost device): no customer signature; ledgered, and its customer sees it."""
    return svc.revoke(db, ledger, edge, peer_id, user.username, body.reason, settings.command_timeout_s)


@router.get("/vpn/peers/{peer_id}/client-config", dependencies=[require(*REQUESTERS)])
def client_config(peer_id: Int64, request: Request, db: DB, user: CurrentUser) -> dict[str, Any]:
    """The device's WireGuard config, its private key left for the device to fill in."""
    return svc.client_config(db, customer_scope(db, user), peer_id, request.url.hostname or "localhost")


@router.post("/sites/{site_id}/remote-rules", status_code=201, responses=documented(400, 409))
def request_rules(site_id: Int64, body: RulesIn, db: DB, ledger: LedgerDep,
                  user: User = require(*REQUESTERS)) -> dict[str, Any]:
    """A change of a customer's remote-work rules; it takes effect once that customer signed it
    and it was started."""
    return remote_rules.request(db, ledger, customer_scope(db, user), site_id, body.customer, body.allowed,
                                list(body.modalities), body.watermark, user.username)
