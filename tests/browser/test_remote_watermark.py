"""The labelling page of a remote session: the annotator's browser comes from her WireGuard
peer's address (through the trusted proxy's X-Forwarded-For; the browser itself runs on
loopback), no seat and no gate in sight, and the page lays the server's watermark (person and
peer address) visibly across the work area; a refusal still hides the content."""
from __future__ import annotations

import hashlib

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser.conftest import new_context
from tests.browser.pages import login, open_menu
from tests.conftest import DEMO_SITE, ControllerRig
from tests.vpn_site import wg_keypair

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PEER = "10.200.0.5"
TEXT = "Remote customer text."


def _site_text() -> str:
    text = DEMO_SITE.read_text()
    text = text.replace("        gateway: 10.110.0.1\n", "        gateway: 10.110.0.1\n"
                        "    remote: {allowed: true, range: 10.200.0.0/24, watermark: true}\n", 1)
    return text.replace("  drift_check_minutes: 10\n", "  drift_check_minutes: 10\n  vpn:\n"
                        f"    private_key: \"{wg_keypair()[0]}\"\n    platform: [10.0.0.10]\n", 1)


@pytest.fixture(scope="module")
def rig(tmp_path_factory, served):
    tmp = tmp_path_factory.mktemp("remote")
    site = tmp / "site.yaml"
    site.write_text(_site_text())
    rig = ControllerRig(tmp, served[0], site=site, workers=served[1])
    rig.env["SITEGUARD_TRUSTED_PROXIES"] = "127.0.0.1"
    rig.start()
    rig.seed_users({"annotator": ("annotator", None)})
    from controller.annotation_tables import Dataset, Item, Project, ProjectMember, Task, TaskSlot
    from controller.app import open_core
    from controller.models import Customer, Site, User, VpnPeer
    from controller.services.work import content_path
    from controller.settings import Settings

    core = open_core(Settings(data_dir=rig.data, database_url=rig.env["SITEGUARD_DATABASE_URL"]))
    with core.sessions() as s:
        site_row = s.scalar(select(Site))
        acme = s.scalar(select(Customer).where(Customer.slug == "acme"))
        ann = s.scalar(select(User).where(User.username == "annotator"))
        peer = VpnPeer(site_id=site_row.id, customer_id=acme.id, person="p-003", public_key=wg_keypair()[1],
                       address=PEER, status="active", created_by="test")
        project = Project(customer_id=acme.id, slug="remote", name="remote", modality="text",
                          label_schema={"kind": "classification", "labels": ["pos", "neg"]}, annotators_per_task=1,
                          created_by="test")
        s.add_all([peer, project])
        s.flush()
        ds = Dataset(project_id=project.id, name="batch", status="done", created_by="test")
        s.add(ds)
        s.flush()
        body = TEXT.encode()
        sha = hashlib.sha256(body).hexdigest()
        path = content_path(rig.data, sha)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
        item = Item(project_id=project.id, dataset_id=ds.id, sha256=sha, media_type="text/plain", size=len(body),
                    source_name="remote-0", meta={})
        s.add(item)
        s.flush()
        task = Task(project_id=project.id, item_id=item.id, wanted=1)
        s.add(task)
        s.flush()
        s.add(TaskSlot(project_id=project.id, task_id=task.id, slot=0))
        s.add(ProjectMember(project_id=project.id, user_id=ann.id, added_by="test"))
        s.commit()
        rig.project, rig.peer_id = project.id, peer.id

    def set_peer(status: str) -> None:
        with core.sessions() as s:
            s.get(VpnPeer, rig.peer_id).status = status
            s.commit()

    rig.set_peer = set_peer
    yield rig
    core.engine.dispose()
    rig.proc.stop()


def test_a_remote_session_shows_the_servers_watermark_across_the_work_area(rig, browser, lang):
    ctx = new_context(browser, lang, extra_http_headers={"X-Forwarded-For": PEER})
    page = ctx.new_page()
    try:
        login(page, rig.url, "annotator")
        open_menu(page, "/work")
        page.click(f"#work-projects li[data-project='{rig.project}'] a")
        expect(page.locator("#content")).to_have_attribute("data-ready", "1", timeout=15_000)
        expect(page.locator("#text")).to_have_text(TEXT)
        wm = page.locator("#watermark")
        expect(wm).to_have_class("watermark remote")
        expect(wm.locator("span").first).to_contain_text(f"p-003 · {PEER}")
        expect(wm.locator("span").first).to_be_visible()
        # It lies over the content itself: watermark lines cross the text's box.
        text = page.locator("#text").bounding_box()
        crossing = wm.locator("span").evaluate_all(
            """(els, t) => els.map(e => e.getBoundingClientRect()).filter(r =>
                r.right > t.x && r.left < t.x + t.width && r.bottom > t.y && r.top < t.y + t.height).length""", text)
        assert crossing >= 1
        # Drawn stronger than a seat's (alpha .28): no camera watches a remote screen.
        alpha = float(wm.evaluate("e => getComputedStyle(e).color").rstrip(")").split(",")[3])
        assert alpha > 0.3
        # The peer revoked: the content leaves the page, and the reason is named.
        rig.set_peer("revoked")
        expect(page.locator("#refused-reasons li[data-reason='unknown_remote_peer']")).to_be_visible(timeout=10_000)
        expect(page.locator("#text")).to_have_count(0)
    finally:
        ctx.close()
