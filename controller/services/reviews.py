"""Reviewing annotations: a project member with the review right reads submitted work and
accepts, rejects or fixes it; every decision is a ledger leaf in its own transaction.

A reviewer is an annotator, so whatever shows customer content (the queue, an annotation's
versions, the review itself) first asks the site's policy the same way the work service does:
the reviewer's seat, coverage, VLAN, training and presence. Officers and the project's customer
may read an annotation's versions without a seat; another customer's reads as missing. The
reviewer page reads the item's content through ``content`` (the review right and the policy,
as the queue) and re-asks the policy through ``heartbeat``; two versions of a task, any
annotators', are compared by ``compare`` in the task's terms.

The rules decided here:
- The queue holds, per (task, annotator), the newest version when its slot is submitted and that
  version has no review yet; never the reviewer's own work, never a reviewer's fix. A version
  saved after a review (the annotator resubmits) is in the queue again.
- Only sampled work is queued: each annotator's share follows their accuracy on gold
  (``annotation.quality.oversight.review_rate``: all of it while they have few gold answers,
  less as their lower bound rises), and one annotation is in or out by a fixed draw from its
  hash. Answers to gold items are scored against their answer, never queued.
- Only the newest version of a chain is reviewed (an older one: 409), once (again: 409).
- A fix is the next version of the annotator's chain (chained by hash to the reviewed one, so
  the chain still verifies from its leaves alone), at the reviewer's seat, with its own
  ``annotation.saved`` leaf; the review leaf names the reviewer and the fix's id and hash.
- A reject returns the task to the queue: the task wants one more annotator (``wanted`` + 1)
  and gets one new free slot with the next slot number, so it is open again. The rejected
  annotator keeps their submitted slot, so the task never comes back to them; the task's
  ``submitted`` still counts every submission, and ``wanted`` is k plus its rejections.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text, update

from annotation import assignment as A
from annotation import result_diff
from annotation.quality.oversight import sampled
from annotation.versions import REVIEW_KIND
from controller.annotation_tables import (
    Annotation,
    Item,
    Project,
    ProjectMember,
    Review,
    Task,
    TaskSlot,
)
from controller.domain_errors import Conflict, Forbidden, Invalid, NotFound, Refused
from controller.ledger import Ledger
from controller.models import Role, User, iso, utcnow
from controller.services import gold, work
from controller.services.work_refusals import note_refusal

DECISIONS = ("accept", "reject", "fix")
STAFF = {Role.admin.value, Role.officer.value}


def may_review(db, user: User, project_id: int) -> bool:
    """Whether the login holds the project's review right (the site's policy aside)."""
    return bool(db.scalar(select(ProjectMember.can_review).where(ProjectMember.project_id == project_id,
                                                                 ProjectMember.user_id == user.id)))


def reviewable(db, user: User) -> set[int]:
    """The projects the login holds the review right of."""
    return set(db.scalars(select(ProjectMember.project_id).where(ProjectMember.user_id == user.id,
                                                                 ProjectMember.can_review.is_(True))))


def _right_check(db, user: User, project: Project, address: str, offline_after_s: float) -> work.Check:
    """The review right, then the site's policy's answer (allowed or not) for this login here, now."""
    if not may_review(db, user, project.id):
        raise Forbidden("reviewing this project needs its review right")
    return work.check(db, user, project, address, offline_after_s)


def _reviewer_check(db, user: User, project: Project, address: str, offline_after_s: float) -> work.Check:
    """The login may review this project here, now: the review right, then the site's policy."""
    c = _right_check(db, user, project, address, offline_after_s)
    if not c.decision.allowed:
        note_refusal(db, c.site_id, c.decision.reasons)  # counted for the daily report
        raise Refused("the site's policy does not allow work here now: " + ", ".join(c.decision.reasons),
                      c.decision.reasons)
    return c


def _annotation(db, user: User, annotation_id: int) -> tuple[Annotation, Project]:
    """The annotation and its project, unless missing or another customer's (the same 404)."""
    row = db.get(Annotation, annotation_id)
    project = None if row is None else db.get(Project, row.project_id)
    if row is None or project is None or (user.customer_id is not None and project.customer_id != user.customer_id):
        raise NotFound("no such annotation")
    return row, project


def _view(row: Annotation, names: dict[int, str]) -> dict[str, Any]:
    return {"annotation": row.id, "project": row.project_id, "task": row.task_id,
            "annotator": names.get(row.annotator_id), "version": row.version, "result": row.result,
            "seat": row.seat, "hash": row.hash, "prev_hash": row.prev_hash, "created_at": iso(row.created_at)}


def _review_view(r: Review, names: dict[int, str]) -> dict[str, Any]:
    return {"review": r.id, "annotation": r.annotation_id, "reviewer": names.get(r.reviewer_id),
            "decision": r.decision, "reason": r.reason, "fixed_annotation": r.fixed_annotation_id,
            "at": iso(r.created_at)}


