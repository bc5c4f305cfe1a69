"""Tables derived from agent events: segment index, camera and gate state, the access log and
where each person is, network changes.

The event stays the record of what the agent said; these rows are the queryable view of it. Each
body arrives already read through its kind's model (edge_agent.wire.payloads), so the fields
here are the contract's, never guessed from a dict.
"""
from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from controller.models import (
    AccessEvent,
    CameraState,
    GateState,
    Presence,
    Segment,
    utcnow,
)
from controller.network import record_refusal, record_result
from controller.vpn_peers import record_applied_event, record_refused_event
from edge_agent.wire import payloads as P
from edge_agent.wire.kinds import EventKind

log = logging.getLogger("siteguard.controller.projections")

# Event kinds whose content is also appended to the evidence ledger.
LEDGERED_KINDS = {EventKind.SEGMENT_RECORDED, EventKind.SEGMENT_DELETED, EventKind.EVIDENCE_DELETED,
                  EventKind.RETENTION_HOLD_PLACED, EventKind.RETENTION_HOLD_RELEASED, EventKind.CAMERA_DISCOVERED,
                  EventKind.NETWORK_CHANGE_RESULT, EventKind.NETWORK_CHANGE_REFUSED,
                  EventKind.VPN_PEER_APPLIED, EventKind.VPN_PEER_REFUSED, EventKind.VPN_PEER_REVOKED}


def project(s: Session, agent_id: int, site_id: int | None, body: P.Body) -> None:
    """Update the tables an event's body feeds (none for most kinds)."""
    if site_id is None:
        return
    if isinstance(body, P.SegmentRecorded):
        if s.scalar(select(Segment.id).where(Segment.site_id == site_id, Segment.camera == body.camera,
                                             Segment.seq == body.seq)) is not None:
            log.warning("agent %s reported %s segment %s again; kept the first", agent_id, body.camera, body.seq)
            return
        s.add(Segment(site_id=site_id, agent_id=agent_id, camera=body.camera, seq=body.seq,
                      start=P.when(body.start), end=P.when(body.end), bytes=body.bytes, sha256=body.sha256,
                      link=body.link))
    elif isinstance(body, P.SegmentDeleted):
        row = s.scalar(select(Segment).where(Segment.site_id == site_id, Segment.camera == body.camera,
                                             Segment.seq == body.seq))
        if row is not None:
            row.deleted_at, row.deletion_reason = P.when(body.deleted_at), body.reason
    elif isinstance(body, P.CameraState):
        row = s.get(CameraState, (site_id, body.camera))
        if row is None:
            row = CameraState(site_id=site_id, camera=body.camera)
            s.add(row)
        health = P.body_dict(body.health) if body.health is not None else {}
        row.state, row.detail, row.health, row.updated_at = body.state, body.detail, health, utcnow()
    elif isinstance(body, (P.GateDecision, P.GatePassage, P.GateGrantCancelled)):
        _access(s, site_id, body)
    elif isinstance(body, P.NetworkChangeResult):
        record_result(s, site_id, P.body_dict(body))
    elif isinstance(body, P.NetworkChangeRefused):
        record_refusal(s, site_id, P.body_dict(body))
    elif isinstance(body, P.VpnPeerApplied):
        record_applied_event(s, site_id, P.body_dict(body))
    elif isinstance(body, P.VpnPeerRefused):
        record_refused_event(s, site_id, P.body_dict(body))
    elif isinstance(body, P.GateState):
        row = s.get(GateState, (site_id, body.gate))
        if row is None:
            row = GateState(site_id=site_id, gate=body.gate)
            s.add(row)
        row.state, row.online, row.detail, row.updated_at = body.state, body.online, P.body_dict(body), utcnow()


def access_row(body: P.GateDecision | P.GatePassage | P.GateGrantCancelled) -> dict:
    """The access log's columns for a gate decision, passage or withdrawn grant."""
    if isinstance(body, P.GateDecision):
        kind, granted, reason = "decision", body.granted, body.reason
    elif isinstance(body, P.GateGrantCancelled):
        kind, granted, reason = "cancelled", None, body.reason
    else:
        kind, granted, reason = "passage", None, ""
    return {"at": P.when(body.at), "gate": body.gate, "person": body.person, "kind": kind,
            "direction": body.direction, "granted": granted, "reason": reason}


def access_record(row: dict) -> dict:
    """An access event as its ledger batch entry and the audit bundle write it."""
    at = row["at"]
    at = at.replace(tzinfo=dt.timezone.utc) if at.tzinfo is None else at
    return {**row, "at": at.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")}


def _access(s: Session, site_id: int, body: P.GateDecision | P.GatePassage | P.GateGrantCancelled) -> None:
    row = access_row(body)
    at = row["at"]
    s.add(AccessEvent(site_id=site_id, details=P.body_dict(body), **row))
    if not isinstance(body, P.GatePassage):
        return
    if body.person and body.area_to:
        row = s.get(Presence, (site_id, body.person))
        if row is None:
            row = Presence(site_id=site_id, person=body.person)
            s.add(row)
        row.area, row.since, row.gate = body.area_to, at, body.gate
