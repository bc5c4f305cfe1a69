"""A device's key made in the officer's browser: the page makes the X25519 pair, sends only the
public key with the request, then shows the client config with its PrivateKey filled in, a
download of it and a QR code drawn in the page. The test reads the QR code off the screen as a
phone would (OpenCV), checks the key in it belongs to the public key the controller stored, and
that the private key reached neither the controller (any request, any database column, its log
or data files) nor the browser's storage. The site is the VPN page test's (a gateway in the site
file, no edge agent: requesting a device needs none)."""
from __future__ import annotations

import base64
import json
import re
import urllib.parse
from pathlib import Path

import cv2
import numpy as np
import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from playwright.sync_api import expect
from sqlalchemy import MetaData, select

from tests.browser.pages import T, login, open_menu
from tests.browser.test_vpn_page import _site_file
from tests.conftest import ControllerRig
from tests.vpn_site import wg_keypair

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def rig(tmp_path_factory, served):
    tmp = tmp_path_factory.mktemp("vpnqr")
    rig = ControllerRig(tmp, served[0], site=_site_file(tmp), workers=served[1]).start()
    try:
        rig.seed_users({"off": ("officer", None)})
        officer = rig.client("off", "off-pass")
        rig.site_id = officer.get("/api/sites").json()[0]["id"]
        # A device whose key was made on the device itself: this browser never holds its private key.
        r = officer.post(f"/api/sites/{rig.site_id}/vpn/peers", json={
            "customer": "acme", "person": "p-004", "public_key": wg_keypair()[1], "label": "own key"})
        assert r.status_code == 201, r.text
        rig.pasted = r.json()["peer"]
        yield rig
    finally:
        rig.proc.stop()


def _stored_peer(rig, public_key: str) -> dict:
    from controller.models import VpnPeer

    with rig.db().connect() as conn:
        return dict(conn.execute(select(VpnPeer.__table__).where(VpnPeer.public_key == public_key)).mappings().one())


def _public_of(private_b64: str) -> str:
    key = X25519PrivateKey.from_private_bytes(base64.b64decode(private_b64, validate=True))
    return base64.b64encode(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()


def _decode_qr(png: bytes) -> str:
    img = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_GRAYSCALE)
    text, points, _straight = cv2.QRCodeDetector().detectAndDecode(img)
    assert points is not None and text, "no QR code found in the screenshot"
    return text


def _needles(private_b64: str) -> list[bytes]:
    """The private key in every form it could be kept or sent in: base64, URL-encoded, raw, hex."""
    raw = base64.b64decode(private_b64)
    return [private_b64.encode(), urllib.parse.quote(private_b64, safe="").encode(), raw, raw.hex().encode()]


def _database_holds(rig, needles: list[bytes]) -> list[str]:
    """Every table, every column, every row of the controller's database: where a needle is."""
    found = []
    engine = rig.db()
    meta = MetaData()
    meta.reflect(engine)
    with engine.connect() as conn:
        for table in meta.sorted_tables:
            for row in conn.execute(select(table)).mappings():
                for column, value in row.items():
                    if value is None:
                        continue
                    data = bytes(value) if isinstance(value, (bytes, bytearray, memoryview)) else str(value).encode()
                    if any(n in data for n in needles):
                        found.append(f"{table.name}.{column}")
    engine.dispose()
    assert len(meta.sorted_tables) > 10  # the scan saw the real schema
    return found


def _files_holding(paths: list[Path], needles: list[bytes]) -> list[str]:
    return [str(p) for p in paths if p.is_file() and any(n in p.read_bytes() for n in needles)]


