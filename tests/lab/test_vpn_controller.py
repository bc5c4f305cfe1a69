"""Remote peers through the controller, end to end on a real WireGuard gateway: an officer asks
for a peer, its customer signs the exact lines, the officer starts it, the edge verifies and
runs it on wireguard-go; the VPN overview shows the peer with the tunnel's figures (a customer
sees its own only); an officer revokes it at once and the gateway no longer holds it. From the
attacker's side: lines altered in the controller's database after approval are refused by the
edge and the gateway is unchanged; a replaced site file cannot change a customer's remote rules,
only a change that customer signs can.

The gateway runs in the host's network namespace under a name of its own (no client is needed
here: reaching through the tunnel is proven in test_vpn_gateway.py)."""
from __future__ import annotations

import copy
import json
import secrets
import sqlite3
import subprocess

import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sqlalchemy import select

from controller.models import LedgerEntry
from network_policy.approval import public_key_text
from network_policy.vpn import TABLE
from tests.conftest import DEMO_SITE, ControllerRig, free_port, make_agent, wait_for
from tests.lab.conftest import cannot_run
from tests.lab.vpn_lab import blocker
from tests.network_site import sign_digest
from tests.vpn_site import wg_keypair

pytestmark = [pytest.mark.lab, pytest.mark.slow]


def _site_file(tmp, keys, iface: str, port: int) -> tuple:
    doc = yaml.safe_load(DEMO_SITE.read_text())
    doc["cameras"], doc["seats"], doc["gates"], doc["switches"] = [], [], [], []
    for area in doc.get("areas") or []:
        area.pop("floor_plan", None)
    for c in doc["customers"]:
        c["approval_public_key"] = public_key_text(keys[c["id"]].public_key())
    doc["customers"][0]["remote"] = {"allowed": True, "range": "10.200.0.0/24"}
    doc["customers"][1]["remote"] = {"allowed": False, "range": "10.201.0.0/24"}
    private, public = wg_keypair()
    # mtu 1280: the smallest tunnel MTU, which fits any underlay a host here has (some have 1400)
    doc["network"]["vpn"] = {"interface": iface, "listen_port": port, "private_key": private, "mtu": 1280,
                             "platform": ["10.0.0.10"], "endpoint": "vpn.example.test"}
    path = tmp / "site.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path, doc, public


def _wg_peers(iface: str) -> dict[str, str]:
    out = subprocess.run(["wg", "show", iface, "allowed-ips"], capture_output=True, text=True, timeout=10)
    assert out.returncode == 0, out.stderr
    return dict(ln.split("\t") for ln in out.stdout.splitlines() if ln.strip())


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    reason = blocker()
    if reason:
        cannot_run(reason)
    tmp = tmp_path_factory.mktemp("vpnctl")
    keys = {"acme": Ed25519PrivateKey.generate(), "borealis": Ed25519PrivateKey.generate()}
    iface = "sgt" + secrets.token_hex(3)
    site_file, doc, gateway_public = _site_file(tmp, keys, iface, free_port())
    rig = ControllerRig(tmp, f"sqlite:///{tmp / 'controller.db'}", site=site_file).start()
    agent = None
    try:
        rig.seed_users({"adm": ("admin", None), "off": ("officer", None), "acme1": ("customer", "acme"), "bor1": ("customer", "borealis")})
        agent = make_agent(tmp, rig, site=site_file).start()
        officer = rig.client("off", "off-pass")
        sid = officer.get("/api/sites").json()[0]["id"]
        wait_for(lambda: any(a["online"] for a in officer.get("/api/agents").json()), timeout=60, what="agent online")
        wait_for(lambda: subprocess.run(["wg", "show", iface], capture_output=True).returncode == 0, timeout=30,
                 what="the gateway interface")
        yield {"rig": rig, "officer": officer, "admin": rig.client("adm", "adm-pass"), "acme": rig.client("acme1", "acme1-pass"),
               "borealis": rig.client("bor1", "bor1-pass"), "sid": sid, "keys": keys, "iface": iface,
               "site_file": site_file, "doc": doc, "gateway_public": gateway_public, "tmp": tmp}
    finally:
        if agent is not None:
            agent.stop()
        rig.proc.stop()
        subprocess.run(["nft", "delete", "table", "inet", TABLE], capture_output=True)


def _sign(ctx, who: str, change_id: str):
    doc = ctx[who].get(f"/api/network/changes/{change_id}").json()
    [mine] = doc["signing"]
    return ctx[who].post(f"/api/network/changes/{change_id}/approve",
                         json={"signature": sign_digest(ctx["keys"][who], mine["digest"])})


