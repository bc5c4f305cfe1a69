"""A simulated crowd on a text classification project with gold, through the real API.

Three annotators with known error rates (2 %, 5 %, 20 %) read each task's content and label it,
wrong at their rate (a fixed draw per annotator and item, so the run is the same every time; the
server's gold draws are fixed by SITEGUARD_GOLD_SEED). Gold is served to each of them once,
hidden among the ordinary tasks. Then: each one's measured accuracy interval on gold holds their
true accuracy; the 20 % annotator is paused, /next refuses them with `paused_for_quality`, and
an officer lifts it (ledgered); a release asked by the customer is refused, naming how many more
items to review, until a reviewer has reviewed enough of the sampled work, and is then granted;
the export carries the granted release with its ledger proof."""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import time
import zipfile

import pytest
from sqlalchemy import select

from annotation.export_bundle import RELEASE, verify_export_bundle
from controller.annotation_tables import Item, Task
from controller.models import Customer, LedgerEntry, Person
from controller.services import gold
from controller.services.work import content_path
from tests.conftest import wait_for
from tests.integration.test_annotation_work import A1, A2, rig  # noqa: F401 - rig is the fixture used here

A3 = "10.110.0.13"
SEED = "crowd-seed-8"
ERROR = {"ann": 0.02, "ann8": 0.05, "ann5": 0.20}
SEAT = {"ann": A1, "ann8": A2, "ann5": A2}
GOLD, ORDINARY = 60, 300
TARGET, SHARE = 0.90, 0.2


def _u(*parts: object) -> float:
    return int(hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()[:16], 16) / 2 ** 64


def _truth(text: str) -> str:
    return "pos" if _u(SEED, "truth", text) < 0.5 else "neg"


def _answer(annotator: str, text: str) -> str:
    """What the annotator labels: the truth, or the other label at their error rate."""
    right = _truth(text)
    if _u(SEED, annotator, text) < ERROR[annotator]:
        return "neg" if right == "pos" else "pos"
    return right


@pytest.fixture
def gold_seed(monkeypatch):
    monkeypatch.setenv("SITEGUARD_GOLD_SEED", SEED)


def _leaves(core, kind: str) -> list[dict]:
    core.ledger.count_kind(kind)  # integrates what was queued
    with core.sessions() as s:
        return [json.loads(e.leaf)["data"] for e in s.scalars(select(LedgerEntry).where(LedgerEntry.kind == kind)
                                                               .order_by(LedgerEntry.index))]


