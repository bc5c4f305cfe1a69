"""An officer watches the camera grid, opens a camera, reads its timeline and plays a segment."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.pages import T, login, open_menu
from tests.camera_site import start_camera_site, stop_camera_site
from tests.conftest import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def site(tmp_path_factory, lang, served):
    ctx = start_camera_site(tmp_path_factory.mktemp("campages"), *served)
    yield ctx
    stop_camera_site(ctx)


def test_grid_timeline_and_playback(site, page, lang, tmp_path):
    url, sid = site["rig"].url, site["site_id"]
    wait_for(lambda: len(site["officer"].get(f"/api/cameras/{sid}/cam-01/segments").json()["segments"]) >= 2,
             timeout=90, what="segments", interval=1)
    login(page, url, landing=True)
    open_menu(page, "/cameras")
    card = page.locator(".camera-card[data-camera=cam-01]")
    expect(card.locator(".badge")).to_have_attribute("data-state", "recording", timeout=30_000)
    expect(card.locator(".badge")).to_have_text(T(lang, "recording"))
    # The snapshot really is a picture (decoded by the browser, not just a response).
    wait_for(lambda: page.evaluate(
        "() => { const i = document.querySelector('.camera-card[data-camera=cam-01] img');"
        " return i && i.complete && i.naturalWidth > 0 ? i.naturalWidth : 0; }"), timeout=30,
        what="snapshot shown")
    page.screenshot(path=str(tmp_path / "cameras.png"), full_page=True)
    card.click()
    expect(page.locator("#cam-state")).to_have_text(T(lang, "recording"), timeout=15_000)
    segs = page.locator("#timeline rect.seg.rec")
    expect(segs.first).to_be_visible(timeout=20_000)
    segs.last.click()
    expect(page.locator("#playing")).to_have_attribute("data-seq", re.compile(r"^\d+$"))
    # The browser fetches and decodes the MP4 through the controller: it plays.
    wait_for(lambda: page.evaluate("() => { const v = document.getElementById('player');"
                                   " return v.readyState >= 2 && v.videoWidth; }"),
             timeout=30, what="video decoded")
    assert page.evaluate("() => document.getElementById('player').videoWidth") == 1280
    page.screenshot(path=str(tmp_path / "camera.png"), full_page=True)
