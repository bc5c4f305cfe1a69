"""The floor plan page: cameras with their footprints, a blind patch in red where an offline camera
leaves floor unwatched, seats by coverage, the blind area in m². Camera states enter through the
controller's own ingest (the path edge events take)."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser.pages import T, login, open_menu
from tests.conftest import ControllerRig

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def rig(tmp_path_factory, served_database):
    tmp = tmp_path_factory.mktemp("floorplanpage")
    rig = ControllerRig(tmp, served_database[0], workers=served_database[1]).start()
    rig.seed_users({"off": ("officer", None)})
    from controller.app import open_core
    from controller.ingest import customer_ids, store_events
    from controller.models import Agent, Site
    from controller.settings import Settings
    from edge_agent.wire.messages import Event as WireEvent

    core = open_core(Settings(data_dir=rig.data, database_url=rig.env["SITEGUARD_DATABASE_URL"]))
    with core.sessions() as s:
        site = s.scalar(select(Site))
        agent = Agent(name="edge-floor", site_id=site.id, public_key="f" * 40, status={})
        s.add(agent)
        s.commit()
        states = {f"cam-0{i}": "recording" for i in range(1, 10)} | {"cam-08": "offline"}
        events = [WireEvent(seq=i + 1, ts="2026-11-25T00:00:00Z", kind="camera.state",
                            data={"camera": cam, "state": st}) for i, (cam, st) in enumerate(states.items())]
        store_events(s, agent.id, site.id, events, customer_ids(s))
        s.commit()
    core.engine.dispose()
    yield rig
    rig.proc.stop()


def test_the_plan_shows_footprints_and_the_blind_patch_of_an_offline_camera(rig, page, lang, tmp_path):
    login(page, rig.url, "off")
    open_menu(page, "/floorplan")
    area = page.locator("section.floor-area[data-area=floor3]")
    expect(area.locator("polygon.footprint:not(.dark)")).to_have_count(8, timeout=15_000)
    expect(area.locator("polygon.footprint.dark[data-camera=cam-08]")).to_have_count(1)
    patch = area.locator("polygon.blind-patch.over")
    expect(patch).to_have_count(1)
    assert float(patch.get_attribute("data-m2")) > 0.5
    expect(area.locator("g.camera.dark[data-camera=cam-08]")).to_have_count(1)
    expect(area.locator("g.seat.covered")).to_have_count(16)  # the patch lies beside the seats
    expect(area.locator("g.gate[data-gate=gate-main]")).to_have_count(1)
    summary = area.locator(".blind-summary")
    expect(summary).to_contain_text("m²")
    expect(area.locator("p.alarm-line")).to_contain_text("cam-08")
    expect(area.locator("tr[data-camera=cam-08] td.bad")).to_have_text("offline")
    expect(area.locator("tr[data-camera=cam-01] button")).to_have_text(T(lang, "calibrate"))
    page.screenshot(path=str(tmp_path / "floorplan.png"), full_page=True)
