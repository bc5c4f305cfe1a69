"""People, training, occupancy and the access event log on the controller."""
from __future__ import annotations

import datetime as dt

import pytest

from controller.ingest import customer_ids, store_events
from controller.models import Role
from controller.services.users import create_user
from edge_agent.wire.messages import Event
from tests.conftest import app_with_demo_site, serve


@pytest.fixture
def client(tmp_path, database_url):
    app, site_id, agent_id = app_with_demo_site(tmp_path, database_url)
    core = app.state.core
    with core.sessions() as s:
        create_user(s, core.ledger, "off", "off-pass-1", Role.officer, None, "test")
        t = dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.timezone.utc)
        evs = [
            ("gate.decision", {"gate": "gate-main", "at": t.isoformat(), "direction": "entry",
                               "person": "p-001", "granted": True, "reason": "granted"}),
            ("gate.passage", {"gate": "gate-main", "at": (t + dt.timedelta(seconds=3)).isoformat(),
                              "direction": "entry", "person": "p-001", "cause": "grant", "area_to": "floor3"}),
            ("gate.decision", {"gate": "gate-side", "at": (t + dt.timedelta(minutes=5)).isoformat(),
                               "direction": "entry", "person": "p-005", "granted": False,
                               "reason": "training_expired"}),
            ("gate.state", {"gate": "gate-main", "state": "locked", "online": True}),
            ("gate.decision", {"gate": "gate-main", "at": "not a time", "direction": "entry",
                               "granted": True, "reason": "x"}),  # bad data: refused, not projected
        ]
        store_events(s, agent_id, site_id,
                     [Event(seq=i + 1, ts=t.isoformat(), kind=k, data=d) for i, (k, d) in enumerate(evs)],
                     customer_ids(s))
        s.commit()
    with serve(app, database_url) as c:
        token = c.post("/api/auth/token", json={"username": "off", "password": "off-pass-1"}).json()["token"]
        c.headers["Authorization"] = f"Bearer {token}"
        yield c, site_id


def test_people_carry_their_training_status_and_officers_record_training(client):
    c, sid = client
    people = {p["person"]: p for p in c.get(f"/api/sites/{sid}/people").json()}
    assert people["p-001"]["training_status"] == "current"
    assert people["p-005"]["training_status"] == "expired"
    before = c.app.state.ledger.settled_size()
    today = dt.date.today()
    r = c.post(f"/api/people/{people['p-005']['id']}/training",
               json={"completed": today.isoformat(), "expires": (today + dt.timedelta(days=365)).isoformat()})
    assert r.status_code == 201, r.text
    assert r.json()["training_status"] == "current" and r.json()["pushed_to_edge"] is False
    assert c.app.state.ledger.settled_size() == before + 1
    bad = c.post(f"/api/people/{people['p-005']['id']}/training",
                 json={"completed": today.isoformat(), "expires": today.isoformat()})
    assert bad.status_code == 422


def test_occupancy_and_filtered_event_log(client):
    c, sid = client
    occ = c.get(f"/api/sites/{sid}/occupancy").json()["areas"]
    assert [p["person"] for p in occ["floor3"]] == ["p-001"] and occ["outside"] == []
    log = c.get(f"/api/sites/{sid}/access-events").json()
    assert [(e["kind"], e["person"]) for e in log] == [("decision", "p-005"), ("passage", "p-001"),
                                                       ("decision", "p-001")]
    assert [e["reason"] for e in c.get(f"/api/sites/{sid}/access-events", params={"person": "p-005"}).json()] \
        == ["training_expired"]
    assert len(c.get(f"/api/sites/{sid}/access-events", params={"gate": "gate-main"}).json()) == 2
    window = {"start": "2026-11-25T09:01:00Z", "end": "2026-11-25T10:00:00Z"}
    assert [e["gate"] for e in c.get(f"/api/sites/{sid}/access-events", params=window).json()] == ["gate-side"]
    gates = {g["gate"]: g for g in c.get(f"/api/sites/{sid}/gates").json()}
    assert gates["gate-main"]["state"] == "locked" and gates["gate-main"]["online"]
    assert gates["gate-side"]["state"] == "unknown"
