"""The demo site's annotation platform, made on the demo's first start and left alone after:
for each customer, its projects (one per modality) filled through the platform's own import, so
the content is preprocessed as any upload is; the site file's annotators (people with a
``user:``) as platform logins, members of their customers' projects, one of them a reviewer.

What the projects hold comes from the caller (``write``), which keeps this module free of how
the demo makes its content. Running it again adds only what is missing: a project that already
holds an import that finished is left as it is."""
from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import select

from controller.annotation_tables import Dataset, Project, ProjectMember
from controller.core import Core
from controller.models import Customer, Role, User
from controller.services.imports import import_limits, new_dataset, run_import
from controller.services.projects import add_member, create_project
from controller.services.scope import EVERY_CUSTOMER
from controller.services.users import create_user
from edge_agent.wire.site import SiteConfig

BY = "demo"


def demo_password(username: str) -> str:
    return f"{username}-demo"


@dataclass(frozen=True)
class DemoProject:
    customer: str
    slug: str
    name: str
    modality: str
    label_schema: dict[str, Any]
    count: int  # items the content should give


@dataclass(frozen=True)
class DemoAnnotator:
    username: str
    person: str
    name: str
    customers: tuple[str, ...]
    reviewer: bool


@dataclass
class SeedReport:
    annotators: list[DemoAnnotator] = field(default_factory=list)
    made: list[tuple[DemoProject, int]] = field(default_factory=list)  # with the items now in it
    kept: list[DemoProject] = field(default_factory=list)  # there from an earlier start
    problems: list[str] = field(default_factory=list)


def demo_annotators(config: SiteConfig, reviewer: str | None) -> list[DemoAnnotator]:
    """The site's annotators who have a platform login, in the file's order; ``reviewer`` is the
    login that also reviews."""
    return [DemoAnnotator(p.user, p.id, p.name, tuple(p.customers), p.user == reviewer)
            for p in config.people if p.role == "annotator" and p.user]


Write = Callable[[DemoProject, Path, Callable[[str], None]], Path]


def seed_demo(core: Core, config: SiteConfig, projects: Sequence[DemoProject], write: Write, work: Path,
              reviewer: str | None = None, out: TextIO | None = None) -> SeedReport:
    """Make what is missing of the demo's annotation platform; says what it does on ``out``
    (standard output by default)."""
    out = out or sys.stdout
    report = SeedReport(annotators=demo_annotators(config, reviewer))
    with core.sessions() as db:
        customers = {slug: cid for slug, cid in db.execute(select(Customer.slug, Customer.id))}
        users = _ensure_users(db, core, report.annotators)
    todo: list[tuple[DemoProject, int]] = []
    for plan in projects:
        with core.sessions() as db:
            pid = _ensure_project(db, core, customers[plan.customer], plan)
            if _filled(db, pid):
                report.kept.append(plan)
            else:
                todo.append((plan, pid))
    if todo:
        _fill_projects(core, todo, write, work, report, out)
    with core.sessions() as db:
        for plan in projects:
            pid = db.scalar(select(Project.id).where(Project.customer_id == customers[plan.customer],
                                                     Project.slug == plan.slug))
            for a in report.annotators:
                if plan.customer in a.customers:
                    _ensure_member(db, core, pid, users[a.username], a.reviewer)
    return report


def _ensure_users(db, core: Core, annotators: Sequence[DemoAnnotator]) -> dict[str, int]:
    ids = {}
    for a in annotators:
        user = db.scalar(select(User).where(User.username == a.username))
        if user is None:
            user = create_user(db, core.ledger, a.username, demo_password(a.username), Role.annotator, None, BY)
        ids[a.username] = user.id
    return ids


def _ensure_project(db, core: Core, customer_id: int, plan: DemoProject) -> int:
    pid = db.scalar(select(Project.id).where(Project.customer_id == customer_id, Project.slug == plan.slug))
    if pid is not None:
        return pid
    return create_project(db, core.ledger, customer_id=customer_id, slug=plan.slug, name=plan.name,
                          modality=plan.modality, label_schema=plan.label_schema, annotators_per_task=1,
                          mask_personal_data=False, by=BY)["id"]


