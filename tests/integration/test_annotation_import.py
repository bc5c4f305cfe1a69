"""Projects and imports over the API, on SQLite and PostgreSQL: one zip of good and bad files
goes into a text, an audio and an image project; each good file of the project's medium comes
in (audio as 16 kHz mono WAV, images without EXIF, text normalised and masked), every bad one is
refused by name and reason, duplicates are counted once; another customer sees none of it, and
a server-side import cannot reach outside the import folder."""
from __future__ import annotations

import io
import json
import os
import subprocess
import wave
import zipfile

import pytest
from PIL import Image

from controller.annotation_tables import Item, Task, TaskSlot
from controller.content_store import ContentStore
from controller.ingest import customer_ids
from controller.models import Role
from controller.services.users import create_user
from tests.conftest import app_with_demo_site, serve, wait_for

LINE_LIMIT = 4096
PII = "张三 身份证 11010519491231002X 电话 13812345678"


def _ffmpeg_tone(tmp_path, name: str) -> bytes:
    out = tmp_path / name
    subprocess.run(["/usr/bin/ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i",
                    "sine=frequency=440:duration=1.5", "-ar", "44100", "-ac", "2", str(out)], check=True, timeout=60)
    return out.read_bytes()


def _noise(mode: str = "RGB", size=(48, 32)) -> Image.Image:
    return Image.frombytes(mode, size, os.urandom(size[0] * size[1] * len(mode)))


def _jpeg_with_gps() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "SpyCam"  # Make
    exif[0x8825] = {1: "N", 2: (39.0, 54.0, 27.0), 3: "E", 4: (116.0, 23.0, 17.0)}  # GPS IFD
    buf = io.BytesIO()
    _noise().save(buf, "JPEG", exif=exif)
    return buf.getvalue()


