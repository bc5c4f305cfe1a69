"""Idempotent storage of agent events: each (agent, seq) is stored once, whatever the retries."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from controller.alarms import clear_alarms, raise_alarm
from controller.models import Alarm, Customer, Event, utcnow
from controller.projections import LEDGERED_KINDS, project
from edge_agent.wire.messages import Event as WireEvent

# An event "alarm.<kind>" raises that alarm for data["source"]; with data["state"] == "cleared"
# it clears it.
ALARM_PREFIX = "alarm."


@dataclass
class IngestResult:
    stored: list[int] = field(default_factory=list)
    duplicates: list[int] = field(default_factory=list)
    alarms: list[Alarm] = field(default_factory=list)
    cleared: list[Alarm] = field(default_factory=list)
    ledger: list[tuple[str, dict]] = field(default_factory=list)  # to append after commit


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
    for e in events:
        if e.seq in known or e.seq in seen:
            result.duplicates.append(e.seq)
            continue
        seen.add(e.seq)
        customer = e.data.get("customer")
        rows.append({
            "agent_id": agent_id, "seq": e.seq, "ts": e.ts, "received_at": now, "kind": e.kind,
            "data": e.data, "customer_id": customer_ids.get(customer) if isinstance(customer, str) else None,
        })
        result.stored.append(e.seq)
        project(s, agent_id, site_id, e.kind, e.data)
        if e.kind in LEDGERED_KINDS:
            result.ledger.append((e.kind, {"agent": agent_id, "seq": e.seq, **e.data}))
        if e.kind.startswith(ALARM_PREFIX) and e.data.get("state") == "cleared":
            source = str(e.data.get("source", f"agent:{agent_id}"))[:120]
            result.cleared.extend(clear_alarms(s, e.kind[len(ALARM_PREFIX):], source))
        elif e.kind.startswith(ALARM_PREFIX):
            alarm = raise_alarm(
                s, e.kind[len(ALARM_PREFIX):], str(e.data.get("message", e.kind))[:2000],
                source=str(e.data.get("source", f"agent:{agent_id}"))[:120],
                severity=str(e.data.get("severity", "warning")), site_id=site_id,
                agent_id=agent_id, customer_id=rows[-1]["customer_id"], details=e.data,
            )
            if alarm is not None:
                result.alarms.append(alarm)
    if rows:
        s.execute(_insert(s).values(rows).on_conflict_do_nothing(index_elements=["agent_id", "seq"]))
    return result


def customer_ids(s: Session) -> dict[str, int]:
    return {slug: cid for cid, slug in s.execute(select(Customer.id, Customer.slug))}