def _names(db, ids: set[int]) -> dict[int, str]:
    ids = {i for i in ids if i is not None}
    return dict(db.execute(select(User.id, User.username).where(User.id.in_(ids))).all()) if ids else {}


def queue(db, user: User, project_id: int, address: str, offline_after_s: float,
          limit: int = 50) -> list[dict[str, Any]]:
    """Submitted annotations of the project awaiting review, oldest task first; never the
    reviewer's own."""
    project = work._project(db, user, project_id)
    _reviewer_check(db, user, project, address, offline_after_s)
    newest = (select(Annotation.task_id, Annotation.annotator_id, func.max(Annotation.version).label("v"))
              .where(Annotation.project_id == project.id).group_by(Annotation.task_id, Annotation.annotator_id)
              .subquery())
    stmt = (select(Annotation)
            .join(newest, (Annotation.task_id == newest.c.task_id) & (Annotation.annotator_id == newest.c.annotator_id)
                  & (Annotation.version == newest.c.v))
            .join(TaskSlot, (TaskSlot.task_id == Annotation.task_id) & (TaskSlot.annotator_id == Annotation.annotator_id))
            .join(Task, Task.id == Annotation.task_id).join(Item, Item.id == Task.item_id)
            .where(Annotation.annotator_id != user.id, TaskSlot.state == A.SUBMITTED, Item.is_gold.is_(False),
                   ~select(Review.id).where(Review.annotation_id == Annotation.id).exists(),
                   ~select(Review.id).where(Review.fixed_annotation_id == Annotation.id).exists())
            .order_by(Annotation.task_id, Annotation.annotator_id))
    rates = {who: f["review_rate"] for who, f in gold.annotator_gold_accuracy(db, project.id).items()}
    rows = []
    found = db.scalars(stmt.execution_options(yield_per=500))
    try:
        for r in found:
            if sampled(r.hash, rates.get(r.annotator_id, 1.0)):
                rows.append(r)
                if len(rows) >= limit:
                    break
    finally:
        found.close()
    names = _names(db, {r.annotator_id for r in rows})
    return [_view(r, names) for r in rows]


def _readable(db, user: User, annotation_id: int, address: str, offline_after_s: float) -> tuple[Annotation, Project]:
    """The annotation, for a reviewer the site allows here now, an officer, or the project's customer."""
    row, project = _annotation(db, user, annotation_id)
    if user.role == Role.annotator.value:
        _reviewer_check(db, user, project, address, offline_after_s)
    elif user.role not in STAFF and user.role != Role.customer.value:
        raise Forbidden(f"role {user.role} may not read annotations")
    return row, project


def _kind(project: Project) -> str:
    return str((project.label_schema or {}).get("kind", ""))


def versions(db, user: User, annotation_id: int, address: str, offline_after_s: float) -> dict[str, Any]:
    """Every version of that annotator's work on the task, oldest first, with the reviews of
    each, and every other annotator's versions of the same task (``others``, by annotator then
    version): for a side-by-side view."""
    row, project = _readable(db, user, annotation_id, address, offline_after_s)
    task_rows = list(db.scalars(select(Annotation).where(Annotation.task_id == row.task_id)
                                .order_by(Annotation.annotator_id, Annotation.version)))
    rows = [r for r in task_rows if r.annotator_id == row.annotator_id]
    others = [r for r in task_rows if r.annotator_id != row.annotator_id]
    reviews = list(db.scalars(select(Review).where(Review.annotation_id.in_([r.id for r in rows]))
                              .order_by(Review.id)))
    names = _names(db, {r.annotator_id for r in task_rows} | {r.reviewer_id for r in reviews})
    return {"task": row.task_id, "annotator": names.get(row.annotator_id), "kind": _kind(project),
            "versions": [_view(r, names) for r in rows], "reviews": [_review_view(r, names) for r in reviews],
            "others": [_view(r, names) for r in others]}


def compare(db, user: User, annotation_id: int, against_id: int | None, address: str,
            offline_after_s: float) -> dict[str, Any]:
    """What changed from ``against_id`` (None: an empty result) to ``annotation_id`` (two
    versions of one task, any annotators'), in the task's terms (``annotation.result_diff``)."""
    new, project = _readable(db, user, annotation_id, address, offline_after_s)
    old = None if against_id is None else _annotation(db, user, against_id)[0]
    if old is not None and old.task_id != new.task_id:
        raise Invalid("both annotations must be of the same task")
    names = _names(db, {new.annotator_id} | ({old.annotator_id} if old else set()))
    return {"task": new.task_id, "old": _view(old, names) if old else None, "new": _view(new, names),
            "diff": result_diff.diff(_kind(project), old.result if old else None, new.result)}


