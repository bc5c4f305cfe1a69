"""Raising and clearing alarms; one active alarm per (kind, source)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from controller.models import Alarm, utcnow

SEVERITIES = ("info", "warning", "critical")


def raise_alarm(
    s: Session,
    kind: str,
    message: str,
    *,
    source: str,
    severity: str = "warning",
    site_id: int | None = None,
    agent_id: int | None = None,
    customer_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> Alarm | None:
    """Add an alarm unless the same one is already active; returns the new alarm or None."""
    if severity not in SEVERITIES:
        severity = "warning"
    active = s.scalar(
        select(Alarm.id).where(Alarm.kind == kind, Alarm.source == source, Alarm.state == "active")
    )
    if active is not None:
        return None
    alarm = Alarm(
        kind=kind, severity=severity, message=message, source=source, site_id=site_id,
        agent_id=agent_id, customer_id=customer_id, details=details or {}, raised_at=utcnow(),
    )
    s.add(alarm)
    s.flush()
    return alarm


def clear_alarms(s: Session, kind: str, source: str) -> list[Alarm]:
    alarms = list(
        s.scalars(select(Alarm).where(Alarm.kind == kind, Alarm.source == source,
                                      Alarm.state == "active"))
    )
    for a in alarms:
        a.state = "cleared"
        a.cleared_at = utcnow()
    return alarms


def ledger_record(alarm: Alarm) -> dict[str, Any]:
    return {"alarm": alarm.id, "kind": alarm.kind, "severity": alarm.severity,
            "source": alarm.source, "state": alarm.state, "message": alarm.message}
