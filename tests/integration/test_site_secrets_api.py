"""From the attacker's side: the site config the API serves holds no password, secret or badge."""
from __future__ import annotations

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import select

from controller.models import Role, Site
from controller.services.users import create_user
from controller.sites import apply_site_config
from edge_agent.wire.site import parse_site_text
from tests.conftest import DEMO_SITE, app_with_demo_site, serve

CAMERA_PW, SWITCH_PW, ENABLE = "cam-Pw-7f3a9", "sw-Pw-c41d2", "enable-Pw-90be"
BADGES = ["7350192846", "6601938472"]


def site_with_inline_secrets() -> str:
    """The demo site as a careless site file would write it: every secret inline."""
    doc = yaml.safe_load(DEMO_SITE.read_text())
    for c in doc["cameras"]:
        c.pop("password_env", None), c.pop("password_file", None)
        c["password"] = CAMERA_PW
    for s in doc["switches"]:
        s.pop("password_env", None), s.pop("password_file", None)
        s.update(password=SWITCH_PW, secret=ENABLE)
    for person, number in zip(doc["people"], BADGES):
        person["badges"] = [{"format": "raw", "number": number}]
    return yaml.safe_dump(doc, sort_keys=False)


@pytest.fixture
def api(tmp_path, database_url):
    app, site_id, _ = app_with_demo_site(tmp_path, database_url)
    core = app.state.core
    with core.sessions() as s:
        apply_site_config(s, parse_site_text(site_with_inline_secrets()))
        for username, role in (("adm", Role.admin), ("off", Role.officer), ("insp", Role.inspector)):
            create_user(s, core.ledger, username, f"{username}-pass", role, None, "test")
        s.commit()
        assert CAMERA_PW in s.scalar(select(Site.config_json).where(Site.id == site_id))  # the leak is there
    with serve(app, database_url) as client:
        yield client, site_id


def as_user(client: TestClient, username: str) -> dict:
    r = client.post("/api/auth/token", json={"username": username, "password": f"{username}-pass"})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


@pytest.mark.parametrize("username", ["off", "insp"])
def test_officers_and_inspectors_get_no_secret(api, username):
    client, site_id = api
    r = client.get(f"/api/sites/{site_id}", headers=as_user(client, username))
    assert r.status_code == 200, r.text
    leaked = [v for v in (CAMERA_PW, SWITCH_PW, ENABLE, *BADGES) if v in r.text]
    assert leaked == []
    config = r.json()["config"]
    assert {c["password"] for c in config["cameras"]} == {"********"}
    assert {(s["password"], s["secret"]) for s in config["switches"]} == {("********", "********")}
    assert [p["badges"][0]["number"] for p in config["people"][:2]] == ["********46", "********72"]


def test_admins_see_badge_numbers_but_no_password(api):
    client, site_id = api
    headers = as_user(client, "adm")
    text = client.get(f"/api/sites/{site_id}", headers=headers).text
    assert [v for v in (CAMERA_PW, SWITCH_PW, ENABLE) if v in text] == []
    assert all(b in text for b in BADGES)
    # Uploading a config answers with the site, not the file back.
    r = client.put(f"/api/sites/{site_id}/config", headers={**headers, "Content-Type": "application/yaml"},
                   content=site_with_inline_secrets().replace("Demo annotation floor 3", "Floor three"))
    assert r.status_code == 200, r.text
    assert [v for v in (CAMERA_PW, SWITCH_PW, ENABLE, *BADGES) if v in r.text] == []


def test_the_people_list_shows_badge_numbers_to_staff_only(api):
    client, site_id = api
    inspector = client.get(f"/api/sites/{site_id}/people", headers=as_user(client, "insp"))
    assert inspector.status_code == 200 and [b for b in BADGES if b in inspector.text] == []
    assert inspector.json()[0]["badges"][0]["number"] == "********46"
    officer = client.get(f"/api/sites/{site_id}/people", headers=as_user(client, "off")).text
    assert all(b in officer for b in BADGES)  # officers issue and trace cards
