"""Ending a login is real: logout, revocation, disabling and a new password, seen from the side
of someone who kept a copy of the cookie or the token."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from controller.models import Role, User
from controller.services.users import create_user
from tests.conftest import app_with_demo_site, serve


@pytest.fixture
def client(tmp_path, database_url):
    app, _, _ = app_with_demo_site(tmp_path, database_url)
    core = app.state.core
    with core.sessions() as s:
        for name, role in (("adm", Role.admin), ("off", Role.officer), ("ann", Role.annotator)):
            create_user(s, core.ledger, name, f"{name}-pass", role, None, "test")
    with serve(app, database_url) as c:
        yield c


def token(client, username, password=None, label=""):
    r = client.post("/api/auth/token", json={"username": username, "password": password or f"{username}-pass",
                                             "label": label})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def csrf_of(client) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text).group(1)


def page_login(client, username, password=None):
    return client.post("/login", data={"username": username, "password": password or f"{username}-pass",
                                       "csrf": csrf_of(client)}, follow_redirects=False)


def user_id(client, name):
    with client.app.state.sessions() as s:
        return s.scalar(select(User.id).where(User.username == name))


def test_a_copied_session_cookie_is_dead_after_logout(client):
    assert page_login(client, "off").status_code == 303
    cookie = client.cookies.get("siteguard_session")
    assert client.get("/api/me").json()["username"] == "off"
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/").text).group(1)
    assert client.post("/logout", data={"csrf": csrf}, follow_redirects=False).status_code == 303
    client.cookies.clear()
    client.cookies.set("siteguard_session", cookie)  # the attacker replays the old cookie
    assert client.get("/api/me").status_code == 401


def test_api_logout_revokes_the_token_it_came_with(client):
    h = token(client, "off")
    assert client.post("/api/auth/logout", headers=h).status_code == 204
    assert client.get("/api/me", headers=h).status_code == 401


def test_disabling_ends_tokens_and_sessions_and_enabling_does_not_bring_them_back(client):
    ann = token(client, "ann")
    assert page_login(client, "ann").status_code == 303
    adm = token(client, "adm")
    uid = user_id(client, "ann")
    assert client.patch(f"/api/users/{uid}", json={"active": False}, headers=adm).status_code == 200
    assert client.get("/api/me", headers=ann).status_code == 401
    assert client.get("/api/me").status_code == 401  # the browser session too
    assert client.patch(f"/api/users/{uid}", json={"active": True}, headers=adm).status_code == 200
    assert client.get("/api/me", headers=ann).status_code == 401
    assert client.get("/api/me").status_code == 401
    assert client.get("/api/me", headers=token(client, "ann")).status_code == 200  # a new login works


def test_owner_lists_and_revokes_its_tokens_admin_any_others_none(client):
    laptop, script = token(client, "off", label="laptop"), token(client, "off", label="script")
    mine = client.get("/api/auth/tokens", headers=laptop).json()
    assert {t["label"] for t in mine} == {"laptop", "script"} and all(t["state"] == "active" for t in mine)
    script_id = next(t["id"] for t in mine if t["label"] == "script")
    ann = token(client, "ann")
    assert client.delete(f"/api/auth/tokens/{script_id}", headers=ann).status_code == 404  # not its own
    assert client.get("/api/auth/tokens", headers=ann).json()[0]["username"] == "ann"
    assert client.delete(f"/api/auth/tokens/{script_id}", headers=laptop).status_code == 204
    assert client.get("/api/me", headers=script).status_code == 401
    assert client.get("/api/me", headers=laptop).status_code == 200
    adm = token(client, "adm")
    everyone = client.get("/api/auth/tokens?all_users=true", headers=adm).json()
    laptop_id = next(t["id"] for t in everyone if t["label"] == "laptop")
    assert {t["username"] for t in everyone} >= {"off", "ann", "adm"}
    assert client.delete(f"/api/auth/tokens/{laptop_id}", headers=adm).status_code == 204
    assert client.get("/api/me", headers=laptop).status_code == 401
    assert client.app.state.ledger.count_kind("auth.token_revoked") == 2


def test_a_new_password_ends_every_session_and_token(client):
    old = token(client, "off")
    assert page_login(client, "off").status_code == 303
    r = client.post("/api/me/password", headers=old, json={"current_password": "wrong", "new_password": "x" * 12})
    assert r.status_code == 403
    r = client.post("/api/me/password", headers=old,
                    json={"current_password": "off-pass", "new_password": "new-officer-pass"})
    assert r.status_code == 204
    assert client.get("/api/me", headers=old).status_code == 401
    assert client.get("/api/me").status_code == 401
    assert client.post("/api/auth/token", json={"username": "off", "password": "off-pass"}).status_code == 401
    token(client, "off", "new-officer-pass")


def test_the_login_page_says_when_an_account_is_locked_and_an_officer_lifts_it(client):
    for _ in range(5):
        assert page_login(client, "ann", "wrong-pass").status_code == 401
    r = page_login(client, "ann")  # the right password, but the pair is locked now
    assert r.status_code == 429 and "登录失败次数过多" in r.text  # the pages' default language
    en = client.post("/login", data={"username": "ann", "password": "ann-pass", "csrf": csrf_of(client)},
                     headers={"Accept-Language": "en"}, follow_redirects=False)
    assert en.status_code == 429 and "Too many failed logins" in en.text
    off = token(client, "off")
    assert f"pair:ann|{client.address}" in [b["bucket"] for b in client.get("/api/auth/lockouts", headers=off).json()]
    ann_lifts = client.post("/api/auth/lockouts/lift", headers=token(client, "adm"), json={"username": "ann"})
    assert f"pair:ann|{client.address}" in ann_lifts.json()["lifted"]
    assert page_login(client, "ann").status_code == 303
    assert client.post("/api/auth/lockouts/lift", headers=token(client, "ann"), json={"username": "x"}).status_code == 403


def test_failed_logins_reach_the_ledger_as_one_entry_per_burst(client):
    from controller.login import REPORT_AFTER_QUIET, report_failed_logins
    from controller.models import utcnow

    state = client.app.state
    for _ in range(3):
        assert client.post("/api/auth/token", json={"username": "ann", "password": "nope"}).status_code == 401
    assert report_failed_logins(state.sessions, state.ledger) == 0  # the burst is still going on
    assert state.ledger.count_kind("auth.login_failed") == 0
    later = utcnow() + REPORT_AFTER_QUIET
    assert report_failed_logins(state.sessions, state.ledger, now=later) == 1
    assert report_failed_logins(state.sessions, state.ledger, now=later) == 0  # reported once
    export = state.ledger.export().decode()
    assert '"failures":3' in export.replace(" ", "") and '"username":"ann"' in export.replace(" ", "")


def test_only_the_user_s_own_page_changes_its_language(client):
    """The switcher is a form with the page's CSRF token: another site's page cannot change a
    logged-in user's language, and a bad language is refused."""
    assert page_login(client, "off").status_code == 303

    def language() -> str | None:
        with client.app.state.sessions() as s:
            return s.scalar(select(User.language).where(User.username == "off"))

    for csrf in ("", "forged-token"):  # what a cross-site form could send
        r = client.post("/lang", data={"locale": "en", "next": "/", "csrf": csrf}, follow_redirects=False)
        assert r.status_code == 403 and language() is None
    good = csrf_of(client)
    assert client.post("/lang", data={"locale": "xx", "csrf": good}, follow_redirects=False).status_code == 422
    r = client.post("/lang", data={"locale": "en", "next": "https://evil.example/x", "csrf": good},
                    follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/") and language() == "en"
    assert r.cookies.get("siteguard_lang") == "en"
