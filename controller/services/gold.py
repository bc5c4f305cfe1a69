"""Gold items: their answers scored, per annotator and per project, and items made gold.

An item is gold when it was imported with its answer (a JSONL line's ``gold`` object) or when an
officer or a reviewer promotes an annotation that a review accepted (``gold.promoted`` in the
ledger). Gold tasks are served to every annotator once, mixed among the others at the project's
gold share (controller/services/work.py); nothing the annotator receives tells them apart.

What counts: each annotator's first version on a gold task (what they answered when it was
served), judged by ``annotation.quality.oversight.gold_correct`` against the item's answer. The
annotator whose accepted answer became an item's gold is not scored on that item.

``annotator_gold_accuracy(db, project_id)`` is what the quality page reads: per user id, the
counts, the Wilson 95 % interval, the standing (unproven, proven, watched, paused), the gold
share served to them and the share of their work drawn for review.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select

from annotation.quality.oversight import PAUSED, RULE, gold_correct, label_of, review_rate, standing
from controller.annotation_tables import Annotation, Item, Project, QualityPause, Review, Task
from controller.domain_errors import Conflict, Forbidden, NotFound
from controller.ledger import Ledger
from controller.models import Role, User, iso, utcnow
from controller.services import pauses

PROMOTED_KIND = "gold.promoted"
SOURCE_KEY = "promoted_from"  # kept in the gold answer: {annotation, annotator}; never scored


def _kind(project: Project) -> str | None:
    return (project.label_schema or {}).get("kind")


def gold_answers(db, project_id: int, annotator_id: int | None = None,
                 since: dt.datetime | None = None) -> list[tuple[int, dict, dict, dt.datetime]]:
    """(annotator id, gold answer, submitted result, submitted at) of every first version on a
    gold item of the project, oldest first; one annotator's only, and only after ``since``, on
    request. The answer's own source is left out."""
    stmt = (select(Annotation.annotator_id, Item.gold_answer, Annotation.result, Annotation.created_at)
            .join(Task, Task.id == Annotation.task_id).join(Item, Item.id == Task.item_id)
            .where(Annotation.project_id == project_id, Item.is_gold.is_(True), Annotation.version == 1))
    if annotator_id is not None:
        stmt = stmt.where(Annotation.annotator_id == annotator_id)
    if since is not None:
        stmt = stmt.where(Annotation.created_at > since)
    out = []
    for who, answer, result, at in db.execute(stmt.order_by(Annotation.id)):
        source = (answer or {}).get(SOURCE_KEY) or {}
        if source.get("annotator") == who:
            continue
        out.append((who, answer or {}, result or {}, at))
    return out


def tally(kind: str | None, answers: Iterable[tuple[int, dict, dict, Any]]) -> dict[int, tuple[int, int]]:
    """(right, all) per annotator."""
    out: dict[int, tuple[int, int]] = {}
    for who, answer, result, _ in answers:
        k, n = out.get(who, (0, 0))
        out[who] = (k + gold_correct(kind, answer, result), n + 1)
    return out


def last_lift(db, project_id: int, annotator_id: int) -> dt.datetime | None:
    return db.scalar(select(func.max(QualityPause.lifted_at)).where(QualityPause.project_id == project_id,
                                                                    QualityPause.annotator_id == annotator_id))


def current_tally(db, project: Project, annotator_id: int) -> tuple[int, int]:
    """The annotator's gold counts that judge them now: those since an officer last lifted a
    pause of theirs on the project (a lift is a fresh start), else all."""
    since = last_lift(db, project.id, annotator_id)
    return tally(_kind(project), gold_answers(db, project.id, annotator_id, since)).get(annotator_id, (0, 0))


def gold_share_for(db, project: Project, annotator_id: int) -> float:
    """The share of gold in what the annotator is served now: the project's, raised while they
    are watched."""
    k, n = current_tally(db, project, annotator_id)
    return standing(k, n, project.accuracy_target, project.gold_share).gold_share


def judge_after_gold(db, ledger: Ledger, project: Project, annotator: User, now: dt.datetime) -> None:
    """After a gold answer: pause the annotator when the rule says so (in the caller's
    transaction)."""
    k, n = current_tally(db, project, annotator.id)
    s = standing(k, n, project.accuracy_target, project.gold_share)
    if s.state != PAUSED:
        return
    iv = s.interval
    reason = (f"accuracy on gold {iv.estimate:.3f} (95 % interval {iv.low:.3f} to {iv.high:.3f}) after {n} gold "
              f"answers is under the project's target {project.accuracy_target:.3f}")
    figures = {"correct": k, "total": n, "estimate": iv.estimate, "low": iv.low, "high": iv.high,
               "target": project.accuracy_target}
    pauses.pause(db, ledger, project.id, annotator, reason, figures, "quality", now)


def _figures(k: int, n: int, project: Project) -> dict[str, Any]:
    s = standing(k, n, project.accuracy_target, project.gold_share)
    iv = s.interval
    return {"correct": k, "total": n, "accuracy": iv.estimate, "low": iv.low, "high": iv.high,
            "state": s.state, "gold_share": s.gold_share, "review_rate": review_rate(k, n, project.accuracy_target)}


