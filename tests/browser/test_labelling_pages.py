"""The annotator's labelling page: a text task labelled by a key press and submitted in the
export's shape, a draft that survives a reload, an image box drawn with the mouse, an audio
segment made on the waveform and transcribed, the watermark, and the content leaving the page
within seconds when the site's policy turns to no (and coming back on a yes). Then each tool in
full: multi-label chips, boxes moved, resized, reclassed and deleted, an audio segment's speed
keys, loop and speaker, a skip with its reason, the shortcut legend against the keys the page
binds, and the draft of each modality across a reload.

The browser connects from 127.0.0.1, so the test site's seat A1 has that workstation address and
acme a VLAN holding it; an edge agent row vouches for A1's coverage and the gates put the
annotator inside."""
from __future__ import annotations

import hashlib
import io
import json
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
TAGS_TEXT = "WIN A FREE PHONE!!! Reply today."
QUEUE = ["First in the queue.", "队列中的第二条。", "The third one."]
TRIAGE = ["The app crashes on start.", "How do I export?"]
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


def _png(width: int = 400, height: int = 300, colour: tuple[int, int, int] = (200, 220, 240)) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buf, "PNG")
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
        TaskSkip,
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
                ("calls", "audio", "transcript", ["A", "B"], [(_wav(), "audio/wav")]),
                ("tags", "text", "multi_label", ["spam", "ad", "urgent"], [(TAGS_TEXT.encode(), "text/plain")]),
                ("parking", "image", "boxes", ["car", "person"], [(_png(400, 300, (90, 90, 90)), "image/png")]),
                ("meetings", "audio", "transcript", ["A", "B"], [(_wav(4.0), "audio/wav")]),
                ("queue", "text", "classification", ["ok", "bad"], [(t.encode(), "text/plain") for t in QUEUE]),
                ("triage", "text", "classification", ["bug", "question", "praise"],
                 [(t.encode(), "text/plain") for t in TRIAGE])]:
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

    def slots(project: str) -> list[dict]:
        """Each task of the project in order: its item's name, its slot's state and holder, and
        the skips recorded on it (login, reason)."""
        with core.sessions() as s:
            names = dict(s.execute(select(User.id, User.username)).all())
            out = []
            for task, item, slot in s.execute(
                    select(Task, Item, TaskSlot).join(Item, Item.id == Task.item_id)
                    .join(TaskSlot, TaskSlot.task_id == Task.id)
                    .where(Task.project_id == projects[project]).order_by(Task.id)):
                skips = s.scalars(select(TaskSkip).where(TaskSkip.task_id == task.id).order_by(TaskSkip.id))
                out.append({"task": task.id, "item": item.source_name, "state": slot.state,
                            "holder": names.get(slot.annotator_id),
                            "skips": [(names[k.annotator_id], k.reason) for k in skips]})
            return out

    cover(True)
    rig.projects, rig.cover, rig.annotations, rig.slots = projects, cover, annotations, slots
    yield rig
    core.engine.dispose()
    rig.proc.stop()


def open_project(page, rig, name: str) -> None:
    login(page, rig.url, "annotator")
    open_menu(page, "/work")
    page.click(f"#work-projects li[data-project='{rig.projects[name]}'] a")
    expect(page.locator("#content")).to_have_attribute("data-ready", "1", timeout=15_000)


def reload(page) -> None:
    page.reload()
    expect(page.locator("#content")).to_have_attribute("data-ready", "1", timeout=15_000)


def saved(page) -> None:
    """Wait for the autosave of the change just made (a change marks the page unsaved at once)."""
    expect(page.locator("#save-state")).to_have_attribute("data-state", "saved", timeout=10_000)


def chip(page, label: str):
    return page.locator(f"#labels .chip[data-label='{label}']")


def legend_keys(page) -> list[str]:
    """The keys the shortcut legend shows, in its order (each line names its keys as the
    browser's KeyboardEvent.key spells them); every line is visible."""
    expect(page.locator("#shortcuts")).to_be_visible()
    keys = []
    for line in page.locator("#shortcuts li[data-keys]").all():
        expect(line).to_be_visible()
        expect(line.locator("kbd").first).to_be_visible()
        keys += json.loads(line.get_attribute("data-keys"))
    return keys


