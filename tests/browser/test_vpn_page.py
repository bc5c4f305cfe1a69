"""The VPN page as an officer and a customer read it. The site has a WireGuard gateway in its site
file but no edge agent is connected: requesting a device needs no edge, and the active peer is a
row as the edge would have left it. An officer sees both customers' devices, revokes one with a
reason and is told plainly that the gateway has not confirmed; a customer sees its own devices and
the reasons its devices were revoked, no revoke button, and adds a device whose change it then
finds on the network page."""
from __future__ import annotations

import datetime as dt
import re

import pytest
import yaml
from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser.pages import T, login, open_menu, pattern
from tests.conftest import DEMO_SITE, ControllerRig
from tests.vpn_site import wg_keypair

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REVOKED_REASON = "phone lost on the metro"
OTHER_REASON = "borealis contract ended"


def _site_file(tmp):
    doc = yaml.safe_load(DEMO_SITE.read_text())
    doc["cameras"], doc["seats"], doc["gates"], doc["switches"] = [], [], [], []
    for area in doc.get("areas") or []:
        area.pop("floor_plan", None)
    doc["customers"][0]["remote"] = {"allowed": True, "range": "10.200.0.0/24"}
    doc["customers"][1]["remote"] = {"allowed": True, "range": "10.201.0.0/24", "modalities": ["image"],
                                     "watermark": False}
    private, _public = wg_keypair()
    doc["network"]["vpn"] = {"interface": "sgwg0", "listen_port": 51820, "private_key": private,
                             "platform": ["10.0.0.10"], "endpoint": "vpn.example.test"}
    path = tmp / "site.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def rig(tmp_path_factory, served):
    tmp = tmp_path_factory.mktemp("vpnpage")
    rig = ControllerRig(tmp, served[0], site=_site_file(tmp), workers=served[1]).start()
    try:
        rig.seed_users({"off": ("officer", None), "acme1": ("customer", "acme")})
        officer = rig.client("off", "off-pass")
        rig.site_id = officer.get("/api/sites").json()[0]["id"]
        rig.requested = {}
        for customer, person in (("acme", "p-003"), ("borealis", "p-006")):
            r = officer.post(f"/api/sites/{rig.site_id}/vpn/peers", json={
                "customer": customer, "person": person, "public_key": wg_keypair()[1], "label": f"{customer} laptop"})
            assert r.status_code == 201, r.text
            rig.requested[customer] = r.json()["peer"]
        _insert_peers(rig)
        yield rig
    finally:
        rig.proc.stop()


def _insert_peers(rig) -> None:
    """An active peer as the edge leaves it once a signed change ran, and two revoked ones."""
    from controller.models import Customer, VpnPeer

    now = dt.datetime.now(dt.UTC)
    with rig.db().begin() as conn:
        ids = dict(conn.execute(select(Customer.slug, Customer.id)).all())
        rows = [("acme", "p-004", "acme phone", "10.200.0.9", "active", None, None, ""),
                ("acme", "p-008", "acme old phone", "10.200.0.10", "revoked", now, "off", REVOKED_REASON),
                ("borealis", "p-007", "borealis tablet", "10.201.0.20", "revoked", now, "off", OTHER_REASON)]
        for customer, person, label, address, status, ended, by, reason in rows:
            conn.execute(VpnPeer.__table__.insert().values(
                site_id=rig.site_id, customer_id=ids[customer], person=person, label=label,
                public_key=wg_keypair()[1], address=address, status=status, created_by="off",
                created_at=now - dt.timedelta(days=1), active_since=now - dt.timedelta(hours=1),
                ended_at=ended, ended_by=by, end_reason=reason))


def _peer_row(rig, address: str) -> dict:
    from controller.models import VpnPeer

    with rig.db().connect() as conn:
        return dict(conn.execute(select(VpnPeer.__table__).where(VpnPeer.address == address)).mappings().one())


def _headings_in_language(page, lang: str) -> None:
    expect(page.locator("h1")).to_contain_text(T(lang, "Remote work over VPN"))
    expect(page.locator("h2", has_text=T(lang, "Remote-work rules"))).to_be_visible()
    if lang == "zh_CN":
        assert re.search(r"[\u4e00-\u9fff]", page.locator("h1").inner_text())
        assert all(re.search(r"[\u4e00-\u9fff]", h) for h in page.locator("h2:visible").all_inner_texts()
                   if not h.startswith("WireGuard"))


