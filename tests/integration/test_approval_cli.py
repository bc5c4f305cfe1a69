"""A customer with an offline key: make it, then sign a change document after checking it."""
from __future__ import annotations

import base64
import json
import stat

from network_policy.acl import network
from network_policy.approval import digest, load_public_key
from network_policy.intent import Service, VlanPolicy, default_allows
from network_policy.render import change_commands
from tests.conftest import cli

A = VlanPolicy(110, "acme", network("10.110.0.0/24"),
               default_allows([Service("platform", network("10.0.0.10"), "tcp", (443,))]))


def change_doc() -> dict:
    plans = {"sw-core": {"commands": change_commands("cisco_ios", {}, {110: A.acl()})}}
    commands = {d: p["commands"] for d, p in plans.items()}
    expires = "2030-01-01T00:00:00Z"
    return {"id": "chg-1", "title": "Isolate acme", "expires": expires, "customers": ["acme"],
            "device_plans": plans, "analysis": {"newly_permitted": [], "newly_denied": ["VLAN 110 -> vlan 120 icmp"]},
            "signing": [{"customer": "acme", "digest": digest("chg-1", "acme", commands, expires)}]}


def test_make_a_key_and_sign_a_change(tmp_path):
    key = tmp_path / "acme.pem"
    public = cli("approval-key", "--out", str(key)).stdout.strip()
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert cli("approval-key", "--out", str(key), check=False).returncode == 2  # never overwrite a key
    doc = change_doc()
    path = tmp_path / "change.json"
    path.write_text(json.dumps(doc))
    res = cli("sign-change", "--key", str(key), "--change", str(path), "--customer", "acme")
    assert "ip access-list extended SG-V110" in res.stderr and "newly denied: 1" in res.stderr
    sig = base64.b64decode(res.stdout.strip())
    load_public_key(public).verify(sig, bytes.fromhex(doc["signing"][0]["digest"]))


def test_refuses_a_document_whose_digest_is_not_its_lines(tmp_path):
    key = tmp_path / "acme.pem"
    cli("approval-key", "--out", str(key))
    doc = change_doc()
    doc["device_plans"]["sw-core"]["commands"].insert(1, " 5 permit ip any any")  # shown lines differ
    path = tmp_path / "change.json"
    path.write_text(json.dumps(doc))
    res = cli("sign-change", "--key", str(key), "--change", str(path), "--customer", "acme", check=False)
    assert res.returncode == 1 and "not signing" in res.stderr and res.stdout == ""
    res = cli("sign-change", "--key", str(key), "--change", str(path), "--customer", "borealis", check=False)
    assert res.returncode == 1 and res.stdout == ""
