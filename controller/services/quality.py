"""A project's quality from the database: the rows that annotation/quality/report.py scores,
read in a few bulk queries of only the columns needed (no ORM object per annotation), the
figures kept over time as snapshots, and the board the API serves them from.

What is read: each annotator's newest own version of each task (a reviewer's fix is a version of
the annotator's chain but not their work, so it is left out), its first submit time, the gold
answers of the project's items, the annotators' names and open pauses, and for cross-modal
consistency the project's linked item groups with the consensus result of each linked item
(whatever project the item belongs to; here a fix counts, as it is the dataset's answer). A
linked group is judged once every member has a result.

The board keeps each project's newest report in the database (``quality_reports``) with a
fingerprint of what it was made from (the project's annotations, gold items, reviews, open pauses
and settings), so that every HTTP worker answers the same report and a project is scored by one
worker at a time, not by each of them. A request finds the stored report's fingerprint stale, at
most once every ``min_refresh_s``, or the report older than ``max_age_s``; it is answered with the
stored report while the worker that wins the project's lease (a compare-and-swap on the row)
scores it again behind it. The first request for a project waits for its score. Given a database
URL, the board scores in a process of its own (started on first use): scoring a large project is
seconds of Python, which in a thread would hold the worker's interpreter lock and slow every
request it serves meanwhile."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from annotation.quality import crossmodal as cm
from annotation.quality.report import ProjectFacts, Submission, consensus_result, headline, report
from controller.annotation_tables import (
    Annotation,
    Item,
    ItemLink,
    Project,
    QualityPause,
    QualityReport,
    QualitySnapshot,
    Review,
    Task,
)
from controller.domain_errors import Busy, NotFound
from controller.models import User, aware, iso, utcnow
from controller.services.projects import project_or_404
from controller.services.scope import CustomerScope

log = logging.getLogger("siteguard.controller.quality")

SERIES_POINTS = 500  # the newest snapshots the API returns
SCORING_NICENESS = 10  # the scoring process's priority below the HTTP worker's
A = Annotation.__table__


def _ts(t: dt.datetime) -> float:
    return aware(t).timestamp()


def _fixes(db, project_id: int) -> set[int]:
    """Versions written by a reviewer's fix in this project."""
    return set(db.scalars(select(Review.fixed_annotation_id).join(Annotation, Annotation.id == Review.annotation_id)
                          .where(Annotation.project_id == project_id, Review.fixed_annotation_id.is_not(None))))


def submissions(db, project_id: int) -> list[Submission]:
    """Each annotator's newest own version per task, with the time of their first submit."""
    fixes = _fixes(db, project_id)
    newest: dict[tuple[int, int], list] = {}
    rows = db.execute(select(A.c.id, A.c.task_id, A.c.annotator_id, A.c.version, A.c.result, A.c.created_at)
                      .where(A.c.project_id == project_id))
    for aid, task, who, version, result, at in rows:
        if aid in fixes:
            continue
        key = (task, who)
        cur = newest.get(key)
        if cur is None:
            newest[key] = [version, result, at, version, at]
            continue
        if version > cur[0]:
            cur[0], cur[1] = version, result
        if version < cur[3]:
            cur[3], cur[4] = version, at
    return [Submission(task, who, v[1], _ts(v[4])) for (task, who), v in newest.items()]


def gold_answers(db, project_id: int) -> dict[int, Any]:
    rows = db.execute(select(Task.id, Item.gold_answer).join(Item, Item.id == Task.item_id)
                      .where(Task.project_id == project_id, Item.is_gold.is_(True)))
    return {task: answer for task, answer in rows if isinstance(answer, Mapping)}


def constraints_of(project: Project) -> list[cm.Constraint]:
    """The project's declared constraints (``crossmodal["constraints"]``)."""
    out = []
    for c in (project.crossmodal or {}).get("constraints") or []:
        if not isinstance(c, Mapping) or c.get("kind") not in cm.KINDS:
            continue  # not a constraint this version knows
        classes = c.get("classes")
        out.append(cm.Constraint(kind=c["kind"], a=c["a"], b=c["b"],
                                 tolerance_s=float(c.get("tolerance_s", cm.TOLERANCE_S)),
                                 classes=frozenset(classes) if classes is not None else None,
                                 name=str(c.get("name", ""))))
    return out


