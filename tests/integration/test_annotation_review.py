"""Reviews from the reviewer's side: only members with the review right, at a seat the site
allows, see the queue (never their own work); officers and the project's customer read an
annotation's versions, another customer's reads as missing; accept, reject and fix each leave a
ledger leaf; a reject puts the task back for one more annotator; a fix is the next version of
the annotator's chain."""
from __future__ import annotations

import json

from sqlalchemy import select, update

from annotation.versions import (
    LEAF_KIND,
    REVIEW_KIND,
    chain_problems,
    version_from_leaf,
)
from controller.annotation_tables import ProjectMember, Review, Task, TaskSlot
from controller.models import LedgerEntry
from tests.integration.test_annotation_work import A1, A2, rig  # noqa: F401 - rig is the fixture used here

A3 = "10.110.0.13"


def _leaves(core, kind: str) -> list[dict]:
    core.ledger.count_kind(kind)  # integrates what was queued
    with core.sessions() as s:
        return [json.loads(e.leaf)["data"] for e in s.scalars(select(LedgerEntry).where(LedgerEntry.kind == kind)
                                                               .order_by(LedgerEntry.index))]


def test_review_queue_versions_and_decisions(rig):  # noqa: F811 - the imported fixture
    c, core, pid, users, as_user, cover, passes = rig
    with core.sessions() as s:  # ann4 reviews (not yet a member); ann8 annotates and reviews
        s.add(ProjectMember(project_id=pid, user_id=users["ann4"], can_review=True, added_by="test"))
        s.execute(update(ProjectMember).where(ProjectMember.project_id == pid, ProjectMember.user_id == users["ann8"])
                  .values(can_review=True))
        s.commit()
    rev = as_user("ann4", A3)
    nxt = f"/api/work/projects/{pid}/next"
    cover(A3=True)
    tid = c.post(nxt, headers=as_user("ann")).json()["task"]
    one = c.post(f"/api/work/tasks/{tid}/submit", json={"result": {"label": "pos"}}, headers=as_user("ann")).json()
    assert c.post(nxt, headers=as_user("ann8", A2)).json()["task"] == tid
    eight = c.post(f"/api/work/tasks/{tid}/submit", json={"result": {"label": "neg"}},
                   headers=as_user("ann8", A2)).json()
    queue = f"/api/projects/{pid}/review/queue"

    # The queue: reviewers only, never their own work, and only where the site's policy allows.
    got = c.get(queue, headers=rev)
    assert got.status_code == 200, got.text
    assert [(a["annotation"], a["annotator"], a["result"]) for a in got.json()] == [
        (one["annotation"], "ann", {"label": "pos"}), (eight["annotation"], "ann8", {"label": "neg"})]
    assert [a["annotator"] for a in c.get(queue, headers=as_user("ann8", A2)).json()] == ["ann"]
    assert c.get(queue, headers=as_user("ann")).status_code == 403  # a member without the review right
    assert c.get(queue, headers=as_user("acme1")).status_code == 403  # not an annotator
    assert c.get(queue, headers=as_user("rival", "10.120.0.11")).status_code == 404  # another customer's project
    cover(A3=False)
    r = c.get(queue, headers=rev)
    assert r.status_code == 403 and r.json()["reasons"] == ["seat_not_covered"] and "pos" not in r.text
    r = c.post(f"/api/annotations/{one['annotation']}/review", json={"decision": "accept"}, headers=rev)
    assert r.status_code == 403 and r.json()["reasons"] == ["seat_not_covered"]
    passes("p-004", "outside")
    cover(A3=True)
    assert c.get(f"/api/annotations/{one['annotation']}/versions", headers=rev).json()["reasons"] == ["not_on_site"]
    passes("p-004", "floor3")

    # Versions: the reviewer, officers and the project's customer; another customer as missing.
    cover(A3=True)
    for who in (rev, as_user("off"), as_user("acme1")):
        v = c.get(f"/api/annotations/{one['annotation']}/versions", headers=who)
        assert v.status_code == 200, v.text
        assert [(x["version"], x["hash"]) for x in v.json()["versions"]] == [(1, one["hash"])]
    theirs = c.get(f"/api/annotations/{one['annotation']}/versions", headers=as_user("rival", "10.120.0.11"))
    missing = c.get("/api/annotations/999999/versions", headers=as_user("rival", "10.120.0.11"))
    assert theirs.status_code == missing.status_code == 404 and theirs.json() == missing.json()

    # Reject: a reason is required; the task wants one more annotator and is open again.
    review = f"/api/annotations/{one['annotation']}/review"
    assert c.post(review, json={"decision": "reject"}, headers=rev).status_code == 422
    assert c.post(f"/api/annotations/{eight['annotation']}/review", json={"decision": "accept"},
                  headers=as_user("ann8", A2)).status_code == 403  # nobody reviews their own work
    cover(A3=True)
    r = c.post(review, json={"decision": "reject", "reason": "label contradicts the text"}, headers=rev)
    assert r.status_code == 200, r.text
    assert r.json()["task_wanted"] == 3 and r.json()["task_status"] == "open" and r.json()["reopened_slot"] == 2
    assert c.post(review, json={"decision": "accept"}, headers=rev).status_code == 409  # decided already
    cover(A3=True)
    again = c.post(nxt, headers=as_user("ann4", A3)).json()  # someone new gets the freed place
    assert (again["task"], again["slot"]) == (tid, 2)
    cover()
    assert c.post(nxt, headers=as_user("ann")).json()["task"] != tid  # never back to the rejected annotator

    # Fix: the next version of ann8's chain, by the reviewer at the reviewer's seat.
    cover(A3=True)
    fix = c.post(f"/api/annotations/{eight['annotation']}/review",
                 json={"decision": "fix", "reason": "negated", "result": {"label": "pos"}}, headers=rev)
    assert fix.status_code == 200, fix.text
    assert fix.json()["fixed_version"] == 2
    cover(A3=True)
    v = c.get(f"/api/annotations/{eight['annotation']}/versions", headers=rev).json()
    assert [(x["version"], x["result"], x["seat"].split("/")[1]) for x in v["versions"]] == [
        (1, {"label": "neg"}, "A2"), (2, {"label": "pos"}, "A3")]
    assert v["versions"][1]["prev_hash"] == eight["hash"] and v["versions"][1]["hash"] == fix.json()["fixed_hash"]
    assert [(x["decision"], x["reviewer"], x["fixed_annotation"]) for x in v["reviews"]] == [
        ("fix", "ann4", fix.json()["fixed_annotation"])]
    assert c.post(f"/api/annotations/{eight['annotation']}/review", json={"decision": "accept"},
                  headers=rev).status_code == 409  # not the newest version any more
    assert c.post(f"/api/annotations/{eight['annotation']}/review", json={"decision": "fix"},
                  headers=rev).status_code == 422  # a fix needs its result
    cover(A3=True)
    assert c.get(queue, headers=rev).json() == []  # reviewed, and a fix is never queued

    # Accept ann4's own work on the reopened place, by the other reviewer; then the task is complete.
    cover(A3=True)
    mine = c.post(f"/api/work/tasks/{tid}/submit", json={"result": {"label": "pos"}}, headers=rev).json()
    assert mine["task_status"] == "complete"
    cover(A3=True)
    assert c.get(queue, headers=rev).json() == []  # one's own work is not one's to review
    ok = c.post(f"/api/annotations/{mine['annotation']}/review", json={"decision": "accept"},
                headers=as_user("ann8", A2))
    assert ok.status_code == 200, ok.text

    # Every decision is a ledger leaf naming the annotation's hash and the reviewer; the fixed
    # chain verifies from its leaves alone.
    leaves = _leaves(core, REVIEW_KIND)
    assert [(x["annotation"], x["hash"], x["reviewer"], x["decision"]) for x in leaves] == [
        (one["annotation"], one["hash"], "ann4", "reject"), (eight["annotation"], eight["hash"], "ann4", "fix"),
        (mine["annotation"], mine["hash"], "ann8", "accept")]
    assert leaves[0]["reason"] == "label contradicts the text" and leaves[1]["fixed_hash"] == fix.json()["fixed_hash"]
    chain = [version_from_leaf(x) for x in _leaves(core, LEAF_KIND) if x["task"] == tid and x["annotator"] == "ann8"]
    assert [v.version for v in chain] == [1, 2] and chain_problems(chain) == []
    with core.sessions() as s:
        assert s.scalar(select(Task.wanted).where(Task.id == tid)) == 3
        assert len(list(s.scalars(select(TaskSlot).where(TaskSlot.task_id == tid)))) == 3
        assert len(list(s.scalars(select(Review)))) == 3


