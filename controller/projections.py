"""Tables derived from agent events: segment index and camera health.

The event stays the record of what the agent said; these rows are the queryable view of it.
Event data comes from the edge, so it is validated here like any other input.
"""
from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from controller.models import CameraState, Segment, utcnow

log = logging.getLogger("siteguard.controller.projections")

# Event kinds whose content is also appended to the evidence ledger.
LEDGERED_KINDS = {"segment.recorded", "segment.deleted", "segment.quarantined",
                  "retention.hold_placed", "retention.hold_released", "camera.discovered"}


class _Data(BaseModel):
    model_config = ConfigDict(extra="allow")


class SegmentRecorded(_Data):
    camera: str = Field(min_length=1, max_length=64)
    seq: int = Field(ge=0)
    start: dt.datetime
    end: dt.datetime
    bytes: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    link: str = Field(pattern=r"^[0-9a-f]{64}$")


class SegmentDeleted(_Data):
    camera: str = Field(min_length=1, max_length=64)
    seq: int = Field(ge=0)
    deleted_at: dt.datetime
    reason: str = Field(max_length=200)


class CameraStateData(_Data):
    camera: str = Field(min_length=1, max_length=64)
    state: str = Field(min_length=1, max_length=30)
    detail: str = Field(default="", max_length=2000)
    health: dict[str, Any] = Field(default_factory=dict)


def project(s: Session, agent_id: int, site_id: int | None, kind: str, data: dict[str, Any]) -> None:
    if site_id is None:
        return
    try:
        if kind == "segment.recorded":
            d = SegmentRecorded.model_validate(data)
            if s.scalar(select(Segment.id).where(Segment.site_id == site_id, Segment.camera == d.camera,
                                                 Segment.seq == d.seq)) is not None:
                log.warning("agent %s reported %s segment %s again; kept the first", agent_id,
                            d.camera, d.seq)
                return
            s.add(Segment(site_id=site_id, agent_id=agent_id, camera=d.camera, seq=d.seq,
                          start=d.start, end=d.end, bytes=d.bytes, sha256=d.sha256, link=d.link))
        elif kind == "segment.deleted":
            d = SegmentDeleted.model_validate(data)
            row = s.scalar(select(Segment).where(Segment.site_id == site_id,
                                                 Segment.camera == d.camera, Segment.seq == d.seq))
            if row is not None:
                row.deleted_at, row.deletion_reason = d.deleted_at, d.reason
        elif kind == "camera.state":
            d = CameraStateData.model_validate(data)
            row = s.get(CameraState, (site_id, d.camera))
            if row is None:
                row = CameraState(site_id=site_id, camera=d.camera)
                s.add(row)
            row.state, row.detail, row.health, row.updated_at = d.state, d.detail, d.health, utcnow()
    except ValidationError as exc:
        log.warning("agent %s sent %s with bad data: %s", agent_id, kind, exc.errors()[0])
