"""Annotation work from the annotator's side: a task is served only at a covered seat's
workstation on its customer's VLAN, to a trained project member the gates put inside; each
failing rule alone refuses with its name; content is never served once the answer turns to no;
submits chain versions with a ledger leaf each; claims never give a task twice or an ordinary
task past k, and a gold task reaches every annotator once."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
import threading

import pytest
from sqlalchemy import func, select

from annotation.versions import LEAF_KIND, chain_problems, version_from_leaf
from controller.annotation_tables import (
    Annotation,
    Dataset,
    Item,
    Project,
    ProjectMember,
    Task,
    TaskSkip,
    TaskSlot,
)
from controller.ingest import customer_ids, store_events
from controller.models import Agent, LedgerEntry, Person, Role, WorkRefusalHour, utcnow
from controller.services import work
from controller.services.users import create_user
from controller.sites import apply_site_config
from edge_agent.wire.messages import Event
from edge_agent.wire.site import parse_site_text
from tests.conftest import DEMO_SITE, app_with_demo_site, serve

# Logins of the site's people (the site file's `user:`, renamed from the demo's), and the seat
# addresses used below.
PEOPLE = {"ann": "p-003", "ann4": "p-004", "ann5": "p-005", "ann6": "p-006", "ann8": "p-008"}
DEMO_LOGINS = {"ann": "annotator", "ann4": "wangfang", "ann5": "liuyang", "ann6": "zhaolei", "ann8": "zhouna"}
A1, A2, A8, B1 = "10.110.0.11", "10.110.0.12", "10.0.0.18", "10.120.0.11"
TASKS, K = 4, 2


def _site_text() -> str:
    text = DEMO_SITE.read_text()
    for user, demo_login in DEMO_LOGINS.items():
        text = text.replace(f"    user: {demo_login}\n", f"    user: {user}\n")
    # A8's computer was plugged into the platform's VLAN instead of acme's.
    return text.replace("workstation: 10.110.0.18", f"workstation: {A8}")


def _project(s, customer_id: int, members: list[int], tasks: int, k: int, data_dir) -> int:
    project = Project(customer_id=customer_id, slug=f"p{random.randrange(10**9)}", name="Reviews", modality="text",
                      label_schema={"kind": "classification", "labels": ["pos", "neg"]}, annotators_per_task=k,
                      # No random gold draws: ordinary work comes first, the gold item only once
                      # an annotator has nothing else (the tests below name the tasks they expect).
                      gold_share=0.0, created_by="test")
    s.add(project)
    s.flush()
    ds = Dataset(project_id=project.id, name="batch 1", status="done", created_by="test")
    s.add(ds)
    s.flush()
    for i in range(tasks):
        body = f"customer text number {i} of project {project.id}".encode()
        sha = hashlib.sha256(body).hexdigest()
        path = work.content_path(data_dir, sha)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
        item = Item(project_id=project.id, dataset_id=ds.id, sha256=sha, media_type="text/plain", size=len(body),
                    source_name=f"secret-name-{i}.txt", meta={"chars": len(body)}, is_gold=i == 0,
                    gold_answer={"label": "pos"} if i == 0 else None)
        s.add(item)
        s.flush()
        task = Task(project_id=project.id, item_id=item.id, wanted=k)
        s.add(task)
        s.flush()
        s.add_all(TaskSlot(project_id=project.id, task_id=task.id, slot=n) for n in range(k))
    s.add_all(ProjectMember(project_id=project.id, user_id=u, added_by="test") for u in members)
    s.commit()
    return project.id


@pytest.fixture
def rig(tmp_path, database_url, monkeypatch):
    monkeypatch.setenv("SITEGUARD_TRUSTED_PROXIES", "127.0.0.1")  # the tests speak through a "proxy"
    app, site_id, agent_id = app_with_demo_site(tmp_path, database_url)
    core = app.state.core
    with core.sessions() as s:
        apply_site_config(s, parse_site_text(_site_text()))
        ids = customer_ids(s)
        users = {u: create_user(s, core.ledger, u, f"{u}-pass-1", Role.annotator, None, "test").id for u in PEOPLE}
        users["rival"] = create_user(s, core.ledger, "rival", "rival-pass-1", Role.annotator, ids["borealis"], "t").id
        users["acme1"] = create_user(s, core.ledger, "acme1", "acme1-pass-1", Role.customer, ids["acme"], "t").id
        create_user(s, core.ledger, "off", "off-pass-1", Role.officer, None, "test")
        s.commit()
        members = [users[u] for u in ("ann", "ann5", "ann6", "ann8", "rival")]
        pid = _project(s, ids["acme"], members, TASKS, K, core.settings.data_dir)
    seq = iter(range(1, 10**6))

    def cover(**seats: bool) -> None:
        """The edge on line reports these seats (what its heartbeat writes)."""
        status = {"A1": True, "A2": True, "A8": True, "B1": True, **seats}
        with core.sessions() as s:
            agent = s.get(Agent, agent_id)
            agent.status = {"seats": {k: {"covered": v, "reasons": [] if v else ["occluded"]} for k, v in status.items()}}
            agent.last_seen_at = utcnow()
            s.commit()

    def passes(person: str, area: str) -> None:
        at = utcnow().isoformat()
        with core.sessions() as s:
            store_events(s, agent_id, site_id, [Event(seq=next(seq), ts=at, kind="gate.passage", data={
                "gate": "gate-main", "at": at, "direction": "entry" if area == "floor3" else "exit",
                "person": person, "cause": "grant", "area_to": area})], customer_ids(s))
            s.commit()

    for person in PEOPLE.values():
        passes(person, "floor3")
    with serve(app, database_url, client=("127.0.0.1", 50000)) as c:
        tokens = {}

        def as_user(name: str, address: str = A1) -> dict:
            if name not in tokens:
                r = c.post("/api/auth/token", json={"username": name, "password": f"{name}-pass-1"})
                tokens[name] = r.json()["token"]
            return {"Authorization": f"Bearer {tokens[name]}", "X-Forwarded-For": address}

        yield c, core, pid, users, as_user, cover, passes


def test_work_is_served_only_where_the_site_allows_it_and_every_reason_is_named(rig):
    c, core, pid, users, as_user, cover, passes = rig
    nxt = f"/api/work/projects/{pid}/next"

    def refused(user: str, address: str, **seats: bool) -> list[str]:
        cover(**seats)
        r = c.post(nxt, headers=as_user(user, address))
        assert r.status_code == 403, r.text
        assert r.json()["detail"]
        return r.json()["reasons"]

    assert refused("ann", "10.110.0.99") == ["unknown_workstation"]
    assert refused("ann", A2, A2=False) == ["seat_not_covered"]
    assert refused("ann", A8) == ["address_not_in_customer_vlan"]
    assert refused("ann8", B1) == ["wrong_customer"]
    assert refused("ann4", A1) == ["not_assigned_to_project"]
    assert refused("ann6", A1) == ["not_assigned_to_customer"]
    assert refused("ann5", A1) == ["training_expired"]
    passes("p-003", "outside")
    assert refused("ann", A1) == ["not_on_site"]
    # The header is believed only from a trusted proxy: without it the peer (the proxy) is no seat.
    cover()
    r = c.post(nxt, headers={"Authorization": as_user("ann")["Authorization"]})
    assert r.status_code == 403 and "unknown_workstation" in r.json()["reasons"]
    # Several rules at once: all named.
    reasons = refused("ann4", A8, A8=False)
    assert reasons == ["seat_not_covered", "address_not_in_customer_vlan", "not_assigned_to_project"]

    # Inside again, at a covered seat on acme's VLAN: work.
    passes("p-003", "floor3")
    cover()
    r = c.post(nxt, headers=as_user("ann"))
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["seat"].endswith("/A1") and got["reserved_until"] and got["item"]["media_type"] == "text/plain"
    assert "secret-name" not in r.text and "gold" not in r.text  # no file names, no gold answers
    # The same request again gets back the task already held.
    assert c.post(nxt, headers=as_user("ann")).json()["task"] == got["task"]

    # A training recorded through the officers' API makes ann5 fit to work at once.
    with core.sessions() as s:
        pk = s.scalar(select(Person.id).where(Person.person == "p-005"))
    today = dt.date.today()
    off = {"Authorization": as_user("off")["Authorization"]}
    r = c.post(f"/api/people/{pk}/training", headers=off,
               json={"completed": today.isoformat(), "expires": (today + dt.timedelta(days=365)).isoformat()})
    assert r.status_code == 201, r.text
    cover()
    r = c.post(nxt, headers=as_user("ann5", A2))
    assert r.status_code == 200, r.text
    assert (r.json()["task"], r.json()["slot"]) != (got["task"], got["slot"])


def test_content_and_submits_chain_versions_with_a_ledger_leaf_each(rig):
    c, core, pid, users, as_user, cover, passes = rig
    cover()
    task = c.post(f"/api/work/projects/{pid}/next", headers=as_user("ann")).json()
    tid = task["task"]
    r = c.get(f"/api/work/tasks/{tid}/content", headers=as_user("ann"))
    assert r.status_code == 200 and r.content.startswith(b"customer text number")
    assert r.headers["cache-control"] == "no-store" and r.headers["content-disposition"] == "inline"
    assert "attachment" not in json.dumps(dict(r.headers))
    assert c.put(f"/api/work/tasks/{tid}/draft", json={"result": {"label": "neg"}},
                 headers=as_user("ann")).status_code == 200
    assert c.get(f"/api/work/tasks/{tid}/draft", headers=as_user("ann")).json()["result"] == {"label": "neg"}
    assert core.ledger.count_kind(LEAF_KIND) == 0
    one = c.post(f"/api/work/tasks/{tid}/submit", json={"result": {"label": "pos"}}, headers=as_user("ann"))
    assert one.status_code == 200, one.text
    cover()
    two = c.post(f"/api/work/tasks/{tid}/submit", json={"result": {"label": "neg"}}, headers=as_user("ann"))
    assert two.status_code == 200, two.text
    one, two = one.json(), two.json()
    assert (one["version"], two["version"]) == (1, 2) and two["prev_hash"] == one["hash"] and one["prev_hash"] is None
    assert one["task_submitted"] == two["task_submitted"] == 1 and two["task_status"] == "open"  # k = 2
    assert c.get(f"/api/work/tasks/{tid}/draft", headers=as_user("ann")).json()["result"] is None
    assert core.ledger.count_kind(LEAF_KIND) == 2  # integrates what was queued with the facts
    with core.sessions() as s:
        rows = list(s.scalars(select(Annotation).where(Annotation.task_id == tid).order_by(Annotation.version)))
        leaves = [json.loads(e.leaf)["data"] for e in s.scalars(select(LedgerEntry).where(LedgerEntry.kind == LEAF_KIND)
                                                                 .order_by(LedgerEntry.index))]
    assert [r.version for r in rows] == [1, 2] and rows[0].seat.endswith("/A1")
    assert [(x["annotation"], x["version"], x["hash"]) for x in leaves] == [(r.id, r.version, r.hash) for r in rows]
    versions = [version_from_leaf(x) for x in leaves]
    assert chain_problems(versions) == [] and [v.hash() for v in versions] == [r.hash for r in rows]
    assert {(x["annotator"], x["item_sha256"], x["project"]) for x in leaves} == {("ann", rows[0].item_sha256, pid)}
    # A second annotator completes the task at k.
    cover()
    other = c.post(f"/api/work/projects/{pid}/next", headers=as_user("ann8", A2)).json()
    assert other["task"] == tid and other["slot"] != task["slot"]
    done = c.post(f"/api/work/tasks/{tid}/submit", json={"result": {"label": "pos"}}, headers=as_user("ann8", A2))
    assert done.json()["task_submitted"] == 2 and done.json()["task_status"] == "complete"


def test_content_is_never_served_once_the_policy_says_no_and_the_draft_is_kept(rig):
    c, core, pid, users, as_user, cover, passes = rig
    cover()
    tid = c.post(f"/api/work/projects/{pid}/next", headers=as_user("ann")).json()["task"]
    beat = c.post(f"/api/work/tasks/{tid}/heartbeat", headers=as_user("ann")).json()
    assert beat["allowed"] is True and beat["reasons"] == []
    c.put(f"/api/work/tasks/{tid}/draft", json={"result": {"label": "pos"}}, headers=as_user("ann"))
    cover(A1=False)  # the seat's screen is no longer seen
    beat = c.post(f"/api/work/tasks/{tid}/heartbeat", headers=as_user("ann")).json()
    assert beat["allowed"] is False and beat["reasons"] == ["seat_not_covered"]
    for method, path, body in (("GET", "content", None), ("GET", "draft", None), ("POST", "submit", {"result": {}})):
        r = c.request(method, f"/api/work/tasks/{tid}/{path}", json=body, headers=as_user("ann"))
        assert r.status_code == 403 and r.json()["reasons"] == ["seat_not_covered"], (path, r.text)
        assert b"customer text" not in r.content
    with core.sessions() as s:  # each refusal counted for the daily report, by reason
        counts = dict(s.execute(select(WorkRefusalHour.reason, func.sum(WorkRefusalHour.count))
                                .group_by(WorkRefusalHour.reason)).all())
    assert counts == {"": 3, "seat_not_covered": 3}
    # The page still saves what it has; the draft is kept.
    assert c.put(f"/api/work/tasks/{tid}/draft", json={"result": {"label": "neg"}},
                 headers=as_user("ann")).status_code == 200
    passes("p-003", "outside")
    cover()
    assert c.post(f"/api/work/tasks/{tid}/heartbeat", headers=as_user("ann")).json()["reasons"] == ["not_on_site"]
    assert c.get(f"/api/work/tasks/{tid}/content", headers=as_user("ann")).status_code == 403
    passes("p-003", "floor3")
    cover()
    assert c.get(f"/api/work/tasks/{tid}/draft", headers=as_user("ann")).json()["result"] == {"label": "neg"}
    assert c.get(f"/api/work/tasks/{tid}/content", headers=as_user("ann")).status_code == 200


def test_skips_expiry_and_nobody_elses_task(rig):
    c, core, pid, users, as_user, cover, passes = rig
    cover()
    nxt = f"/api/work/projects/{pid}/next"
    first = c.post(nxt, headers=as_user("ann")).json()["task"]
    # Nobody else's task: another annotator, another customer's annotator, a customer, no login.
    assert c.get(f"/api/work/tasks/{first}/content", headers=as_user("ann8", A2)).status_code == 404
    assert c.post(nxt, headers=as_user("rival", B1)).status_code == 404  # another customer's project
    assert c.get(f"/api/work/tasks/{first}/content", headers=as_user("rival", B1)).status_code == 404
    assert c.post(nxt, headers=as_user("acme1")).status_code == 403
    assert c.get(f"/api/work/tasks/{first}/content").status_code == 401
    assert c.get("/api/work/tasks/999999/content", headers=as_user("ann")).status_code == 404

    assert c.post(f"/api/work/tasks/{first}/skip", json={"reason": "unreadable"}, headers=as_user("ann")).json()["skipped"]
    seen = {first}
    for _ in range(TASKS - 1):
        cover()
        r = c.post(nxt, headers=as_user("ann"))
        assert r.status_code == 200 and r.json()["task"] not in seen
        tid = r.json()["task"]
        seen.add(tid)
        assert c.post(f"/api/work/tasks/{tid}/submit", json={"result": {"label": "pos"}},
                      headers=as_user("ann")).status_code == 200
    cover()
    assert c.post(nxt, headers=as_user("ann")).status_code == 204  # skipped or done: nothing for ann

    # ann8 holds a task and its page goes quiet past the reservation; another member claims the
    # lapsed slot, and ann8 never gets that task again.
    r = c.post(nxt, headers=as_user("ann8", A2))
    held = r.json()["task"]
    with core.sessions() as s:
        s.execute(TaskSlot.__table__.update().where(TaskSlot.task_id == held, TaskSlot.annotator_id == users["ann8"])
                  .values(reserved_until=utcnow() - dt.timedelta(seconds=1)))
        s.commit()
    with core.sessions() as s:
        s.add(ProjectMember(project_id=pid, user_id=users["ann4"], added_by="test"))
        s.commit()
        slot = work.claim(s, pid, users["ann4"], "demo-floor3/A3", utcnow())
        assert slot is not None and slot.task_id == held
        assert s.scalar(select(TaskSkip.reason).where(TaskSkip.task_id == held,
                                                      TaskSkip.annotator_id == users["ann8"])) == work.LAPSED
    cover()
    assert c.get(f"/api/work/tasks/{held}/content", headers=as_user("ann8", A2)).status_code == 409
    nxt8 = c.post(nxt, headers=as_user("ann8", A2))
    assert nxt8.status_code in (200, 204) and (nxt8.status_code == 204 or nxt8.json()["task"] != held)


def test_fifty_concurrent_claimers_never_over_assign_or_give_a_task_twice(tmp_path, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("the row-locking claim is PostgreSQL's; SQLite has one writer")
    app, site_id, _ = app_with_demo_site(tmp_path, database_url)
    core = app.state.core
    tasks, k, annotators = 40, 3, 25
    with core.sessions() as s:
        ids = customer_ids(s)
        users = [create_user(s, core.ledger, f"u{i}", "pass-word-1", Role.annotator, None, "t").id
                 for i in range(annotators)]
        s.commit()
        pid = _project(s, ids["acme"], users, tasks, k, core.settings.data_dir)
    claimers = [users[i % annotators] for i in range(50)]  # two threads per annotator
    answers: list[tuple[int, int | None]] = []
    lock, start = threading.Lock(), threading.Barrier(len(claimers))
    failures: list[BaseException] = []

    def run(annotator: int) -> None:
        try:
            start.wait()
            rnd = random.Random(annotator)
            while True:
                with core.sessions() as s:
                    slot = work.claim(s, pid, annotator, None, utcnow())
                    task = slot.task_id if slot else None
                    with lock:
                        answers.append((annotator, task))
                    if slot is None:
                        return
                    if rnd.random() < 0.7:  # most submit at once; the rest keep their reservation
                        s.execute(TaskSlot.__table__.update().where(TaskSlot.id == slot.id).values(
                            state="submitted", reserved_until=None))
                        s.commit()
                    else:
                        return
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(a,)) for a in claimers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not failures, failures
    got = [(a, t) for a, t in answers if t is not None]
    assert len(got) == len(set(got)), "a task was given twice to one annotator"
    per_task: dict[int, int] = {}
    for _, t in got:
        per_task[t] = per_task.get(t, 0) + 1
    with core.sessions() as s:
        gold = set(s.scalars(select(Task.id).join(Item, Item.id == Task.item_id).where(Task.project_id == pid,
                                                                                    Item.is_gold.is_(True))))
    assert gold and max(n for t, n in per_task.items() if t not in gold) <= k
    done = {a for a, t in answers if t is None}
    assert done and all({t for a2, t in got if a2 == a} >= gold for a in done)  # gold reached each of them
    with core.sessions() as s:
        assert s.scalar(select(func.count()).select_from(TaskSlot).where(TaskSlot.annotator_id.is_not(None))) == len(got)
        # Every annotator that heard "nothing" has nothing free: every slot still free is on a task
        # they hold or did (slots only ever move from free to taken here, so none was free then).
        for a in {a for a, t in answers if t is None}:
            theirs = set(s.scalars(select(TaskSlot.task_id).where(TaskSlot.annotator_id == a)))
            free = set(s.scalars(select(TaskSlot.task_id).where(TaskSlot.project_id == pid, TaskSlot.state == "free")))
            assert free <= theirs, (a, free - theirs)
        assert s.scalar(select(func.count()).select_from(Task).where(Task.project_id == pid)) == tasks