def api(page, method: str, path: str, body: dict | None = None) -> dict:
    """A work API call from the page, with its session and CSRF token as work.js sends them."""
    return page.evaluate("""async ([method, path, body]) => {
        const opts = {method, credentials: "same-origin", headers: {}};
        if (method !== "GET") {
            opts.headers["Content-Type"] = "application/json";
            opts.headers["X-CSRF-Token"] = document.querySelector('meta[name="csrf-token"]').content;
            opts.body = JSON.stringify(body || {});
        }
        const r = await fetch(path, opts);
        return {status: r.status, data: r.status === 204 ? null : await r.json()};
    }""", [method, path, body])


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


def test_multi_label_chips_toggle_by_key_and_by_click_and_the_chosen_set_is_submitted(rig, page, lang):
    open_project(page, rig, "tags")
    expect(page.locator("#text")).to_have_text(TAGS_TEXT)
    assert legend_keys(page) == ["1", "2", "3", "Enter", "s"]

    def on(*chosen: str) -> None:
        for label in ("spam", "ad", "urgent"):
            expect(chip(page, label)).to_have_attribute("aria-pressed", "true" if label in chosen else "false")

    page.keyboard.press("1")
    on("spam")
    chip(page, "ad").click()
    on("spam", "ad")
    page.keyboard.press("3")
    on("spam", "ad", "urgent")
    chip(page, "spam").click()  # a second press takes a label off again, by click ...
    on("ad", "urgent")
    page.keyboard.press("2")  # ... or by key
    on("urgent")
    chip(page, "ad").click()
    on("ad", "urgent")
    saved(page)

    reload(page)  # the draft survives
    on("ad", "urgent")
    page.keyboard.press("Enter")
    expect(page.locator("#work-empty")).to_be_visible(timeout=10_000)
    # Exactly the chosen set, in the project's label order whatever the order of the presses.
    assert rig.annotations("tags") == [{"labels": ["ad", "urgent"]}]


def test_image_boxes_are_drawn_moved_resized_reclassed_and_deleted_and_submitted_in_pixels(rig, page, lang):
    open_project(page, rig, "parking")
    assert legend_keys(page) == ["1", "2", "Enter", "s", "Delete", "Backspace"]
    rows = page.locator("#boxes li")

    def drag(x0: float, y0: float, x1: float, y1: float) -> None:
        """A mouse drag between two points given in image pixels."""
        r = page.locator("svg.boxes").bounding_box()
        k = r["width"] / 400  # screen pixels per image pixel
        page.mouse.move(r["x"] + x0 * k, r["y"] + y0 * k)
        page.mouse.down()
        page.mouse.move(r["x"] + (x0 + x1) / 2 * k, r["y"] + (y0 + y1) / 2 * k, steps=4)
        page.mouse.move(r["x"] + x1 * k, r["y"] + y1 * k, steps=4)
        page.mouse.up()

    page.keyboard.press("2")  # the class of the next box: person
    drag(40, 30, 140, 110)
    expect(rows).to_have_count(1)
    expect(rows.nth(0).locator("select")).to_have_value("person")
    saved(page)

    reload(page)  # the draft survives
    expect(rows).to_have_count(1)
    expect(rows.nth(0).locator("select")).to_have_value("person")
    expect(page.locator("svg.boxes rect[data-box]")).to_have_count(1)
    drag(90, 70, 140, 110)  # grabbed by its middle and moved by (50, 40): 90,70 to 190,150
    expect(page.locator("svg.boxes rect.handle")).to_have_count(4)  # it is the selected box
    drag(190, 150, 230, 180)  # its bottom-right handle pulled out: 90,70 to 230,180
    page.keyboard.press("1")  # the selected box's class: car
    expect(rows.nth(0).locator("select")).to_have_value("car")

    drag(250, 20, 330, 80)  # a second box, of the class picked last ...
    expect(rows).to_have_count(2)
    expect(rows.nth(1).locator("select")).to_have_value("car")
    rows.nth(1).locator("select").select_option("person")  # ... changed in the list
    expect(rows.nth(1).locator("select")).to_have_value("person")
    drag(20, 200, 80, 280)  # a third and a fourth box, each removed by key right after drawing
    expect(rows).to_have_count(3)
    page.keyboard.press("Delete")
    expect(rows).to_have_count(2)
    drag(300, 200, 380, 280)
    expect(rows).to_have_count(3)
    page.keyboard.press("Backspace")
    expect(rows).to_have_count(2)

    page.click("#submit")
    expect(page.locator("#work-empty")).to_be_visible(timeout=10_000)
    (got,) = rig.annotations("parking")
    want = [("car", 90, 70, 140, 110), ("person", 250, 20, 80, 60)]
    assert [b["label"] for b in got["boxes"]] == [w[0] for w in want]
    for b, (_, x, y, w, h) in zip(got["boxes"], want):
        assert set(b) == {"label", "x", "y", "w", "h"}
        assert abs(b["x"] - x) <= 2 and abs(b["y"] - y) <= 2 and abs(b["w"] - w) <= 2 and abs(b["h"] - h) <= 2, b


