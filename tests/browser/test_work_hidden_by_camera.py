"""The labelling page against a real camera: an annotator at seat A1 labels a text; A1's camera
(a simulated one, over RTSP, judged by a real edge agent with the detector) gets its lens
covered; the page hides the content within 5 s of the covering, keeps the draft, and shows the
content again with the draft once the lens is uncovered. Nothing writes the seat's coverage but
the edge agent.

The browser connects from 127.0.0.1, so the site's seat A1 has that workstation address and
acme a VLAN holding it. The gates are not running: the annotator's way in through the main gate
is stored as a gate event of a second, status-less agent row."""
from __future__ import annotations

import hashlib
import time

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser.pages import T, login, open_menu
from tests.camera_site import start_camera_site, stop_camera_site
from tests.conftest import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TEXT = "The delivery was late again."
HIDDEN_WITHIN_S = 5.0


def _local_seat(doc: dict) -> None:
    """Seat A1 at this machine's address, inside an acme VLAN."""
    next(s for s in doc["seats"] if s["id"] == "A1")["workstation"] = "127.0.0.1"
    acme = next(c for c in doc["customers"] if c["id"] == "acme")
    acme["vlans"].append({"id": 111, "name": "acme-local", "subnet": "127.0.0.0/24", "gateway": "127.0.0.254"})


def _seed(core, data) -> tuple[int, int]:
    """A text project of acme's with one task, the annotator on it and inside the site (through
    the main gate); (project id, annotator's user id)."""
    from controller.annotation_tables import Dataset, Item, Project, ProjectMember, Task, TaskSlot
    from controller.ingest import customer_ids, store_events
    from controller.models import Agent, Customer, Site, User, utcnow
    from controller.services.work import content_path
    from edge_agent.wire.messages import Event

    with core.sessions() as s:
        site_row = s.scalar(select(Site))
        acme = s.scalar(select(Customer).where(Customer.slug == "acme"))
        ann = s.scalar(select(User).where(User.username == "annotator"))
        doors = Agent(name="gates", site_id=site_row.id, public_key="g" * 40, status={}, last_seen_at=utcnow())
        s.add(doors)
        s.commit()
        at = utcnow().isoformat()
        store_events(s, doors.id, site_row.id, [Event(seq=1, ts=at, kind="gate.passage", data={
            "gate": "gate-main", "at": at, "direction": "entry", "person": "p-003", "cause": "grant",
            "area_to": "floor3"})], customer_ids(s))
        project = Project(customer_id=acme.id, slug="reviews", name="reviews", modality="text",
                          label_schema={"kind": "classification", "labels": ["pos", "neg"]},
                          annotators_per_task=1, created_by="test")
        s.add(project)
        s.flush()
        ds = Dataset(project_id=project.id, name="batch", status="done", created_by="test")
        s.add(ds)
        s.flush()
        body = TEXT.encode()
        sha = hashlib.sha256(body).hexdigest()
        path = content_path(data, sha)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
        item = Item(project_id=project.id, dataset_id=ds.id, sha256=sha, media_type="text/plain",
                    size=len(body), source_name="reviews-0", meta={})
        s.add(item)
        s.flush()
        task = Task(project_id=project.id, item_id=item.id, wanted=1)
        s.add(task)
        s.flush()
        s.add(TaskSlot(project_id=project.id, task_id=task.id, slot=0))
        s.add(ProjectMember(project_id=project.id, user_id=ann.id, added_by="test"))
        s.commit()
        return project.id, ann.id


@pytest.fixture(scope="module")
def site(tmp_path_factory, served):
    from controller.annotation_tables import Draft
    from controller.app import open_core
    from controller.settings import Settings

    ctx = start_camera_site(tmp_path_factory.mktemp("workcamera"), *served, edit=_local_seat)
    core = None
    try:
        for seat, cam in (("A1", "cam-01"), ("A2", "cam-01"), ("A3", "cam-02"), ("A4", "cam-02")):
            ctx["fleet"].seat(cam, seat, state="occupied")
        rig = ctx["rig"]
        rig.seed_users({"annotator": ("annotator", None)})
        core = open_core(Settings(data_dir=rig.data, database_url=rig.env["SITEGUARD_DATABASE_URL"]))
        ctx["project"], annotator = _seed(core, rig.data)

        def drafts() -> list[dict]:
            with core.sessions() as s:
                return [d.result for d in s.scalars(select(Draft).where(Draft.annotator_id == annotator))]

        ctx["drafts"] = drafts
        yield ctx
    finally:
        if core is not None:
            core.engine.dispose()
        stop_camera_site(ctx)


def seat_policy(site) -> dict:
    r = site["officer"].get(f"/api/sites/{site['site_id']}/seats/A1/policy")
    assert r.status_code == 200, r.text
    return r.json()


def test_covering_the_camera_hides_the_content_within_5_s_and_uncovering_brings_it_back(site, page, lang):
    wait_for(lambda: seat_policy(site)["seat_covered"] is True, timeout=120, interval=1,
             what="the edge judging A1 covered")
    login(page, site["rig"].url, "annotator")
    open_menu(page, "/work")
    page.click(f"#work-projects li[data-project='{site['project']}'] a")
    expect(page.locator("#content")).to_have_attribute("data-ready", "1", timeout=15_000)
    expect(page.locator("#text")).to_have_text(TEXT)
    page.keyboard.press("2")
    expect(page.locator("#labels .chip[data-label='neg']")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#save-state")).to_have_attribute("data-state", "saved", timeout=10_000)

    # The page notes, by its own clock, when the text leaves it.
    page.evaluate("""() => {
        window.hiddenAt = null;
        new MutationObserver(() => {
            if (window.hiddenAt === null && !document.getElementById("text")) window.hiddenAt = Date.now();
        }).observe(document.body, {childList: true, subtree: true});
    }""")
    covered_at = time.time()
    site["fleet"].fault("cam-01", "lens_covered")
    try:
        page.wait_for_function("() => window.hiddenAt !== null", timeout=30_000)
        took = page.evaluate("() => window.hiddenAt") / 1000 - covered_at
        print(f"content hidden {took:.2f} s after the lens was covered ({lang})")
        assert took < HIDDEN_WITHIN_S, f"the content stayed {took:.2f} s after the lens was covered"
        expect(page.locator("#refused-reasons li[data-reason='seat_not_covered']")).to_have_text(
            T(lang, "seat not covered"))
        expect(page.locator("#content")).to_be_empty()
        assert seat_policy(site)["seat_reasons"][0] == "camera_tampered"
        assert site["drafts"]() == [{"label": "neg"}]  # the draft is kept while refused
    finally:
        site["fleet"].fault("cam-01", None)
    expect(page.locator("#text")).to_have_text(TEXT, timeout=30_000)
    expect(page.locator("#refused")).to_be_hidden()
    expect(page.locator("#labels .chip[data-label='neg']")).to_have_attribute("aria-pressed", "true")