def test_a_simulated_crowd_is_measured_paused_and_released(gold_seed, rig):  # noqa: F811 - the imported fixture
    c, core, _, users, as_user, cover, passes = rig
    off = {"Authorization": as_user("off")["Authorization"]}
    with core.sessions() as s:
        acme = s.scalar(select(Customer.id).where(Customer.slug == "acme"))
        ann5 = s.scalar(select(Person.id).where(Person.person == "p-005"))
    today = dt.date.today()
    r = c.post(f"/api/people/{ann5}/training", headers=off,
               json={"completed": today.isoformat(), "expires": (today + dt.timedelta(days=365)).isoformat()})
    assert r.status_code == 201, r.text

    # The project, with gold imported with its answers, and its members.
    r = c.post("/api/projects", headers=off, json={
        "customer_id": acme, "slug": "crowd", "name": "Crowd", "modality": "text",
        "label_schema": {"kind": "classification", "labels": ["pos", "neg"]}, "annotators_per_task": 1,
        "gold_share": SHARE, "accuracy_target": TARGET})
    assert r.status_code == 201, r.text
    pid = r.json()["id"]
    lines = [{"text": f"gold review number {i}", "gold": {"label": _truth(f"gold review number {i}")}}
             for i in range(GOLD)] + [{"text": f"customer review number {i}"} for i in range(ORDINARY)]
    r = c.post(f"/api/projects/{pid}/datasets", headers=off,
               files={"file": ("batch.jsonl", "".join(json.dumps(x) + "\n" for x in lines).encode())})
    assert r.status_code == 202, r.text
    ds = r.json()["dataset_id"]
    wait_for(lambda: c.get(f"/api/projects/{pid}/datasets/{ds}", headers=off).json()["status"] != "importing",
             timeout=120, what="the import to finish")
    assert c.get(f"/api/projects/{pid}/datasets/{ds}", headers=off).json()["items_added"] == GOLD + ORDINARY
    for name in (*ERROR, "ann4"):
        r = c.post(f"/api/projects/{pid}/members", headers=off,
                   json={"user_id": users[name], "can_review": name == "ann4"})
        assert r.status_code == 201, r.text

    # The crowd works in turns until nothing is left for anyone.
    last_cover = 0.0

    def fresh() -> None:
        nonlocal last_cover
        if time.monotonic() - last_cover > 3:
            cover(A3=True)
            last_cover = time.monotonic()

    refused: dict[str, list[str]] = {}
    done_by: dict[str, int] = {name: 0 for name in ERROR}
    active = list(ERROR)
    while active:
        for name in list(active):
            fresh()
            head = as_user(name, SEAT[name])
            r = c.post(f"/api/work/projects/{pid}/next", headers=head)
            if r.status_code == 204:
                active.remove(name)
                continue
            if r.status_code == 403:
                refused[name] = r.json()["reasons"]
                active.remove(name)
                continue
            assert r.status_code == 200, r.text
            task = r.json()
            assert "gold" not in r.text and "batch.jsonl" not in r.text
            # the same keys for gold and ordinary work (watermark: None at a seat, the remote text otherwise)
            assert set(task) == {"task", "project", "slot", "state", "reserved_until", "seat", "item", "content",
                                 "watermark"}
            assert task["slot"] == 0  # a gold place reads like any of the k
            text = c.get(task["content"], headers=head).text
            sub = c.post(f"/api/work/tasks/{task['task']}/submit", headers=head,
                         json={"result": {"label": _answer(name, text)}})
            assert sub.status_code == 200, sub.text
            assert (sub.json()["task_submitted"], sub.json()["task_status"]) == (1, "complete")
            done_by[name] += 1

    # Measured accuracy on gold: every interval holds the annotator's true accuracy; the two
    # who never stopped answered every gold item once.
    with core.sessions() as s:
        measured = gold.annotator_gold_accuracy(s, pid)
    by_name = {f["username"]: f for f in measured.values()}
    for name, rate in ERROR.items():
        f = by_name[name]
        assert f["low"] <= 1 - rate <= f["high"], (name, f)
    assert by_name["ann"]["total"] == by_name["ann8"]["total"] == GOLD
    assert by_name["ann5"]["total"] < GOLD

    # The 20 % annotator is paused, with the reason shown by /next; nobody else is.
    assert refused == {"ann5": ["paused_for_quality"]}
    assert (by_name["ann5"]["state"], by_name["ann5"]["paused"]) == ("paused", True)
    assert not by_name["ann"]["paused"] and not by_name["ann8"]["paused"]
    pauses = c.get(f"/api/projects/{pid}/pauses", headers=off).json()
    assert [(p["annotator"], p["lifted_at"]) for p in pauses] == [("ann5", None)]
    assert "under the project's target" in pauses[0]["reason"] and pauses[0]["figures"]["high"] < TARGET
    assert c.get(f"/api/projects/{pid}/pauses", headers=as_user("acme1")).status_code == 200  # the customer reads
    # Only an officer lifts it, with a note; then /next serves ann5 again.
    lift = f"/api/projects/{pid}/pauses/{users['ann5']}/lift"
    assert c.post(lift, headers=as_user("acme1"), json={"note": "x"}).status_code == 403
    assert c.post(lift, headers=off, json={"note": ""}).status_code == 422
    r = c.post(lift, headers=off, json={"note": "retrained on the label guide"})
    assert r.status_code == 200, r.text
    assert r.json()[0]["lifted_by"] == "off" and r.json()[0]["lift_note"] == "retrained on the label guide"
    assert c.post(lift, headers=off, json={"note": "again"}).status_code == 404  # nothing open any more
    fresh()
    assert c.post(f"/api/work/projects/{pid}/next", headers=as_user("ann5", A2)).status_code in (200, 204)
    assert [(x["annotator"], x["by"]) for x in _leaves(core, "quality.paused")] == [("ann5", "quality")]
    assert [(x["annotator"], x["by"]) for x in _leaves(core, "quality.pause_lifted")] == [("ann5", "off")]

    # The release: refused until enough review is done, naming what is missing.
    customer = {"Authorization": as_user("acme1")["Authorization"]}
    first = c.post(f"/api/projects/{pid}/releases", headers=customer, json={})
    assert first.status_code == 201, first.text
    first = first.json()
    assert first["granted"] is False and first["figures"]["overall"]["low"] < TARGET
    promised = first["figures"]["overall"]["more_needed"]
    assert promised > 0 and first["missing"][0] == f"review {promised} more items"
    assert first["figures"]["overall"]["delivered"] == ORDINARY
    assert first["figures"]["overall"]["sample_total"] == sum(f["total"] for f in by_name.values())
    assert set(first["plan"]["annotators"]) == set(ERROR)

    rev = as_user("ann4", A3)
    reviewed, releases = 0, [first]
    queue = f"/api/projects/{pid}/review/queue"
    while not releases[-1]["granted"]:
        fresh()
        batch = c.get(queue, headers=rev).json()
        assert batch, f"the sampled work ran out after {reviewed} reviews: {releases[-1]}"
        assert all(a["annotator"] in ERROR for a in batch)
        for a in batch[:25]:
            fresh()
            right = a["result"]["label"] == _truth_of(core, a["task"])
            body = {"decision": "accept"} if right else {
                "decision": "fix", "reason": "the label contradicts the text",
                "result": {"label": _truth_of(core, a["task"])}}
            assert c.post(f"/api/annotations/{a['annotation']}/review", headers=rev, json=body).status_code == 200
            reviewed += 1
        r = c.post(f"/api/projects/{pid}/releases", headers=off, json={})
        assert r.status_code == 201, r.text
        releases.append(r.json())
    granted = releases[-1]
    assert len(releases) > 2
    assert granted["figures"]["overall"]["low"] >= TARGET and granted["missing"] == []
    assert granted["figures"]["overall"]["checked_right"] == reviewed  # accepted or fixed
    assert granted["figures"]["overall"]["sample_total"] == first["figures"]["overall"]["sample_total"] + reviewed
    listed = c.get(f"/api/projects/{pid}/releases", headers=customer).json()
    assert [x["release"] for x in listed] == [x["release"] for x in reversed(releases)]
    decided = _leaves(core, "release.decided")
    assert [(x["release"], x["granted"]) for x in decided] == [(x["release"], x["granted"]) for x in releases]
    assert decided[-1]["figures"] == granted["figures"] and decided[-1]["plan"] == granted["plan"]

    # The export carries the granted release, proven in the ledger.
    core.ledger.integrate_all()
    r = c.post(f"/api/projects/{pid}/exports", headers=customer)
    assert r.status_code == 200, r.text
    report = verify_export_bundle(r.content, core.ledger.public_key)
    assert report.ok, report.problems
    carried = json.loads(zipfile.ZipFile(io.BytesIO(r.content)).read(RELEASE))
    assert carried["entry"]["data"]["release"] == granted["release"]
    assert carried["entry"]["data"]["figures"] == granted["figures"]


def _truth_of(core, task_id: int) -> str:
    """The truth of a task's item, from its stored text."""
    with core.sessions() as s:
        sha = s.scalar(select(Item.sha256).join(Task, Task.item_id == Item.id).where(Task.id == task_id))
    return _truth(content_path(core.settings.data_dir, sha).read_text())
