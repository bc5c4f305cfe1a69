"""A customer's remote-rules change is checked against the whole site file when it is asked for:
remote work allowed on a site without a VPN gateway is refused with the reason, and nothing is
recorded; a change that fits is made."""
from __future__ import annotations

import json

from sqlalchemy import select

from controller.models import Customer, NetworkChange, Role, Site
from controller.services.users import create_user
from tests.conftest import app_with_demo_site, serve


def test_rules_the_site_file_cannot_take_are_refused_when_asked_for(tmp_path):
    url = f"sqlite:///{tmp_path / 'c.db'}"
    app, site_id, _ = app_with_demo_site(tmp_path, url)
    core = app.state.core
    with core.sessions() as s:
        site = s.get(Site, site_id)
        doc = json.loads(site.config_json)  # a remote range, remote work denied, no VPN gateway
        doc["customers"][0]["remote"] = {"allowed": False, "range": "10.200.0.0/24"}
        site.config_json = json.dumps(doc)
        acme = s.scalar(select(Customer.id).where(Customer.slug == "acme"))
        create_user(s, core.ledger, "acme1", "acme1-pass-1", Role.customer, acme, "test")
        s.commit()
    with serve(app, url) as c:
        token = c.post("/api/auth/token", json={"username": "acme1", "password": "acme1-pass-1"}).json()["token"]
        head = {"Authorization": f"Bearer {token}"}
        r = c.post(f"/api/sites/{site_id}/remote-rules", headers=head,
                   json={"customer": "acme", "allowed": True, "modalities": ["text"]})
        assert r.status_code == 422, r.text
        assert "remote work needs the site's VPN gateway" in r.json()["detail"][0]["msg"]
        r = c.post(f"/api/sites/{site_id}/remote-rules", headers=head,
                   json={"customer": "acme", "allowed": False, "modalities": ["text", "audio"], "watermark": True})
        assert r.status_code == 422 and "changes nothing" in r.text
    with core.sessions() as s:
        assert s.scalars(select(NetworkChange)).all() == []
