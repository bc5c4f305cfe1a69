"""Releasing a project's dataset to its customer, with a guarantee.

A release asks: does the work prove the project's accuracy target? The work is each annotator's
newest version on each ordinary task; what a review checked counts as found (accepted or fixed:
right; rejected: wrong), the rest at the accuracy of the samples: every annotator's first answer
to each gold item (right or wrong against its answer) and every review decision (accept: right;
reject or fix: wrong). With the samples' Wilson 95 % lower bound for the unchecked rest, the
release's lower bound must meet ``Project.accuracy_target`` (annotation/quality/oversight.py
``release_verdict``); otherwise the release is refused and names what is missing ("review 120
more items", overall and per label). Review samples are drawn at per-annotator rates (more for
the less accurate), so the pooled samples lean toward the weaker annotators' work: the bound
errs low, never high.

Granted or refused, each release is a row and a ``release.decided`` ledger leaf with its figures,
the sampling plan (the rule, each annotator's gold counts and review rate) and what is missing,
in one transaction; the project's export carries the latest granted one with its proof.
"""
from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import select

from annotation.export_bundle import RELEASE_KIND
from annotation.quality.intervals import Z95
from annotation.quality.oversight import Stratum, label_of, release_verdict
from controller.annotation_tables import Annotation, Dataset, Item, Project, Release, Review, Task
from controller.domain_errors import Invalid
from controller.ledger import Ledger
from controller.models import LedgerEntry, User, iso, utcnow
from controller.services import gold
from controller.services.projects import project_or_404
from controller.services.scope import customer_scope


def strata(db, project: Project) -> dict[str | None, Stratum]:
    """Per label the annotator gave (None for kinds without a single label): the release's work
    (each annotator's newest version on each ordinary task, reviewed or not, as reviewed) and
    the samples (gold answers; review decisions on ordinary work)."""
    kind = (project.label_schema or {}).get("kind")
    rows = db.execute(select(Annotation.id, Annotation.task_id, Annotation.annotator_id, Annotation.version,
                             Annotation.result)
                      .join(Task, Task.id == Annotation.task_id).join(Item, Item.id == Task.item_id)
                      .where(Annotation.project_id == project.id, Item.is_gold.is_(False))).all()
    results = {aid: result for aid, _, _, _, result in rows}
    newest: dict[tuple[int, int], tuple[int, int]] = {}
    for aid, task, who, version, _ in rows:
        if (task, who) not in newest or version > newest[(task, who)][0]:
            newest[(task, who)] = (version, aid)
    decided: dict[int, str] = {}
    fixes: set[int] = set()
    counts: dict[str | None, list[int]] = {}

    def add(label: str | None, i: int, by: int = 1) -> None:
        counts.setdefault(label, [0, 0, 0, 0, 0])[i] += by

    for annotation, decision, fixed in db.execute(
            select(Review.annotation_id, Review.decision, Review.fixed_annotation_id)
            .where(Review.annotation_id.in_(select(Annotation.id).where(Annotation.project_id == project.id)))):
        if annotation not in results:
            continue  # a gold item's
        decided[annotation] = decision
        if fixed is not None:
            fixes.add(fixed)
        label = label_of(kind, results[annotation])
        add(label, 3, decision == "accept")
        add(label, 4)
    for _, aid in newest.values():
        label = label_of(kind, results[aid])
        add(label, 0)
        if aid in fixes or decided.get(aid) == "accept":
            add(label, 1)
        elif decided.get(aid) == "reject":
            add(label, 2)
    for label, (k, n) in gold.gold_samples(db, project).items():
        add(label, 3, k)
        add(label, 4, n)
    return {label: Stratum(*c) for label, c in counts.items()}


def view(r: Release) -> dict[str, Any]:
    return {"release": r.id, "project": r.project_id, "dataset": r.dataset_id, "granted": r.granted,
            "figures": r.figures, "plan": r.plan, "missing": list(r.missing or []), "requested_by": r.requested_by,
            "created_at": iso(r.created_at)}


def create_release(db, ledger: Ledger, user: User, project_id: int, dataset_id: int | None = None,
                   now: dt.datetime | None = None) -> dict[str, Any]:
    """Decide a release of the project (or of one of its datasets, named in the record) now:
    granted when the samples prove the target, refused with what is missing otherwise. Both
    are kept and ledgered."""
    now = now or utcnow()
    project = project_or_404(db, customer_scope(db, user), project_id)
    if dataset_id is not None:
        ds = db.get(Dataset, dataset_id)
        if ds is None or ds.project_id != project.id:
            raise Invalid("no such dataset in this project", ["dataset_id: not of this project"])
    verdict = release_verdict(strata(db, project), project.accuracy_target)
    figures = {"target": project.accuracy_target, "overall": verdict.overall.as_json(),
               "by_label": {label: f.as_json() for label, f in verdict.by_label.items()}}
    annotators = gold.annotator_gold_accuracy(db, project.id)
    plan = {"interval": "wilson", "confidence": 0.95, "z": Z95, "gold_share": project.gold_share,
            "rule": gold.rule_json(),
            "annotators": {f["username"]: {"gold_correct": f["correct"], "gold_total": f["total"],
                                           "state": f["state"], "review_rate": f["review_rate"]}
                           for f in annotators.values()},
            "review_rate_without_gold": 1.0}
    row = Release(project_id=project.id, dataset_id=dataset_id, granted=verdict.granted, figures=figures, plan=plan,
                  missing=list(verdict.missing), requested_by=user.username, created_at=now)
    db.add(row)
    db.flush()
    ledger.record(db, RELEASE_KIND, {"release": row.id, "project": project.id, "dataset": dataset_id,
                                     "granted": verdict.granted, "figures": figures, "plan": plan,
                                     "missing": list(verdict.missing), "by": user.username,
                                     "at": now.astimezone(dt.timezone.utc).isoformat()})
    db.commit()
    return view(row)


def list_releases(db, user: User, project_id: int) -> list[dict[str, Any]]:
    """The project's releases, newest first."""
    project = project_or_404(db, customer_scope(db, user), project_id)
    return [view(r) for r in db.scalars(select(Release).where(Release.project_id == project.id)
                                        .order_by(Release.id.desc()))]


def latest_granted(db, project_id: int) -> Release | None:
    return db.scalar(select(Release).where(Release.project_id == project_id, Release.granted.is_(True))
                     .order_by(Release.id.desc()).limit(1))


def release_entry(db, release_id: int, size: int) -> tuple[int, str, dict[str, Any]] | None:
    """The release's integrated ledger entry below ``size``: (index, ts, data); None if not yet."""
    rows = db.execute(select(LedgerEntry.index, LedgerEntry.ts, LedgerEntry.leaf)
                      .where(LedgerEntry.kind == RELEASE_KIND, LedgerEntry.index < size)
                      .order_by(LedgerEntry.index.desc()))
    for index, ts, leaf in rows:
        data = json.loads(leaf)["data"]
        if data.get("release") == release_id:
            return index, ts, data
    return None
