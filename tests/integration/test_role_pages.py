"""Each role opens exactly its pages (page_access.py), sees exactly its menu, gets a 403 page
elsewhere; the admins' account actions, from the attacker's side: no other role may set a
password, disable an account or end its sessions, whatever it sends."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from controller import i18n, page_access
from controller.models import Customer, Role, User
from controller.services.users import create_user
from tests.conftest import app_with_demo_site, serve, wait_for

USERS = {"adm": ("admin", None), "off": ("officer", None), "insp": ("inspector", None),
         "acme1": ("customer", "acme"), "ann": ("annotator", None)}
# Each page as the menu links it, and a sub-page that must answer like it.
PAGE_PATHS = {p.name: [p.path] for p in page_access.PAGES}
PAGE_PATHS["cameras"].append("/cameras/1/cam-1")
PAGE_PATHS["users"].append("/users/1")
PAGE_PATHS["ledger"].append("/ledger?index=0")
PAGE_PATHS["work"].append("/work/1")  # no such project: 404 to an annotator, 403 to the others


@pytest.fixture
def api(tmp_path, database_url):
    app, _site_id, _agent_id = app_with_demo_site(tmp_path, database_url)
    core = app.state.core
    with core.sessions() as s:
        for username, (role, cust) in USERS.items():
            cid = s.scalar(select(Customer.id).where(Customer.slug == cust)) if cust else None
            create_user(s, core.ledger, username, f"{username}-pass", Role(role), cid, "test")
    with serve(app, database_url, follow_redirects=False) as client:
        yield client


def token(client, username: str, password: str | None = None) -> dict:
    r = client.post("/api/auth/token", json={"username": username, "password": password or f"{username}-pass"})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}", "Accept-Language": "en"}


def user_id(client, username: str) -> int:
    with client.app.state.core.sessions() as s:
        return s.scalar(select(User.id).where(User.username == username))


def get(client, path: str, headers: dict | None = None):
    return client.get(path, headers=headers or {}, follow_redirects=False)


def test_each_role_opens_exactly_its_pages(api):
    forbidden = i18n.translate("en", "Not for your role")
    for username, (role, _customer) in USERS.items():
        headers = token(api, username)
        for page in page_access.PAGES:
            for path in PAGE_PATHS[page.name]:
                r = get(api, path, headers)
                if page.name == "overview" and role not in page.roles:
                    assert r.status_code == 303 and r.headers["location"] == page_access.home(role), (role, path)
                elif role in page.roles:
                    assert r.status_code == (404 if path == "/work/1" else 200), (role, path, r.status_code)
                    assert forbidden not in r.text, (role, path)
                else:
                    assert r.status_code == 403, (role, path, r.status_code)
                    assert forbidden in r.text and 'id="forbidden"' in r.text, (role, path)
        menu = re.findall(r'<a href="([^"]+)">', re.search(r"<nav>(.*?)</nav>", get(api, page_access.home(role),
                                                                              headers).text, re.S).group(1))
        assert menu == [p.path for p in page_access.menu(role)], role


def test_nobody_logged_in_is_sent_to_the_login_page(api):
    for page in page_access.PAGES:
        for path in PAGE_PATHS[page.name]:
            r = get(api, path)
            assert r.status_code == 303 and r.headers["location"] == "/login", path


def test_the_menu_offers_no_page_a_role_cannot_open():
    for role in page_access.ALL_ROLES:
        assert page_access.menu(role), role  # every role has somewhere to go
        for p in page_access.menu(role):
            assert page_access.may_open(role, p.name)
        assert page_access.home(role) in {p.path for p in page_access.menu(role)}


def test_the_buttons_roles_are_the_apis(api):
    """Each button's roles (page_access.ACTIONS) are those the API lets through: the other roles'
    call is refused with 403, so the page shows them no button that would fail."""
    calls = {"passback.reset": ("POST", "/api/sites/1/passback/reset", {"person": "nobody"}),
             "network.drift_check": ("POST", "/api/sites/1/network/drift-check", None),
             "network.apply": ("POST", "/api/network/changes/chg-none/apply", None),
             "network.approve": ("POST", "/api/network/changes/chg-none/approve", {"signature": "AA=="}),
             "training.record": ("POST", "/api/people/999999/training",
                                 {"completed": "2026-01-01", "expires": "2027-01-01"}),
             "users.manage": ("POST", "/api/users/999999/sessions/end", None),
             "ledger.export": ("GET", "/api/ledger/export", None),
             "recordings.audit": ("GET", "/api/sites/1/recordings/audit", None),
             "reports.generate": ("POST", "/api/sites/1/reports", {"lang": "none"}),  # 422 where allowed
             "drill.run": ("POST", "/api/drills/999999/safe", {"person": "nobody"}),  # 404 where allowed
             "plan.edit": ("POST", "/api/sites/1/plans", {"kind": "none"}),  # 422 where allowed
             # the demo site has no VPN gateway: 400 where allowed; no such peer: 404 where allowed
             "vpn.request": ("POST", "/api/sites/1/vpn/peers", {"customer": "acme", "person": "p-003",
                                                                "public_key": "A" * 43 + "="}),
             "vpn.revoke": ("POST", "/api/vpn/peers/999999/revoke", {"reason": "lost"}),
             "seat.calibrate": ("PUT", "/api/sites/1/seats/none/views/none", {"seat": [[0, 0], [1, 0], [1, 1]]})}
    headers = {u: token(api, u) for u in USERS}
    for action, (method, path, body) in calls.items():
        for username, (role, _c) in USERS.items():
            r = api.request(method, path, json=body, headers=headers[username])
            if page_access.may(role, action):
                assert r.status_code != 403, (action, role, r.text)
            else:
                assert r.status_code == 403, (action, role, r.status_code)


def test_an_admin_resets_a_password_disables_and_ends_sessions(api):
    admin = token(api, "adm")
    off_id = user_id(api, "off")
    officer = token(api, "off")
    r = api.post(f"/api/users/{off_id}/password", json={"new_password": "brand-new-pass"}, headers=admin)
    assert r.status_code == 200 and r.json()["ended"]["tokens"] == 1
    assert api.get("/api/me", headers=officer).status_code == 401  # the old token ended
    assert api.post("/api/auth/token", json={"username": "off", "password": "off-pass"}).status_code == 401
    officer = token(api, "off", "brand-new-pass")
    sessions = api.get(f"/api/users/{off_id}/sessions", headers=admin).json()
    assert sorted(s["state"] for s in sessions if s["kind"] == "token") == ["active", "revoked"]
    r = api.post(f"/api/users/{off_id}/sessions/end", json={}, headers=admin)
    assert r.status_code == 200 and r.json()["ended"] == {"sessions": 0, "tokens": 1}
    assert api.get("/api/me", headers=officer).status_code == 401
    officer = token(api, "off", "brand-new-pass")
    assert api.patch(f"/api/users/{off_id}", json={"active": False}, headers=admin).status_code == 200
    assert api.get("/api/me", headers=officer).status_code == 401
    assert api.post("/api/auth/token", json={"username": "off", "password": "brand-new-pass"}).status_code == 401
    ledger = api.app.state.core.ledger
    for kind in ("user.password_reset", "user.sessions_ended"):
        wait_for(lambda kind=kind: ledger.count_kind(kind) == 1, what=f"{kind} ledgered")


@pytest.mark.parametrize("attacker", ["off", "insp", "acme1", "ann"])
def test_no_other_role_may_touch_an_account(api, attacker):
    headers = token(api, attacker)
    victim = token(api, "adm")
    adm_id = user_id(api, "adm")
    own_id = user_id(api, attacker)
    for target in (adm_id, own_id):
        for method, path, body in [
                ("POST", f"/api/users/{target}/password", {"new_password": "taken-over-1"}),
                ("PATCH", f"/api/users/{target}", {"active": False}),
                ("PATCH", f"/api/users/{target}", {"role": "admin"}),
                ("GET", f"/api/users/{target}/sessions", None),
                ("POST", f"/api/users/{target}/sessions/end", None),
                ("GET", "/api/users", None),
                ("POST", "/api/users", {"username": "mole", "password": "mole-pass-1", "role": "admin"})]:
            r = api.request(method, path, json=body, headers=headers)
            assert r.status_code == 403, (attacker, method, path, r.status_code)
    # Nothing changed: the admin's token and password still work, the attacker is still what it was.
    assert api.get("/api/me", headers=victim).json()["role"] == "admin"
    assert api.post("/api/auth/token", json={"username": "adm", "password": "taken-over-1"}).status_code == 401
    assert api.get("/api/me", headers=headers).json()["role"] == USERS[attacker][0]
