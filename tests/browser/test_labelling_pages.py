"""The annotator's labelling page: a text task labelled by a key press and submitted in the
export's shape, a draft that survives a reload, an image box drawn with the mouse, an audio
segment made on the waveform and transcribed, the watermark, and the content leaving the page
within seconds when the site's policy turns to no (and coming back on a yes).

The browser connects from 127.0.0.1, so the test site's seat A1 has that workstation address and
acme a VLAN holding it; an edge agent row vouches for A1's coverage and the gates put the
annotator inside."""
from __future__ import annotations

import hashlib
import io
import math
import struct
import wave

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser.pages import T, login, open_menu
from tests.conftest import DEMO_SITE, ControllerRig

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TEXTS = ["The delivery was late again.", "李雷在北京工作。"]
ENTITY_TEXT = "😀 李雷在北京工作。"  # an emoji first: offsets count characters, not UTF-16 units


def _site_text() -> str:
    text = DEMO_SITE.read_text()
    text = text.replace("workstation: 10.110.0.11", "workstation: 127.0.0.1", 1)
    local_vlan = ("        gateway: 10.110.0.1\n"
                  "      - id: 111\n        name: acme-local\n        subnet: 127.0.0.0/24\n        gateway: 127.0.0.254\n")
    return text.replace("        gateway: 10.110.0.1\n", local_vlan, 1)


def _wav(seconds: float = 3.0, rate: int = 16000) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / rate)))
                               for i in range(int(seconds * rate))))
    return buf.getvalue()


def _png(width: int = 400, height: int = 300) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (width, height), (200, 220, 240)).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def rig(tmp_path_factory, served):
    tmp = tmp_path_factory.mktemp("labelling")
    site = tmp / "site.yaml"
    site.write_text(_site_text())
    rig = ControllerRig(tmp, served[0], site=site, workers=served[1])
    rig.env["SITEGUARD_AGENT_OFFLINE_AFTER_S"] = "3600"  # the agent row below stays "on line"
    rig.start()
    rig.seed_users({"annotator": ("annotator", None), "off": ("officer", None)})
    from controller.annotation_tables import (
        Dataset,
        Item,
        Project,
        ProjectMember,
        Task,
        TaskSlot,
    )
    from controller.app import open_core
    from controller.ingest import customer_ids, store_events
    from controller.models import Agent, Customer, Site, User, utcnow
    from controller.services.work import content_path
    from controller.settings import Settings
    from edge_agent.wire.messages import Event

    core = open_core(Settings(data_dir=rig.data, database_url=rig.env["SITEGUARD_DATABASE_URL"]))
    projects = {}
    with core.sessions() as s:
        site_row = s.scalar(select(Site))
        acme = s.scalar(select(Customer).where(Customer.slug == "acme"))
        ann = s.scalar(select(User).where(User.username == "annotator"))
        agent = Agent(name="edge-work", site_id=site_row.id, public_key="w" * 40, status={}, last_seen_at=utcnow())
        s.add(agent)
        s.commit()
        at = utcnow().isoformat()
        store_events(s, agent.id, site_row.id, [Event(seq=1, ts=at, kind="gate.passage", data={
            "gate": "gate-main", "at": at, "direction": "entry", "person": "p-003", "cause": "grant",
            "area_to": "floor3"})], customer_ids(s))
        s.commit()
        for name, modality, kind, labels, bodies in [
                ("reviews", "text", "classification", ["pos", "neg"], [(t.encode(), "text/plain") for t in TEXTS]),
                ("entities", "text", "spans", ["PER", "LOC"], [(ENTITY_TEXT.encode(), "text/plain")]),
                ("street", "image", "boxes", ["car", "person"], [(_png(), "image/png")]),
                ("calls", "audio", "transcript", ["A", "B"], [(_wav(), "audio/wav")])]:
            project = Project(customer_id=acme.id, slug=name, name=name, modality=modality,
                              label_schema={"kind": kind, "labels": labels}, annotators_per_task=1, created_by="test")
            s.add(project)
            s.flush()
            ds = Dataset(project_id=project.id, name="batch", status="done", created_by="test")
            s.add(ds)
            s.flush()
            for i, (body, media_type) in enumerate(bodies):
                sha = hashlib.sha256(body).hexdigest()
                path = content_path(rig.data, sha)
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(body)
                item = Item(project_id=project.id, dataset_id=ds.id, sha256=sha, media_type=media_type,
                            size=len(body), source_name=f"{name}-{i}", meta={})
                s.add(item)
                s.flush()
                task = Task(project_id=project.id, item_id=item.id, wanted=1)
                s.add(task)
                s.flush()
                s.add(TaskSlot(project_id=project.id, task_id=task.id, slot=0))
            s.add(ProjectMember(project_id=project.id, user_id=ann.id, added_by="test"))
            projects[name] = project.id
        s.commit()
        agent_id = agent.id

    def cover(covered: bool) -> None:
        """What the edge's heartbeat writes: whether video covers seat A1 now."""
        with core.sessions() as s:
            a = s.get(Agent, agent_id)
            a.status = {"seats": {"A1": {"covered": covered, "reasons": [] if covered else ["occluded"]}}}
            a.last_seen_at = utcnow()
            s.commit()

    def annotations(project: str) -> list[dict]:
        from controller.annotation_tables import Annotation

        with core.sessions() as s:
            return [a.result for a in s.scalars(select(Annotation).where(Annotation.project_id == projects[project])
                                                .order_by(Annotation.id))]

    cover(True)
    rig.projects, rig.cover, rig.annotations = projects, cover, annotations
    yield rig
    core.engine.dispose()
    rig.proc.stop()