def _peer(ctx, who: str, peer_id: int) -> dict | None:
    return next((p for p in ctx[who].get(f"/api/sites/{ctx['sid']}/vpn").json()["peers"] if p["id"] == peer_id), None)


def test_a_peer_signed_by_its_customer_runs_on_the_gateway_and_is_revoked_at_once(site):
    _, public = wg_keypair()
    r = site["officer"].post(f"/api/sites/{site['sid']}/vpn/peers",
                             json={"customer": "acme", "person": "p-003", "public_key": public, "label": "laptop"})
    assert r.status_code == 201, r.text
    peer, change_id = r.json()["peer"], r.json()["change"]
    assert peer["status"] == "requested" and peer["address"] == "10.200.0.1"
    doc = site["officer"].get(f"/api/network/changes/{change_id}").json()
    assert doc["kind"] == "vpn" and doc["customers"] == ["acme"]
    lines = doc["device_plans"][f"vpn:{site['iface']}"]["commands"]
    assert lines[0] == f"wg set {site['iface']} peer {public} allowed-ips 10.200.0.1/32"
    assert "ip daddr { 10.0.0.10, 10.110.0.0/24 }" in lines[1]

    # Not started before its customer signed; the other customer sees nothing of it.
    assert site["officer"].post(f"/api/network/changes/{change_id}/apply").status_code == 409
    assert site["borealis"].get(f"/api/network/changes/{change_id}").status_code == 404
    assert _peer(site, "borealis", peer["id"]) is None
    assert public not in _wg_peers(site["iface"])
    assert _sign(site, "acme", change_id).json()["status"] == "approved"
    r = site["officer"].post(f"/api/network/changes/{change_id}/apply")
    assert r.status_code == 200, r.text
    assert _wg_peers(site["iface"])[public] == "10.200.0.1/32"

    seen = _peer(site, "acme", peer["id"])
    assert seen["status"] == "active" and seen["active_since"]
    # No client has shaken hands: no handshake, nothing received, and the peer reads as down.
    assert seen["tunnel"] == {"endpoint": None, "handshake_age_s": None, "rx_bytes": 0, "tx_bytes": 0, "down": True}

    conf = site["acme"].get(f"/api/vpn/peers/{peer['id']}/client-config").json()["text"]
    assert "Address = 10.200.0.1/32" in conf and f"PublicKey = {site['gateway_public']}" in conf
    assert "Endpoint = vpn.example.test:" in conf and "AllowedIPs = 10.0.0.10/32, 10.110.0.0/24" in conf
    assert "PrivateKey = <" in conf  # the device's private key is never the controller's

    # A customer cannot revoke; an officer can, at once, with a reason the customer then reads.
    assert site["acme"].post(f"/api/vpn/peers/{peer['id']}/revoke", json={"reason": "x"}).status_code == 403
    r = site["officer"].post(f"/api/vpn/peers/{peer['id']}/revoke", json={"reason": "laptop lost on the metro"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "revoked" and r.json()["edge"]["seconds"] < 1.0
    assert public not in _wg_peers(site["iface"])
    seen = _peer(site, "acme", peer["id"])
    assert seen["status"] == "revoked" and seen["end_reason"] == "laptop lost on the metro"
    assert seen["ended_by"] == "off"


    def ledgered(kind: str) -> list[dict]:
        with site["rig"].db().connect() as c:
            return [json.loads(leaf)["data"] for leaf in c.scalars(select(LedgerEntry.leaf).where(LedgerEntry.kind == kind))]
    # The officer's order, and the gateway's own report of the cut with the time it took.
    [order] = wait_for(lambda: ledgered("vpn.revocation"), timeout=30, what="the revocation order in the ledger")
    assert (order["address"], order["officer"], order["customer"]) == ("10.200.0.1", "off", "acme")
    [cut] = wait_for(lambda: ledgered("vpn.peer_revoked"), timeout=30, what="the gateway's report in the ledger")
    assert cut["public_key"] == public and cut["seconds"] < 1.0


def test_lines_altered_after_approval_are_refused_by_the_edge(site):
    _, public = wg_keypair()
    r = site["acme"].post(f"/api/sites/{site['sid']}/vpn/peers",
                          json={"customer": "acme", "person": "p-003", "public_key": public})
    assert r.status_code == 201, r.text
    change_id, peer_id = r.json()["change"], r.json()["peer"]["id"]
    assert _sign(site, "acme", change_id).json()["status"] == "approved"
    # The attacker widens the peer's reach to the other customer's VLAN in the controller's database.
    with sqlite3.connect(site["tmp"] / "controller.db") as db:
        (devices,) = db.execute("SELECT devices FROM network_changes WHERE id = ?", (change_id,)).fetchone()
        d = json.loads(devices)
        plan = d[f"vpn:{site['iface']}"]
        plan["commands"][1] = plan["commands"][1].replace("10.110.0.0/24", "10.110.0.0/24, 10.120.0.0/24")
        db.execute("UPDATE network_changes SET devices = ? WHERE id = ?", (json.dumps(d), change_id))
    before = _wg_peers(site["iface"])
    r = site["officer"].post(f"/api/network/changes/{change_id}/apply")
    assert r.status_code == 409 and "refused" in r.json()["detail"]
    assert _wg_peers(site["iface"]) == before
    assert _peer(site, "officer", peer_id)["status"] == "refused"


def test_remote_rules_change_only_by_the_customers_signed_change(site):
    sid = site["sid"]
    # A replaced site file that lets borealis work remotely is refused.
    doc = copy.deepcopy(site["doc"])
    doc["customers"][1]["remote"]["allowed"] = True
    r = site["admin"].put(f"/api/sites/{sid}/config", content=yaml.safe_dump(doc),
                            headers={"Content-Type": "application/yaml"})
    assert r.status_code == 409, r.text
    assert "borealis" in r.json()["detail"]
    # A customer cannot ask for another customer's rules.
    assert site["acme"].post(f"/api/sites/{sid}/remote-rules", json={
        "customer": "borealis", "allowed": True, "modalities": ["text"]}).status_code == 403
    r = site["acme"].post(f"/api/sites/{sid}/remote-rules", json={
        "customer": "acme", "allowed": True, "modalities": ["text"], "watermark": True})
    assert r.status_code == 201, r.text
    change_id = r.json()["change"]
    assert r.json()["line"] == "remote-work acme allowed=yes modalities=text watermark=yes"
    rules = {c["customer"]: c for c in site["officer"].get(f"/api/sites/{sid}/vpn").json()["customers"]}
    assert rules["acme"]["modalities"] == ["text", "audio"]  # unchanged until signed and started
    assert _sign(site, "acme", change_id).json()["status"] == "approved"
    r = site["officer"].post(f"/api/network/changes/{change_id}/apply")
    assert r.status_code == 200, r.text
    rules = {c["customer"]: c for c in site["acme"].get(f"/api/sites/{sid}/vpn").json()["customers"]}
    assert rules == {"acme": {"customer": "acme", "allowed": True, "range": "10.200.0.0/24",
                              "modalities": ["text"], "watermark": True}}


def test_a_key_rotation_signed_by_its_customer_moves_the_address_to_the_new_key(site):
    sid, iface = site["sid"], site["iface"]
    _, old_key = wg_keypair()
    r = site["officer"].post(f"/api/sites/{sid}/vpn/peers",
                             json={"customer": "acme", "person": "p-003", "public_key": old_key, "label": "tablet"})
    assert r.status_code == 201, r.text
    old, change_id = r.json()["peer"], r.json()["change"]
    assert _sign(site, "acme", change_id).json()["status"] == "approved"
    assert site["officer"].post(f"/api/network/changes/{change_id}/apply").status_code == 200
    address = f"{old['address']}/32"
    assert _wg_peers(iface)[old_key] == address

    _, new_key = wg_keypair()
    # The other tenant's customer does not see the peer, so cannot rotate it.
    assert site["borealis"].post(f"/api/vpn/peers/{old['id']}/rotate", json={"public_key": new_key}).status_code == 404
    r = site["acme"].post(f"/api/vpn/peers/{old['id']}/rotate", json={"public_key": new_key})
    assert r.status_code == 201, r.text
    new, change_id = r.json()["peer"], r.json()["change"]
    assert (new["status"], new["address"], new["label"], new["person"]) == ("requested", old["address"], "tablet", "p-003")
    assert _peer(site, "acme", old["id"])["status"] == "rotating"
    [asked] = wait_for(lambda: _ledgered(site, "network.change_requested", change_id), timeout=30,
                       what="the rotation's request in the ledger")
    assert asked["kind"] == "vpn" and asked["by"] == "acme1"
    doc = site["officer"].get(f"/api/network/changes/{change_id}").json()
    assert doc["kind"] == "vpn" and doc["customers"] == ["acme"]
    assert doc["spec"]["action"] == "rotate" and doc["spec"]["replaces"] == old_key
    assert (doc["spec"]["peer_id"], doc["spec"]["replaces_peer_id"]) == (new["id"], old["id"])
    lines = doc["device_plans"][f"vpn:{iface}"]["commands"]
    assert lines[0] == f"wg set {iface} peer {new_key} allowed-ips {address}"
    assert f"wg set {iface} peer {old_key} remove" in lines
    # A second rotation of a peer already rotating is refused; the new key cannot be asked twice.
    _, other = wg_keypair()
    assert site["acme"].post(f"/api/vpn/peers/{old['id']}/rotate", json={"public_key": other}).status_code == 409

    # Before its customer signed, the old key still holds the address and the new one is absent.
    assert site["officer"].post(f"/api/network/changes/{change_id}/apply").status_code == 409
    peers = _wg_peers(iface)
    assert peers[old_key] == address and new_key not in peers
    assert _sign(site, "acme", change_id).json()["status"] == "approved"
    r = site["officer"].post(f"/api/network/changes/{change_id}/apply")
    assert r.status_code == 200, r.text
    peers = _wg_peers(iface)
    assert peers[new_key] == address and old_key not in peers

    view = site["officer"].get(f"/api/sites/{sid}/vpn").json()["peers"]
    by_id = {p["id"]: p for p in view}
    assert by_id[new["id"]]["status"] == "active" and by_id[new["id"]]["active_since"]
    assert by_id[old["id"]]["status"] == "rotated" and by_id[old["id"]]["end_reason"] == "key rotated"
    assert by_id[old["id"]]["ended_at"] and by_id[old["id"]]["ended_by"] == "acme1"
    # The gateway's two reports (the new key added, the old removed) leave the change applied
    # and the peers as they are.
    reports = wait_for(lambda: len(_ledgered(site, "vpn.peer_applied", change_id)) == 2 and
                       _ledgered(site, "vpn.peer_applied", change_id), timeout=30,
                       what="the gateway's two reports of the rotation in the ledger")
    assert sorted((d["action"], d["public_key"]) for d in reports) == [("add", new_key), ("remove", old_key)]
    assert site["officer"].get(f"/api/network/changes/{change_id}").json()["status"] == "applied"
    assert {p["id"]: p["status"] for p in site["acme"].get(f"/api/sites/{sid}/vpn").json()["peers"]
            if p["id"] in (old["id"], new["id"])} == {old["id"]: "rotated", new["id"]: "active"}


def test_a_rotation_rejected_or_refused_leaves_the_old_key_active_on_the_gateway(site):
    sid, iface = site["sid"], site["iface"]
    _, old_key = wg_keypair()
    r = site["acme"].post(f"/api/sites/{sid}/vpn/peers", json={"customer": "acme", "person": "p-003", "public_key": old_key})
    old, change_id = r.json()["peer"], r.json()["change"]
    _sign(site, "acme", change_id)
    assert site["officer"].post(f"/api/network/changes/{change_id}/apply").status_code == 200

    # Its customer rejects the rotation: the new key never comes, the old one is active again.
    r = site["officer"].post(f"/api/vpn/peers/{old['id']}/rotate", json={"public_key": wg_keypair()[1]})
    assert r.status_code == 201, r.text
    new_id, change_id = r.json()["peer"]["id"], r.json()["change"]
    r = site["acme"].post(f"/api/network/changes/{change_id}/reject", json={"comment": "not this device"})
    assert r.status_code == 200, r.text
    assert _peer(site, "acme", new_id)["status"] == "rejected"
    assert _peer(site, "acme", old["id"])["status"] == "active"

    # Signed, then its lines altered in the controller's database: the edge refuses, nothing moves.
    r = site["officer"].post(f"/api/vpn/peers/{old['id']}/rotate", json={"public_key": wg_keypair()[1]})
    new_id, change_id = r.json()["peer"]["id"], r.json()["change"]
    assert _sign(site, "acme", change_id).json()["status"] == "approved"
    with sqlite3.connect(site["tmp"] / "controller.db") as db:
        (devices,) = db.execute("SELECT devices FROM network_changes WHERE id = ?", (change_id,)).fetchone()
        d = json.loads(devices)
        d[f"vpn:{iface}"]["commands"].pop()  # the old key's rule would stay behind
        db.execute("UPDATE network_changes SET devices = ? WHERE id = ?", (json.dumps(d), change_id))
    before = _wg_peers(iface)
    r = site["officer"].post(f"/api/network/changes/{change_id}/apply")
    assert r.status_code == 409 and "refused" in r.json()["detail"]
    assert _wg_peers(iface) == before and before[old_key] == f"{old['address']}/32"
    assert _peer(site, "acme", new_id)["status"] == "refused"
    assert _peer(site, "acme", old["id"])["status"] == "active"

def _ledgered(ctx, kind: str, change_id: str) -> list[dict]:
    with ctx["rig"].db().connect() as c:
        found = [json.loads(leaf)["data"] for leaf in c.scalars(select(LedgerEntry.leaf).where(LedgerEntry.kind == kind))]
    return [d for d in found if d.get("change") == change_id]
