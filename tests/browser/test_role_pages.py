"""Every role of the demo, in the browser: its menu holds exactly the pages it may open, each of
them opens, every other page answers 403 with the page that says so, and it finds exactly the
buttons it may use (page_access.py is the one table for all three)."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from controller import page_access
from controller.routers.pages import role_names
from tests.browser.pages import T, login
from tests.conftest import ControllerRig

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# The demo's logins (siteguard_cli.DEMO_USERS and an annotator of the site file), by role.
DEMO_ROLES = {"admin": ("admin", None), "officer": ("officer", None), "inspector": ("inspector", None),
              "acme": ("customer", "acme"), "annotator": ("annotator", None)}
# The buttons that change something, where each page shows them, by what they do.
BUTTONS = {"passback.reset": ("/gates", "#reset-all"),
           "network.drift_check": ("/network", "#drift-check"),
           "network.request": ("/network", "#request button[type=submit]"),
           "vpn.request": ("/vpn", "#add-device button[type=submit]"),
           "seat.calibrate": ("/seats", "#calibrate"),
           "seat.policy_check": ("/seats", "#policy-check"),
           "users.manage": ("/users", "#new-user button[type=submit]"),
           "training.record": ("/people", ".training-form button"),
           "ledger.export": ("/ledger", "#ledger-export"),
           "recordings.audit": ("/audit", "#audit-run button[type=submit]")}


@pytest.fixture(scope="module")
def rig(tmp_path_factory, served):
    rig = ControllerRig(tmp_path_factory.mktemp("roles"), served[0], workers=served[1])
    rig.start()
    rig.seed_users(DEMO_ROLES)
    yield rig
    rig.proc.stop()


@pytest.mark.parametrize("username", list(DEMO_ROLES))
def test_each_role_finds_exactly_its_pages_and_buttons(page, rig, lang, username):
    role = DEMO_ROLES[username][0]
    login(page, rig.url, username)
    home = page_access.home(role)
    expect(page).to_have_url(rig.url + home)
    expected = [p.path for p in page_access.menu(role)]
    menu = page.locator("header nav a")
    expect(menu).to_have_count(len(expected))
    assert [menu.nth(i).get_attribute("href") for i in range(len(expected))] == expected
    for p in page_access.PAGES:
        if p.path == "/" and role not in p.roles:
            continue  # "/" leads such a role to its own first page (checked above)
        r = page.goto(rig.url + p.path)
        if role in p.roles:
            assert r.status == 200, (role, p.path, r.status)
            expect(page.locator("#forbidden")).to_have_count(0)
        else:
            assert r.status == 403, (role, p.path, r.status)
            expect(page.locator("#forbidden h1")).to_have_text(T(lang, "Not for your role"))
            expect(page.locator("#forbidden")).to_contain_text(
                T(lang, "Your role (%(role)s) may not open this page.").replace("%(role)s", role_names(lang)[role]))
            expect(page.locator("header nav a")).to_have_count(len(expected))  # the 403 page has the menu
    for action, (path, selector) in BUTTONS.items():
        if not page_access.may_open(role, path.strip("/")):
            continue
        page.goto(rig.url + path)
        expect(page.locator("main")).to_be_visible()
        if page_access.may(role, action):
            expect(page.locator(selector).first).to_be_attached()
        else:
            expect(page.locator(selector)).to_have_count(0)
    if role == "customer":  # its own overview: its seats, alarms, VLANs and changes
        page.goto(rig.url + "/")
        for part in ("#my-seats", "#my-alarms", "#my-vlans", "#my-changes"):
            expect(page.locator(part)).to_be_visible()
        expect(page.locator("#my-vlans tr[data-vlan]")).to_have_count(1)  # acme's one VLAN, not borealis's
