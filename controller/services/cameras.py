"""Cameras: health, recorded segments and their gaps, and what only the site's appliance holds
(snapshots, segment bytes, the recordings audit, legal holds), asked of its edge on demand."""
from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
from collections.abc import Iterator
from typing import Any

from sqlalchemy import func, or_, select

from controller.domain_errors import EdgeFailed, Gone, Invalid, NotFound
from controller.i18n import DEFAULT_TIMEZONE
from controller.ledger import Ledger
from controller.models import Alarm, CameraState, Segment, Site, aware, iso
from controller.services.edge import EdgeChannel, send_to_edge
from controller.services.sites import site_or_404
from controller.timeline import (
    AlarmFact,
    SegmentFact,
    alarm_bands,
    axis_ticks,
    camera_spans,
)
from edge_agent.wire.kinds import CommandName

CHUNK = 512 * 1024  # well under the wire's message limit once base64-encoded
GAP_TOLERANCE_S = 2.0
AUDIT_TIMEOUT_S = 120.0


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


def all_cameras(db) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for site in db.scalars(select(Site).order_by(Site.slug)):
        out.extend(camera_views(db, site))
    return out


def camera_site(db, site_id: int, camera: str) -> Site:
    """The site, when it has the camera; NotFound otherwise."""
    site = db.get(Site, site_id)
    if site is None or camera not in {c["id"] for c in json.loads(site.config_json).get("cameras", [])}:
        raise NotFound("no such camera")
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


def camera_segments(db, site_id: int, camera: str, start: dt.datetime | None, end: dt.datetime | None,
                    limit: int) -> dict[str, Any]:
    camera_site(db, site_id, camera)
    end = aware(end) or dt.datetime.now(dt.timezone.utc)
    start = aware(start) or end - dt.timedelta(hours=1)
    if start >= end:
        raise Invalid("start must be before end")
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


def camera_alarms(db, site_id: int, camera: str, start: dt.datetime, end: dt.datetime) -> list[Alarm]:
    """The camera's alarms (source ``camera:<id>`` or ``camera:<id>:…``) open at some time in [start, end]."""
    return list(db.scalars(
        select(Alarm).where(Alarm.site_id == site_id,
                            or_(Alarm.source == f"camera:{camera}",
                                Alarm.source.startswith(f"camera:{camera}:", autoescape=True)),
                            Alarm.raised_at < end, or_(Alarm.cleared_at.is_(None), Alarm.cleared_at > start))
        .order_by(Alarm.raised_at).limit(500)))


def camera_timeline(db, site_id: int, camera: str, start: dt.datetime | None, end: dt.datetime | None,
                    limit: int) -> dict[str, Any]:
    """What the camera page's timeline draws over [start, end] (default: the last hour): the
    axis ticks in the site's time zone, the spans (recorded, deleted, recording now, gap) and the
    camera's alarm periods."""
    site = camera_site(db, site_id, camera)
    now = dt.datetime.now(dt.timezone.utc)
    end = aware(end) or now
    start = aware(start) or end - dt.timedelta(hours=1)
    if start >= end:
        raise Invalid("start must be before end")
    rows = list(db.scalars(
        select(Segment).where(Segment.site_id == site_id, Segment.camera == camera,
                              Segment.end > start, Segment.start < end)
        .order_by(Segment.start).limit(limit)))
    first = aware(db.scalar(select(func.min(Segment.start)).where(Segment.site_id == site_id,
                                                                 Segment.camera == camera)))
    state = db.get(CameraState, (site_id, camera))
    config = json.loads(site.config_json)
    seconds = config.get("retention", {}).get("segment_seconds", 60)
    tz = config.get("site", {}).get("timezone") or DEFAULT_TIMEZONE
    spans = camera_spans(
        [SegmentFact(r.id, r.seq, aware(r.start), aware(r.end), r.deleted_at is not None, r.sha256) for r in rows],
        start, end, first_ever=first, recording_now=state is not None and state.state == "recording",
        segment_seconds=float(seconds), now=now)
    alarms = alarm_bands([AlarmFact(a.id, a.kind, a.severity, aware(a.raised_at), aware(a.cleared_at), a.message)
                          for a in camera_alarms(db, site_id, camera, start, end)], start, end, now)
    return {"camera": camera, "start": start.isoformat(), "end": end.isoformat(), "timezone": tz,
            "ticks": axis_ticks(start, end, tz), "spans": spans, "alarms": alarms}