def test_the_reviewer_reads_the_content_compares_versions_and_is_asked_again(rig, tmp_path):  # noqa: F811
    c, core, pid, users, as_user, cover, passes = rig
    with core.sessions() as s:
        s.add(ProjectMember(project_id=pid, user_id=users["ann4"], can_review=True, added_by="test"))
        s.commit()
    rev = as_user("ann4", A3)
    nxt = f"/api/work/projects/{pid}/next"
    cover(A3=True)
    tid = c.post(nxt, headers=as_user("ann")).json()["task"]
    one = c.post(f"/api/work/tasks/{tid}/submit", json={"result": {"label": "pos"}}, headers=as_user("ann")).json()
    two = c.post(f"/api/work/tasks/{tid}/submit", json={"result": {"label": "neg"}}, headers=as_user("ann")).json()
    assert c.post(nxt, headers=as_user("ann8", A2)).json()["task"] == tid
    eight = c.post(f"/api/work/tasks/{tid}/submit", json={"result": {"label": "neg"}},
                   headers=as_user("ann8", A2)).json()

    # The heartbeat: the policy's answer and the seat, to reviewers only.
    cover(A3=True)
    beat = c.post(f"/api/projects/{pid}/review/heartbeat", headers=rev).json()
    assert beat["allowed"] is True and beat["reasons"] == [] and beat["seat"].endswith("/A3")
    assert c.post(f"/api/projects/{pid}/review/heartbeat", headers=as_user("ann")).status_code == 403
    cover(A3=False)
    beat = c.post(f"/api/projects/{pid}/review/heartbeat", headers=rev).json()
    assert beat["allowed"] is False and beat["reasons"] == ["seat_not_covered"]

    # The content: the reviewer while the site allows; nobody without the review right.
    content = f"/api/annotations/{two['annotation']}/content"
    r = c.get(content, headers=rev)
    assert r.status_code == 403 and r.json()["reasons"] == ["seat_not_covered"]
    cover(A3=True)
    r = c.get(content, headers=rev)
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store" and r.content
    assert c.get(content, headers=as_user("ann8", A2)).status_code == 403
    assert c.get(content, headers=as_user("off")).status_code == 403

    # The versions: the chain and the other annotators' work on the task.
    cover(A3=True)
    v = c.get(f"/api/annotations/{two['annotation']}/versions", headers=rev).json()
    assert [x["annotation"] for x in v["versions"]] == [one["annotation"], two["annotation"]]
    assert [(x["annotation"], x["annotator"]) for x in v["others"]] == [(eight["annotation"], "ann8")]
    assert v["kind"] == "classification"

    # The diff: any two versions of the task, in the task's terms; against nothing: all added.
    cover(A3=True)
    d = c.get(f"/api/annotations/{two['annotation']}/diff", params={"against": one["annotation"]}, headers=rev).json()
    assert (d["old"]["annotation"], d["new"]["annotation"]) == (one["annotation"], two["annotation"])
    assert [(i["op"], i["old"], i["new"]) for i in d["diff"]["items"]] == [("added", None, "neg"), ("removed", "pos", None)]
    cover(A3=True)
    d = c.get(f"/api/annotations/{eight['annotation']}/diff", params={"against": two["annotation"]}, headers=rev).json()
    assert d["diff"]["same"] is True
    cover(A3=True)
    d = c.get(f"/api/annotations/{one['annotation']}/diff", headers=rev).json()
    assert d["old"] is None and d["diff"]["counts"]["added"] == 1
    d = c.get(f"/api/annotations/{one['annotation']}/diff", params={"against": 999999}, headers=as_user("off"))
    assert d.status_code == 404