def heartbeat(db, user: User, project_id: int, address: str, offline_after_s: float,
              now: dt.datetime | None = None) -> dict[str, Any]:
    """The reviewer page's periodic re-check: the policy's answer now and the seat it sees (the
    page hides the content on a no). Without the review right: Forbidden."""
    now = now or utcnow()
    project = work._project(db, user, project_id)
    c = _right_check(db, user, project, address, offline_after_s)
    return {"project": project.id, "allowed": c.decision.allowed, "reasons": list(c.decision.reasons),
            "seat": c.seat, "watermark": c.decision.watermark, "checked_at": iso(now)}


def content(db, user: User, annotation_id: int, address: str, offline_after_s: float,
            data_dir: Path) -> work.Content:
    """The reviewed item's bytes and media type, to a reviewer of its project while the policy
    allows; watermarked as the work service serves it."""
    row, project = _annotation(db, user, annotation_id)
    c = _reviewer_check(db, user, project, address, offline_after_s)
    return work.item_content(data_dir, db.get(Item, db.get(Task, row.task_id).item_id), c.decision.watermark)


def _lock(db, row: Annotation) -> None:
    """Serialise decisions on one annotation: its row locked on PostgreSQL, the write lock taken
    on SQLite, before what decides (newest version, reviewed already) is read."""
    if db.get_bind().dialect.name == "postgresql":
        db.execute(select(Annotation.id).where(Annotation.id == row.id).with_for_update())
    else:
        db.execute(text("UPDATE reviews SET decision = decision WHERE 0"))


def _reopen(db, task: Task) -> int:
    """A rejected task wants one more annotator: one new free slot, the next number; open again."""
    n = db.scalar(select(func.max(TaskSlot.slot)).where(TaskSlot.task_id == task.id))
    db.add(TaskSlot(project_id=task.project_id, task_id=task.id, slot=(n if n is not None else -1) + 1, state=A.FREE))
    work._write(db, update(Task).where(Task.id == task.id).values(wanted=Task.wanted + 1, status="open"))
    return (n if n is not None else -1) + 1


def review(db, ledger: Ledger, user: User, annotation_id: int, decision: str, reason: str,
           result: dict[str, Any] | None, address: str, offline_after_s: float,
           now: dt.datetime | None = None) -> dict[str, Any]:
    """Record the reviewer's decision on the newest version of an annotation, with its ledger
    leaf, in one transaction (see the module's rules for a fix and a reject)."""
    now = now or utcnow()
    if decision not in DECISIONS:
        raise Invalid(f"decision must be one of {', '.join(DECISIONS)}")
    reason = (reason or "").strip()
    if decision == "reject" and not reason:
        raise Invalid("a reject needs a reason")
    if decision == "fix" and result is None:
        raise Invalid("a fix needs the fixed result")
    row, project = _annotation(db, user, annotation_id)
    c = _reviewer_check(db, user, project, address, offline_after_s)
    _lock(db, row)
    if row.annotator_id == user.id:
        raise Forbidden("nobody reviews their own work")
    newest = db.scalar(select(func.max(Annotation.version)).where(Annotation.task_id == row.task_id,
                                                                  Annotation.annotator_id == row.annotator_id))
    if row.version != newest:
        raise Conflict("a newer version of this annotation exists; review that one")
    if db.scalar(select(Review.id).where(Review.annotation_id == row.id)) is not None:
        raise Conflict("this version is already reviewed")
    slot_state = db.scalar(select(TaskSlot.state).where(TaskSlot.task_id == row.task_id,
                                                        TaskSlot.annotator_id == row.annotator_id))
    if slot_state != A.SUBMITTED:
        raise Conflict("only submitted work is reviewed")
    task = db.get(Task, row.task_id)
    fixed: Annotation | None = None
    if decision == "fix":
        # the fix continues the annotator's own chain, saved at the reviewer's seat
        fixed = work.save_version(db, ledger, task, db.get(Item, task.item_id), db.get(User, row.annotator_id), row,
                             result, c.seat, now,
                             "the annotator saved a new version at the same moment; review that one")
    rec = Review(annotation_id=row.id, reviewer_id=user.id, decision=decision, reason=reason,
                 fixed_annotation_id=fixed.id if fixed else None, created_at=now)
    db.add(rec)
    new_slot = _reopen(db, task) if decision == "reject" else None
    db.flush()
    ledger.record(db, REVIEW_KIND, {
        "review": rec.id, "annotation": row.id, "hash": row.hash, "project": project.id, "task": task.id,
        "reviewer": user.username, "seat": c.seat, "decision": decision, "reason": reason,
        "fixed_annotation": fixed.id if fixed else None, "fixed_hash": fixed.hash if fixed else None,
        "at": now.astimezone(dt.timezone.utc).isoformat()})
    db.commit()
    db.refresh(task)
    return {"review": rec.id, "annotation": row.id, "decision": decision, "reason": reason,
            "fixed_annotation": fixed.id if fixed else None, "fixed_hash": fixed.hash if fixed else None,
            "fixed_version": fixed.version if fixed else None, "reopened_slot": new_slot,
            "task_wanted": task.wanted, "task_status": task.status}
