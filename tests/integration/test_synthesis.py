"""Synthesis through the API, on SQLite and PostgreSQL: speech read by espeak-ng from a text
project's sentences becomes gold speech whose transcript, typed by a simulated annotator with a
known number of errors through the real work API, scores exactly the error rate expected; a
flipped image keeps its boxes exactly and its pixels mirror the source's; every item made has
its ledger leaf with the recipe; exports mark the items made; a request that cannot run is
refused whole, and a source a recipe cannot use is refused by name while the run goes on."""
from __future__ import annotations

import io
import json
import os
import random
import shutil
import zipfile
from fractions import Fraction

import pytest
from PIL import Image
from sqlalchemy import select

from annotation.export_bundle import verify_export_bundle
from annotation.quality.speech_metrics import tokens, transcript_batch
from annotation.versions import LEAF_KIND, Version
from controller.annotation_tables import Annotation, Item, Task
from controller.content_store import ContentStore
from controller.ingest import customer_ids, store_events
from controller.models import Agent, LedgerEntry, Role, User, utcnow
from controller.services.synthesis import ITEM_KIND
from controller.services.users import create_user
from controller.sites import apply_site_config
from edge_agent.wire.messages import Event
from edge_agent.wire.site import parse_site_text
from tests.conftest import DEMO_SITE, app_with_demo_site, serve, wait_for

A1 = "10.110.0.11"  # acme's seat A1, whose workstation the site file names
SENTENCES = [  # (text, reference tokens by hand: Chinese by character, English by word)
    ("今天天气很好。", 6), ("我们明天去北京。", 7), ("The weather is fine today.", 5)]

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")


@pytest.fixture
def rig(tmp_path, database_url, monkeypatch):
    monkeypatch.setenv("SITEGUARD_TRUSTED_PROXIES", "127.0.0.1")
    app, site_id, agent_id = app_with_demo_site(tmp_path, database_url)
    core = app.state.core
    with core.sessions() as s:
        apply_site_config(s, parse_site_text(DEMO_SITE.read_text().replace("    user: annotator\n",
                                                                           "    user: ann\n")))
        ids = customer_ids(s)
        users = {name: create_user(s, core.ledger, name, f"{name}-pass-1", role, ids.get(customer), "test").id
                 for name, role, customer in (("off", Role.officer, None), ("ann", Role.annotator, None),
                                              ("acme1", Role.customer, "acme"))}
        at = utcnow().isoformat()  # ann (p-003) walks in through the gate
        store_events(s, agent_id, site_id, [Event(seq=1, ts=at, kind="gate.passage", data={
            "gate": "gate-main", "at": at, "direction": "entry", "person": "p-003", "cause": "grant",
            "area_to": "floor3"})], customer_ids(s))
        s.commit()

    def cover() -> None:
        with core.sessions() as s:
            agent = s.get(Agent, agent_id)
            agent.status = {"seats": {k: {"covered": True, "reasons": []} for k in ("A1", "A2", "B1")}}
            agent.last_seen_at = utcnow()
            s.commit()

    with serve(app, database_url, client=("127.0.0.1", 50000)) as c:
        def as_user(name: str) -> dict:
            token = c.post("/api/auth/token", json={"username": name, "password": f"{name}-pass-1"}).json()["token"]
            return {"Authorization": f"Bearer {token}", "X-Forwarded-For": A1}
        yield c, core, ids, users, as_user, cover


def _project(c, headers, customer_id: int, slug: str, modality: str, schema: dict) -> int:
    r = c.post("/api/projects", headers=headers, json={
        "customer_id": customer_id, "slug": slug, "name": slug, "modality": modality, "label_schema": schema,
        "annotators_per_task": 1})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _import(c, headers, project_id: int, name: str, data: bytes) -> dict:
    r = c.post(f"/api/projects/{project_id}/datasets", headers=headers, files={"file": (name, data)})
    assert r.status_code == 202, r.text
    ds = r.json()["dataset_id"]
    return wait_for(lambda: (lambda d: d if d["status"] != "importing" else None)(
        c.get(f"/api/projects/{project_id}/datasets/{ds}", headers=headers).json()), timeout=120, what="import")


def _synthesise(c, headers, project_id: int, body: dict) -> dict:
    r = c.post(f"/api/projects/{project_id}/synthesis", headers=headers, json=body)
    assert r.status_code == 202, r.text
    ds = r.json()["dataset_id"]
    return wait_for(lambda: (lambda got: got if got["dataset"]["status"] != "importing" else None)(
        c.get(f"/api/projects/{project_id}/synthesis/{ds}", headers=headers).json()), timeout=180, what="synthesis")