def _filled(db, project_id: int) -> bool:
    return db.scalar(select(Dataset.id).where(Dataset.project_id == project_id, Dataset.status == "done",
                                              Dataset.items_added > 0).limit(1)) is not None


def _ensure_member(db, core: Core, project_id: int, user_id: int, reviewer: bool) -> None:
    if db.scalar(select(ProjectMember.id).where(ProjectMember.project_id == project_id,
                                                ProjectMember.user_id == user_id)) is None:
        add_member(db, core.ledger, EVERY_CUSTOMER, project_id, user_id, reviewer, BY)


def _fill_projects(core: Core, todo: list[tuple[DemoProject, int]], write: Write, work: Path,
                   report: SeedReport, out: TextIO) -> None:
    """Make each project's content and start its import at once (the imports run while the next
    content is made), then show the imports' progress until all are done."""
    started = time.monotonic()
    results: dict[int, dict[str, Any]] = {}
    limits = import_limits()

    def run(dataset_id: int, source: Path) -> None:
        results[dataset_id] = run_import(core.sessions, core.ledger, core.settings.data_dir, dataset_id, source,
                                         limits=limits)

    datasets: list[tuple[DemoProject, int]] = []
    threads: list[threading.Thread] = []
    for plan, pid in todo:
        t0 = time.monotonic()
        print(f"  demo content: {plan.customer}/{plan.slug} ({plan.modality}, {plan.count} items) ...",
              end="", file=out, flush=True)
        try:
            source = write(plan, work / f"{plan.customer}-{plan.slug}",
                           lambda note: print(f" {note}", end="", file=out, flush=True))
        except Exception as exc:  # a content maker that fails leaves that project empty, not the demo down
            print(f" failed: {exc}", file=out, flush=True)
            report.problems.append(f"{plan.customer}/{plan.slug}: content not made: {exc}")
            continue
        print(f" made in {time.monotonic() - t0:.1f} s", file=out, flush=True)
        # A single file is named by its dataset (as an upload is): the name tells its type.
        name = source.name if source.is_file() else f"demo {plan.modality}"
        with core.sessions() as db:
            ds = new_dataset(db, EVERY_CUSTOMER, pid, name, BY)
        datasets.append((plan, ds))
        threads.append(threading.Thread(target=run, args=(ds, source), name=f"demo-import-{ds}", daemon=True))
        threads[-1].start()
    _show_progress(core, datasets, threads, out)
    for plan, ds in datasets:
        got = results.get(ds)
        if got is None or got["status"] != "done":
            report.problems.append(f"{plan.customer}/{plan.slug}: the import did not finish")
            continue
        if got["refused"]:
            report.problems.append(f"{plan.customer}/{plan.slug}: {len(got['refused'])} file(s) refused, "
                                   f"first {got['refused'][0]}")
        report.made.append((plan, got["items_added"]))
    print(f"  demo projects ready in {time.monotonic() - started:.1f} s", file=out, flush=True)


def _show_progress(core: Core, datasets: list[tuple[DemoProject, int]], threads: list[threading.Thread],
                   out: TextIO, every_s: float = 0.5) -> None:
    if not datasets:
        return
    tty = getattr(out, "isatty", lambda: False)()
    last, last_at = "", 0.0
    while True:
        alive = any(t.is_alive() for t in threads)
        with core.sessions() as db:
            rows = {d.id: d for d in db.scalars(select(Dataset).where(Dataset.id.in_([ds for _, ds in datasets])))}
        line = "  importing: " + ", ".join(
            f"{p.customer}/{p.slug} {rows[ds].files_done}/{rows[ds].files_total or '?'}" for p, ds in datasets)
        now = time.monotonic()
        if tty:
            print("\r" + line, end="" if alive else "\n", file=out, flush=True)
        elif line != last and (now - last_at >= 5 or not alive):
            print(line, file=out, flush=True)
            last, last_at = line, now
        if not alive:
            return
        time.sleep(every_s)
