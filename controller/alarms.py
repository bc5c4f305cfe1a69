"""Raising and clearing alarms; one active alarm per (kind, source): raised again while active,
it counts a repeat instead of a new row. Alarms about one subject (incidents at one gate, each
its own alarm) are shown as one group."""
from __future__ import annotations

import re
from typing import Any, Iterable, Mapping

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
    """Add an alarm unless the same one is already active (then count the repeat on it);
    returns the new alarm or None."""
    if severity not in SEVERITIES:
        severity = "warning"
    active = s.scalar(
        select(Alarm).where(Alarm.kind == kind, Alarm.source == source, Alarm.state == "active")
        .order_by(Alarm.id).limit(1)
    )
    if active is not None:
        active.repeats = (active.repeats or 0) + 1
        active.last_raised_at = utcnow()
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


def count_open(rows: Iterable[tuple[str, int]]) -> dict[str, int]:
    """(severity, count) rows as {severity: count} for every severity."""
    out = {sv: 0 for sv in SEVERITIES}
    for severity, n in rows:
        out[severity if severity in out else "warning"] += int(n)
    return out


# An incident's source names its subject and the moment: "gate:gate-main:2026-12-07T19:14:00+08:00".
_MOMENT = re.compile(r":\d{4}-\d{2}-\d{2}T[\d:.]+(?:Z|[+-]\d{2}:?\d{2})?$")
_RANK = {s: i for i, s in enumerate(SEVERITIES)}


def subject(source: str) -> str:
    """What an alarm is about, without the moment an incident's source carries."""
    return _MOMENT.sub("", source or "")


def group_alarms(views: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Alarm views (newest first, as alarm_view gives them) grouped by kind and subject: each
    group with how often it happened (repeats counted), its worst severity, first and last
    time, the ids of its alarms and its newest alarm; the worst and newest groups first."""
    groups: dict[tuple[str, str, int | None], dict[str, Any]] = {}
    for v in views:
        # One customer's alarms never share a group with another's: a group is shown to whoever
        # may see its alarms, and says whose they are.
        key = (v["kind"], subject(v.get("source") or ""), v.get("customer_id"))
        last = v.get("last_raised_at") or v.get("raised_at")
        g = groups.get(key)
        if g is None:
            g = groups[key] = {"kind": key[0], "subject": key[1], "customer_id": key[2],
                               "severity": v["severity"], "count": 0,
                               "first_raised_at": v.get("raised_at"), "last_raised_at": last, "ids": [],
                               "latest": dict(v)}
        g["count"] += 1 + int(v.get("repeats") or 0)
        g["ids"].append(v["id"])
        if _RANK.get(v["severity"], 1) > _RANK.get(g["severity"], 1):
            g["severity"] = v["severity"]
        if v.get("raised_at") and (g["first_raised_at"] is None or v["raised_at"] < g["first_raised_at"]):
            g["first_raised_at"] = v["raised_at"]
        if last and (g["last_raised_at"] is None or last > g["last_raised_at"]):
            g["last_raised_at"] = last
    out = sorted(groups.values(), key=lambda g: g["last_raised_at"] or "", reverse=True)
    out.sort(key=lambda g: -_RANK.get(g["severity"], 1))  # stable: newest first within a severity
    return out
