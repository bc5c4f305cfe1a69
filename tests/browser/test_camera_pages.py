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


def test_timeline_has_hour_ticks_the_live_segment_and_alarm_periods(site, page, lang, tmp_path):
    url, sid = site["rig"].url, site["site_id"]
    wait_for(lambda: len(site["officer"].get(f"/api/cameras/{sid}/cam-02/segments").json()["segments"]) >= 1,
             timeout=90, what="segments", interval=1)
    login(page, url, landing=True)
    page.goto(f"{url}/cameras/{sid}/cam-02")
    # The axis: ticks labelled on the site's clock, at least one on a whole hour over 6 hours.
    page.select_option("#span", "6")
    ticks = page.locator("#timeline g.tick text")
    expect(ticks.first).to_have_text(re.compile(r"^(\d\d:\d\d|\d\d-\d\d)$"), timeout=15_000)
    expect(page.locator("#timeline g.tick.hour").first).to_be_attached()
    expect(page.locator("#timeline-zone")).to_have_text(T(lang, "times in %(zone)s") % {"zone": "Asia/Shanghai"})
    # The segment being written now is "recording", not a gap.
    expect(page.locator("#timeline rect.seg.live[data-kind=recording]")).to_have_count(1, timeout=20_000)
    # Cover the lens: the alarm's period appears as a band over the timeline, and in the list.
    site["fleet"].fault("cam-02", "lens_covered")
    try:
        band = page.locator("#timeline rect.alarm-band")
        expect(band.first).to_be_attached(timeout=60_000)
        expect(page.locator("#camera-alarms li[data-kind]").first).to_be_attached()
        page.screenshot(path=str(tmp_path / "camera-timeline.png"), full_page=True)
    finally:
        site["fleet"].fault("cam-02", None)