def _png(truncate: bool = False) -> bytes:
    buf = io.BytesIO()
    _noise().save(buf, "PNG")
    data = buf.getvalue()
    return data[:len(data) // 2] if truncate else data


def _mixed_zip(tmp_path) -> bytes:
    mp3 = _ffmpeg_tone(tmp_path, "t.mp3")
    jpeg = _jpeg_with_gps()
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as z:
        z.writestr("x.txt", "inside")
    files = {
        "texts/data.jsonl": "\n".join(json.dumps({"text": t, "id": i}, ensure_ascii=False) for i, t in enumerate(
            [PII, "ＡＢＣ１２３ mail li.wei@example.com", "plain", "plain"])) + "\n",
        "texts/rows.csv": "id,text\n1,hello csv\n2,plain\n",
        "texts/notes.txt": "\ufeffA whole note.\nSecond line.\n",
        "texts/latin1.txt": "café crème\n".encode("latin-1"),
        "texts/long.txt": "x" * (LINE_LIMIT * 3) + "\n",
        "bomb.txt": b"\0" * (20 << 20),
        "../evil.txt": "escape",
        "inner.zip": inner.getvalue(),
        "audio/tone.mp3": mp3,
        "audio/tone-copy.mp3": mp3,
        "audio/tone.flac": _ffmpeg_tone(tmp_path, "t.flac"),
        "audio/broken.wav": b"RIFF\x24\x10\x00\x00WAVEfmt " + os.urandom(600),
        "images/photo.jpg": jpeg,
        "images/again.jpg": jpeg,
        "images/pic.png": _png(),
        "images/cut.png": _png(truncate=True),
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buf.getvalue()


@pytest.fixture
def api(tmp_path, database_url, monkeypatch):
    monkeypatch.setenv("SITEGUARD_IMPORT_MAX_LINE_BYTES", str(LINE_LIMIT))  # both the app and a served one
    app, _, _ = app_with_demo_site(tmp_path, database_url)
    core = app.state.core
    with core.sessions() as s:
        ids = customer_ids(s)
        for user, role, customer in (("off", Role.officer, None), ("acme1", Role.customer, "acme"),
                                     ("bor1", Role.customer, "borealis"), ("ann1", Role.annotator, None)):
            create_user(s, core.ledger, user, f"{user}-pass-1", role, ids.get(customer), "test")
        s.commit()
    with serve(app, database_url) as c:
        def as_user(name: str) -> dict:
            token = c.post("/api/auth/token", json={"username": name, "password": f"{name}-pass-1"}).json()["token"]
            return {"Authorization": f"Bearer {token}"}
        yield c, as_user, core, ids


def _project(c, headers, customer_id: int, slug: str, modality: str, schema: dict, k: int = 1,
             mask: bool = False) -> dict:
    r = c.post("/api/projects", headers=headers, json={
        "customer_id": customer_id, "slug": slug, "name": slug.title(), "modality": modality, "label_schema": schema,
        "annotators_per_task": k, "mask_personal_data": mask})
    assert r.status_code == 201, r.text
    return r.json()


def _import(c, headers, project_id: int, name: str, data: bytes) -> dict:
    r = c.post(f"/api/projects/{project_id}/datasets", headers=headers, files={"file": (name, data)})
    assert r.status_code == 202, r.text
    ds = r.json()["dataset_id"]

    def finished():
        got = c.get(f"/api/projects/{project_id}/datasets/{ds}", headers=headers).json()
        return got if got["status"] != "importing" else None
    return wait_for(finished, timeout=120, what="the import to finish")


def _refused(ds: dict) -> dict[str, str]:
    return {r["file"]: r["reason"] for r in ds["refused"]}


COMMON_REFUSALS = {"bomb.txt": "zip_bomb", "../evil.txt": "unsafe_path", "inner.zip": "zip_nested"}
TEXTS = {"texts/data.jsonl", "texts/rows.csv", "texts/notes.txt", "texts/latin1.txt", "texts/long.txt"}
AUDIO = {"audio/tone.mp3", "audio/tone-copy.mp3", "audio/tone.flac", "audio/broken.wav"}
IMAGES = {"images/photo.jpg", "images/again.jpg", "images/pic.png", "images/cut.png"}


def test_one_zip_into_text_audio_and_image_projects(api, tmp_path):
    c, as_user, core, ids = api
    off, acme = as_user("off"), as_user("acme1")
    blob = _mixed_zip(tmp_path)
    store = ContentStore(core.settings.data_dir)

    text = _project(c, off, ids["acme"], "chat", "text", {"kind": "classification", "labels": ["ok", "spam"]},
                    k=3, mask=True)
    ds = _import(c, acme, text["id"], "mixed.zip", blob)  # the customer imports into its own project
    assert ds["status"] == "done" and ds["files_done"] == ds["files_total"] == 16 and ds["progress"] == 1.0
    assert _refused(ds) == {**COMMON_REFUSALS, "texts/latin1.txt": "bad_encoding", "texts/long.txt": "line_too_long",
                            **{n: "wrong_modality" for n in AUDIO | IMAGES}}
    assert [r.get("line") for r in ds["refused"] if r["file"] == "texts/long.txt"] == [1]
    assert ds["items_added"] == 5 and ds["duplicates"] == 2  # "plain" twice more
    items = c.get(f"/api/projects/{text['id']}/items", headers=acme, params={"per_page": 2}).json()
    assert items["total"] == 5 and len(items["items"]) == 2 and items["page"] == 1
    everything = c.get(f"/api/projects/{text['id']}/items", headers=off, params={"per_page": 50}).json()["items"]
    by_text = {store.read_bytes(i["sha256"]).decode(): i for i in everything}
    assert set(by_text) == {"张三 身份证 [ID] 电话 [PHONE]", "ABC123 mail [EMAIL]", "plain", "hello csv",
                            "A whole note.\nSecond line.\n"}
    pii = by_text["张三 身份证 [ID] 电话 [PHONE]"]
    assert pii["meta"]["masks"] == [{"kind": "id_number", "start": 7, "end": 11},
                                    {"kind": "phone", "start": 15, "end": 22}]
    assert pii["meta"]["source_id"] == "0" and pii["source_name"] == "texts/data.jsonl"
    with core.sessions() as s:
        from sqlalchemy import select
        tasks = list(s.scalars(select(Task).where(Task.project_id == text["id"])))
        slots = list(s.scalars(select(TaskSlot).where(TaskSlot.project_id == text["id"])))
        assert len(tasks) == 5 and all(t.wanted == 3 and t.status == "open" for t in tasks)
        assert sorted((sl.task_id, sl.slot) for sl in slots) == sorted((t.id, i) for t in tasks for i in range(3))
        assert all(sl.state == "free" and sl.annotator_id is None for sl in slots)

    audio = _project(c, off, ids["acme"], "calls", "audio", {"kind": "transcript"})
    ds = _import(c, off, audio["id"], "mixed.zip", blob)
    assert _refused(ds) == {**COMMON_REFUSALS, "audio/tone-copy.mp3": "duplicate", "audio/broken.wav": "corrupt_audio",
                            **{n: "wrong_modality" for n in TEXTS | IMAGES}}
    assert ds["items_added"] == 2 and ds["duplicates"] == 1
    for item in c.get(f"/api/projects/{audio['id']}/items", headers=off).json()["items"]:
        assert item["media_type"] == "audio/wav" and 1.45 < item["meta"]["duration_s"] < 1.6
        with wave.open(str(store.path(item["sha256"]))) as w:
            assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (16000, 1, 2)

    image = _project(c, off, ids["acme"], "photos", "image", {"kind": "boxes", "labels": ["car"]}, k=2)
    ds = _import(c, off, image["id"], "mixed.zip", blob)
    assert _refused(ds) == {**COMMON_REFUSALS, "images/again.jpg": "duplicate", "images/cut.png": "truncated_image",
                            **{n: "wrong_modality" for n in TEXTS | AUDIO}}
    assert ds["items_added"] == 2 and ds["duplicates"] == 1
    photos = {i["source_name"]: i for i in c.get(f"/api/projects/{image['id']}/items", headers=off).json()["items"]}
    assert set(photos) == {"images/photo.jpg", "images/pic.png"}
    with Image.open(store.path(photos["images/photo.jpg"]["sha256"])) as im:
        assert im.format == "JPEG" and im.size == (48, 32) and len(im.getexif()) == 0
        assert b"SpyCam" not in store.read_bytes(photos["images/photo.jpg"]["sha256"])

    # Importing the same zip again adds nothing: every good file is a duplicate now.
    again = _import(c, off, image["id"], "mixed.zip", blob)
    assert again["items_added"] == 0 and again["duplicates"] == 3
    assert core.ledger.count_kind("dataset.imported") == 4 and core.ledger.count_kind("project.created") == 3
    with core.sessions() as s:
        assert s.query(Item).count() == 9


def test_another_customer_sees_nothing_and_members_are_annotators(api):
    c, as_user, core, ids = api
    off, acme, bor = as_user("off"), as_user("acme1"), as_user("bor1")
    p = _project(c, off, ids["acme"], "secret", "text", {"kind": "spans", "labels": ["PER"]})
    ds = _import(c, off, p["id"], "a.jsonl", b'{"text": "hello"}\n')
    assert ds["items_added"] == 1
    assert [x["slug"] for x in c.get("/api/projects", headers=acme).json()] == ["secret"]
    assert c.get("/api/projects", headers=bor).json() == []
    for path in ("", "/items", f"/datasets/{ds['id']}", "/datasets"):
        r = c.get(f"/api/projects/{p['id']}{path}", headers=bor)
        missing = c.get(f"/api/projects/999999{path}", headers=bor)
        assert r.status_code == missing.status_code == 404 and r.json() == missing.json(), (path, r.text)
    r = c.post(f"/api/projects/{p['id']}/datasets", headers=bor, files={"file": ("b.jsonl", b'{"text": "x"}\n')})
    assert r.status_code == 404
    assert c.post("/api/projects", headers=acme, json={
        "customer_id": ids["acme"], "slug": "mine", "name": "Mine", "modality": "text",
        "label_schema": {"kind": "spans", "labels": ["X"]}}).status_code == 403
    # Members: annotators only, ledgered both ways.
    with core.sessions() as s:
        from controller.models import User
        ann = s.query(User).filter_by(username="ann1").one().id
        officer = s.query(User).filter_by(username="off").one().id
    assert c.post(f"/api/projects/{p['id']}/members", headers=off, json={"user_id": officer}).status_code == 422
    r = c.post(f"/api/projects/{p['id']}/members", headers=off, json={"user_id": ann, "can_review": True})
    assert r.status_code == 201 and r.json()["can_review"] is True
    assert c.post(f"/api/projects/{p['id']}/members", headers=off, json={"user_id": ann}).status_code == 409
    assert [m["username"] for m in c.get(f"/api/projects/{p['id']}/members", headers=off).json()] == ["ann1"]
    assert c.delete(f"/api/projects/{p['id']}/members/{ann}", headers=off).status_code == 204
    assert c.get(f"/api/projects/{p['id']}/members", headers=off).json() == []
    assert core.ledger.count_kind("project.member_added") == 1
    assert core.ledger.count_kind("project.member_removed") == 1


def test_server_side_import_stays_in_the_import_folder(api):
    c, as_user, core, ids = api
    off = as_user("off")
    p = _project(c, off, ids["acme"], "bulk", "text", {"kind": "classification", "labels": ["a"]})
    root = core.settings.data_dir / "imports"
    (root / "batch").mkdir(parents=True)
    (root / "batch" / "one.jsonl").write_text('{"text": "one"}\n{"text": "two"}\n')
    (root / "batch" / "peek.txt").symlink_to(core.settings.data_dir / "session.secret")
    (root / "link").symlink_to(core.settings.data_dir)
    assert (core.settings.data_dir / "session.secret").is_file()
    for path in ("../session.secret", "/etc/passwd", "batch/../../session.secret", "link/session.secret", "link",
                 "batch/peek.txt"):
        r = c.post(f"/api/projects/{p['id']}/datasets/from-path", headers=off, json={"path": path})
        assert r.status_code == 422, (path, r.text)
    assert c.post(f"/api/projects/{p['id']}/datasets/from-path", headers=off,
                  json={"path": "batch/nothing.txt"}).status_code == 404
    assert c.post(f"/api/projects/{p['id']}/datasets/from-path", headers=as_user("acme1"),
                  json={"path": "batch"}).status_code == 403
    r = c.post(f"/api/projects/{p['id']}/datasets/from-path", headers=off, json={"path": "batch"})
    assert r.status_code == 202
    ds_id = r.json()["dataset_id"]
    ds = wait_for(lambda: (d := c.get(f"/api/projects/{p['id']}/datasets/{ds_id}", headers=off).json())["status"]
                  != "importing" and d, what="the import to finish")
    assert ds["items_added"] == 2 and _refused(ds) == {"peek.txt": "unsafe_path"}
    texts = {ContentStore(core.settings.data_dir).read_bytes(i["sha256"]).decode()
             for i in c.get(f"/api/projects/{p['id']}/items", headers=off).json()["items"]}
    assert texts == {"one", "two"}


def test_quality_settings_change_is_the_officers_and_ledgered(api):
    c, as_user, core, ids = api
    off, acme, ann = as_user("off"), as_user("acme1"), as_user("ann1")
    p = _project(c, off, ids["acme"], "tuned", "text", {"kind": "classification", "labels": ["a", "b"]})
    url = f"/api/projects/{p['id']}/quality-settings"
    for who in (acme, ann):  # the customer and an annotator may not lower the bar
        assert c.patch(url, headers=who, json={"accuracy_target": 0.5}).status_code == 403
    for bad in ({"gold_share": 1.5}, {"accuracy_target": 0}, {}):
        assert c.patch(url, headers=off, json=bad).status_code == 422, bad
    assert c.patch("/api/projects/999999/quality-settings", headers=off, json={"gold_share": 0.2}).status_code == 404
    assert c.get(f"/api/projects/{p['id']}", headers=off).json()["accuracy_target"] == 0.95  # nothing changed
    r = c.patch(url, headers=off, json={"gold_share": 0.25})
    assert r.status_code == 200 and (r.json()["gold_share"], r.json()["accuracy_target"]) == (0.25, 0.95)
    r = c.patch(url, headers=off, json={"accuracy_target": 0.98})
    assert (r.json()["gold_share"], r.json()["accuracy_target"]) == (0.25, 0.98)
    assert core.ledger.count_kind("project.quality_settings") == 2
