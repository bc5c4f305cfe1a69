"""Hostile input to the HTTP API: huge bodies, numbers past 64 bits, text that is not text,
racing decisions, an absent agent. Each gets a clear 4xx (or 503) in the documented shape,
never a 500, and a huge body is refused without being read."""
from __future__ import annotations

import base64
import threading

import httpx
import pytest
import zmq
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select

from controller.models import Customer, Role, Site
from controller.network import create_change, signing_document
from controller.services.users import create_user
from network_policy.approval import public_key_text
from tests.conftest import ControllerRig, app_with_demo_site, serve

USERS = {"adm": ("admin", None), "off": ("officer", None), "acme1": ("customer", "acme")}


@pytest.fixture
def api(tmp_path, database_url):
    app, site_id, agent_id = app_with_demo_site(tmp_path, database_url)
    core = app.state.core
    with core.sessions() as s:
        for username, (role, slug) in USERS.items():
            cid = s.scalar(select(Customer.id).where(Customer.slug == slug)) if slug else None
            create_user(s, core.ledger, username, f"{username}-pass", Role(role), cid, "test")
    with serve(app, database_url, raise_server_exceptions=False) as client:
        tokens = {}
        for username in USERS:
            r = client.post("/api/auth/token", json={"username": username, "password": f"{username}-pass"})
            tokens[username] = {"Authorization": f"Bearer {r.json()['token']}"}
        yield client, tokens, site_id, agent_id


def is_validation_error(r: httpx.Response) -> bool:
    detail = r.json()["detail"]
    return r.status_code == 422 and isinstance(detail, list) and all(
        set(d) == {"loc", "msg", "type"} and isinstance(d["msg"], str) for d in detail)


def test_integers_past_64_bits_are_422(api):
    client, tokens, site_id, _ = api
    big, small = str(2**63), str(-(2**63) - 1)
    for method, url in [("GET", f"/api/events/{big}"), ("GET", f"/api/alarms/{small}"),
                        ("GET", f"/api/sites/{big}/seats"), ("GET", f"/api/events?after_id={big}"),
                        ("GET", f"/api/events?agent_id={small}"), ("PATCH", f"/api/users/{big}"),
                        ("GET", f"/api/sites/{big}/coverage/history"), ("GET", f"/api/ledger/entries/{big}/proof"),
                        ("POST", f"/api/alarms/{big}/acknowledge")]:
        r = client.request(method, url, headers=tokens["adm"], json={} if method != "GET" else None)
        assert is_validation_error(r), f"{method} {url}: {r.status_code} {r.text[:200]}"
    r = client.get(f"/api/events/{2**63 - 1}", headers=tokens["adm"])
    assert r.status_code == 404  # the largest 64-bit id is a fine question with no answer


def test_text_that_is_not_text_is_422(api):
    client, tokens, site_id, _ = api
    json_headers = {"content-type": "application/json"}
    r = client.post("/api/auth/token", content=rb'{"username": "a\ud800", "password": "x"}', headers=json_headers)
    assert is_validation_error(r) and "surrogate" in r.json()["detail"][0]["msg"]
    r = client.post("/api/auth/token", content=b'{"username": "a\xff", "password": "x"}', headers=json_headers)
    assert is_validation_error(r) and "UTF-8" in r.json()["detail"][0]["msg"]
    # A valid body whose text the database could not store never reaches it.
    r = client.post(f"/api/sites/{site_id}/network/changes", headers={**tokens["off"], **json_headers},
                    content=rb'{"title": "\udfff", "vlans": {"110": null}}')
    assert is_validation_error(r)
    yaml_headers = {**tokens["adm"], "content-type": "application/yaml"}
    r = client.put(f"/api/sites/{site_id}/config", content=b"site:\n  id: \xff\n", headers=yaml_headers)
    assert is_validation_error(r) and r.json()["detail"][0]["msg"] == "the body is not valid UTF-8 text"
    r = client.put(f"/api/sites/{site_id}/config", content=b"site: [\n", headers=yaml_headers)
    assert is_validation_error(r) and "YAML" in r.json()["detail"][0]["msg"]