def test_an_audio_segment_plays_faster_or_slower_by_key_loops_and_keeps_its_speaker(rig, page, lang):
    open_project(page, rig, "meetings")
    assert legend_keys(page) == ["1", "2", "Enter", "s", " ", "l", "[", "]"]
    rows = page.locator("#segments li")
    wave_box = page.locator("#wave").bounding_box()
    y = wave_box["y"] + wave_box["height"] / 2
    page.mouse.move(wave_box["x"] + wave_box["width"] * 0.2, y)  # 0.8 s of 4 s
    page.mouse.down()
    page.mouse.move(wave_box["x"] + wave_box["width"] * 0.35, y, steps=5)
    page.mouse.move(wave_box["x"] + wave_box["width"] * 0.5, y, steps=5)  # 2.0 s
    page.mouse.up()
    expect(rows).to_have_count(1)
    rows.locator("input.seg-text").fill("会议开始 the meeting starts")
    rows.locator("input.seg-speaker").fill("A")
    saved(page)

    reload(page)  # the draft survives, the segment back on the waveform
    expect(rows).to_have_count(1)
    expect(rows.locator("input.seg-text")).to_have_value("会议开始 the meeting starts")
    expect(rows.locator("input.seg-speaker")).to_have_value("A")

    rate = "document.querySelector('#content audio').playbackRate"
    expect(page.locator("#speed")).to_have_text("1×")
    page.keyboard.press("]")
    expect(page.locator("#speed")).to_have_text("1.25×")
    page.wait_for_function(f"{rate} === 1.25")
    page.keyboard.press("[")
    page.keyboard.press("[")
    page.wait_for_function(f"{rate} === 0.75")
    for _ in range(5):  # up to the fastest, and no further
        page.keyboard.press("]")
    expect(page.locator("#speed")).to_have_text("2×")
    page.wait_for_function(f"{rate} === 2")

    # The segment is picked on the waveform and looped: playback wraps back to its start at its
    # end, again and again, and never runs on past it.
    page.mouse.click(wave_box["x"] + wave_box["width"] * 0.3, y)
    expect(rows.nth(0)).to_have_class("selected")
    page.evaluate("""() => {
        const audio = document.querySelector("#content audio");
        const seen = window.seen = {times: [], wraps: 0};
        let last = null;
        const tick = () => {
            if (!audio.paused) {
                const t = audio.currentTime;
                if (last !== null && t < last - 0.3) seen.wraps++;
                seen.times.push(t);
                last = t;
            }
            if (document.contains(audio)) requestAnimationFrame(tick);
        };
        requestAnimationFrame(tick);
    }""")
    page.keyboard.press("l")
    expect(page.locator("#loop")).to_have_attribute("aria-pressed", "true")
    page.wait_for_function("window.seen.wraps >= 3", timeout=20_000)
    times = page.evaluate("window.seen.times")
    # At most a frame or two past the end (the loop turns on the page's animation frames), far from the 4 s.
    assert 0.8 - 0.05 <= min(times) and max(times) <= 2.0 + 0.25, (min(times), max(times))
    page.wait_for_function(f"{rate} === 2")  # the speed held through the loops
    page.keyboard.press("l")
    expect(page.locator("#loop")).to_have_attribute("aria-pressed", "false")
    page.keyboard.press(" ")
    page.wait_for_function("document.querySelector('#content audio').paused")

    page.keyboard.press("2")  # the selected segment's speaker by key: B
    expect(rows.locator("input.seg-speaker")).to_have_value("B")
    page.keyboard.press("Enter")
    expect(page.locator("#work-empty")).to_be_visible(timeout=10_000)
    (got,) = rig.annotations("meetings")
    (seg,) = got["segments"]
    assert seg["text"] == "会议开始 the meeting starts" and seg["speaker"] == "B"
    assert 0.7 < seg["start"] < 0.9 and 1.9 < seg["end"] < 2.1