def test_key_made_in_the_browser_becomes_a_config_file_and_qr_code(rig, page, lang, tmp_path):
    errors, sent = [], []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: sent.append((r.url, r.post_data_buffer or b"")))
    login(page, rig.url, "off", landing=True)
    open_menu(page, "/vpn")
    form = page.locator("#add-device")
    expect(form.locator("select[name=customer] option")).to_have_count(2, timeout=15_000)
    form.locator("select[name=customer]").select_option("acme")
    form.locator("input[name=person]").fill("p-003")
    form.locator("input[name=label]").fill("laptop")

    make = page.locator("#make-key")
    expect(make).to_have_text(T(lang, "Make the key in this browser"))
    make.click()
    expect(page.locator("#make-key-result")).to_have_attribute("data-made", "true")
    public_key = form.locator("input[name=public_key]").input_value()
    assert len(base64.b64decode(public_key, validate=True)) == 32

    form.locator("button[type=submit]").click()
    expect(page.locator("#add-result")).to_have_attribute("data-change", re.compile(r"^vpn-"), timeout=15_000)
    stored = _stored_peer(rig, public_key)
    card = page.locator("#config")
    expect(card).to_have_attribute("data-peer", str(stored["id"]), timeout=15_000)
    qr = page.locator("#config-qr svg")
    expect(qr).to_be_visible()
    once = page.locator("#config-once")
    expect(once).to_be_visible()
    expect(once).to_have_text(T(lang, "Shown once: this private key exists only in this page. Scan the QR code with "
                                      "the WireGuard app or download the file now; closing or reloading the page "
                                      "discards the key, and the device would have to be added again."))
    expect(page.locator("#config-no-qr")).to_be_hidden()
    if lang == "zh_CN":
        assert CJK.search(make.inner_text()) and CJK.search(once.inner_text())
        assert CJK.search(page.locator("#config-download").inner_text())

    # (a) The QR code, read off the screen, is exactly the config shown; its key is the device's.
    config = page.locator("#config-text").text_content()
    assert f"\nAddress = {stored['address']}/32\n" in config
    private_key = re.search(r"^PrivateKey = (\S+)$", config, re.M).group(1)
    assert _public_of(private_key) == public_key == stored["public_key"]
    assert _decode_qr(qr.screenshot()) == config
    card.screenshot(path=str(tmp_path / "config-qr.png"))

    # (c) The download is the same text, named after the device's address.
    with page.expect_download() as info:
        page.locator("#config-download").click()
    assert info.value.suggested_filename == "sgvpn.conf"  # wg-quick takes the interface name from it
    assert Path(info.value.path()).read_text() == config

    # The page keeps the key for this session: the device's "Client config" shows it again; a
    # device whose key was made on the device gets no QR code, and the page says why.
    page.locator(f"#peers tr[data-peer='{rig.pasted['id']}'] button.config").click()
    expect(card).to_have_attribute("data-peer", str(rig.pasted["id"]))
    expect(page.locator("#config-qr")).to_be_hidden()
    expect(page.locator("#config-no-qr")).to_have_text(T(lang, "No QR code here: this browser does not hold the "
                                                             "private key of this device. The device fills in its "
                                                             "PrivateKey line; the WireGuard app there imports the file."))
    expect(page.locator("#config-text")).to_contain_text("PrivateKey = <")
    page.locator(f"#peers tr[data-peer='{stored['id']}'] button.config").click()
    expect(card).to_have_attribute("data-peer", str(stored["id"]))
    expect(page.locator("#config-text")).to_have_text(config)
    expect(qr).to_be_visible()

    # (b) The private key never left the page: not in any request, nor in the browser's storage,
    # nor in the controller's database, log or data files.
    needles = _needles(private_key)
    assert sent and not [url for url, body in sent if any(n in url.encode() + body for n in needles)]
    assert any(url.endswith("/vpn/peers") and public_key.encode() in body for url, body in sent)
    storage = page.evaluate("""async () => JSON.stringify({
        local: Object.assign({}, localStorage), session: Object.assign({}, sessionStorage),
        idb: (await indexedDB.databases()).map((d) => d.name), cookie: document.cookie })""")
    assert private_key not in storage and json.loads(storage)["idb"] == []
    assert _database_holds(rig, needles) == []
    assert _files_holding([rig.proc.log_path, *rig.data.rglob("*")], needles) == []

    # Closing the page discards the key: reloaded, the same device's config is the device's to fill in.
    page.reload()
    page.locator(f"#peers tr[data-peer='{stored['id']}'] button.config").click()
    expect(card).to_have_attribute("data-peer", str(stored["id"]), timeout=15_000)
    expect(page.locator("#config-text")).to_contain_text("PrivateKey = <")
    expect(page.locator("#config-qr")).to_be_hidden()
    expect(page.locator("#config-no-qr")).to_be_visible()
    assert errors == []


def test_without_webcrypto_x25519_the_page_says_so_and_takes_a_pasted_key(rig, page, lang):
    # An old browser cannot be had here: this one's X25519 is made to refuse the way one without
    # it does (NotSupportedError from generateKey).
    page.add_init_script("""crypto.subtle.generateKey = () =>
        Promise.reject(new DOMException("Algorithm: Unrecognized name", "NotSupportedError"));""")
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    login(page, rig.url, "off", landing=True)
    open_menu(page, "/vpn")
    form = page.locator("#add-device")
    expect(form.locator("select[name=customer] option")).to_have_count(2, timeout=15_000)
    page.locator("#make-key").click()
    result = page.locator("#make-key-result")
    expect(result).to_have_attribute("data-made", "false")
    expect(result).to_have_text(T(lang, "This browser cannot make a WireGuard key ({error}): that needs WebCrypto "
                                        "X25519, a current browser and a page served over HTTPS. Make the key pair on "
                                        "the device and paste its public key.", error="Algorithm: Unrecognized name"))
    public_key = form.locator("input[name=public_key]")
    expect(public_key).to_have_value("")
    expect(public_key).to_be_focused()
    form.locator("select[name=customer]").select_option("acme")
    form.locator("input[name=person]").fill("p-005")
    public_key.fill(wg_keypair()[1])
    form.locator("button[type=submit]").click()
    expect(page.locator("#add-result")).to_have_attribute("data-change", re.compile(r"^vpn-"), timeout=15_000)
    expect(page.locator("#config")).to_be_hidden()  # no key here, nothing shown unasked
    assert errors == []
