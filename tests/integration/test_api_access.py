"""Roles and customer scope, from the attacker's side, on every route the API has."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from controller.alarms import raise_alarm
from controller.annotation_tables import Dataset, Project
from controller.ingest import customer_ids, store_events
from controller.models import Alarm, Customer, Event, Role, Site, User, Vlan, VpnPeer
from controller.network import create_change
from controller.services.users import create_user
from controller.sessions import issue_token
from edge_agent.wire.messages import Event as WireEvent
from tests.conftest import app_with_demo_site, serve

USERS = {"adm": ("admin", None), "off": ("officer", None), "insp": ("inspector", None),
         "ann": ("annotator", None), "acme1": ("customer", "acme"), "bor1": ("customer", "borealis")}


@pytest.fixture
def api(tmp_path, database_url):
    app, site_id, agent_id = app_with_demo_site(tmp_path, database_url, agent_name="edge-x")
    core = app.state.core
    ids: dict[str, dict[str, int]] = {"acme": {}, "borealis": {}}
    with core.sessions() as s:
        for username, (role, cust) in USERS.items():
            cid = s.scalar(select(Customer.id).where(Customer.slug == cust)) if cust else None
            create_user(s, core.ledger, username, f"{username}-pass", Role(role), cid, "test")
        events = [WireEvent(seq=i + 1, ts="2026-11-25T00:00:00Z", kind=k, data=d) for i, (k, d) in enumerate([
            ("seat.state", {"customer": "acme", "seat": "A1", "covered": True, "reasons": [], "views": []}),
            ("seat.state", {"customer": "borealis", "seat": "B1", "covered": True, "reasons": [], "views": []}),
            ("alarm.seat_uncovered", {"customer": "acme", "source": "seat:A1", "severity": "critical",
                                      "message": "A1"}),
            ("alarm.seat_uncovered", {"customer": "borealis", "source": "seat:B1", "severity": "critical",
                                      "message": "B1"}),
            ("agent.started", {"site": "demo-floor3", "config_hash": ""}),
        ])]
        store_events(s, agent_id, site_id, events, customer_ids(s))
        raise_alarm(s, "agent.offline", "site-wide", source="agent:1")
        s.commit()
        for slug in ("acme", "borealis"):  # each customer's annotation project with one import
            cid = s.scalar(select(Customer.id).where(Customer.slug == slug))
            project = Project(customer_id=cid, slug=f"{slug}-text", name=f"{slug} texts", modality="text",
                              label_schema={"kind": "classification", "labels": ["a", "b"]}, created_by="test")
            s.add(project)
            s.flush()
            s.add(Dataset(project_id=project.id, name="first", created_by="test"))
        s.commit()
        for slug in ("acme", "borealis"):
            cid = s.scalar(select(Customer.id).where(Customer.slug == slug))
            project_id = s.scalar(select(Project.id).where(Project.customer_id == cid))
            ids[slug] = {
                "project_id": project_id,
                "dataset_id": s.scalar(select(Dataset.id).where(Dataset.project_id == project_id)),
                "customer_id": cid,
                "vlan_pk": s.scalar(select(Vlan.id).where(Vlan.customer_id == cid)),
                "event_id": s.scalar(select(Event.id).where(Event.customer_id == cid)),
                "alarm_id": s.scalar(select(Alarm.id).where(Alarm.customer_id == cid)),
            }
        borealis_change = create_change(s, s.get(Site, site_id), "isolate borealis", "off", {120: None})
        borealis_peer = VpnPeer(site_id=site_id, customer_id=ids["borealis"]["customer_id"], person="p-003",
                                public_key="A" * 43 + "=", address="10.201.0.1", status="active", created_by="off")
        s.add(borealis_peer)
        s.commit()
        bor1 = s.scalar(select(User.id).where(User.username == "bor1"))
        _, bor1_token = issue_token(s, bor1, dt.timedelta(hours=1), "bor1's", "test")
        ids["other"] = {"agent_id": agent_id, "site_id": site_id, "user_id": 1, "index": 0, "project_id": 1, "task_id": 1, "annotation_id": 1,
                        "camera": "cam-01", "segment_id": 1, "hold_id": "hold-x",
                        "person_pk": 1, "change_id": borealis_change.id, "seat_id": "B1",
                        "token_id": bor1_token.id, "report_id": 1, "drill_id": 1, "plan_id": 1, "job": "job-x",
                        "peer_id": borealis_peer.id}
    with serve(app, database_url) as client:
        yield client, ids


def login(client: TestClient, username: str) -> dict:
    r = client.post("/api/auth/token", json={"username": username, "password": f"{username}-pass"})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def api_routes(app):
    """Every operation the OpenAPI document publishes, so new endpoints are covered by default."""
    for path, ops in app.openapi()["paths"].items():
        for method in sorted(ops):
            yield method.upper(), path


# Site-level routes a customer may use: they must show and accept the customer's own VLANs only.
CUSTOMER_SITE_ROUTES = {("GET", "/api/sites/{site_id}/network"), ("GET", "/api/sites/{site_id}/network/changes"),
                        ("POST", "/api/sites/{site_id}/network/changes"), ("GET", "/api/sites/{site_id}/seats"),
                        ("GET", "/api/sites/{site_id}/coverage/history"), ("GET", "/api/sites/{site_id}/vpn"),
                        ("POST", "/api/sites/{site_id}/vpn/peers"), ("POST", "/api/sites/{site_id}/remote-rules")}


# Routes that act on the caller's own login (they would end the test's token); tested on their own.
SELF_ROUTES = {"/api/auth/token", "/api/auth/logout", "/api/me/password"}


def test_customer_cannot_touch_another_customers_objects(api):
    client, ids = api
    acme = login(client, "acme1")
    target = {**ids["other"], **ids["borealis"]}  # every id param points at borealis's object
    checked = 0
    for method, path in api_routes(client.app):
        if path in SELF_ROUTES:
            continue
        params = re.findall(r"{(\w+)}", path)
        url = path
        for p in params:
            assert p in target, f"test does not know how to fill {{{p}}} in {path}: extend it"
            url = url.replace("{" + p + "}", str(target[p]))
        r = client.request(method, url, headers=acme, json={})
        if (method, path) in CUSTOMER_SITE_ROUTES:
            assert r.status_code in (200, 422), f"{method} {url} gave {r.status_code}: {r.text[:200]}"
            assert "borealis" not in r.text and "10.120." not in r.text, f"{method} {url} leaked: {r.text[:300]}"
        elif params:
            assert r.status_code in (403, 404), f"{method} {url} gave {r.status_code}: {r.text[:200]}"
        else:
            assert r.status_code in (200, 403, 404, 422), f"{method} {url} gave {r.status_code}"
            if r.status_code == 200 and isinstance(r.json(), list):  # lists: own objects only
                for item in r.json():
                    cid = item.get("customer_id", item.get("id") if "slug" in item else None)
                    assert cid == ids["acme"]["customer_id"], f"{method} {url} leaked {item}"
        checked += 1
    assert checked >= 20


def test_customer_sees_its_own_objects(api):
    client, ids = api
    acme = login(client, "acme1")
    own = ids["acme"]
    assert client.get(f"/api/customers/{own['customer_id']}", headers=acme).status_code == 200
    vlans = client.get(f"/api/customers/{own['customer_id']}/vlans", headers=acme).json()
    assert [v["vlan_id"] for v in vlans] == [110]
    assert client.get(f"/api/vlans/{own['vlan_pk']}", headers=acme).status_code == 200
    assert client.get(f"/api/events/{own['event_id']}", headers=acme).json()["data"]["seat"] == "A1"
    assert client.get(f"/api/alarms/{own['alarm_id']}", headers=acme).json()["source"] == "seat:A1"
    seats = client.get(f"/api/sites/{ids['other']['site_id']}/seats", headers=acme).json()
    assert [s["seat"] for s in seats["seats"]] == ["A1"]
    officer = login(client, "off")
    seats = client.get(f"/api/sites/{ids['other']['site_id']}/seats", headers=officer).json()
    assert [s["seat"] for s in seats["seats"]] == ["A1", "B1"]
    events = client.get("/api/events", headers=acme).json()
    assert sorted(e["kind"] for e in events) == ["alarm.seat_uncovered", "seat.state"]
    assert {e["customer_id"] for e in events} == {own["customer_id"]}
    assert [c["slug"] for c in client.get("/api/customers", headers=acme).json()] == ["acme"]
    alarms = client.get("/api/alarms", headers=acme).json()
    assert [a["source"] for a in alarms] == ["seat:A1"]  # not the other's, not site-wide ones
    assert [p["slug"] for p in client.get("/api/projects", headers=acme).json()] == ["acme-text"]
    assert client.get(f"/api/projects/{own['project_id']}/datasets/{own['dataset_id']}", headers=acme).status_code == 200


ROLE_CASES = [
    (None, "/api/agents", 401), ("ann", "/api/agents", 403), ("acme1", "/api/agents", 403),
    ("insp", "/api/agents", 200), ("off", "/api/users", 403), ("adm", "/api/users", 200),
    ("acme1", "/api/ledger/export", 403), ("off", "/api/ledger/export", 403),
    ("insp", "/api/ledger/export", 200), ("acme1", "/api/sites", 403), ("ann", "/metrics", 403),
    ("off", "/metrics", 200), (None, "/metrics", 401), ("acme1", "/api/overview", 403),
]
# Annotation exports: the project's customer and the site's staff, never an annotator.
EXPORT_CASES = [(None, 401), ("ann", 403), ("bor1", 404), ("acme1", 200), ("off", 200), ("insp", 200), ("adm", 200)]


def test_who_may_export_a_project(api):
    client, ids = api
    client.app.state.ledger.integrate_all()
    for username, expected in EXPORT_CASES:
        headers = login(client, username) if username else {}
        got = client.post(f"/api/projects/{ids['acme']['project_id']}/exports", headers=headers)
        assert got.status_code == expected, f"{username}: {got.status_code}, expected {expected}: {got.text[:200]}"


def test_roles(api):
    client, _ = api
    tokens = {u: login(client, u) for u in USERS}
    for username, path, expected in ROLE_CASES:
        headers = tokens[username] if username else {}
        got = client.get(path, headers=headers).status_code
        assert got == expected, f"{username} GET {path}: {got}, expected {expected}"


def test_only_admin_changes_roles_and_it_is_ledgered(api):
    client, ids = api
    off, adm = login(client, "off"), login(client, "adm")
    users = {u["username"]: u for u in client.get("/api/users", headers=adm).json()}
    assert client.patch(f"/api/users/{users['ann']['id']}", json={"role": "admin"}, headers=off).status_code == 403
    before = client.app.state.ledger.settled_size()
    r = client.patch(f"/api/users/{users['ann']['id']}", json={"role": "officer"}, headers=adm)
    assert r.status_code == 200 and r.json()["role"] == "officer"
    assert client.app.state.ledger.settled_size() == before + 1
    bad = client.patch(f"/api/users/{users['ann']['id']}", json={"role": "customer"}, headers=adm)
    assert bad.status_code == 422  # a customer user must be scoped to a customer


def test_bad_tokens_and_hostile_input(api):
    client, _ = api
    # ("Bearer " with its space is the same header on the wire: HTTP trims trailing whitespace.)
    for header in ["Bearer nope", "Basic abc", "Bearer", "bearer sg_" + "A" * 500]:
        assert client.get("/api/agents", headers={"Authorization": header}).status_code == 401
    assert client.post("/api/auth/token", json={"username": "adm", "password": "wrong"}).status_code == 401
    assert client.post("/api/auth/token", content=b"\xff{", headers={"content-type": "application/json"}).status_code in (400, 422)
    adm = login(client, "adm")
    assert client.get("/api/events?limit=100000", headers=adm).status_code == 422
    assert client.get("/api/events/not-a-number", headers=adm).status_code == 422
    assert client.get("/api/events/999999999", headers=adm).status_code == 404
    r = client.post("/api/users", headers=adm, json={"username": "x y", "password": "longenough", "role": "officer"})
    assert r.status_code == 422
    r = client.post("/api/agents", headers=adm, json={"name": "e", "site": "demo-floor3", "public_key": "~" * 40})
    assert r.status_code == 422 and "Z85" in r.text


def test_session_cookie_requests_need_csrf(api):
    client, _ = api
    page = client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    r = client.post("/login", data={"username": "adm", "password": "adm-pass", "csrf": csrf},
                    follow_redirects=False)
    assert r.status_code == 303
    users = client.get("/api/users").json()  # the cookie works for reads
    ann = next(u for u in users if u["username"] == "ann")
    assert client.patch(f"/api/users/{ann['id']}", json={"active": False}).status_code == 403
    token = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/").text).group(1)
    r = client.patch(f"/api/users/{ann['id']}", json={"active": False}, headers={"X-CSRF-Token": token})
    assert r.status_code == 200 and r.json()["active"] is False


def test_another_customer_s_thing_reads_exactly_like_a_missing_one(api):
    client, ids = api
    acme = login(client, "acme1")
    for path, theirs in (("/api/events/{}", ids["borealis"]["event_id"]), ("/api/alarms/{}", ids["borealis"]["alarm_id"]),
                         ("/api/vlans/{}", ids["borealis"]["vlan_pk"]),
                         ("/api/customers/{}", ids["borealis"]["customer_id"])):
        other = client.get(path.format(theirs), headers=acme)
        missing = client.get(path.format(999_999_999), headers=acme)
        assert other.status_code == missing.status_code == 404, path
        assert other.json() == missing.json(), path