def test_a_skip_needs_a_reason_and_the_skipped_task_is_not_offered_again(rig, page, lang):
    open_project(page, rig, "queue")
    text, form, reason = page.locator("#text"), page.locator("#skip-form"), page.locator("#skip-reason")
    expect(text).to_have_text(QUEUE[0])
    page.click("#skip")
    expect(form).to_be_visible()
    expect(reason).to_be_focused()
    form.locator("button[type=submit]").click()  # no reason: the form does not go
    assert reason.evaluate("e => e.validity.valueMissing")
    reason.fill("   ")
    form.locator("button[type=submit]").click()  # blanks are no reason either
    assert not reason.evaluate("e => e.validity.valid")
    expect(text).to_have_text(QUEUE[0])
    assert rig.slots("queue")[0]["skips"] == []

    reason.fill("unreadable")
    reason.press("Enter")
    expect(text).to_have_text(QUEUE[1], timeout=10_000)  # the next task at once
    expect(form).to_be_hidden()
    first, second, _ = rig.slots("queue")
    assert first["skips"] == [("annotator", "unreadable")]
    assert first["state"] == "free" and first["holder"] is None  # free for others ...
    again = api(page, "POST", f"/api/work/projects/{rig.projects['queue']}/next")
    assert again["status"] == 200 and again["data"]["task"] == second["task"]  # ... not for this annotator
    blank = api(page, "POST", f"/api/work/tasks/{second['task']}/skip", {"reason": " \t "})
    assert blank["status"] == 422 and rig.slots("queue")[1]["skips"] == []

    page.keyboard.press("s")  # the key opens the form as well
    expect(reason).to_be_focused()
    expect(reason).to_have_value("")
    reason.fill("a duplicate")
    reason.press("Enter")
    expect(text).to_have_text(QUEUE[2], timeout=10_000)
    page.keyboard.press("1")
    page.keyboard.press("Enter")
    expect(page.locator("#work-empty")).to_be_visible(timeout=10_000)
    nothing = api(page, "POST", f"/api/work/projects/{rig.projects['queue']}/next")
    assert nothing["status"] == 204  # two free tasks in the project, neither for this annotator
    assert [(s["state"], s["skips"]) for s in rig.slots("queue")] == [
        ("free", [("annotator", "unreadable")]), ("free", [("annotator", "a duplicate")]), ("submitted", [])]


def test_the_shortcut_legend_names_exactly_the_keys_the_text_page_binds(rig, page, lang):
    open_project(page, rig, "triage")
    text = page.locator("#text")
    expect(text).to_have_text(TRIAGE[0])
    keys = legend_keys(page)
    assert keys == ["1", "2", "3", "Enter", "s"]
    labels = ["bug", "question", "praise"]
    page.keyboard.press("4")  # not in the legend: no label behind it
    for label in labels:
        expect(chip(page, label)).to_have_attribute("aria-pressed", "false")
    for key in keys:
        page.keyboard.press(key)
        if key.isdigit():
            for i, label in enumerate(labels):
                expect(chip(page, label)).to_have_attribute("aria-pressed", "true" if i == int(key) - 1 else "false")
        elif key == "Enter":
            expect(text).to_have_text(TRIAGE[1], timeout=10_000)
            assert rig.annotations("triage") == [{"label": "praise"}]
        elif key == "s":
            expect(page.locator("#skip-form")).to_be_visible()
            expect(page.locator("#skip-reason")).to_be_focused()
            page.click("#skip-cancel")
            expect(page.locator("#skip-form")).to_be_hidden()
            expect(text).to_have_text(TRIAGE[1])
