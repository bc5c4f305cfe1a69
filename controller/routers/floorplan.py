"""Floor plans: what each camera sees of the floor, the blind area, and camera calibrations."""
from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, Field

from controller.alarms import ledger_record
from controller.auth import DB, SITE_READERS, require
from controller.deps import LedgerDep
from controller.models import Role, User, utcnow
from controller.params import Int64
from controller.services import floorplan as svc

router = APIRouter(prefix="/api", tags=["floor plans"])

Coordinate = Annotated[float, Field(ge=-1e5, le=1e5, allow_inf_nan=False)]


class PointPair(BaseModel):
    image: tuple[Coordinate, Coordinate] = Field(description="the point in the camera's frame, pixels")
    floor: tuple[Coordinate, Coordinate] = Field(description="the same point on the floor plan, metres")


class CalibrationRequest(BaseModel):
    pairs: list[PointPair] = Field(min_length=4, max_length=64)


@router.get("/sites/{site_id}/floorplan", dependencies=[require(*SITE_READERS)])
def floor_plan(site_id: Int64, db: DB) -> dict:
    """Per area with a floor plan: cameras with their footprints, the blind area and its patches,
    seats by coverage, gates with their state and who passed last."""
    return svc.floor_view(db, site_id)


@router.get("/sites/{site_id}/floorplan/hours", dependencies=[require(*SITE_READERS)])
def blind_area_hours(site_id: Int64, db: DB, start: dt.datetime | None = None,
                     end: dt.datetime | None = None) -> list[dict]:
    """The blind area per hour (largest and latest), by default over the last 24 hours."""
    end = end or utcnow()
    return svc.blind_hours(db, site_id, start or end - dt.timedelta(days=1), end)


@router.get("/sites/{site_id}/cameras/{camera}/calibrations", dependencies=[require(*SITE_READERS)])
def calibrations(site_id: Int64, camera: str, db: DB) -> list[dict]:
    """Every submitted calibration of the camera, newest first."""
    return svc.calibration_history(db, site_id, camera)


@router.post("/sites/{site_id}/cameras/{camera}/calibrations", status_code=201)
def calibrate(site_id: Int64, camera: str, body: CalibrationRequest, db: DB, ledger: LedgerDep,
              user: User = require(Role.admin, Role.officer)) -> dict:
    """Fit the camera's floor homography to four or more clicked point pairs and put it in force
    as a new, ledgered version; the floor's blind area is recomputed at once."""
    version, raised, cleared = svc.submit_calibration(
        db, ledger, site_id, camera, [(p.image, p.floor) for p in body.pairs], user.username)
    for alarm in raised:
        ledger.record(db, "alarm.raised", ledger_record(alarm))
    for alarm in cleared:
        ledger.record(db, "alarm.cleared", ledger_record(alarm))
    db.commit()
    return version