def _leaves(core, kind: str) -> list[dict]:
    core.ledger.integrate_all()
    with core.sessions() as s:
        return [json.loads(x)["data"] for x in s.scalars(select(LedgerEntry.leaf).where(LedgerEntry.kind == kind)
                                                          .order_by(LedgerEntry.index))]


def _typo(text: str, errors: int, rng: random.Random) -> str:
    """The text with ``errors`` of its Chinese characters (or English words) replaced by others."""
    if any("\u4e00" <= ch <= "\u9fff" for ch in text):
        at = rng.sample([i for i, ch in enumerate(text) if "\u4e00" <= ch <= "\u9fff"], errors)
        return "".join(("错" if ch != "错" else "对") if i in at else ch for i, ch in enumerate(text))
    words = text.split(" ")
    for i in rng.sample(range(len(words)), errors):
        words[i] = "zzz"
    return " ".join(words)


def _bundle_files(bundle: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(bundle)) as z:
        return {n: z.read(n) for n in z.namelist()}


@needs_espeak
def test_speech_from_text_is_gold_and_a_typed_transcript_scores_as_expected(rig):
    c, core, ids, users, as_user, cover = rig
    off = as_user("off")
    texts = _project(c, off, ids["acme"], "sentences", "text", {"kind": "classification", "labels": ["a", "b"]})
    speech = _project(c, off, ids["acme"], "speech", "audio", {"kind": "transcript", "labels": []})
    assert c.post(f"/api/projects/{speech}/members", headers=off, json={"user_id": users["ann"]}).status_code == 201
    lines = "".join(json.dumps({"id": f"s{n}", "text": t}, ensure_ascii=False) + "\n"
                    for n, (t, _) in enumerate(SENTENCES))
    assert _import(c, off, texts, "sentences.jsonl", lines.encode())["items_added"] == 3

    # Refused whole, nothing made: speech needs a text source; customers may not synthesise.
    r = c.post(f"/api/projects/{speech}/synthesis", headers=off, json={"recipe": {"kind": "speech_from_text"}})
    assert r.status_code == 422 and "name a text project as source_project" in r.text
    r = c.post(f"/api/projects/{speech}/synthesis", headers=as_user("acme1"),
               json={"recipe": {"kind": "speech_from_text"}, "source_project": texts})
    assert r.status_code == 403
    r = c.post(f"/api/projects/{speech}/synthesis", headers=off,
               json={"recipe": {"kind": "speech_from_text", "rate": 5}, "source_project": texts})
    assert r.status_code == 422 and "rate must be" in r.text

    run = _synthesise(c, off, speech, {"recipe": {"kind": "speech_from_text"}, "source_project": texts})
    assert run["dataset"]["status"] == "done" and run["dataset"]["items_added"] == 3, run
    assert run["dataset"]["files_done"] == run["dataset"]["files_total"] == 3
    made = run["made"]
    with core.sessions() as s:
        sources = {i.id: i for i in s.scalars(select(Item).where(Item.project_id == texts))}
    store = ContentStore(core.settings.data_dir)
    for m in made:
        src = sources[m["source_item"]]
        text = store.read_bytes(src.sha256).decode()
        assert m["is_gold"] and m["media_type"] == "audio/wav" and m["recipe"] == {
            "kind": "speech_from_text", "lang": "auto", "rate": 150}
        assert m["gold_answer"] == {"segments": [{"start": 0.0, "end": m["meta"]["duration_s"], "text": text,
                                                  "speaker": None}]}
        assert store.read_bytes(m["sha256"])[:4] == b"RIFF" and m["meta"]["sample_rate"] == 16000
    leaves = _leaves(core, ITEM_KIND)
    assert sorted((x["item"], x["source_item"], x["source_sha256"], x["sha256"]) for x in leaves) == sorted(
        (m["id"], m["source_item"], sources[m["source_item"]].sha256, m["sha256"]) for m in made)
    assert all(x["recipe"]["kind"] == "speech_from_text" and x["gold"] and x["by"] == "off" for x in leaves)

    # The simulated annotator hears each clip through the work API and types it with a known
    # number of errors: 1 in the first sentence, 2 in the second, 1 (word) in the third.
    errors = {SENTENCES[0][0]: 1, SENTENCES[1][0]: 2, SENTENCES[2][0]: 1}
    rng = random.Random(5)
    for _ in range(3):
        cover()
        task = c.post(f"/api/work/projects/{speech}/next", headers=as_user("ann"))
        assert task.status_code == 200, task.text
        tid = task.json()["task"]
        assert "gold" not in task.text and "speech_from_text" not in task.text  # gold stays hidden
        clip = c.get(f"/api/work/tasks/{tid}/content", headers=as_user("ann"))
        assert clip.status_code == 200 and clip.content[:4] == b"RIFF"
        with core.sessions() as s:
            gold = s.get(Item, s.get(Task, tid).item_id).gold_answer
        heard = gold["segments"][0]["text"]
        typed = {"segments": [{"start": 0.0, "end": gold["segments"][0]["end"],
                               "text": _typo(heard, errors[heard], rng), "speaker": None}]}
        r = c.post(f"/api/work/tasks/{tid}/submit", headers=as_user("ann"), json={"result": typed})
        assert r.status_code == 200, r.text
    with core.sessions() as s:
        pairs = [(s.get(Item, s.get(Task, a.task_id).item_id).gold_answer, a.result)
                 for a in s.scalars(select(Annotation).where(Annotation.project_id == speech))]
    score = transcript_batch(pairs)
    assert [len(tokens(t)) for t, _ in SENTENCES] == [n for _, n in SENTENCES]
    assert Fraction(score.edits.errors, score.edits.reference_length) == Fraction(1 + 2 + 1, 6 + 7 + 5)
    assert score.accuracy == pytest.approx(1 - 4 / 18)
    zh = transcript_batch([(g, r) for g, r in pairs if "weather" not in g["segments"][0]["text"]], unit="char")
    assert zh.rate == pytest.approx(3 / 13)

    # The NeMo export marks each line synthetic, with its source and recipe, and verifies.
    core.ledger.integrate_all()
    r = c.post(f"/api/projects/{speech}/exports", params={"format": "nemo"}, headers=off)
    assert r.status_code == 200, r.text
    files = _bundle_files(r.content)
    rows = [json.loads(x) for x in files["manifest.json"].splitlines()]
    by_id = {m["sha256"]: m for m in made}
    items = [json.loads(x) for x in files["items.jsonl"].splitlines()]
    assert len(rows) == 3 and {i["sha256"] for i in items} == set(by_id)
    for item in items:
        m = by_id[item["sha256"]]
        assert item["synthetic"] == {"source": {"item": m["source_item"], "sha256": sources[m["source_item"]].sha256},
                                     "recipe": m["recipe"]}
    assert all(row["synthetic"]["recipe"]["kind"] == "speech_from_text" for row in rows)
    key = bytes.fromhex(c.get("/api/ledger/checkpoint", headers=off).json()["public_key"])
    report = verify_export_bundle(r.content, key)
    assert report.ok, report.problems

    # Text variations from templates, in the text project: the source's text where reported.
    run = _synthesise(c, off, texts, {"items": [min(sources)], "recipe": {
        "kind": "text_template", "templates": ["{who}说：{source}"], "slots": {"who": ["王芳", "李雷"]},
        "variants": 2, "seed": 1}})
    assert run["dataset"]["status"] == "done"
    for m in run["made"]:
        body = store.read_bytes(m["sha256"]).decode()
        assert body.endswith("说：" + SENTENCES[0][0]) and m["recipe"]["values"]["who"] in body
        assert m["source_item"] == min(sources) and not m["is_gold"]