def test_officer_sees_every_customers_devices_and_revokes_one(rig, page, lang, tmp_path):
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    login(page, rig.url, "off", landing=True)
    open_menu(page, "/vpn")
    _headings_in_language(page, lang)
    expect(page.locator("#gateway")).to_have_text(
        T(lang, "interface {interface} · UDP port {port} · MTU {mtu}", interface="sgwg0", port=51820, mtu=1420),
        timeout=15_000)
    expect(page.locator("#health-legend")).to_contain_text("180")
    # No edge connected: the page says there are no figures, and why.
    expect(page.locator("#edge-error")).to_be_visible()
    expect(page.locator("#rules tr[data-customer]")).to_have_count(2)
    expect(page.locator("#rules tr[data-customer='acme']")).to_contain_text(T(lang, "allowed"))

    live = page.locator("#peers tr[data-peer]")
    expect(live).to_have_count(3)
    for customer in ("acme", "borealis"):
        row = page.locator(f"#peers tr[data-peer='{rig.requested[customer]['id']}']")
        expect(row).to_have_attribute("data-customer", customer)
        expect(row.locator(".badge")).to_have_text(T(lang, "requested"))
        expect(row.locator(".handshake")).to_have_text(T(lang, "never"))
        expect(row.locator("button.revoke")).to_have_count(0)  # nothing on the gateway to cut yet
    active = page.locator("#peers tr[data-status='active']")
    expect(active.locator(".badge")).to_have_text(T(lang, "active"))
    expect(active.locator("button.revoke")).to_have_text(T(lang, "Revoke"))
    expect(active.locator("button.rotate")).to_have_text(T(lang, "Rotate key"))

    # The client config of a requested device: everything but the device's own private key.
    page.locator(f"#peers tr[data-peer='{rig.requested['acme']['id']}'] button.config").click()
    expect(page.locator("#config-text")).to_contain_text("Address = 10.200.0.1/32")
    expect(page.locator("#config-text")).to_contain_text("PrivateKey = <")
    expect(page.locator("#config-text")).to_contain_text("Endpoint = vpn.example.test:51820")

    reason = f"laptop stolen ({lang})"
    page.once("dialog", lambda d: d.accept(reason))
    active.locator("button.revoke").click()
    result = page.locator("#peer-result")
    expect(result).to_have_attribute("data-status", "revoking", timeout=15_000)
    expect(result).to_have_text(pattern(T(lang, "{address}: the controller stopped serving this device; the gateway "
                                             "has not confirmed ({error}). Press Revoke again.",
                                          address="10.200.0.9", error="@e@"), e=".+"))
    row = page.locator("#peers tr[data-peer]", has_text="10.200.0.9")
    expect(row).to_have_attribute("data-status", "revoking")
    expect(row.locator("button.revoke")).to_have_text(T(lang, "Revoke again"))
    stored = _peer_row(rig, "10.200.0.9")
    assert (stored["status"], stored["ended_by"], stored["end_reason"]) == ("revoking", "off", reason)

    page.locator("#ended summary").click()
    ended = page.locator("#ended-peers tr[data-peer]")
    expect(ended).to_have_count(2)
    expect(page.locator("#ended-peers tr[data-customer='borealis'] .reason")).to_have_text(OTHER_REASON)
    page.screenshot(path=str(tmp_path / "vpn.png"), full_page=True)
    assert errors == []


def test_customer_sees_its_own_devices_and_adds_one(rig, page, lang):
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    login(page, rig.url, "acme1", landing=True)
    open_menu(page, "/vpn")
    _headings_in_language(page, lang)
    live = page.locator("#peers tr[data-peer]")
    expect(live.first).to_be_visible(timeout=15_000)
    expect(live).to_have_count(2)  # its requested laptop and the phone (active, or revoking after the officer)
    expect(page.locator("#peers tr[data-customer='borealis'], #ended-peers tr[data-customer='borealis']")).to_have_count(0)
    expect(page.locator("button.revoke")).to_have_count(0)
    expect(page.locator("#rules tr[data-customer]")).to_have_count(1)
    page.locator("#ended summary").click()
    revoked = page.locator("#ended-peers tr[data-customer='acme'][data-status='revoked']")
    expect(revoked.locator(".reason")).to_have_text(REVOKED_REASON)
    expect(revoked).to_contain_text("off")
    expect(page.locator("body")).not_to_contain_text(OTHER_REASON)

    form = page.locator("#add-device")
    expect(form.locator("select[name=customer] option")).to_have_count(1)
    form.locator("input[name=person]").fill("p-004")
    form.locator("input[name=label]").fill("tablet")
    form.locator("input[name=public_key]").fill(wg_keypair()[1])
    form.locator("button[type=submit]").click()
    result = page.locator("#add-result")
    expect(result).to_have_attribute("data-change", re.compile(r"^vpn-"), timeout=15_000)
    change = result.get_attribute("data-change")
    expect(result).to_contain_text(T(lang, "Requested {address} as change {change}: its customer signs it, then an "
                                           "officer starts it.", address="10.200.0.2", change=change))
    expect(live).to_have_count(3)
    link = result.locator(f"a[href='/network#{change}']")
    expect(link).to_have_text(T(lang, "sign or start {change} on the Network page", change=change))

    # The network page shows the change: its one device is the gateway, its lines are the whole of it.
    link.click()
    detail = page.locator("#detail")
    expect(detail).to_have_attribute("data-change", change, timeout=15_000)
    expect(detail.locator("[data-device='vpn:sgwg0'] pre.commands")).to_contain_text("wg set sgwg0 peer")
    expect(detail.locator(".spec")).to_contain_text("10.200.0.2")
    expect(page.locator("#approve")).to_be_visible()
    assert errors == []
