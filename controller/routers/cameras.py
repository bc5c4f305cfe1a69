"""Cameras: health, recorded segments with their gaps, live snapshots and segment playback.

Media stays on the site: snapshots and segment bytes are fetched from the site's edge agent
over the edge link on demand, never copied in bulk to the controller.
"""
from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
from typing import Any, Iterator

from fastapi import APIRouter, Header, HTTPException, Query, Request, Response, status
from pydantic import BaseModel, Field
from fastapi.responses import StreamingResponse
from sqlalchemy import func, select

from controller.auth import DB, SITE_READERS, require
from controller.errors import documented
from controller.models import CameraState, Role, Segment, Site, User, aware, iso
from controller.params import Int64
from controller.wire_server import CommandError
from edge_agent.wire.kinds import CommandName

router = APIRouter(prefix="/api", tags=["cameras"])
CHUNK = 512 * 1024  # well under the wire's message limit once base64-encoded
GAP_TOLERANCE_S = 2.0


def camera_views(db, site: Site) -> list[dict[str, Any]]:
    config = json.loads(site.config_json)
    states = {c.camera: c for c in db.scalars(select(CameraState).where(CameraState.site_id == site.id))}
    last = dict(db.execute(select(Segment.camera, func.max(Segment.end))
                           .where(Segment.site_id == site.id).group_by(Segment.camera)).all())
    out = []
    for cam in config.get("cameras", []):
        st = states.get(cam["id"])
        last_end = aware(last.get(cam["id"]))
        out.append({
            "site_id": site.id, "site": site.slug, "camera": cam["id"], "name": cam["name"],
            "resolution": cam.get("resolution"), "location": cam.get("location"),
            "state": st.state if st else "unknown", "detail": st.detail if st else "",
            "health": st.health if st else {},
            "updated_at": iso(st.updated_at) if st else None,
            "last_segment_end": last_end.isoformat() if last_end else None,
        })
    return out


@router.get("/cameras", dependencies=[require(*SITE_READERS)])
def list_cameras(db: DB) -> list[dict]:
    out: list[dict] = []
    for site in db.scalars(select(Site).order_by(Site.slug)):
        out.extend(camera_views(db, site))
    return out


def _site(db, site_id: int, camera: str) -> Site:
    site = db.get(Site, site_id)
    if site is None or camera not in {c["id"] for c in json.loads(site.config_json).get("cameras", [])}:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such camera")
    return site


def segment_view(s: Segment) -> dict[str, Any]:
    return {"id": s.id, "camera": s.camera, "seq": s.seq, "start": iso(s.start),
            "end": iso(s.end), "bytes": s.bytes, "sha256": s.sha256,
            "deleted_at": iso(s.deleted_at),
            "deletion_reason": s.deletion_reason}


def find_gaps(segments: list[Segment], start: dt.datetime, end: dt.datetime) -> list[dict]:
    """Spans inside [start, end] that no segment covers (segments sorted by start)."""
    gaps, cursor = [], start
    for s in segments:
        s_start, s_end = aware(s.start), aware(s.end)
        if (s_start - cursor).total_seconds() > GAP_TOLERANCE_S:
            gaps.append({"start": cursor.isoformat(), "end": s_start.isoformat(),
                         "seconds": round((s_start - cursor).total_seconds(), 1)})
        cursor = max(cursor, s_end)
    if (end - cursor).total_seconds() > GAP_TOLERANCE_S:
        gaps.append({"start": cursor.isoformat(), "end": end.isoformat(),
                     "seconds": round((end - cursor).total_seconds(), 1), "open": True})
    return gaps


@router.get("/cameras/{site_id}/{camera}/segments", dependencies=[require(*SITE_READERS)])
def camera_segments(site_id: Int64, camera: str, db: DB,
                    start: dt.datetime | None = None, end: dt.datetime | None = None,
                    limit: int = Query(2000, ge=1, le=20000)) -> dict:
    _site(db, site_id, camera)
    end = aware(end) or dt.datetime.now(dt.timezone.utc)
    start = aware(start) or end - dt.timedelta(hours=1)
    if start >= end:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "start must be before end")
    rows = list(db.scalars(
        select(Segment).where(Segment.site_id == site_id, Segment.camera == camera,
                              Segment.end > start, Segment.start < end)
        .order_by(Segment.start).limit(limit)))
    live = [r for r in rows if r.deleted_at is None]
    # Before the camera's first segment ever there was nothing to record: not a gap.
    first = aware(db.scalar(select(func.min(Segment.start)).where(Segment.site_id == site_id,
                                                                 Segment.camera == camera)))
    gaps = find_gaps(live, max(start, first), end) if first is not None and first < end else []
    return {"camera": camera, "start": start.isoformat(), "end": end.isoformat(),
            "segments": [segment_view(r) for r in rows], "gaps": gaps}