def crossmodal_check(db, project: Project) -> tuple[cm.Consistency | None, int]:
    """The consistency of the project's judged linked groups, and how many groups it links."""
    constraints = constraints_of(project)
    links = db.execute(select(ItemLink.group_key, ItemLink.item_id, ItemLink.role)
                       .where(ItemLink.project_id == project.id)).all()
    if not constraints or not links:
        return None, len({g for g, _, _ in links})
    linked = select(ItemLink.item_id).where(ItemLink.project_id == project.id)
    rows = db.execute(select(Task.item_id, Task.project_id, A.c.annotator_id, A.c.version, A.c.result)
                      .join(A, A.c.task_id == Task.id).where(Task.item_id.in_(linked)))
    newest: dict[tuple[int, int], tuple[int, Any]] = {}
    projects: dict[int, int] = {}
    for item, pid, who, version, result in rows:
        projects[item] = pid
        if (item, who) not in newest or version > newest[(item, who)][0]:
            newest[(item, who)] = (version, result)
    schemas = {pid: s or {} for pid, s in db.execute(
        select(Project.id, Project.label_schema).where(Project.id.in_(set(projects.values()))))}
    per_item: dict[int, list] = defaultdict(list)
    for (item, _who), (_v, result) in sorted(newest.items()):
        per_item[item].append(result)
    results = {}
    for item, rs in per_item.items():
        schema = schemas[projects[item]]
        results[item] = consensus_result(schema.get("kind", ""), rs, schema.get("labels") or [])
    groups: dict[str, dict[str, Any]] = defaultdict(dict)
    complete: dict[str, bool] = defaultdict(lambda: True)
    for key, item, role in links:
        groups[key][role] = results.get(item)
        complete[key] &= results.get(item) is not None
    judged = [cm.Group(k, roles) for k, roles in sorted(groups.items()) if complete[k]]
    return cm.consistency(judged, constraints), len(groups)


def facts(db, project: Project) -> ProjectFacts:
    subs = submissions(db, project.id)
    who = {s.annotator for s in subs}
    names = dict(db.execute(select(User.id, User.username).where(User.id.in_(who))).all()) if who else {}
    paused = frozenset(db.scalars(select(QualityPause.annotator_id).where(
        QualityPause.project_id == project.id, QualityPause.lifted_at.is_(None))))
    cross, groups = crossmodal_check(db, project)
    schema = project.label_schema or {}
    return ProjectFacts(kind=str(schema.get("kind", "")), modality=project.modality,
                        labels=[str(x) for x in schema.get("labels") or []],
                        accuracy_target=project.accuracy_target, submissions=subs, gold=gold_answers(db, project.id),
                        names=names, paused=paused, crossmodal=cross,
                        crossmodal_target=float((project.crossmodal or {}).get("target", 0.90)),
                        crossmodal_groups=groups)


def score_project(db, project: Project) -> dict[str, Any]:
    """The project's report (annotation/quality/report.py) as its rows stand now."""
    return report(facts(db, project))


# --- snapshots ---------------------------------------------------------------------------------

def take_snapshot(db, project: Project, now: dt.datetime | None = None,
                  rep: Mapping[str, Any] | None = None) -> dict[str, Any]:
    now = now or utcnow()
    rep = rep if rep is not None else score_project(db, project)
    row = QualitySnapshot(project_id=project.id, at=now, figures=headline(rep))
    db.add(row)
    db.commit()
    return {"at": iso(row.at), "figures": row.figures}


def due_projects(db, every_s: float, now: dt.datetime) -> list[int]:
    """Projects with work whose newest snapshot is older than ``every_s`` (or that have none)."""
    last = (select(QualitySnapshot.project_id, func.max(QualitySnapshot.at).label("at"))
            .group_by(QualitySnapshot.project_id).subquery())
    worked = select(Annotation.id).where(Annotation.project_id == Project.id).exists()
    rows = db.execute(select(Project.id, last.c.at).outerjoin(last, last.c.project_id == Project.id)
                      .where(worked).order_by(Project.id))
    cutoff = now - dt.timedelta(seconds=every_s)
    return [pid for pid, at in rows if at is None or aware(at) <= cutoff]


def snapshot_due(sessions, every_s: float, now: dt.datetime | None = None) -> int:
    """One snapshot for each project that is due (the housekeeping loop's job); how many."""
    now = now or utcnow()
    with sessions() as db:
        due = due_projects(db, every_s, now)
    for pid in due:
        with sessions() as db:
            project = db.get(Project, pid)
            if project is not None:
                take_snapshot(db, project, now, stored_if_current(db, project))
    return len(due)


def stored_if_current(db, project: Project) -> dict[str, Any] | None:
    """The board's stored report of the project if nothing it depends on changed since."""
    row = db.execute(select(QualityReport.fingerprint, QualityReport.report)
                     .where(QualityReport.project_id == project.id)).one_or_none()
    if row is None or row[1] is None or row[0] != fingerprint_key(fingerprint(db, project)):
        return None
    return row[1]


