"""The reviewer page: the review queue; two versions of a task side by side with what changed
(a class replaced, a transcript's characters inline, a box moved); a reject with its reason
puts the task back for another annotator, an accept is recorded, a fix saves the next version;
an annotator without the project's review right, and any other role, gets no page.

The browser is the reviewer "annotator" at seat A1 (127.0.0.1), as on the labelling page; the
work under review is two other annotators', written to the database as submitted versions."""
from __future__ import annotations

import datetime as dt
import hashlib
import json

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser.pages import T, login, open_menu
from tests.browser.test_labelling_pages import _png, _site_text, _wav
from tests.conftest import ControllerRig

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TEXTS = ["The delivery was late again.", "Great service."]
SEG = {"start": 0.5, "end": 1.8, "speaker": "A"}


@pytest.fixture(scope="module")
def rig(tmp_path_factory, served):
    tmp = tmp_path_factory.mktemp("review")
    site = tmp / "site.yaml"
    site.write_text(_site_text())
    rig = ControllerRig(tmp, served[0], site=site, workers=served[1])
    rig.env["SITEGUARD_AGENT_OFFLINE_AFTER_S"] = "3600"
    rig.start()
    rig.seed_users({"annotator": ("annotator", None), "ann2": ("annotator", None), "ann3": ("annotator", None),
                    "off": ("officer", None)})
    from annotation import assignment as A
    from annotation.versions import Version
    from controller.annotation_tables import (
        Annotation,
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
    projects, tasks = {}, {}
    with core.sessions() as s:
        site_row = s.scalar(select(Site))
        acme = s.scalar(select(Customer).where(Customer.slug == "acme"))
        users = {u.username: u for u in s.scalars(select(User))}
        agent = Agent(name="edge-review", site_id=site_row.id, public_key="r" * 40, last_seen_at=utcnow(),
                      status={"seats": {"A1": {"covered": True, "reasons": []}}})
        s.add(agent)
        s.commit()
        at = utcnow().isoformat()
        store_events(s, agent.id, site_row.id, [Event(seq=1, ts=at, kind="gate.passage", data={
            "gate": "gate-main", "at": at, "direction": "entry", "person": "p-003", "cause": "grant",
            "area_to": "floor3"})], customer_ids(s))
        s.commit()
        now = utcnow() - dt.timedelta(minutes=5)

        def work(project, task, item, who: str, results: list[dict]) -> None:
            """``who``'s submitted versions 1, 2, ... of the task, chained by hash."""
            prev = None
            for n, result in enumerate(results, 1):
                when = now + dt.timedelta(seconds=n)
                v = Version(project=project.id, task=task.id, item_sha256=item.sha256, annotator=who, seat=None,
                            version=n, at=when.astimezone(dt.timezone.utc).isoformat(), result=result,
                            prev_hash=prev.hash if prev else None)
                prev = Annotation(project_id=project.id, task_id=task.id, annotator_id=users[who].id, version=n,
                                  result=result, item_sha256=item.sha256, seat=None, prev_hash=v.prev_hash,
                                  hash=v.hash(), created_at=when)
                s.add(prev)
            s.add(TaskSlot(project_id=project.id, task_id=task.id, slot=0, state=A.SUBMITTED,
                           annotator_id=users[who].id))

        for name, modality, kind, labels, review, bodies in [
                ("reviews", "text", "classification", ["pos", "neg"], True, [
                    (t.encode(), "text/plain", who, results) for t, who, results in [
                        (TEXTS[0], "ann2", [{"label": "pos"}, {"label": "neg"}]),
                        (TEXTS[1], "ann3", [{"label": "pos"}])]]),
                ("calls", "audio", "transcript", ["A", "B"], True, [
                    (_wav(), "audio/wav", "ann2", [{"segments": [dict(SEG, text="你好 world")]},
                                                   {"segments": [dict(SEG, text="你好 word!")]}])]),
                ("street", "image", "boxes", ["car", "person"], True, [
                    (_png(), "image/png", "ann3", [{"boxes": [{"label": "car", "x": 40, "y": 30, "w": 100, "h": 80}]},
                                                   {"boxes": [{"label": "car", "x": 50, "y": 30, "w": 100, "h": 80}]}])]),
                ("private", "text", "classification", ["pos", "neg"], False, [
                    (TEXTS[0].encode(), "text/plain", "ann2", [{"label": "pos"}])])]:
            project = Project(customer_id=acme.id, slug=name, name=name, modality=modality,
                              label_schema={"kind": kind, "labels": labels}, annotators_per_task=1, created_by="test")
            s.add(project)
            s.flush()
            ds = Dataset(project_id=project.id, name="batch", status="done", created_by="test")
            s.add(ds)
            s.flush()
            for i, (body, media_type, who, results) in enumerate(bodies):
                sha = hashlib.sha256(body).hexdigest()
                path = content_path(rig.data, sha)
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(body)
                item = Item(project_id=project.id, dataset_id=ds.id, sha256=sha, media_type=media_type,
                            size=len(body), source_name=f"{name}-{i}", meta={})
                s.add(item)
                s.flush()
                task = Task(project_id=project.id, item_id=item.id, wanted=1, submitted=1, status="complete")
                s.add(task)
                s.flush()
                work(project, task, item, who, results)
                tasks[(name, i)] = task.id
            for who in ("ann2", "ann3"):
                s.add(ProjectMember(project_id=project.id, user_id=users[who].id, added_by="test"))
            s.add(ProjectMember(project_id=project.id, user_id=users["annotator"].id, can_review=review,
                                added_by="test"))
            projects[name] = project.id
        s.commit()

    def reviews(project: str) -> list[tuple]:
        from controller.annotation_tables import Review

        with core.sessions() as s:
            return [(r.decision, r.reason, r.fixed_annotation_id is not None)
                    for r in s.scalars(select(Review).join(Annotation, Annotation.id == Review.annotation_id)
                                       .where(Annotation.project_id == projects[project]).order_by(Review.id))]

    def task_row(key) -> tuple:
        with core.sessions() as s:
            t = s.get(Task, tasks[key])
            return t.wanted, t.status

    def versions(key) -> list[tuple]:
        with core.sessions() as s:
            return [(a.version, a.result) for a in s.scalars(select(Annotation).where(Annotation.task_id == tasks[key])
                                                             .order_by(Annotation.version))]

    rig.projects, rig.reviews, rig.task_row, rig.versions = projects, reviews, task_row, versions
    yield rig
    core.engine.dispose()
    rig.proc.stop()


def open_review(page, rig, name: str) -> None:
    login(page, rig.url, "annotator")
    open_menu(page, "/work")
    page.click(f"#work-projects li[data-project='{rig.projects[name]}'] a.review-link")
    expect(page.locator("#content")).to_have_attribute("data-ready", "1", timeout=15_000)


def test_two_versions_side_by_side_a_reject_returns_the_task_and_an_accept_is_recorded(rig, page, lang, tmp_path):
    open_review(page, rig, "reviews")
    expect(page.locator("#queue li")).to_have_count(2)
    expect(page.locator("#queue li.selected")).to_contain_text("ann2")
    expect(page.locator("#text")).to_have_text(TEXTS[0])
    expect(page.locator("#watermark span").first).to_contain_text("annotator")
    expect(page.locator("#watermark span").first).to_contain_text("A1")
    # Version 1 beside version 2: the class pos removed, neg added.
    expect(page.locator("#old-head")).to_contain_text("ann2")
    expect(page.locator("#compare-rows tr")).to_have_count(2)
    expect(page.locator("#compare-rows tr.op-added td.new")).to_have_text("neg")
    expect(page.locator("#compare-rows tr.op-removed td.old")).to_have_text("pos")
    expect(page.locator("#diff-counts")).to_have_text(
        T(lang, "{added} added, {removed} removed, {changed} changed", added=1, removed=1, changed=0))
    expect(page.locator("#shortcuts")).to_contain_text(T(lang, "reject with a reason"))
    page.screenshot(path=str(tmp_path / "review.png"), full_page=True)

    # Reject: a reason is asked for; the task goes back to the queue for one more annotator.
    page.keyboard.press("r")
    expect(page.locator("#reject-reason")).to_be_focused()
    page.fill("#reject-reason", "the delivery complaint is negative")
    page.keyboard.press("Enter")
    expect(page.locator("#review-done")).to_have_text(
        T(lang, "Rejected: the task is back in the queue for another annotator."))
    assert rig.reviews("reviews") == [("reject", "the delivery complaint is negative", False)]
    assert rig.task_row(("reviews", 0)) == (2, "open")

    # The other item comes next; an accept is recorded and the queue is empty.
    expect(page.locator("#queue li")).to_have_count(1)
    expect(page.locator("#text")).to_have_text(TEXTS[1])
    expect(page.locator("#old-head")).to_have_text(T(lang, "(empty)"))
    page.keyboard.press("a")
    expect(page.locator("#queue-empty")).to_be_visible(timeout=10_000)
    assert rig.reviews("reviews")[1] == ("accept", "", False)
    assert rig.task_row(("reviews", 1)) == (1, "complete")


def test_a_transcript_shows_its_character_diff_inline_and_a_fix_saves_a_new_version(rig, page, lang):
    open_review(page, rig, "calls")
    expect(page.locator("audio")).to_have_attribute("controlslist", "nodownload noremoteplayback")
    row = page.locator("#compare-rows tr.op-changed")
    expect(row).to_have_count(1)
    expect(row.locator("td.old .seg-text")).to_have_text("你好 world")
    expect(row.locator("td.new del.diff-del")).to_have_text("l")
    expect(row.locator("td.new ins.diff-ins")).to_have_text("!")
    expect(row.locator("td.new .seg-text")).to_have_text("你好 world!")  # 你好 wor, l deleted, d, ! inserted

    page.keyboard.press("f")
    editor = page.locator("#fix-result")
    expect(editor).to_be_focused()
    assert json.loads(editor.input_value()) == {"segments": [dict(SEG, text="你好 word!")]}
    editor.fill(json.dumps({"segments": [dict(SEG, text="你好 world!")]}, ensure_ascii=False))
    page.keyboard.press("Control+Enter")
    expect(page.locator("#review-done")).to_have_text(T(lang, "Fixed: version {version} saved.", version=3))
    assert rig.reviews("calls") == [("fix", "", True)]
    assert rig.versions(("calls", 0))[-1] == (3, {"segments": [dict(SEG, text="你好 world!")]})
    expect(page.locator("#queue-empty")).to_be_visible()


def test_a_moved_box_is_shown_on_the_image_and_in_the_list(rig, page, lang):
    open_review(page, rig, "street")
    row = page.locator("#compare-rows tr.op-changed")
    expect(row).to_have_attribute("data-fields", "geometry")
    expect(row.locator("td.new")).to_contain_text("50, 30")
    expect(page.locator("svg.review-boxes g.op-changed.side-old")).to_have_count(1)
    expect(page.locator("svg.review-boxes g.op-changed.side-new rect")).to_have_attribute("x", "50")


def test_an_annotator_without_the_review_right_and_other_roles_get_no_reviewer_page(rig, page, lang):
    login(page, rig.url, "annotator")
    open_menu(page, "/work")
    expect(page.locator(f"#work-projects li[data-project='{rig.projects['reviews']}'] a.review-link")).to_have_count(1)
    expect(page.locator(f"#work-projects li[data-project='{rig.projects['private']}'] a.review-link")).to_have_count(0)
    r = page.goto(rig.url + f"/work/{rig.projects['private']}/review")
    assert r.status == 403
    expect(page.locator("#refusal")).to_have_text(T(lang, "Reviewing this project needs its review right."))
    expect(page.locator("#review")).to_have_count(0)
    # Nor does the API serve its queue or content to them.
    assert page.request.get(rig.url + f"/api/projects/{rig.projects['private']}/review/queue").status == 403

    page.context.clear_cookies()
    login(page, rig.url, "off")
    r = page.goto(rig.url + f"/work/{rig.projects['reviews']}/review")
    assert r.status == 403
    expect(page.locator("#review")).to_have_count(0)