def _agent_command(request: Request, site_id: int, name: CommandName, args: dict, timeout: float | None = None) -> dict:
    wire = request.app.state.wire
    agent_id = wire.agent_for_site(site_id)
    if agent_id is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "the site's edge agent is not connected")
    try:
        return wire.send_command(agent_id, name, args, timeout or request.app.state.settings.command_timeout_s)
    except CommandError as exc:
        raise HTTPException(status.HTTP_502_BAD_GATEWAY, f"edge agent: {exc}") from None


@router.get("/cameras/{site_id}/{camera}/snapshot", dependencies=[require(*SITE_READERS)],
            responses=documented(503, 502),
            response_class=Response)
def camera_snapshot(site_id: Int64, camera: str, request: Request, db: DB) -> Response:
    _site(db, site_id, camera)
    result = _agent_command(request, site_id, CommandName.SNAPSHOT, {"camera": camera})
    try:
        jpeg = base64.b64decode(result["jpeg_b64"], validate=True)
    except (KeyError, ValueError):
        raise HTTPException(status.HTTP_502_BAD_GATEWAY, "edge agent sent no picture") from None
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
def segment_video(segment_id: Int64, request: Request, db: DB,
                  range_header: str | None = Header(None, alias="range")):
    seg = db.get(Segment, segment_id)
    if seg is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such segment")
    if seg.deleted_at is not None:
        raise HTTPException(status.HTTP_410_GONE, f"deleted {seg.deleted_at:%Y-%m-%d} ({seg.deletion_reason})")
    size = seg.bytes
    span = _parse_range(range_header, size)
    start, end = span or (0, size - 1)
    first = _agent_command(request, seg.site_id, CommandName.SEGMENT_CHUNK,
                           {"camera": seg.camera, "seq": seg.seq, "offset": start,
                            "length": min(CHUNK, end - start + 1)})

    def body() -> Iterator[bytes]:
        chunk, offset = first, start
        while True:
            data = base64.b64decode(chunk["data_b64"])
            yield data
            offset += len(data)
            if not data or offset > end:
                return
            chunk = _agent_command(request, seg.site_id, CommandName.SEGMENT_CHUNK,
                                   {"camera": seg.camera, "seq": seg.seq, "offset": offset,
                                    "length": min(CHUNK, end - offset + 1)})

    headers = {"Accept-Ranges": "bytes", "Content-Length": str(end - start + 1)}
    if span:
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    return StreamingResponse(body(), status_code=206 if span else 200, media_type="video/mp4",
                             headers=headers)


@router.get("/sites/{site_id}/recordings/audit", dependencies=[require(*SITE_READERS)], responses=documented(503, 502))
def recordings_audit(site_id: Int64, request: Request, db: DB) -> dict:
    """Re-hash every recording on the site's appliance and check each camera's hash chain,
    deletions against the retention policy and legal holds."""
    if db.get(Site, site_id) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such site")
    report = _agent_command(request, site_id, CommandName.AUDIT_RECORDINGS, {}, timeout=120)
    request.app.state.ledger.append("recordings.audited", {"site_id": site_id, "ok": report.get("ok"),
                                                          "problems": len(report.get("problems", []))})
    return report


class HoldRequest(BaseModel):
    camera: str | None = Field(default=None, max_length=64)
    start: dt.datetime
    end: dt.datetime
    reason: str = Field(min_length=3, max_length=500)


@router.get("/sites/{site_id}/holds", dependencies=[require(*SITE_READERS)], responses=documented(503, 502))
def list_holds(site_id: Int64, request: Request, db: DB) -> list[dict]:
    if db.get(Site, site_id) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such site")
    return _agent_command(request, site_id, CommandName.LEGAL_HOLD, {"action": "list"})["holds"]


@router.post("/sites/{site_id}/holds", status_code=201, responses=documented(503, 502))
def place_hold(site_id: Int64, body: HoldRequest, request: Request, db: DB,
               user: User = require(Role.admin, Role.officer)) -> dict:
    """Keep the recordings of a camera (or all) in a time span past their retention."""
    if db.get(Site, site_id) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such site")
    start, end = aware(body.start), aware(body.end)
    if end < start:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "end must not be before start")
    hold_id = f"hold-{uuid.uuid4().hex[:12]}"
    return _agent_command(request, site_id, CommandName.LEGAL_HOLD, {
        "action": "place", "id": hold_id, "camera": body.camera, "start": start.isoformat(),
        "end": end.isoformat(), "reason": body.reason, "by": user.username})


@router.post("/sites/{site_id}/holds/{hold_id}/release", responses=documented(503, 502))
def release_hold(site_id: Int64, hold_id: str, request: Request, db: DB,
                 user: User = require(Role.admin, Role.officer)) -> dict:
    if db.get(Site, site_id) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such site")
    return _agent_command(request, site_id, CommandName.LEGAL_HOLD, {"action": "release", "id": hold_id[:64],
                                                          "by": user.username})
