"""Idempotent storage of agent events: each (agent, seq) is stored once, whatever the retries.

Each event's body is read through its kind's model (edge_agent.wire.payloads) before anything
acts on it. A body that does not fit is refused: nothing is projected, raised or ledgered from
it, and it is kept only as a "wire.refused" record (staff-only, under its own kind, so no
reader of the real kind sees it) naming the kind and the reason. Its seq is acked like any
other, so one bad event never holds up the agent's outbox.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from controller.alarms import clear_alarms, raise_alarm
from controller.event_text import is_routine, state_key
from controller.models import Alarm, CameraState, Customer, Event, GateState, utcnow
from controller.projections import LEDGERED_KINDS, access_record, access_row, project
from controller.services import floorplan
from edge_agent.wire import payloads as P
from edge_agent.wire.kinds import ALARM_PREFIX
from edge_agent.wire.messages import Event as WireEvent
from edge_agent.wire.messages import WireError

log = logging.getLogger("siteguard.controller.ingest")

# The kind under which a refused event is kept.
REFUSED_KIND = "wire.refused"


@dataclass
class Refusal:
    seq: int
    kind: str
    reason: str
    error: str


@dataclass
class IngestResult:
    stored: list[int] = field(default_factory=list)
    duplicates: list[int] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)
    alarms: list[Alarm] = field(default_factory=list)
    cleared: list[Alarm] = field(default_factory=list)
    ledger: list[tuple[str, dict]] = field(default_factory=list)  # to append after commit
    # Gate decisions, passages and withdrawn grants of the batch: ledgered as one entry.
    access: list[dict] = field(default_factory=list)


def _insert(s: Session):
    return (postgresql.insert if s.get_bind().dialect.name == "postgresql" else sqlite.insert)(Event)


def store_events(
    s: Session, agent_id: int, site_id: int | None, events: list[WireEvent],
    customer_ids: dict[str, int],
) -> IngestResult:
    """Insert the new events of one batch; the caller commits, then acks every seq."""
    seqs = [e.seq for e in events]
    known = set(s.scalars(select(Event.seq).where(Event.agent_id == agent_id, Event.seq.in_(seqs))))
    result = IngestResult()
    rows, seen = [], set()
    now = utcnow()
    camera_changed = False
    for e in events:
        if e.seq in known or e.seq in seen:
            result.duplicates.append(e.seq)
            continue
        seen.add(e.seq)
        try:
            body = P.read_event(e.kind, e.data)
        except WireError as exc:
            log.warning("agent %s event %s (%s) refused, %s: %s", agent_id, e.seq, e.kind, exc.reason, exc)
            result.refused.append(Refusal(e.seq, e.kind, exc.reason, str(exc)))
            rows.append(_row(agent_id, e.seq, e.ts, now, REFUSED_KIND, {
                "kind": e.kind, "reason": exc.reason, "error": str(exc), "data": e.data}, None))
            continue
        customer = getattr(body, "customer", None)
        customer_id = customer_ids.get(customer) if customer else None
        routine = is_routine(e.kind, e.data, _previous_state(s, site_id, body))
        rows.append(_row(agent_id, e.seq, e.ts, now, e.kind, e.data, customer_id, routine))
        result.stored.append(e.seq)
        if isinstance(body, P.CameraState) and site_id is not None:
            before = s.get(CameraState, (site_id, body.camera))
            camera_changed |= before is None or before.state != body.state
        project(s, agent_id, site_id, body)
        if e.kind in LEDGERED_KINDS:
            result.ledger.append((e.kind, {"agent": agent_id, "seq": e.seq, **e.data}))
        if site_id is not None and isinstance(body, (P.GateDecision, P.GatePassage, P.GateGrantCancelled)):
            result.access.append(access_record(access_row(body)))
        if isinstance(body, P.AlarmBody):
            _alarm(s, result, agent_id, site_id, customer_id, e.kind[len(ALARM_PREFIX):], body, e.data)
        if isinstance(body, (P.GateDecision, P.GateState, P.AlarmBody)):
            from controller.services import (
                drills,  # it reaches the edge through the link, which imports this
            )

            drills.on_event(s, result.ledger, site_id, e.kind.removeprefix(ALARM_PREFIX), body, e.ts)
    if rows:
        s.execute(_insert(s).values(rows).on_conflict_do_nothing(index_elements=["agent_id", "seq"]))
    if camera_changed:  # a camera went dark or came back: the floor's blind area changes at once
        s.flush()
        raised, cleared = floorplan.recompute(s, site_id)
        result.alarms.extend(raised)
        result.cleared.extend(cleared)
    return result


def access_batch(site_id: int, agent_id: int, records: list[dict]) -> dict[str, Any]:
    """The ledger entry of one batch's access events ("access.batch")."""
    return {"site_id": site_id, "agent": agent_id, "events": records}


def _row(agent_id: int, seq: int, ts: str, now: Any, kind: str, data: dict[str, Any],
         customer_id: int | None, routine: bool = False) -> dict[str, Any]:
    return {"agent_id": agent_id, "seq": seq, "ts": ts, "received_at": now, "kind": kind, "data": data,
            "customer_id": customer_id, "routine": routine}


def _previous_state(s: Session, site_id: int | None, body: P.Body) -> Any:
    """What the camera or gate of a state report said before it (None: nothing yet), read from
    the projection before this report updates it."""
    if site_id is None:
        return None
    if isinstance(body, P.CameraState):
        row = s.get(CameraState, (site_id, body.camera))
        return None if row is None else state_key("camera.state", {"state": row.state})
    if isinstance(body, P.GateState):
        row = s.get(GateState, (site_id, body.gate))
        return None if row is None else state_key("gate.state", {"state": row.state, "online": row.online})
    return None


def _alarm(s: Session, result: IngestResult, agent_id: int, site_id: int | None, customer_id: int | None,
           kind: str, body: P.AlarmBody, data: dict[str, Any]) -> None:
    """An "alarm.<kind>" event raises that alarm for its source, or clears it."""
    if body.cleared:
        result.cleared.extend(clear_alarms(s, kind, body.source))
        return
    alarm = raise_alarm(s, kind, body.message or kind, source=body.source, severity=body.severity or "warning",
                        site_id=site_id, agent_id=agent_id, customer_id=customer_id, details=data)
    if alarm is not None:
        result.alarms.append(alarm)


def customer_ids(s: Session) -> dict[str, int]:
    return {slug: cid for cid, slug in s.execute(select(Customer.id, Customer.slug))}
