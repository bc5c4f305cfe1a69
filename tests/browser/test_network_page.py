"""An officer requests a change, the customer reviews the exact lines and signs in its browser
(WebCrypto Ed25519, key imported from a PEM file), the officer applies it and the switches get it."""
from __future__ import annotations

import re

import pytest
from cryptography.hazmat.primitives import serialization
from playwright.sync_api import expect

from tests.browser.conftest import new_context
from tests.browser.pages import T, login, open_menu
from tests.network_site import start_network_site, stop_network_site

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def site(tmp_path_factory, lang, served):  # per language: the test changes the switches
    ctx = start_network_site(tmp_path_factory.mktemp("netpage"), *served)
    yield ctx
    stop_network_site(ctx)


def test_request_sign_in_the_browser_and_apply(site, browser, lang, tmp_path):
    url = site["rig"].url
    officer = new_context(browser, lang, viewport={"width": 1280, "height": 1000}).new_page()
    login(officer, url, "off")
    open_menu(officer, "/network")
    expect(officer.locator("#vlans tr[data-vlan='110']")).to_have_attribute("data-isolated", "false", timeout=15_000)
    expect(officer.locator("#vlans tr[data-vlan='110']")).to_contain_text(T(lang, "not isolated"))
    officer.select_option("#req-vlan", "110")
    expect(officer.locator("#req-allows")).to_have_value("tcp 10.0.0.10 443 platform\nudp 10.0.0.53 53 dns")
    officer.fill("input[name=title]", "Isolate acme")
    officer.click("#request button[type=submit]")
    result = officer.locator("#req-result")
    expect(result).to_have_attribute("data-change", re.compile(r"^chg-"), timeout=15_000)
    change_id = result.get_attribute("data-change")
    expect(result).to_have_text(T(lang, "requested {change}", change=change_id))
    status = officer.locator(f"#changes tr[data-change='{change_id}'] .status")
    expect(status).to_have_attribute("data-status", "pending", timeout=15_000)
    expect(status).to_have_text(T(lang, "pending"))

    key_file = tmp_path / "acme.pem"
    key_file.write_bytes(site["keys"]["acme"].private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    acme = new_context(browser, lang, viewport={"width": 1280, "height": 1000}).new_page()
    login(acme, url, "acme1")
    expect(acme).to_have_url(url + "/")  # a customer lands on its own overview
    acme.goto(url + "/network")
    expect(acme.locator("#vlans tbody tr")).to_have_count(1, timeout=15_000)  # its own VLAN only
    acme.set_input_files("#key-file", str(key_file))
    expect(acme.locator("#key-state")).to_have_attribute("data-ready", "yes", timeout=10_000)
    acme.click(f"#changes a:text('{change_id}')")
    expect(acme.locator("#detail [data-device='sw-core'] pre.commands")).to_contain_text(
        "10 permit tcp 10.110.0.0 0.0.0.255 host 10.0.0.10 eq 443", timeout=15_000)
    expect(acme.locator("#detail [data-device='sw-floor'] pre.commands")).to_contain_text("acl name SG-V110 advance")
    acme.click("#approve")
    expect(acme.locator("#detail")).to_have_attribute("data-status", "approved", timeout=15_000)

    officer.click(f"#changes a:text('{change_id}')")
    officer.click("#apply")
    expect(status).to_have_attribute("data-status", "applied", timeout=120_000)
    expect(officer.locator("#vlans tr[data-vlan='110']")).to_contain_text("tcp 10.0.0.10 443 platform", timeout=15_000)
    # The picture: acme's VLAN no longer reaches borealis; borealis, not isolated yet, still reaches acme.
    expect(officer.locator("#reach tr[data-vlan='110'] td[data-to='VLAN 120 (borealis)']")).to_have_class(
        "reach-none", timeout=15_000)
    expect(officer.locator("#reach tr[data-vlan='110'] td[data-to='platform']")).to_have_class("reach-some")
    expect(officer.locator("#reach tr[data-vlan='120'] td[data-to='VLAN 110 (acme)']")).to_have_class("reach-all")
    acme.reload()
    expect(acme.locator("#reach tr")).to_have_count(2, timeout=15_000)  # header and its own VLAN
    expect(acme.locator("#reach tr[data-vlan='110'] td[data-to='other customers']")).to_have_class("reach-none")
    officer.screenshot(path=str(tmp_path / "network.png"), full_page=True)
    lines = site["switches"].config_lines("sw-core")
    assert "ip access-list extended SG-V110" in lines and " ip access-group SG-V110 in" in lines
