"""An officer logs in with a real browser and watches the agent come online, live."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.pages import T
from tests.conftest import ControllerRig, make_agent

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_officer_logs_in_and_sees_agent_online(tmp_path, page, lang, served):
    rig = ControllerRig(tmp_path, served[0], workers=served[1]).start()
    agent = make_agent(tmp_path, rig, name="edge-floor3")
    try:
        rig.seed_users({"off": ("officer", None)})
        page.goto(rig.url + "/")
        expect(page).to_have_url(rig.url + "/login")
        page.fill("input[name=username]", "off")
        page.fill("input[name=password]", "wrong-password")
        page.click("main button[type=submit]")
        expect(page.get_by_role("alert")).to_contain_text(T(lang, "Wrong username or password."))
        page.fill("input[name=username]", "off")
        page.fill("input[name=password]", "off-pass")
        page.click("main button[type=submit]")
        expect(page).to_have_url(rig.url + "/")
        row = page.locator("#agents tr[data-agent=edge-floor3]")
        expect(row.locator(".state")).to_have_attribute("data-state", "offline")  # enrolled, never connected
        expect(row.locator(".state")).to_have_text(T(lang, "offline"))
        agent.start()  # no reload: the page updates itself
        expect(row.locator(".state")).to_have_attribute("data-state", "online", timeout=20_000)
        expect(row.locator(".state")).to_have_text(T(lang, "online"))
        expect(page.locator("#events")).to_contain_text(T(lang, "Edge agent {agent} started", agent="edge-floor3"),
                                                        timeout=10_000)
        page.screenshot(path=str(tmp_path / "overview.png"), full_page=True)
        agent.stop()
        expect(row.locator(".state")).to_have_attribute("data-state", "offline", timeout=20_000)
        alarm = page.locator("#alarms li[data-kind='agent.offline']")
        expect(alarm).to_have_count(1, timeout=10_000)
        expect(alarm).to_contain_text(T(lang, "Edge agent offline"))
        page.click("#logout")
        expect(page).to_have_url(rig.url + "/login")
    finally:
        agent.stop()
        rig.proc.stop()