def test_errors_follow_the_schema_and_never_echo_the_input(api):
    client, tokens, site_id, _ = api
    r = client.post("/api/auth/token", json={"username": "x" * 500_000, "password": "p"})
    assert is_validation_error(r) and len(r.content) < 500
    # A route's own 422 with a message comes in the same shape.
    r = client.post("/api/agents", headers=tokens["adm"],
                    json={"name": "e", "site": "nowhere", "public_key": zmq.curve_keypair()[0].decode()})
    assert is_validation_error(r) and "unknown site" in r.json()["detail"][0]["msg"]
    r = client.put(f"/api/sites/{site_id}/config", headers={**tokens["adm"], "content-type": "application/yaml"},
                   content=b"site: {id: elsewhere}\n")
    assert is_validation_error(r)
    doc = client.app.openapi()
    assert doc["components"]["schemas"]["HTTPValidationError"]["properties"]["detail"]["type"] == "array"
    # Each operation documents the errors its shape implies, and its own.
    assert set(doc["paths"]["/api/agents/{agent_id}"]["get"]["responses"]) == {"200", "401", "403", "404", "422"}
    assert set(doc["paths"]["/api/auth/token"]["post"]["responses"]) == {"200", "401", "413", "422", "429"}
    assert {"409", "503"} <= set(doc["paths"]["/api/network/changes/{change_id}/apply"]["post"]["responses"])


def test_an_agent_that_is_not_connected_is_503(api):
    client, tokens, _, agent_id = api
    r = client.post(f"/api/agents/{agent_id}/commands", json={"name": "ping"}, headers=tokens["off"])
    assert r.status_code == 503 and r.json()["detail"] == "the agent is not connected"


def test_racing_approve_and_reject_give_409_not_500(api):
    client, tokens, site_id, _ = api
    key = Ed25519PrivateKey.generate()
    core = client.app.state.core
    with core.sessions() as s:
        s.scalar(select(Customer).where(Customer.slug == "acme")).approval_public_key = public_key_text(key.public_key())
        changes = [create_change(s, s.get(Site, site_id), f"isolate acme {i}", "off", {110: None}) for i in range(6)]
        s.commit()
        signatures = {c.id: base64.b64encode(key.sign(bytes.fromhex(signing_document(c, "acme")["digest"]))).decode()
                      for c in changes}
    for change_id, sig in signatures.items():
        answers: list[int] = []
        start = threading.Barrier(4)

        def decide(kind: str, body: dict) -> None:
            start.wait()
            r = client.post(f"/api/network/changes/{change_id}/{kind}", json=body, headers=tokens["acme1"])
            answers.append(r.status_code)

        threads = [threading.Thread(target=decide, args=args) for args in
                   [("approve", {"signature": sig}), ("reject", {"comment": "no"})] * 2]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert sorted(answers) == [200, 409, 409, 409], answers
        decisions = client.get(f"/api/network/changes/{change_id}", headers=tokens["acme1"]).json()["approvals"]
        assert len(decisions) == 1


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


@pytest.mark.slow
def test_a_huge_body_is_refused_without_being_read(tmp_path):
    rig = ControllerRig(tmp_path, f"sqlite:///{tmp_path / 'controller.db'}").start()
    try:
        pid = rig.proc.p.pid
        with httpx.Client(base_url=rig.url, timeout=30) as client:
            client.post("/api/auth/token", json={"username": "warm", "password": "up"})  # first-use allocations
            before = rss_kib(pid)
            chunk = b"A" * (1 << 16)
            total = 200 << 20

            def body():
                for _ in range(total // len(chunk)):
                    yield chunk

            # Streamed without a length (chunked), as JSON and as a site file; then a declared length.
            r = client.post("/api/auth/token", content=body(), headers={"content-type": "application/json"})
            assert r.status_code == 413 and "larger than this route accepts" in r.json()["detail"]
            r = client.put("/api/sites/1/config", content=body(), headers={"content-type": "application/yaml"})
            assert r.status_code == 413
            r = client.post("/api/auth/token", content=body(),
                            headers={"content-type": "application/json", "content-length": str(total)})
            assert r.status_code == 413
            grown = rss_kib(pid) - before
            assert grown < 8 * 1024, f"the controller grew by {grown} KiB"
            assert client.get("/healthz").status_code == 200
    finally:
        rig.proc.stop()
