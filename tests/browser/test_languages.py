"""The language switcher on every page, and times in the site's time zone whatever the
browser's own zone is."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from controller.i18n import LOCALES, html_lang
from tests.browser.conftest import new_context
from tests.browser.pages import T, login, open_menu
from tests.conftest import ControllerRig

pytestmark = [pytest.mark.browser, pytest.mark.slow]

EVENT_TS = "2026-11-25T23:30:00Z"  # in Asia/Shanghai (the demo site's zone): the next day, 07:30


@pytest.fixture(scope="module")
def rig(tmp_path_factory, served_database):
    tmp = tmp_path_factory.mktemp("languages")
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
        agent = Agent(name="edge-lang", site_id=site.id, public_key="z" * 40, status={})
        s.add(agent)
        s.commit()
        event = WireEvent(seq=1, ts=EVENT_TS, kind="seat.state",
                          data={"seat": "A1", "customer": "acme", "covered": True, "reasons": [],
                                "camera": "cam-01", "views": []})
        store_events(s, agent.id, site.id, [event], customer_ids(s))
        s.commit()
    core.engine.dispose()
    yield rig
    rig.proc.stop()


def other(lang: str) -> str:
    return next(code for code in LOCALES if code != lang)


def test_the_switcher_turns_every_page_to_the_other_language(rig, page, lang):
    page.goto(rig.url + "/login")
    expect(page.locator("html")).to_have_attribute("lang", html_lang(lang))  # the browser's language
    expect(page.locator("h1")).to_have_text(T(lang, "Log in"))
    new = other(lang)
    page.click(f"#lang-switch button[data-locale='{new}']")
    expect(page.locator("html")).to_have_attribute("lang", html_lang(new))
    expect(page.locator("h1")).to_have_text(T(new, "Log in"))
    # The choice holds after login and on every page, in the templates and in the page scripts.
    login(page, rig.url, landing=True)
    expect(page.locator("html")).to_have_attribute("lang", html_lang(new))
    expect(page.locator("h1")).to_contain_text(T(new, "Site overview"))
    state = page.locator("#agents tr[data-agent=edge-lang] .state")
    expect(state).to_have_text(T(new, "offline"), timeout=15_000)
    open_menu(page, "/seats")
    expect(page.locator("h1")).to_contain_text(T(new, "Seat coverage"))
    expect(page.locator("#lang-switch button.current")).to_have_attribute("data-locale", new)
    # And back, from a page behind the login.
    page.click(f"#lang-switch button[data-locale='{lang}']")
    expect(page).to_have_url(rig.url + "/seats")
    expect(page.locator("h1")).to_contain_text(T(lang, "Seat coverage"))
    # Chosen while logged in, the language is the user's: another browser that asks for the other
    # language, without the cookie, gets it after login.
    elsewhere = new_context(page.context.browser, new)
    try:
        other_page = elsewhere.new_page()
        other_page.goto(rig.url + "/login")
        expect(other_page.locator("h1")).to_have_text(T(new, "Log in"))
        login(other_page, rig.url, landing=True)
        expect(other_page.locator("html")).to_have_attribute("lang", html_lang(lang))
        expect(other_page.locator("h1")).to_contain_text(T(lang, "Site overview"))
    finally:
        elsewhere.close()


def test_times_are_shown_in_the_sites_time_zone(rig, browser, lang):
    ctx = new_context(browser, lang, timezone_id="America/New_York")  # not the site's zone
    page = ctx.new_page()
    try:
        login(page, rig.url, landing=True)
        cell = page.locator(f"#events tbody td[data-ts='{EVENT_TS}']")
        at = dt.datetime.fromisoformat(EVENT_TS.replace("Z", "+00:00")).astimezone(ZoneInfo("Asia/Shanghai"))
        expect(cell).to_have_text(at.strftime("%Y-%m-%d %H:%M:%S"), timeout=15_000)  # 2026-11-26 07:30:00
        assert page.evaluate("() => i18n.timeZone()") == "Asia/Shanghai"
        # A time typed on a page (the access log's filter) is read in the site's zone too.
        assert page.evaluate("() => i18n.fromSiteTime('2026-11-26T07:30').toISOString()") == "2026-11-25T23:30:00.000Z"
    finally:
        ctx.close()