def snapshot(db, edge: EdgeChannel, site_id: int, camera: str, timeout: float) -> bytes:
    """The camera's picture now, as JPEG bytes."""
    camera_site(db, site_id, camera)
    result = send_to_edge(edge, site_id, CommandName.SNAPSHOT, {"camera": camera}, timeout)
    try:
        return base64.b64decode(result["jpeg_b64"], validate=True)
    except (KeyError, ValueError):
        raise EdgeFailed("edge agent sent no picture", "no picture") from None


def live_segment(db, segment_id: int) -> Segment:
    """A segment whose bytes are still kept; Gone once retention (or a reason given) removed them."""
    seg = db.get(Segment, segment_id)
    if seg is None:
        raise NotFound("no such segment")
    if seg.deleted_at is not None:
        raise Gone(f"deleted {seg.deleted_at:%Y-%m-%d} ({seg.deletion_reason})")
    return seg


def segment_chunks(edge: EdgeChannel, seg: Segment, start: int, end: int, timeout: float) -> Iterator[bytes]:
    """Bytes ``start``..``end`` (inclusive) of the segment, fetched from the edge a chunk at a
    time. The first chunk is fetched before this returns, so an offline edge is told at once."""
    def fetch(offset: int) -> dict:
        return send_to_edge(edge, seg.site_id, CommandName.SEGMENT_CHUNK,
                            {"camera": seg.camera, "seq": seg.seq, "offset": offset,
                             "length": min(CHUNK, end - offset + 1)}, timeout)

    first = fetch(start)

    def body() -> Iterator[bytes]:
        chunk, offset = first, start
        while True:
            data = base64.b64decode(chunk["data_b64"])
            yield data
            offset += len(data)
            if not data or offset > end:
                return
            chunk = fetch(offset)

    return body()


def audit_recordings(db, ledger: Ledger, edge: EdgeChannel, site_id: int) -> dict:
    """The appliance re-hashes every recording and checks each camera's hash chain, deletions
    against the retention policy and legal holds; the outcome is ledgered."""
    site_or_404(db, site_id)
    report = send_to_edge(edge, site_id, CommandName.AUDIT_RECORDINGS, {}, AUDIT_TIMEOUT_S)
    ledger.append("recordings.audited", {"site_id": site_id, "ok": report.get("ok"),
                                         "problems": len(report.get("problems", []))})
    return report


def list_holds(db, edge: EdgeChannel, site_id: int, timeout: float) -> list[dict]:
    site_or_404(db, site_id)
    return send_to_edge(edge, site_id, CommandName.LEGAL_HOLD, {"action": "list"}, timeout)["holds"]


def place_hold(db, edge: EdgeChannel, site_id: int, camera: str | None, start: dt.datetime, end: dt.datetime,
               reason: str, by: str, timeout: float) -> dict:
    """Keep the recordings of a camera (or all) in a time span past their retention."""
    site_or_404(db, site_id)
    start, end = aware(start), aware(end)
    if end < start:
        raise Invalid("end must not be before start")
    hold_id = f"hold-{uuid.uuid4().hex[:12]}"
    return send_to_edge(edge, site_id, CommandName.LEGAL_HOLD, {
        "action": "place", "id": hold_id, "camera": camera, "start": start.isoformat(),
        "end": end.isoformat(), "reason": reason, "by": by}, timeout)


def release_hold(db, edge: EdgeChannel, site_id: int, hold_id: str, by: str, timeout: float) -> dict:
    site_or_404(db, site_id)
    return send_to_edge(edge, site_id, CommandName.LEGAL_HOLD,
                        {"action": "release", "id": hold_id[:64], "by": by}, timeout)
