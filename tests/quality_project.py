"""A small project whose quality figures are worked out by hand (tests/integration/test_quality.py
gives the working): three annotators, four gold tasks and two more, k = 2, one resubmission, one
reviewer's fix, and three linked groups of which two are judged."""
from __future__ import annotations

import datetime as dt
import hashlib

from sqlalchemy import select

from controller.annotation_tables import Annotation, Dataset, Item, ItemLink, Project, Review, Task
from controller.models import Customer, Role, User
from controller.security import hash_password

T0 = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.timezone.utc)
LABELS = ["pos", "neg", "neu"]
GOLD = {"G1": "pos", "G2": "neg", "G3": "pos", "G4": "neu"}
# (task, annotator, label, seconds after T0, version); bob's G2 v2 is a reviewer's fix.
WORK = [("G1", "alice", "pos", 0, 1), ("G2", "alice", "pos", 60, 1), ("G2", "alice", "neg", 200, 2),
        ("G3", "alice", "pos", 150, 1), ("N1", "alice", "pos", 4000, 1),
        ("G1", "bob", "pos", 10, 1), ("G2", "bob", "pos", 40, 1), ("G4", "bob", "neu", 100, 1),
        ("N1", "bob", "neg", 130, 1), ("N2", "bob", "neg", 250, 1), ("G2", "bob", "neg", 300, 2),
        ("G3", "carol", "neg", 0, 1), ("G4", "carol", "neu", 20, 1), ("N2", "carol", "neg", 80, 1)]
FIX = ("G2", "bob", 2)


def _user(s, name: str, role: str, customer_id: int | None = None) -> int:
    u = s.scalar(select(User).where(User.username == name))
    if u is None:
        u = User(username=name, password_hash=hash_password(f"{name}-pass"), role=role, customer_id=customer_id,
                 active=True)
        s.add(u)
        s.flush()
    return u.id


def _project(s, customer_id: int, slug: str, **extra) -> tuple[Project, Dataset]:
    p = Project(customer_id=customer_id, slug=slug, name=slug, created_by="test", **extra)
    s.add(p)
    s.flush()
    ds = Dataset(project_id=p.id, name="batch", status="done", created_by="test")
    s.add(ds)
    s.flush()
    return p, ds


def _task(s, p: Project, ds: Dataset, name: str, gold=None) -> tuple[int, int]:
    sha = hashlib.sha256(f"{p.id}/{name}".encode()).hexdigest()
    item = Item(project_id=p.id, dataset_id=ds.id, sha256=sha, media_type="text/plain", size=1, source_name=name,
                meta={}, is_gold=gold is not None, gold_answer=gold)
    s.add(item)
    s.flush()
    task = Task(project_id=p.id, item_id=item.id, wanted=2)
    s.add(task)
    s.flush()
    return task.id, item.id


def _save(s, p: Project, task: int, who: int, result: dict, at: dt.datetime, version: int) -> int:
    a = Annotation(project_id=p.id, task_id=task, annotator_id=who, version=version, result=result,
                   item_sha256="0" * 64, hash=hashlib.sha256(f"{task}/{who}/{version}/{at}".encode()).hexdigest(),
                   created_at=at)
    s.add(a)
    s.flush()
    return a.id


def seed(sessions, customer: str = "acme") -> int:
    """The project (its id), for ``customer``."""
    with sessions() as s:
        cid = s.scalar(select(Customer.id).where(Customer.slug == customer))
        people = {n: _user(s, n, Role.annotator.value) for n in ("alice", "bob", "carol", "dave", "rev")}
        p, ds = _project(s, cid, "intents", modality="text", annotators_per_task=2, accuracy_target=0.95,
                         label_schema={"kind": "classification", "labels": LABELS},
                         crossmodal={"constraints": [{"kind": "same_intent", "a": "a", "b": "b"}], "target": 0.9})
        tasks, items = {}, {}
        for name in ("G1", "G2", "G3", "G4", "N1", "N2"):
            gold = {"label": GOLD[name]} if name in GOLD else None
            tasks[name], items[name] = _task(s, p, ds, name, gold)
        ids = {}
        for name, who, label, secs, version in WORK:
            ids[(name, who, version)] = _save(s, p, tasks[name], people[who], {"label": label},
                                              T0 + dt.timedelta(seconds=secs), version)
        s.add(Review(annotation_id=ids[(FIX[0], FIX[1], 1)], reviewer_id=people["rev"], decision="fix",
                     fixed_annotation_id=ids[FIX]))
        # Linked items: a text of another project, annotated "pos" by dave, and one nobody did.
        other, ods = _project(s, cid, "intents-b", modality="text",
                              label_schema={"kind": "classification", "labels": LABELS})
        x_task, x_item = _task(s, other, ods, "X")
        _, y_item = _task(s, other, ods, "Y")
        _save(s, other, x_task, people["dave"], {"label": "pos"}, T0, 1)
        for key, a, b in (("g1", items["N2"], items["G1"]), ("g2", items["G1"], x_item),
                          ("g3", items["G4"], y_item)):
            s.add_all([ItemLink(project_id=p.id, group_key=key, item_id=a, role="a"),
                       ItemLink(project_id=p.id, group_key=key, item_id=b, role="b")])
        s.commit()
        return p.id