def series(db, project_id: int, limit: int = SERIES_POINTS) -> list[dict[str, Any]]:
    rows = db.execute(select(QualitySnapshot.at, QualitySnapshot.figures)
                      .where(QualitySnapshot.project_id == project_id)
                      .order_by(QualitySnapshot.at.desc(), QualitySnapshot.id.desc()).limit(limit)).all()
    return [{"at": iso(at), "figures": figures} for at, figures in reversed(rows)]


# --- the board ---------------------------------------------------------------------------------

def fingerprint(db, project: Project) -> tuple:
    """What a report depends on, in one query of counts and maxima."""
    pid = project.id
    row = db.execute(select(
        select(func.count()).select_from(Annotation).where(Annotation.project_id == pid).scalar_subquery(),
        select(func.max(Annotation.id)).where(Annotation.project_id == pid).scalar_subquery(),
        select(func.count()).select_from(Item).where(Item.project_id == pid, Item.is_gold.is_(True)).scalar_subquery(),
        select(func.count()).select_from(QualityPause).where(QualityPause.project_id == pid,
                                                             QualityPause.lifted_at.is_(None)).scalar_subquery(),
        select(func.count()).select_from(Review).join(Annotation, Annotation.id == Review.annotation_id)
        .where(Annotation.project_id == pid).scalar_subquery(),
    )).one()
    settings = json.dumps([project.accuracy_target, project.crossmodal, project.label_schema], sort_keys=True,
                          default=str)
    return (*row, settings)


def fingerprint_key(fp: tuple) -> str:
    return hashlib.sha256(json.dumps(fp, default=str).encode()).hexdigest()


_child_sessions: dict[str, Any] = {}


def score_in_child(database_url: str, project_id: int) -> tuple[tuple, dict[str, Any]] | None:
    """In the board's scoring process: (fingerprint, report) of the project, or None if it is
    gone. One small engine per database, kept between calls."""
    from controller import db as dbmod

    sessions = _child_sessions.get(database_url)
    if sessions is None:
        sessions = _child_sessions[database_url] = dbmod.make_sessionmaker(dbmod.make_engine(database_url, 1, 1))
    with sessions() as db:
        project = db.get(Project, project_id)
        if project is None:
            return None
        fp = fingerprint(db, project)
        return fp, score_project(db, project)


def claim(db, project_id: int, lease_s: float, now: dt.datetime | None = None) -> str | None:
    """Takes the right to score the project for ``lease_s`` seconds: the lease's token, or None
    while another holder's lease runs. A compare-and-swap on the row's token, so of the HTTP
    workers asking at once exactly one gets it; a holder that died loses it when it runs out."""
    now = now or utcnow()
    token = uuid.uuid4().hex
    until = now + dt.timedelta(seconds=lease_s)
    row = db.execute(select(QualityReport.lease, QualityReport.lease_until)
                     .where(QualityReport.project_id == project_id)).one_or_none()
    try:
        if row is None:
            db.add(QualityReport(project_id=project_id, lease=token, lease_until=until))
            db.commit()
            return token
        held, held_until = row
        if held is not None and held_until is not None and aware(held_until) > now:
            return None
        same = QualityReport.lease.is_(None) if held is None else QualityReport.lease == held
        done = db.execute(update(QualityReport).where(QualityReport.project_id == project_id, same)
                          .values(lease=token, lease_until=until))
        db.commit()
        return token if done.rowcount == 1 else None
    except IntegrityError:  # another worker made the row first: its lease
        db.rollback()
        return None


def store(db, project_id: int, token: str, fp: tuple, rep: dict[str, Any]) -> dt.datetime | None:
    """Writes a scored report and ends the lease ``token``; None if the lease was lost meanwhile
    (another worker took it over, or the project is gone), and nothing is written."""
    now = utcnow()
    done = db.execute(update(QualityReport).where(QualityReport.project_id == project_id,
                                                  QualityReport.lease == token)
                      .values(fingerprint=fingerprint_key(fp), report=rep, scored_at=now, lease=None,
                              lease_until=None))
    db.commit()
    return now if done.rowcount == 1 else None


def release(db, project_id: int, token: str) -> None:
    db.execute(update(QualityReport).where(QualityReport.project_id == project_id, QualityReport.lease == token)
               .values(lease=None, lease_until=None))
    db.commit()


