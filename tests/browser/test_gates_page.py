"""An officer watches people walk through the gates, who is inside, and filters the access log."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.gate_site import start_gate_site, stop_gate_site

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    ctx = start_gate_site(tmp_path_factory.mktemp("gatepage"))
    yield ctx
    stop_gate_site(ctx)


def test_gates_occupancy_and_log(site, page, tmp_path):
    url = site["rig"].url
    page.goto(url + "/login")
    page.fill("input[name=username]", "off")
    page.fill("input[name=password]", "off-pass")
    page.click("button[type=submit]")
    page.click("text=Gates")
    expect(page.locator(".gate-row[data-gate=gate-main] .badge")).to_have_text("locked", timeout=15_000)
    site["gates"].act("gate-main", "enter", person="p-003")
    site["gates"].act("gate-side", "badge", person="p-005")  # expired training: denied
    expect(page.locator("ul.people[data-area=floor3]")).to_contain_text("p-003", timeout=15_000)
    expect(page.locator("#events")).to_contain_text("denied: training_expired", timeout=15_000)
    page.fill("input[name=person]", "p-003")
    page.click("#filters button")
    expect(page.locator("#events tbody tr")).to_have_count(2, timeout=10_000)  # decision + passage
    page.screenshot(path=str(tmp_path / "gates.png"), full_page=True)
