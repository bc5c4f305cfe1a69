"""Releasing a project's dataset to its customer, with a guarantee.

A release asks: do the samples prove the project's accuracy target? The samples are every
annotator's first answer to each gold item (right or wrong against its answer) and every review
decision on ordinary work (accept: right; reject or fix: wrong). Their Wilson 95 % lower bound
must meet ``Project.accuracy_target`` (annotation/quality/oversight.py ``release_verdict``);
otherwise the release is refused and names what is missing ("review 120 more items", overall and
per label). Review samples are drawn at per-annotator rates (more for the less accurate), so the
pooled estimate leans toward the weaker annotators' work: it errs low, never high.

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
from annotation.quality.oversight import label_of, release_verdict
from controller.annotation_tables import Annotation, Dataset, Item, Project, Release, Review, Task
from controller.domain_errors import Invalid
from controller.ledger import Ledger
from controller.models import LedgerEntry, User, iso, utcnow
from controller.services import gold
from controller.services.projects import project_or_404
from controller.services.scope import customer_scope


def review_samples(db, project: Project) -> dict[str | None, tuple[int, int]]:
    """Every review of the project's ordinary work as a sample, per the label the annotator gave."""
    kind = (project.label_schema or {}).get("kind")
    out: dict[str | None, tuple[int, int]] = {}
    rows = db.execute(select(Review.decision, Annotation.result).join(Annotation, Annotation.id == Review.annotation_id)
                      .join(Task, Task.id == Annotation.task_id).join(Item, Item.id == Task.item_id)
                      .where(Annotation.project_id == project.id, Item.is_gold.is_(False)))
    for decision, result in rows:
        label = label_of(kind, result)
        k, n = out.get(label, (0, 0))
        out[label] = (k + (decision == "accept"), n + 1)
    return out


def _merge(*parts: dict[str | None, tuple[int, int]]) -> dict[str | None, tuple[int, int]]:
    out: dict[str | None, tuple[int, int]] = {}
    for part in parts:
        for label, (k, n) in part.items():
            a, b = out.get(label, (0, 0))
            out[label] = (a + k, b + n)
    return out


def _sum(samples: dict[str | None, tuple[int, int]]) -> dict[str, int]:
    return {"correct": sum(k for k, _ in samples.values()), "total": sum(n for _, n in samples.values())}


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
    from_gold, from_review = gold.gold_samples(db, project), review_samples(db, project)
    verdict = release_verdict(_merge(from_gold, from_review), project.accuracy_target)
    figures = {"target": project.accuracy_target, "overall": verdict.overall.as_json(),
               "by_label": {label: f.as_json() for label, f in verdict.by_label.items()},
               "gold": _sum(from_gold), "review": _sum(from_review)}
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
