"""Quality pauses: an annotator held from a project because their accuracy on gold is proven
under the project's target (annotation/quality/oversight.py decides when), until an officer
lifts the pause with a note. Both are ledgered in the transaction that makes them.

While a pause is open the site's policy refuses the annotator's work on that project with the
reason ``paused_for_quality`` (controller/policy.py), on /next, content, draft, submit and
review alike; the pause's own reason and figures are shown to officers and the customer here.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from controller.annotation_tables import QualityPause
from controller.domain_errors import NotFound
from controller.ledger import Ledger
from controller.models import User, iso, utcnow
from controller.services.projects import project_or_404
from controller.services.scope import customer_scope

PAUSED_KIND = "quality.paused"
LIFTED_KIND = "quality.pause_lifted"


def open_pause(project_id: Any, annotator_id: Any):
    """An EXISTS clause: an open pause holds the annotator from the project (columns or values)."""
    return (select(QualityPause.id).where(QualityPause.project_id == project_id,
                                          QualityPause.annotator_id == annotator_id,
                                          QualityPause.lifted_at.is_(None)).exists())


def pause(db, ledger: Ledger, project_id: int, annotator: User, reason: str, figures: dict[str, Any], by: str,
          now: dt.datetime) -> QualityPause | None:
    """Pause the annotator from the project (nothing when a pause is open already), with its
    ledger leaf; the caller commits."""
    if db.scalar(select(open_pause(project_id, annotator.id))):
        return None
    row = QualityPause(project_id=project_id, annotator_id=annotator.id, reason=reason[:300], figures=figures,
                       paused_by=by, paused_at=now)
    db.add(row)
    db.flush()
    ledger.record(db, PAUSED_KIND, {"pause": row.id, "project": project_id, "annotator": annotator.username,
                                    "reason": row.reason, "figures": figures, "by": by,
                                    "at": now.astimezone(dt.timezone.utc).isoformat()})
    return row


def view(p: QualityPause, username: str | None) -> dict[str, Any]:
    return {"pause": p.id, "project": p.project_id, "annotator_id": p.annotator_id, "annotator": username,
            "reason": p.reason, "figures": p.figures, "paused_by": p.paused_by, "paused_at": iso(p.paused_at),
            "lifted_at": iso(p.lifted_at), "lifted_by": p.lifted_by, "lift_note": p.lift_note}


def list_pauses(db, user: User, project_id: int, open_only: bool = False) -> list[dict[str, Any]]:
    """The project's pauses, newest first (open ones only on request)."""
    project = project_or_404(db, customer_scope(db, user), project_id)
    stmt = (select(QualityPause, User.username).join(User, User.id == QualityPause.annotator_id)
            .where(QualityPause.project_id == project.id))
    if open_only:
        stmt = stmt.where(QualityPause.lifted_at.is_(None))
    return [view(p, name) for p, name in db.execute(stmt.order_by(QualityPause.id.desc()))]


def lift(db, ledger: Ledger, user: User, project_id: int, annotator_id: int, note: str,
         now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Lift the annotator's open pause on the project, with the officer's note and a ledger leaf;
    NotFound when none is open. The annotator is judged afresh from their next gold answer."""
    now = now or utcnow()
    project = project_or_404(db, customer_scope(db, user), project_id)
    rows = list(db.scalars(select(QualityPause).where(QualityPause.project_id == project.id,
                                                      QualityPause.annotator_id == annotator_id,
                                                      QualityPause.lifted_at.is_(None)).with_for_update()))
    if not rows:
        raise NotFound("no open pause of that annotator on this project")
    note = note.strip()
    for r in rows:
        r.lifted_at, r.lifted_by, r.lift_note = now, user.username, note[:500]
    username = db.scalar(select(User.username).where(User.id == annotator_id))
    for r in rows:
        ledger.record(db, LIFTED_KIND, {"pause": r.id, "project": project.id, "annotator": username,
                                        "note": note, "by": user.username,
                                        "at": now.astimezone(dt.timezone.utc).isoformat()})
    db.commit()
    return [view(r, username) for r in rows]