def annotator_gold_accuracy(db, project_id: int) -> dict[int, dict[str, Any]]:
    """Accuracy on gold per annotator of the project: ``{user_id: {"username", "correct",
    "total", "accuracy" (None without answers), "low", "high" (Wilson 95 %), "state",
    "gold_share", "review_rate", "paused" (an open pause)}}``, over every gold answer. ``state``,
    ``gold_share`` and ``review_rate`` follow the answers since the annotator's last lifted
    pause, as the rules do. Annotators without a gold answer are absent."""
    project = db.get(Project, project_id)
    if project is None:
        return {}
    answers = gold_answers(db, project.id)
    counts = tally(_kind(project), answers)
    if not counts:
        return {}
    names = dict(db.execute(select(User.id, User.username).where(User.id.in_(counts))).all())
    lifts = dict(db.execute(select(QualityPause.annotator_id, func.max(QualityPause.lifted_at))
                            .where(QualityPause.project_id == project.id, QualityPause.lifted_at.is_not(None))
                            .group_by(QualityPause.annotator_id)).all())
    paused = set(db.scalars(select(QualityPause.annotator_id).where(QualityPause.project_id == project.id,
                                                                    QualityPause.lifted_at.is_(None))))
    out = {}
    for who, (k, n) in sorted(counts.items()):
        since = lifts.get(who)
        recent = tally(_kind(project), [a for a in answers if a[0] == who and (since is None or _after(a[3], since))])
        rk, rn = recent.get(who, (0, 0))
        whole = _figures(k, n, project)
        now = _figures(rk, rn, project)
        out[who] = {"username": names.get(who), **{x: whole[x] for x in ("correct", "total", "accuracy", "low", "high")},
                    "state": now["state"], "gold_share": now["gold_share"], "review_rate": now["review_rate"],
                    "paused": who in paused}
    return out


def _after(at: dt.datetime, since: dt.datetime) -> bool:
    def utc(x: dt.datetime) -> dt.datetime:
        return x if x.tzinfo else x.replace(tzinfo=dt.timezone.utc)
    return utc(at) > utc(since)


def project_gold_accuracy(db, project_id: int) -> dict[str, Any]:
    """Every annotator's gold answers together: ``{"correct", "total", "accuracy", "low", "high"}``
    ({} for no such project)."""
    project = db.get(Project, project_id)
    if project is None:
        return {}
    counts = tally(_kind(project), gold_answers(db, project_id))
    f = _figures(sum(c for c, _ in counts.values()), sum(t for _, t in counts.values()), project)
    return {x: f[x] for x in ("correct", "total", "accuracy", "low", "high")}


def gold_samples(db, project: Project) -> dict[str | None, tuple[int, int]]:
    """Every gold answer as a release sample, per the label the annotator gave."""
    kind = _kind(project)
    out: dict[str | None, tuple[int, int]] = {}
    for _, answer, result, _ in gold_answers(db, project.id):
        label = label_of(kind, result)
        k, n = out.get(label, (0, 0))
        out[label] = (k + gold_correct(kind, answer, result), n + 1)
    return out


def rule_json() -> dict[str, Any]:
    return {"min_gold": RULE.min_gold, "confirm_gold": RULE.confirm_gold, "boost_share": RULE.boost_share,
            "review_floor": RULE.review_floor}


def promote(db, ledger: Ledger, user: User, annotation_id: int, address: str, offline_after_s: float,
            now: dt.datetime | None = None) -> dict[str, Any]:
    """Make the annotation's item gold, its answer the annotation's result. The annotation must
    be the newest version of its chain and accepted by a review. Officers and admins may; so
    may a reviewer of the project, at a seat the site's policy allows."""
    from controller.services import reviews  # reviews serves work, which scores gold: imported late

    now = now or utcnow()
    row, project = reviews._annotation(db, user, annotation_id)
    if user.role == Role.annotator.value:
        reviews._reviewer_check(db, user, project, address, offline_after_s)
    elif user.role not in reviews.STAFF:
        raise Forbidden(f"role {user.role} may not make gold")
    if db.scalar(select(Review.id).where(Review.annotation_id == row.id, Review.decision == "accept")) is None:
        raise Conflict("only an annotation a review accepted becomes gold")
    item = db.scalar(select(Item).join(Task, Task.item_id == Item.id).where(Task.id == row.task_id)
                     .with_for_update())
    if item is None:
        raise NotFound("no such annotation")
    if item.is_gold:
        raise Conflict("the item is gold already")
    answer = {**dict(row.result), SOURCE_KEY: {"annotation": row.id, "annotator": row.annotator_id}}
    item.is_gold, item.gold_answer = True, answer
    ledger.record(db, PROMOTED_KIND, {"project": project.id, "item": item.id, "item_sha256": item.sha256,
                                      "annotation": row.id, "hash": row.hash, "answer": dict(row.result),
                                      "by": user.username, "at": now.astimezone(dt.timezone.utc).isoformat()})
    db.commit()
    return {"item": item.id, "annotation": row.id, "is_gold": True, "gold_answer": dict(row.result),
            "promoted_by": user.username, "at": iso(now)}
