"""Cameras: health, recorded segments with their gaps, live snapshots and segment playback.

Media stays on the site: snapshots and segment bytes are fetched from the site's edge agent
over the edge link on demand, never copied in bulk to the controller.
"""
from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Header, HTTPException, Query, Response, status
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from controller.auth import DB, SITE_READERS, require
from controller.deps import EdgeDep, LedgerDep, SettingsDep
from controller.errors import documented
from controller.models import Role, User
from controller.params import Int64
from controller.services import cameras as svc

router = APIRouter(prefix="/api", tags=["cameras"])


@router.get("/cameras", dependencies=[require(*SITE_READERS)])
def list_cameras(db: DB) -> list[dict]:
    return svc.all_cameras(db)


@router.get("/cameras/{site_id}/{camera}/segments", dependencies=[require(*SITE_READERS)])
def camera_segments(site_id: Int64, camera: str, db: DB,
                    start: dt.datetime | None = None, end: dt.datetime | None = None,
                    limit: int = Query(2000, ge=1, le=20000)) -> dict:
    return svc.camera_segments(db, site_id, camera, start, end, limit)


@router.get("/cameras/{site_id}/{camera}/timeline", dependencies=[require(*SITE_READERS)])
def camera_timeline(site_id: Int64, camera: str, db: DB,
                    start: dt.datetime | None = None, end: dt.datetime | None = None,
                    limit: int = Query(2000, ge=1, le=20000)) -> dict:
    """What the camera's timeline draws over [start, end] (default: the last hour): axis ticks in
    the site's time zone, spans (``recorded``, ``deleted``, ``recording`` now, ``gap``), each with
    its share of the window (``x0``, ``x1``), and the camera's alarm periods."""
    return svc.camera_timeline(db, site_id, camera, start, end, limit)


@router.get("/cameras/{site_id}/{camera}/snapshot", dependencies=[require(*SITE_READERS)],
            responses=documented(503, 502),
            response_class=Response)
def camera_snapshot(site_id: Int64, camera: str, db: DB, edge: EdgeDep, settings: SettingsDep) -> Response:
    jpeg = svc.snapshot(db, edge, site_id, camera, settings.command_timeout_s)
    return Response(jpeg, media_type="image/jpeg", headers={"Cache-Control": "no-store"})


def _parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    if not header or not header.startswith("bytes="):
        return None
    first, _, last = header[6:].split(",")[0].strip().partition("-")
    try:
        if first == "":
            start, end = max(0, size - int(last)), size - 1
        else:
            start, end = int(first), (int(last) if last else size - 1)
    except ValueError:
        return None
    if start > end or start >= size:
        raise HTTPException(status.HTTP_416_RANGE_NOT_SATISFIABLE, "range outside the segment",
                            headers={"Content-Range": f"bytes */{size}"})
    return start, min(end, size - 1)


@router.get("/segments/{segment_id}/video", dependencies=[require(*SITE_READERS)],
            responses=documented(410, 416, 503, 502))
def segment_video(segment_id: Int64, db: DB, edge: EdgeDep, settings: SettingsDep,
                  range_header: str | None = Header(None, alias="range")):
    seg = svc.live_segment(db, segment_id)
    size = seg.bytes
    span = _parse_range(range_header, size)
    start, end = span or (0, size - 1)
    body = svc.segment_chunks(edge, seg, start, end, settings.command_timeout_s)
    headers = {"Accept-Ranges": "bytes", "Content-Length": str(end - start + 1)}
    if span:
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    return StreamingResponse(body, status_code=206 if span else 200, media_type="video/mp4",
                             headers=headers)


@router.get("/sites/{site_id}/recordings/audit", dependencies=[require(*SITE_READERS)], responses=documented(503, 502))
def recordings_audit(site_id: Int64, db: DB, ledger: LedgerDep, edge: EdgeDep) -> dict:
    """Re-hash every recording on the site's appliance and check each camera's hash chain,
    deletions against the retention policy and legal holds."""
    return svc.audit_recordings(db, ledger, edge, site_id)


class HoldRequest(BaseModel):
    camera: str | None = Field(default=None, max_length=64)
    start: dt.datetime
    end: dt.datetime
    reason: str = Field(min_length=3, max_length=500)


@router.get("/sites/{site_id}/holds", dependencies=[require(*SITE_READERS)], responses=documented(503, 502))
def list_holds(site_id: Int64, db: DB, edge: EdgeDep, settings: SettingsDep) -> list[dict]:
    return svc.list_holds(db, edge, site_id, settings.command_timeout_s)


@router.post("/sites/{site_id}/holds", status_code=201, responses=documented(503, 502))
def place_hold(site_id: Int64, body: HoldRequest, db: DB, edge: EdgeDep, settings: SettingsDep,
               user: User = require(Role.admin, Role.officer)) -> dict:
    """Keep the recordings of a camera (or all) in a time span past their retention."""
    return svc.place_hold(db, edge, site_id, body.camera, body.start, body.end, body.reason, user.username,
                          settings.command_timeout_s)


@router.post("/sites/{site_id}/holds/{hold_id}/release", responses=documented(503, 502))
def release_hold(site_id: Int64, hold_id: str, db: DB, edge: EdgeDep, settings: SettingsDep,
                 user: User = require(Role.admin, Role.officer)) -> dict:
    return svc.release_hold(db, edge, site_id, hold_id, user.username, settings.command_timeout_s)