class QualityBoard:
    """Each project's newest report, scored by one HTTP worker at a time and kept in the
    database for all of them (module docstring). Each worker keeps the report it last read in
    memory, so that a report is parsed once per worker per scoring, not once per request."""

    def __init__(self, sessions, max_age_s: float = 60.0, min_refresh_s: float = 30.0,
                 database_url: str | None = None, lease_s: float = 120.0, first_wait_s: float = 60.0) -> None:
        self._sessions = sessions
        self._max_age_s = max_age_s
        self._min_refresh_s = min_refresh_s
        self._database_url = database_url
        self._lease_s = lease_s
        self._first_wait_s = first_wait_s
        self._pool = None
        self._memory: dict[int, tuple[dt.datetime, dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self.scored = 0  # how many reports this board scored itself

    def _scored(self, project_id: int) -> tuple[tuple, dict[str, Any]] | None:
        if self._database_url is None:
            with self._sessions() as db:
                project = db.get(Project, project_id)
                return None if project is None else (fingerprint(db, project), score_project(db, project))
        with self._lock:
            if self._pool is None:
                import multiprocessing
                from concurrent.futures import ProcessPoolExecutor

                # At a lower CPU priority: scoring is seconds of work that may wait, while the
                # requests it shares the cores with may not.
                self._pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"),
                                                 initializer=os.nice, initargs=(SCORING_NICENESS,))
        return self._pool.submit(score_in_child, self._database_url, project_id).result()

    def _score(self, project_id: int, token: str) -> None:
        """Scores the project under the lease ``token`` and stores it; the lease ends either way."""
        try:
            got = self._scored(project_id)
            with self._sessions() as db:
                if got is None:
                    release(db, project_id, token)
                    return
                if store(db, project_id, token, *got) is not None:
                    self.scored += 1
        except Exception:  # the database may be briefly away; the next request tries again
            log.exception("scoring project %s failed", project_id)
            try:
                with self._sessions() as db:
                    release(db, project_id, token)
            except Exception:
                log.exception("ending the lease on project %s failed", project_id)

    def _read(self, db, project_id: int, scored_at: dt.datetime) -> dict[str, Any]:
        with self._lock:
            held = self._memory.get(project_id)
        if held is not None and held[0] == scored_at:
            return held[1]
        rep = db.scalar(select(QualityReport.report).where(QualityReport.project_id == project_id))
        with self._lock:
            self._memory[project_id] = (scored_at, rep)
        return rep

    def _first(self, project_id: int) -> tuple[dt.datetime, dict[str, Any]]:
        """The project has never been scored: score it now, or wait for the worker that is."""
        deadline = time.monotonic() + self._first_wait_s
        while True:
            with self._sessions() as db:
                row = db.execute(select(QualityReport.scored_at, QualityReport.report)
                                 .where(QualityReport.project_id == project_id)).one_or_none()
                if row is not None and row[0] is not None:
                    return row[0], row[1]
                token = claim(db, project_id, self._lease_s)
            if token is not None:
                self._score(project_id, token)
                with self._sessions() as db:
                    if db.get(Project, project_id) is None:
                        raise NotFound("no such project")
                continue
            if time.monotonic() > deadline:
                raise Busy("the project's quality is being scored; ask again in a moment")
            time.sleep(0.2)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)

    def report(self, db, project: Project) -> tuple[dict[str, Any], str]:
        """(report, when it was scored). A stale report is answered while one worker scores the
        project again behind it."""
        row = db.execute(select(QualityReport.fingerprint, QualityReport.scored_at)
                         .where(QualityReport.project_id == project.id)).one_or_none()
        if row is None or row[1] is None:
            scored_at, rep = self._first(project.id)
            with self._lock:
                self._memory[project.id] = (scored_at, rep)
            return rep, iso(scored_at)
        stored_fp, scored_at = row
        age = (utcnow() - aware(scored_at)).total_seconds()
        changed = age >= self._min_refresh_s and stored_fp != fingerprint_key(fingerprint(db, project))
        if changed or age > self._max_age_s:
            token = claim(db, project.id, self._lease_s)
            if token is not None:
                threading.Thread(target=self._score, args=(project.id, token), daemon=True,
                                 name=f"quality-{project.id}").start()
        return self._read(db, project.id, scored_at), iso(scored_at)


def quality_view(db, board: QualityBoard, scope: CustomerScope, project_id: int) -> dict[str, Any]:
    """What the quality page shows: the report, when it was scored, and the figures over time."""
    project = project_or_404(db, scope, project_id)
    rep, scored_at = board.report(db, project)
    return {"project": {"id": project.id, "slug": project.slug, "name": project.name,
                        "modality": project.modality}, "scored_at": scored_at, **rep,
            "series": series(db, project.id)}


def snapshot_now(db, scope: CustomerScope, project_id: int) -> dict[str, Any]:
    """A snapshot of the project's figures taken now (an officer's "record now")."""
    return take_snapshot(db, project_or_404(db, scope, project_id))
