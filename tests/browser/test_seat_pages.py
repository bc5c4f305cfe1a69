"""An officer opens a seat on the floor map of a running site (simulated cameras, edge agent
with the detector, controller): the camera frame with the seat's polygons and the detections,
the seat's timeline, a seat that loses coverage when someone stands in front of its screen, and
calibration by clicking new polygons on a snapshot, which the edge judges with from then on."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.pages import TN, T, login, open_menu, pattern
from tests.camera_site import start_camera_site, stop_camera_site
from tests.conftest import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def site(tmp_path_factory, lang, served):  # per language: the test occludes and recalibrates seats
    ctx = start_camera_site(tmp_path_factory.mktemp("seatpages"), *served)
    for seat, cam in (("A1", "cam-01"), ("A2", "cam-01"), ("A3", "cam-02"), ("A4", "cam-02")):
        ctx["fleet"].seat(cam, seat, state="occupied")
    yield ctx
    stop_camera_site(ctx)


def seat_states(ctx) -> dict:
    r = ctx["officer"].get(f"/api/sites/{ctx['site_id']}/seats")
    assert r.status_code == 200, r.text
    return {s["seat"]: s for s in r.json()["seats"]}


def canvas_click(page, x: float, y: float, main_width: int = 1280) -> None:
    """Click the seat canvas at main-stream pixel (x, y)."""
    box = page.locator("#seat-canvas").bounding_box()
    k = box["width"] / main_width
    page.mouse.click(box["x"] + x * k, box["y"] + y * k)


def test_seat_frame_timeline_occlusion_and_calibration(site, page, lang, tmp_path):
    sid, officer = site["site_id"], site["officer"]
    wait_for(lambda: {s for s, v in seat_states(site).items() if v["covered"]} == {"A1", "A2", "A3", "A4"},
             timeout=90, what="all four seats covered", interval=1)
    login(page, site["rig"].url, landing=True)
    open_menu(page, "/seats")
    page.locator("#floor g.seat[data-seat='A1']").click()
    expect(page.locator("#seat-panel")).to_be_visible()
    expect(page.locator("#seat-badge")).to_have_attribute("data-state", "covered", timeout=15_000)
    expect(page.locator("#seat-badge")).to_have_text(T(lang, "covered"))
    expect(page.locator("#seat-summary")).to_have_attribute("data-occupied", "true")
    expect(page.locator("#seat-summary")).to_contain_text(T(lang, "occupied"))
    expect(page.locator("#seat-frame-note")).to_contain_text("cam-01", timeout=15_000)
    expect(page.locator("#seat-views li[data-person-seen=true]")).not_to_have_count(0)
    expect(page.locator("#seat-views")).to_contain_text(T(lang, "person seen"))
    # The frame is drawn: the canvas holds the sub-stream picture, with the polygons on it.
    assert page.evaluate("() => document.getElementById('seat-canvas').width") == 640
    seat_yellow = page.evaluate("""() => { const c = document.getElementById('seat-canvas').getContext('2d');
        const d = c.getImageData(0, 0, 640, 360).data; let n = 0;
        for (let i = 0; i < d.length; i += 4) if (d[i] > 230 && d[i+1] > 180 && d[i+1] < 220 && d[i+2] < 40) n++;
        return n; }""")
    assert seat_yellow > 200  # the seat zone's outline
    expect(page.locator("#seat-timeline rect.seg.covered")).not_to_have_count(0)
    share = T(lang, "proven covered {percent} % of the time (time not judged counts against)", percent="@p@")
    expect(page.locator("#seat-share")).to_have_text(pattern(share, p=r"\d+(\.\d+)?"))
    # The work policy: the seat may show acme's data; a borealis annotator may not work here.
    expect(page.locator("#seat-policy")).to_have_text(T(lang, "Customer data may be shown at this seat now."))
    page.fill("#policy-person", "p-006")
    page.click("#policy-check button")
    answer = page.locator("#policy-answer")
    expect(answer).to_have_attribute("data-reasons", re.compile(r"^not_assigned_to_customer\b"))
    expect(answer).to_contain_text(T(lang, "{person} may not: {reasons}", person="p-006",
                                     reasons=T(lang, "not assigned to customer")))
    page.screenshot(path=str(tmp_path / "seat.png"), full_page=True)

    # Someone stands in front of A2's screen: A2 is no longer covered, and says why.
    site["fleet"].seat("cam-01", "A2", occluded=True)
    wait_for(lambda: seat_states(site)["A2"]["reasons"] == ["occluded"], timeout=60, what="A2 occluded", interval=1)
    page.locator("#uncovered li[data-seat='A2']").click()
    expect(page.locator("#seat-badge")).to_have_text(T(lang, "not covered"), timeout=15_000)
    expect(page.locator("#seat-summary")).to_have_attribute("data-reasons", "occluded")
    expect(page.locator("#seat-summary")).to_contain_text(T(lang, "occluded"))
    expect(page.locator("#seat-history li[data-reasons~='occluded']")).not_to_have_count(0)
    expect(page.locator("#seat-policy")).to_have_attribute("data-reasons", re.compile(r"^seat_not_covered\b"))
    expect(page.locator("#seat-policy")).to_contain_text(T(lang, "seat not covered"))
    # The alarm on the overview carries the frame it was raised on, polygons and boxes drawn.
    open_menu(page, "/")
    # The headline figure: the share of seats covered, below 100 % while A2 is occluded.
    headline = page.locator("#coverage li").first
    covered = TN(lang, "{site}: {covered} of {n} seat covered, as of {ago}",
                 "{site}: {covered} of {n} seats covered, as of {ago}", 4, site="demo-floor3", covered=3, ago="@ago@")
    ago = re.escape(T(lang, "{n} s ago", n="@n@")).replace("@n@", r"\d+")
    expect(headline).to_contain_text(pattern(T(lang, "{percent} %", percent=75) + " " + covered, ago=ago))
    expect(headline.locator(".figure.bad-text")).to_have_count(1)
    frame = page.locator("#alarms li[data-kind=seat_uncovered][data-source='seat:A2']").locator("img.alarm-frame")
    expect(frame).to_have_count(1, timeout=15_000)
    assert page.evaluate("(img) => img.complete && img.naturalWidth", frame.element_handle()) == 640
    open_menu(page, "/seats")
    site["fleet"].seat("cam-01", "A2", occluded=False)

    # Calibrate A1: its screen zone redrawn on a bare stretch of wall. The edge takes the new
    # polygons, finds no screen there, and says so.
    page.locator("#floor g.seat[data-seat='A1']").click()
    expect(page.locator("#seat-badge")).to_have_attribute("data-state", "covered", timeout=15_000)
    page.click("#cal-start")
    expect(page.locator("#cal-status")).to_have_text(T(lang, "click the corners of the seat zone"), timeout=15_000)
    page.check("input[name=cal-zone][value=screen]")
    for x, y in ((40, 40), (180, 40), (180, 130), (40, 130)):
        canvas_click(page, x, y)
    expect(page.locator("#cal-status")).to_have_text(
        TN(lang, "screen zone: {n} point", "screen zone: {n} points", 4))
    page.click("#cal-save")
    expect(page.locator("#cal-status")).to_have_attribute("data-version", "2", timeout=15_000)
    detail = officer.get(f"/api/sites/{sid}/seats/A1").json()
    (view,) = detail["views"]
    assert all(abs(a - b) <= 2 for p, q in zip(view["screen_zone"], [[40, 40], [180, 40], [180, 130], [40, 130]])
               for a, b in zip(p, q))
    assert view["seat_zone"] == [[60, 180], [620, 160], [630, 700], [50, 710]]  # left as it was
    site["rig"].seed_users({"insp": ("inspector", None)})
    export = site["rig"].client("insp", "insp-pass").get("/api/ledger/export")
    assert export.status_code == 200 and '"seat.calibrated"' in export.text and '"by":"off"' in export.text.replace(" ", "")
    wait_for(lambda: "occluded" in seat_states(site)["A1"]["reasons"], timeout=60,
             what="A1 judged on its new screen zone", interval=1)
    page.screenshot(path=str(tmp_path / "calibrated.png"), full_page=True)
