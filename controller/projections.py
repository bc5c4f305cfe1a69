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

from controller.network import record_refusal, record_result
from controller.models import AccessEvent, CameraState, GateState, Presence, Segment, utcnow

log = logging.getLogger("siteguard.controller.projections")

# Event kinds whose content is also appended to the evidence ledger.
LEDGERED_KINDS = {"segment.recorded", "segment.deleted", "segment.quarantined", "evidence.deleted",
                  "retention.hold_placed", "retention.hold_released", "camera.discovered",
                  "network.change_result", "network.change_refused"}


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


class GateDecision(_Data):
    gate: str = Field(min_length=1, max_length=64)
    at: dt.datetime
    direction: str = Field(pattern="^(entry|exit)$")
    person: str | None = Field(default=None, max_length=64)
    granted: bool
    reason: str = Field(max_length=60)


class GatePassage(_Data):
    gate: str = Field(min_length=1, max_length=64)
    at: dt.datetime
    direction: str = Field(pattern="^(entry|exit)$")
    person: str | None = Field(default=None, max_length=64)
    area_to: str | None = Field(default=None, max_length=64)


class GrantCancelledData(_Data):
    gate: str = Field(min_length=1, max_length=64)
    at: dt.datetime
    direction: str = Field(pattern="^(entry|exit)$")
    person: str | None = Field(default=None, max_length=64)
    reason: str = Field(max_length=60)


class GateStateData(_Data):
    gate: str = Field(min_length=1, max_length=64)
    state: str = Field(min_length=1, max_length=30)
    online: bool = False


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
        elif kind in ("gate.decision", "gate.passage", "gate.grant_cancelled"):
            _access(s, site_id, kind, data)
        elif kind == "network.change_result":
            record_result(s, site_id, data)
        elif kind == "network.change_refused":
            record_refusal(s, site_id, data)
        elif kind == "gate.state":
            d = GateStateData.model_validate(data)
            row = s.get(GateState, (site_id, d.gate))
            if row is None:
                row = GateState(site_id=site_id, gate=d.gate)
                s.add(row)
            row.state, row.online, row.detail, row.updated_at = d.state, d.online, data, utcnow()
    except ValidationError as exc:
        log.warning("agent %s sent %s with bad data: %s", agent_id, kind, exc.errors()[0])


def _access(s: Session, site_id: int, kind: str, data: dict[str, Any]) -> None:
    if kind == "gate.decision":
        d = GateDecision.model_validate(data)
        s.add(AccessEvent(site_id=site_id, at=d.at, gate=d.gate, person=d.person, kind="decision",
                          direction=d.direction, granted=d.granted, reason=d.reason, details=data))
        return
    if kind == "gate.grant_cancelled":
        c = GrantCancelledData.model_validate(data)
        s.add(AccessEvent(site_id=site_id, at=c.at, gate=c.gate, person=c.person, kind="cancelled",
                          direction=c.direction, granted=None, reason=c.reason, details=data))
        return
    p = GatePassage.model_validate(data)
    s.add(AccessEvent(site_id=site_id, at=p.at, gate=p.gate, person=p.person, kind="passage",
                      direction=p.direction, granted=None, reason="", details=data))
    if p.person and p.area_to:
        row = s.get(Presence, (site_id, p.person))
        if row is None:
            row = Presence(site_id=site_id, person=p.person)
            s.add(row)
        row.area, row.since, row.gate = p.area_to, p.at, p.gate