def open_project(page, rig, name: str) -> None:
    login(page, rig.url, "annotator")
    open_menu(page, "/work")
    page.click(f"#work-projects li[data-project='{rig.projects[name]}'] a")
    expect(page.locator("#content")).to_have_attribute("data-ready", "1", timeout=15_000)


def test_a_text_task_is_labelled_by_key_the_draft_survives_a_reload_and_is_submitted(rig, page, lang):
    open_project(page, rig, "reviews")
    expect(page.locator("#text")).to_have_text(TEXTS[0])
    expect(page.locator("#watermark span").first).to_contain_text("annotator")
    expect(page.locator("#watermark span").first).to_contain_text("A1")
    page.keyboard.press("2")
    expect(page.locator("#labels .chip[data-label='neg']")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#save-state")).to_have_attribute("data-state", "saved", timeout=10_000)

    page.reload()
    expect(page.locator("#content")).to_have_attribute("data-ready", "1", timeout=15_000)
    expect(page.locator("#labels .chip[data-label='neg']")).to_have_attribute("aria-pressed", "true")
    page.keyboard.press("1")
    expect(page.locator("#labels .chip[data-label='pos']")).to_have_attribute("aria-pressed", "true")
    page.keyboard.press("Enter")
    # The next task comes at once, and the first one is stored in the export's shape.
    expect(page.locator("#text")).to_have_text(TEXTS[1], timeout=10_000)
    assert rig.annotations("reviews") == [{"label": "pos"}]


def test_entity_spans_are_marked_on_selected_text_at_exact_character_offsets(rig, page, lang):
    open_project(page, rig, "entities")
    expect(page.locator("#text")).to_have_text(ENTITY_TEXT)

    def select(start16: int, end16: int) -> None:
        page.evaluate("""([a, b]) => {
            const node = document.getElementById("text").firstChild;
            const range = document.createRange();
            range.setStart(node, a);
            range.setEnd(node, b);
            const sel = window.getSelection();
            sel.removeAllRanges();
            sel.addRange(range);
        }""", [start16, end16])

    select(3, 5)  # 李雷, after the emoji's two UTF-16 units and the space
    page.keyboard.press("1")
    expect(page.locator("#text mark[data-label='PER']")).to_have_text("李雷")
    page.evaluate("""() => {  // 北京, in the text node after the mark
        const node = document.querySelector("#text mark").nextSibling;
        const range = document.createRange();
        range.setStart(node, 1);
        range.setEnd(node, 3);
        window.getSelection().removeAllRanges();
        window.getSelection().addRange(range);
    }""")
    page.click("#labels .chip[data-label='LOC']")
    expect(page.locator("#spans li")).to_have_count(2)
    page.keyboard.press("Enter")
    expect(page.locator("#work-empty")).to_be_visible(timeout=10_000)
    assert rig.annotations("entities") == [{"spans": [{"start": 2, "end": 4, "label": "PER"},
                                                      {"start": 5, "end": 7, "label": "LOC"}]}]


def test_an_image_box_is_drawn_with_the_mouse_and_submitted_in_pixels(rig, page, lang, tmp_path):
    open_project(page, rig, "street")
    svg = page.locator("svg.boxes")
    box = svg.bounding_box()
    scale = 400 / box["width"]
    x0, y0, x1, y1 = box["x"] + 40, box["y"] + 30, box["x"] + 140, box["y"] + 110
    page.keyboard.press("2")  # the class of the next box: person
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move((x0 + x1) / 2, (y0 + y1) / 2, steps=4)
    page.mouse.move(x1, y1, steps=4)
    page.mouse.up()
    expect(page.locator("#boxes li")).to_have_count(1)
    page.screenshot(path=str(tmp_path / "image.png"), full_page=True)
    page.click("#submit")
    expect(page.locator("#work-empty")).to_be_visible(timeout=10_000)  # the project's only task is done
    (got,) = rig.annotations("street")
    (b,) = got["boxes"]
    assert b["label"] == "person"
    assert abs(b["x"] - 40 * scale) <= 2 and abs(b["y"] - 30 * scale) <= 2
    assert abs(b["w"] - 100 * scale) <= 2 and abs(b["h"] - 80 * scale) <= 2


def test_an_audio_segment_is_made_on_the_waveform_and_transcribed(rig, page, lang, tmp_path):
    open_project(page, rig, "calls")
    expect(page.locator("audio")).to_have_attribute("controlslist", "nodownload noremoteplayback")
    wave_box = page.locator("#wave").bounding_box()
    y = wave_box["y"] + wave_box["height"] / 2
    page.mouse.move(wave_box["x"] + wave_box["width"] * 0.2, y)
    page.mouse.down()
    page.mouse.move(wave_box["x"] + wave_box["width"] * 0.4, y, steps=5)
    page.mouse.move(wave_box["x"] + wave_box["width"] * 0.6, y, steps=5)
    page.mouse.up()
    expect(page.locator("#segments li")).to_have_count(1)
    page.fill("#segments li input.seg-text", "你好，hello")
    page.fill("#segments li input.seg-speaker", "A")
    expect(page.locator("#save-state")).to_have_attribute("data-state", "saved", timeout=10_000)
    page.screenshot(path=str(tmp_path / "audio.png"), full_page=True)
    page.click("#submit")
    expect(page.locator("#work-empty")).to_be_visible(timeout=10_000)
    (got,) = rig.annotations("calls")
    (seg,) = got["segments"]
    assert seg["text"] == "你好，hello" and seg["speaker"] == "A"
    assert 0.4 < seg["start"] < 0.8 and 1.6 < seg["end"] < 2.0 and set(seg) == {"start", "end", "text", "speaker"}


def test_the_content_leaves_the_page_when_the_site_says_no_and_returns_on_yes(rig, page, lang):
    open_project(page, rig, "reviews")
    expect(page.locator("#text")).to_have_text(TEXTS[1])
    page.keyboard.press("2")
    rig.cover(False)
    try:
        expect(page.locator("#text")).to_have_count(0, timeout=5_000)
        expect(page.locator("#refused-reasons li[data-reason='seat_not_covered']")).to_have_text(
            T(lang, "seat not covered"))
    finally:
        rig.cover(True)
    expect(page.locator("#text")).to_have_text(TEXTS[1], timeout=10_000)
    expect(page.locator("#refused")).to_be_hidden()
    expect(page.locator("#labels .chip[data-label='neg']")).to_have_attribute("aria-pressed", "true")  # the draft kept


def test_other_roles_get_no_labelling_page(rig, page):
    login(page, rig.url, "off")
    r = page.goto(rig.url + f"/work/{rig.projects['reviews']}")
    assert r.status == 403