def _png(size=(64, 48)) -> bytes:
    buf = io.BytesIO()
    Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3)).save(buf, "PNG")
    return buf.getvalue()


def test_a_flipped_image_keeps_exact_boxes_and_mirrored_pixels(rig):
    c, core, ids, users, as_user, cover = rig
    off = as_user("off")
    street = _project(c, off, ids["acme"], "street", "image", {"kind": "boxes", "labels": ["car", "person"]})
    assert _import(c, off, street, "cam.png", _png())["items_added"] == 1
    gold = {"boxes": [{"label": "car", "x": 10, "y": 5, "w": 30, "h": 20},
                      {"label": "person", "x": 0, "y": 0, "w": 64, "h": 48},
                      {"label": "person", "x": 60, "y": 40, "w": 4, "h": 8}]}
    with core.sessions() as s:
        source = s.scalar(select(Item).where(Item.project_id == street))
        source.is_gold, source.gold_answer = True, gold
        s.commit()
        source_id, source_sha = source.id, source.sha256

    run = _synthesise(c, off, street, {"items": [source_id], "recipe": {"kind": "image_flip"}})
    assert run["dataset"]["status"] == "done" and len(run["made"]) == 1, run
    m = run["made"][0]
    # By hand, on a 64 px wide image: x' = 64 - x - w.
    assert m["is_gold"] and m["gold_answer"] == {"boxes": [{"label": "car", "x": 24, "y": 5, "w": 30, "h": 20},
                                                           {"label": "person", "x": 0, "y": 0, "w": 64, "h": 48},
                                                           {"label": "person", "x": 0, "y": 40, "w": 4, "h": 8}]}
    assert m["source_item"] == source_id and m["recipe"] == {"kind": "image_flip", "direction": "horizontal"}
    assert m["meta"]["synthesis"] == {"source_item": source_id, "answer_from": "gold"}
    store = ContentStore(core.settings.data_dir)
    src = Image.open(io.BytesIO(store.read_bytes(source_sha))).convert("RGB")
    out = Image.open(io.BytesIO(store.read_bytes(m["sha256"]))).convert("RGB")
    w, h = src.size
    assert out.size == (w, h)
    assert all(out.getpixel((x, y)) == src.getpixel((w - 1 - x, y)) for x in range(w) for y in range(h))
    leaf = [x for x in _leaves(core, ITEM_KIND) if x["item"] == m["id"]]
    assert leaf and {"source_item": source_id, "source_sha256": source_sha, "sha256": m["sha256"],
                     "recipe": {"kind": "image_flip", "direction": "horizontal"}, "project": street,
                     "gold": True}.items() <= leaf[0].items()

    # A crop that does not fit is refused by item and reason; nothing else changes.
    with core.sessions() as s:
        before = len(s.scalars(select(Item.id).where(Item.project_id == street)).all())
    run = _synthesise(c, off, street, {"items": [source_id], "recipe": {
        "kind": "image_crop", "left": 50, "top": 0, "width": 40, "height": 10}})
    assert run["dataset"]["status"] == "done" and run["made"] == []
    assert [(x["item"], x["reason"]) for x in run["dataset"]["refused"]] == [(source_id, "crop_outside")]
    with core.sessions() as s:
        assert len(s.scalars(select(Item.id).where(Item.project_id == street)).all()) == before
    r = c.post(f"/api/projects/{street}/synthesis", headers=off, json={"items": [source_id],
                                                                       "recipe": {"kind": "audio_speed"}})
    assert r.status_code == 422 and "makes audio items" in r.text
    r = c.post(f"/api/projects/{street}/synthesis", headers=off, json={"items": [10**9],
                                                                       "recipe": {"kind": "image_flip"}})
    assert r.status_code == 422 and "not an item of project" in r.text

    # Someone boxes the flipped image; the COCO and YOLO exports mark it synthetic.
    with core.sessions() as s:
        task = s.scalar(select(Task).where(Task.item_id == m["id"]))
        ann = s.get(User, users["ann"])
        result = {"boxes": [{"label": "car", "x": 24, "y": 5, "w": 30, "h": 20}]}
        v = Version(project=street, task=task.id, item_sha256=m["sha256"], annotator=ann.username, seat="A1",
                    version=1, at="2026-12-07T10:00:01Z", result=result, prev_hash=None)
        row = Annotation(project_id=street, task_id=task.id, annotator_id=ann.id, version=1, result=result,
                         item_sha256=m["sha256"], seat="A1", prev_hash=None, hash=v.hash())
        s.add(row)
        s.flush()
        core.ledger.record(s, LEAF_KIND, v.leaf(row.id))
        s.commit()
    core.ledger.integrate_all()
    mark = {"source": {"item": source_id, "sha256": source_sha}, "recipe": m["recipe"]}
    r = c.post(f"/api/projects/{street}/exports", params={"format": "coco"}, headers=off)
    assert r.status_code == 200, r.text
    coco = json.loads(_bundle_files(r.content)["coco.json"])
    assert [(i["id"], i["synthetic"]) for i in coco["images"]] == [(m["id"], mark)]
    r = c.post(f"/api/projects/{street}/exports", params={"format": "yolo"}, headers=off)
    side = [json.loads(x) for x in _bundle_files(r.content)["yolo/synthetic.jsonl"].splitlines()]
    assert side == [{"image": m["source_name"].rsplit(".", 1)[0], "item": m["id"], "synthetic": mark}]
    key = bytes.fromhex(c.get("/api/ledger/checkpoint", headers=off).json()["public_key"])
    assert verify_export_bundle(r.content, key).ok
