"""Gold from the officer's and reviewer's side: a JSONL import carries gold answers; an accepted
annotation is promoted to gold by a reviewer (ledgered; never twice, never unreviewed work, never
by a customer); a gold task reaches every annotator once whatever k is, looks like any other
task, and is never queued for review; the review queue samples by each annotator's accuracy."""
from __future__ import annotations

import json

from sqlalchemy import select, update

from controller.annotation_tables import Item, Project, ProjectMember, Task
from controller.models import LedgerEntry
from controller.services import gold
from tests.conftest import wait_for
from tests.integration.test_annotation_work import A1, A2, rig  # noqa: F401 - rig is the fixture used here

A3 = "10.110.0.13"


def test_promotion_import_and_gold_served_to_everyone_once(rig):  # noqa: F811 - the imported fixture
    c, core, pid, users, as_user, cover, passes = rig
    off = {"Authorization": as_user("off")["Authorization"]}
    with core.sessions() as s:  # ann4 reviews; k = 1 so each ordinary task reaches one annotator
        s.add(ProjectMember(project_id=pid, user_id=users["ann4"], can_review=True, added_by="test"))
        s.execute(update(Project).where(Project.id == pid).values(annotators_per_task=1, gold_share=0.5))
        s.execute(update(Task).where(Task.project_id == pid).values(wanted=1))
        s.commit()
        gold_task = s.scalar(select(Task.id).join(Item, Item.id == Task.item_id)
                             .where(Task.project_id == pid, Item.is_gold.is_(True)))
    nxt = f"/api/work/projects/{pid}/next"
    seen: dict[str, list[int]] = {}
    for name, seat in (("ann", A1), ("ann8", A2)):
        while True:
            cover(A3=True)
            r = c.post(nxt, headers=as_user(name, seat))
            if r.status_code == 204:
                break
            assert r.status_code == 200, r.text
            assert "gold" not in r.text and r.json()["slot"] == 0
            seen.setdefault(name, []).append(r.json()["task"])
            label = "pos" if name == "ann" else "neg"
            sub = c.post(f"/api/work/tasks/{r.json()['task']}/submit", headers=as_user(name, seat),
                         json={"result": {"label": label}})
            assert (sub.json()["task_submitted"], sub.json()["task_status"]) == (1, "complete")
    # The gold task (k was 2, now 1) reached both; every ordinary task reached one of them.
    assert gold_task in seen["ann"] and gold_task in seen["ann8"]
    ordinary = [t for name in seen for t in seen[name] if t != gold_task]
    assert len(ordinary) == len(set(ordinary)) == 3
    with core.sessions() as s:
        acc = gold.annotator_gold_accuracy(s, pid)
        assert {f["username"]: (f["correct"], f["total"]) for f in acc.values()} == {"ann": (1, 1), "ann8": (0, 1)}
        assert gold.project_gold_accuracy(s, pid)["total"] == 2
        assert all(f["review_rate"] == 1.0 and f["state"] == "unproven" for f in acc.values())

    # The queue: every ordinary submission (few gold answers yet: all reviewed), never gold.
    rev = as_user("ann4", A3)
    cover(A3=True)
    queue = c.get(f"/api/projects/{pid}/review/queue", headers=rev).json()
    assert sorted(a["task"] for a in queue) == sorted(ordinary)

    # Promotion: only accepted work, by a reviewer or an officer, never a customer; ledgered.
    target = queue[0]
    promote = f"/api/annotations/{target['annotation']}/gold"
    cover(A3=True)
    assert c.post(promote, headers=rev).status_code == 409  # not reviewed yet
    cover(A3=True)
    assert c.post(f"/api/annotations/{target['annotation']}/review", headers=rev,
                  json={"decision": "accept"}).status_code == 200
    assert c.post(promote, headers=as_user("acme1")).status_code == 403
    assert c.post(promote, headers=as_user("rival", "10.120.0.11")).status_code == 404  # another customer's
    cover(A3=True)
    r = c.post(promote, headers=rev)
    assert r.status_code == 200, r.text
    assert r.json()["gold_answer"] == target["result"]
    assert c.post(promote, headers=off).status_code == 409  # gold already
    with core.sessions() as s:
        item = s.scalar(select(Item).join(Task, Task.item_id == Item.id).where(Task.id == target["task"]))
        assert item.is_gold and item.gold_answer["label"] == target["result"]["label"]
    core.ledger.count_kind(gold.PROMOTED_KIND)
    with core.sessions() as s:
        leaves = [json.loads(e.leaf)["data"] for e in s.scalars(select(LedgerEntry)
                                                                .where(LedgerEntry.kind == gold.PROMOTED_KIND))]
    assert [(x["annotation"], x["by"], x["answer"]) for x in leaves] == [
        (target["annotation"], "ann4", target["result"])]
    # The promoted task now reaches the other annotator too, and their answer is scored; the
    # annotator whose answer became gold is not scored on it.
    other = "ann8" if target["annotator"] == "ann" else "ann"
    cover(A3=True)
    r = c.post(nxt, headers=as_user(other, A1 if other == "ann" else A2))
    assert r.status_code == 200 and r.json()["task"] == target["task"]
    cover(A3=True)
    c.post(f"/api/work/tasks/{target['task']}/submit", headers=as_user(other, A1 if other == "ann" else A2),
           json={"result": {"label": "pos"}})
    with core.sessions() as s:
        acc = {f["username"]: f["total"] for f in gold.annotator_gold_accuracy(s, pid).values()}
    assert acc == {target["annotator"]: 1, other: 2}
    # A gold task is never queued for review.
    cover(A3=True)
    assert target["task"] not in [a["task"] for a in c.get(f"/api/projects/{pid}/review/queue", headers=rev).json()]


def test_a_jsonl_import_carries_gold_answers(rig):  # noqa: F811 - the imported fixture
    c, core, pid, users, as_user, cover, passes = rig
    off = {"Authorization": as_user("off")["Authorization"]}
    lines = [{"text": "a gold one", "gold": {"label": "pos"}}, {"text": "an ordinary one"},
             {"text": "a bad gold", "gold": "pos"}]
    body = "".join(json.dumps(x) + "\n" for x in lines[:2]).encode()
    r = c.post(f"/api/projects/{pid}/datasets", headers=off, files={"file": ("g.jsonl", body)})
    assert r.status_code == 202, r.text
    bad = c.post(f"/api/projects/{pid}/datasets", headers=off,
                 files={"file": ("bad.jsonl", (json.dumps(lines[2]) + "\n").encode())})
    assert bad.status_code == 202
    for ds in (r.json()["dataset_id"], bad.json()["dataset_id"]):
        wait_for(lambda: c.get(f"/api/projects/{pid}/datasets/{ds}", headers=off).json()["status"] != "importing",
                 timeout=120, what="the import to finish")
    got = c.get(f"/api/projects/{pid}/datasets/{bad.json()['dataset_id']}", headers=off).json()
    assert got["refused"] == [{"file": "bad.jsonl", "reason": "bad_json", "line": 1}]
    with core.sessions() as s:
        items = {i.meta.get("line"): (i.is_gold, i.gold_answer) for i in s.scalars(
            select(Item).where(Item.dataset_id == r.json()["dataset_id"]))}
    assert items == {1: (True, {"label": "pos"}), 2: (False, None)}
