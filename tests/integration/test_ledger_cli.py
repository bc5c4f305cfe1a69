"""The evidence ledger end to end: events ledgered by the running controller, exported by an
inspector over the API, verified offline by `siteguard verify-ledger`."""
from __future__ import annotations

import json

import pytest

from tests.conftest import ControllerRig, cli

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ledger")
    rig = ControllerRig(tmp, f"sqlite:///{tmp / 'controller.db'}").start()
    try:
        rig.seed_users({"insp": ("inspector", None), "adm": ("admin", None),
                        "acme1": ("customer", "acme")})
        insp = rig.client("insp", "insp-pass")
        rig.client("adm", "adm-pass").patch("/api/users/3", json={"active": True})
        import httpx

        httpx.post(rig.url + "/api/auth/token", json={"username": "adm", "password": "nope"})
        assert rig.client("acme1", "acme1-pass").get("/api/ledger/export").status_code == 403
        key = insp.get("/api/ledger/checkpoint").json()["public_key"]
        r = insp.get("/api/ledger/export")
        assert r.status_code == 200
        path = tmp / "export.json"
        path.write_bytes(r.content)
        yield path, key, json.loads(r.content)
    finally:
        rig.proc.stop()


def test_export_holds_security_events_and_verifies(exported):
    path, key, doc = exported
    kinds = [e["kind"] for e in doc["entries"]]
    for expected in ("site.config_changed", "user.created", "auth.login", "auth.login_failed",
                     "user.changed", "controller.started"):
        assert expected in kinds
    res = cli("verify-ledger", str(path), "--key", key)
    assert res.returncode == 0 and res.stdout.startswith("OK:"), res.stdout


def test_every_single_byte_flip_is_caught(exported, tmp_path):
    path, key, _ = exported
    raw = path.read_bytes()
    from retention.ledger import verify_export

    # Every position, in process (fast); then a few through the real CLI.
    for i in range(len(raw)):
        bad = raw[:i] + bytes([raw[i] ^ 0x01]) + raw[i + 1:]
        assert not verify_export(bad, trusted_public_key=bytes.fromhex(key)).ok, f"flip at {i} passed"
    for i in (len(raw) // 3, len(raw) // 2, len(raw) - 5):
        bad = tmp_path / f"bad{i}.json"
        bad.write_bytes(raw[:i] + bytes([raw[i] ^ 0x01]) + raw[i + 1:])
        res = cli("verify-ledger", str(bad), "--key", key, check=False)
        assert res.returncode == 1 and "FAIL:" in res.stdout, res.stdout


def test_an_edited_entry_is_named(exported, tmp_path):
    path, key, doc = exported
    victim = next(e for e in doc["entries"] if e["kind"] == "auth.login_failed")
    victim["data"]["username"] = "someone-else"
    bad = tmp_path / "edited.json"
    bad.write_text(json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    res = cli("verify-ledger", str(bad), "--key", key, check=False)
    assert res.returncode == 1
    assert f"entry {victim['index']}:" in res.stdout


def test_a_foreign_key_is_refused(exported):
    path, _, _ = exported
    res = cli("verify-ledger", str(path), "--key", "00" * 32, check=False)
    assert res.returncode == 1 and "FAIL:" in res.stdout
