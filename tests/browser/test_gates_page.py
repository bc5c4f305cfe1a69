"""An officer watches people walk through the gates, who is inside, and filters the access log."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.pages import T, open_menu
from tests.gate_site import start_gate_site, stop_gate_site

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def site(tmp_path_factory, lang, served):  # per language: the tests move people through the gates
    ctx = start_gate_site(tmp_path_factory.mktemp("gatepage"), *served)
    yield ctx
    stop_gate_site(ctx)


def test_gates_occupancy_and_log(site, page, lang, tmp_path):
    url = site["rig"].url
    page.goto(url + "/login")
    page.fill("input[name=username]", "off")
    page.fill("input[name=password]", "off-pass")
    page.click("main button[type=submit]")
    open_menu(page, "/gates")
    badge = page.locator(".gate-row[data-gate=gate-main] .badge")
    expect(badge).to_have_attribute("data-state", "locked", timeout=15_000)
    expect(badge).to_have_text(T(lang, "locked"))
    site["gates"].act("gate-main", "enter", person="p-003")
    site["gates"].act("gate-side", "badge", person="p-005")  # expired training: denied
    expect(page.locator("ul.people[data-area=floor3]")).to_contain_text("p-003", timeout=15_000)
    denied = page.locator("#events tbody tr[data-outcome=denied][data-reason=training_expired]")
    expect(denied).to_have_count(1, timeout=15_000)
    expect(denied).to_contain_text(T(lang, "denied: {reason}", reason=T(lang, "training expired")))
    page.fill("input[name=person]", "p-003")
    page.click("#filters button")
    expect(page.locator("#events tbody tr")).to_have_count(2, timeout=10_000)  # decision + passage
    page.screenshot(path=str(tmp_path / "gates.png"), full_page=True)


def test_officer_resets_passback_from_the_page(site, page, lang):
    url = site["rig"].url
    page.goto(url + "/login")
    page.fill("input[name=username]", "off")
    page.fill("input[name=password]", "off-pass")
    page.click("main button[type=submit]")
    open_menu(page, "/gates")
    site["gates"].act("gate-main", "enter", person="p-006")
    expect(page.locator("ul.people[data-area=floor3]")).to_contain_text("p-006", timeout=15_000)
    # The badge goes back over the gate; a second entry through the other gate is a passback.
    site["gates"].act("gate-side", "badge", person="p-006")
    expect(page.locator("#events tbody tr[data-outcome=denied][data-reason=passback_denied]")).to_have_count(
        1, timeout=15_000)
    page.once("dialog", lambda d: d.accept())
    page.click("ul.people[data-area=floor3] button[data-person=p-006]")
    expect(page.locator("#reset-result")).to_have_text(T(lang, "anti-passback reset for {person}", person="p-006"),
                                                       timeout=15_000)
    # Neutral again: the next entry is granted and the person is inside once more.
    site["gates"].act("gate-side", "enter", person="p-006")
    page.fill("input[name=person]", "p-006")
    page.fill("input[name=gate]", "gate-side")
    page.click("#filters button")
    rows = page.locator("#events tbody tr")
    expect(rows).to_have_count(3, timeout=15_000)  # denied, granted after the reset, the passage
    expect(rows.nth(0)).to_have_attribute("data-outcome", "passed")
    expect(rows.nth(0)).to_contain_text(T(lang, "passed"))
    expect(rows.nth(1)).to_have_attribute("data-outcome", "granted")
    expect(rows.nth(1)).to_contain_text(T(lang, "granted"))
    expect(rows.nth(2)).to_have_attribute("data-reason", "passback_denied")
    expect(rows.nth(2)).to_contain_text(T(lang, "denied: {reason}", reason=T(lang, "anti-passback")))


def test_lanes_drawn_and_a_tailgate_names_both_people(site, page, lang, tmp_path):
    url = site["rig"].url
    page.goto(url + "/login")
    page.fill("input[name=username]", "off")
    page.fill("input[name=password]", "off-pass")
    page.click("main button[type=submit]")
    open_menu(page, "/gates")
    lanes = page.locator("#lanes g.lane")
    expect(lanes).to_have_count(2, timeout=15_000)
    expect(page.locator("#lanes g.lane[data-gate=gate-main]")).to_have_attribute("data-lane", "closed")
    expect(page.locator("#lanes g.lane[data-gate=gate-main]")).to_contain_text(T(lang, "closed"))
    # Sun Li's expired badge is refused at the side gate; she follows Zhou Na through on her grant.
    site["gates"].act("gate-side", "badge", person="p-007")
    site["gates"].act("gate-side", "tailgate", person="p-008")
    alarm = page.locator("#gate-alarms li[data-kind=tailgating][data-gate=gate-side]")
    holder, follower = (T(lang, "{name} ({person})", name=n, person=p) for n, p in
                        (("Zhou Na", "p-008"), ("Sun Li", "p-007")))
    expect(alarm.first).to_contain_text(T(lang, "{title} at {gate}: {holder} badged, {follower} went through on the "
                                              "same grant", title=T(lang, "Tailgating"), gate="gate-side",
                                          holder=holder, follower=follower), timeout=20_000)
    expect(alarm.first).to_have_attribute("data-people", "p-008 p-007")
    # Who went through last, by name, on the lane.
    site["gates"].act("gate-main", "enter", person="p-004")
    main = page.locator("#lanes g.lane[data-gate=gate-main]")
    expect(main).to_have_attribute("data-last-person", "p-004", timeout=15_000)
    expect(main).to_contain_text("Wang Fang")
    page.screenshot(path=str(tmp_path / "gate-lanes.png"), full_page=True)
