"""Seat coverage as the edge judged it: per seat covered or not with its reasons, the site's
coverage figure, a seat's camera frame with its polygons and detections, coverage history, and
calibration (an officer redraws a seat's polygons on a snapshot). A customer sees its own seats
only, and on a camera shared with another customer, that customer's screens come blacked out."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from controller.auth import DB, CurrentUser, require
from controller.deps import EdgeDep, LedgerDep, SettingsDep
from controller.errors import documented
from controller.models import Role, User
from controller.params import Int64
from controller.services import seats as svc
from controller.services.scope import customer_scope

router = APIRouter(prefix="/api", tags=["seats"])
READERS = (Role.admin, Role.officer, Role.inspector, Role.customer)


@router.get("/sites/{site_id}/seats", dependencies=[require(*READERS)])
def seat_states(site_id: Int64, db: DB, user: CurrentUser) -> dict[str, Any]:
    return svc.seat_states(db, customer_scope(db, user), site_id)


@router.get("/sites/{site_id}/coverage/history", dependencies=[require(*READERS)])
def coverage_history(site_id: Int64, db: DB, user: CurrentUser,
                     hours: float = Query(24.0, gt=0, le=24 * 200)) -> dict[str, Any]:
    """The coverage % as a step line and every seat's spans over the last ``hours``."""
    return svc.coverage_history(db, customer_scope(db, user), site_id, hours)


@router.get("/sites/{site_id}/seats/{seat_id}", dependencies=[require(*READERS)])
def seat_detail(site_id: Int64, seat_id: str, db: DB, user: CurrentUser,
                hours: float = Query(24.0, gt=0, le=24 * 200)) -> dict[str, Any]:
    return svc.seat_detail(db, customer_scope(db, user), site_id, seat_id, hours)


@router.get("/sites/{site_id}/seats/{seat_id}/frame", dependencies=[require(*READERS)], responses=documented(503, 502))
def seat_frame(site_id: Int64, seat_id: str, db: DB, edge: EdgeDep, settings: SettingsDep,
               user: CurrentUser) -> dict[str, Any]:
    """The frame the seat was last judged on, fetched from the edge (media stays on site)."""
    return svc.seat_frame(db, edge, customer_scope(db, user), site_id, seat_id, settings.command_timeout_s)


@router.get("/sites/{site_id}/seats/{seat_id}/policy", dependencies=[require(*READERS)])
def seat_policy(site_id: Int64, seat_id: str, db: DB, settings: SettingsDep, user: CurrentUser,
                person: str | None = Query(None, min_length=1, max_length=64)) -> dict[str, Any]:
    """May the seat's customer's data be shown at this seat now, and, given ``person``, to them.
    Asked before work is served; a customer may ask about its own seats, not about people."""
    return svc.seat_policy(db, customer_scope(db, user), site_id, seat_id, person, settings.agent_offline_after_s)


Point = tuple[int, int]


class SeatViewIn(BaseModel):
    seat: list[Point] = Field(min_length=3, max_length=64)
    screen: list[Point] = Field(min_length=3, max_length=64)


@router.put("/sites/{site_id}/seats/{seat_id}/views/{camera}")
def calibrate_seat(site_id: Int64, seat_id: str, camera: str, body: SeatViewIn, db: DB, ledger: LedgerDep,
                   edge: EdgeDep, user: User = require(Role.admin, Role.officer)) -> dict[str, Any]:
    """Set where a seat and its screen are in one camera's frame (main-stream pixels): the site
    config gets a new version, is ledgered and pushed to the edge, which judges with it at once."""
    return svc.calibrate(db, ledger, edge, customer_scope(db, user), site_id, seat_id, camera, body.seat,
                         body.screen, user.username)
