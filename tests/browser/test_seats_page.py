"""The floor map: seats coloured by coverage, with the reasons of those not covered. The seat
states enter through the controller's own ingest (the path edge events take), so the page is
tested on its own; the edge's judging is tested in tests/unit/test_seat_watcher.py."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser.pages import T, login, open_menu
from tests.conftest import ControllerRig

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def rig(tmp_path_factory, served_database):
    tmp = tmp_path_factory.mktemp("seatpage")
    rig = ControllerRig(tmp, served_database[0], workers=served_database[1]).start()
    rig.seed_users({"off": ("officer", None), "acme1": ("customer", "acme")})
    from controller.app import open_core
    from controller.ingest import customer_ids, store_events
    from controller.models import Agent, Site
    from controller.settings import Settings
    from edge_agent.wire.messages import Event as WireEvent

    core = open_core(Settings(data_dir=rig.data, database_url=rig.env["SITEGUARD_DATABASE_URL"]))
    with core.sessions() as s:
        site = s.scalar(select(Site))
        agent = Agent(name="edge-seats", site_id=site.id, public_key="y" * 40, status={})
        s.add(agent)
        s.commit()
        states = [("A1", "acme", True, []), ("A2", "acme", False, ["camera_offline"]),
                  ("B1", "borealis", False, ["out_of_focus"]), ("B2", "borealis", True, [])]
        events = [WireEvent(seq=i + 1, ts="2026-11-25T00:00:00Z", kind="seat.state",
                            data={"seat": seat, "customer": cust, "covered": ok, "reasons": reasons,
                                  "camera": "cam-01", "views": []})
                  for i, (seat, cust, ok, reasons) in enumerate(states)]
        store_events(s, agent.id, site.id, events, customer_ids(s))
        s.commit()
    core.engine.dispose()
    yield rig
    rig.proc.stop()


def test_floor_map_colours_and_reasons(rig, page, lang, tmp_path):
    login(page, rig.url, "off")
    open_menu(page, "/seats")
    expect(page.locator("#floor g.seat[data-seat='A1']")).to_have_class("seat covered", timeout=15_000)
    expect(page.locator("#floor g.seat[data-seat='A2']")).to_have_class("seat uncovered")
    expect(page.locator("#floor g.seat[data-seat='B1']")).to_have_class("seat uncovered")
    expect(page.locator("#floor g.seat[data-seat='A3']")).to_have_class("seat unknown")  # not judged yet
    expect(page.locator("#uncovered li[data-seat='A2']")).to_contain_text(T(lang, "camera offline"))
    expect(page.locator("#percent")).to_have_text(T(lang, "{percent} % covered", percent=50))  # 2 of 4 judged
    page.screenshot(path=str(tmp_path / "seats.png"), full_page=True)


def test_a_customer_sees_its_own_seats_only(rig, page):
    login(page, rig.url, "acme1")
    page.goto(rig.url + "/seats")
    expect(page.locator("#floor g.seat[data-seat='A1']")).to_have_count(1, timeout=15_000)
    expect(page.locator("#floor g.seat[data-seat='B1']")).to_have_count(0)
    expect(page.locator("#uncovered")).not_to_contain_text("B1")
