"""Alarms people act on: a repeat counts on the active alarm instead of a new row, an officer
acknowledges with a note (who, when, the note, in the ledger) and assigns, others may not; the
header's counts and the event feed (sentences, no heartbeats, filters) in each user's scope."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from controller.ingest import customer_ids, store_events
from controller.models import Alarm, Customer, Event, LedgerEntry, LedgerQueued, Role
from controller.services.users import create_user
from edge_agent.wire.messages import Event as WireEvent
from tests.conftest import app_with_demo_site, serve, wait_for

T0 = dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.timezone.utc)


def _events(*items):
    return [WireEvent(seq=seq, ts=(T0 + dt.timedelta(seconds=seq)).isoformat(), kind=k, data=d)
            for seq, k, d in items]


COVERED = {"camera": "cam-01", "source": "camera:cam-01", "severity": "critical",
           "message": "camera cam-01 covered"}
SEAT = {"source": "seat:B1", "severity": "critical", "customer": "borealis", "seat": "B1",
        "reasons": ["camera_offline"], "camera": "cam-05", "message": "seat B1 is not covered"}


@pytest.fixture
def rig(tmp_path, database_url):
    app, site_id, agent_id = app_with_demo_site(tmp_path, database_url)
    core = app.state.core
    with core.sessions() as s:
        for name, role, customer in (("off", Role.officer, None), ("off2", Role.officer, None),
                                     ("insp", Role.inspector, None), ("ann", Role.annotator, None),
                                     ("acme1", Role.customer, "acme"), ("bore1", Role.customer, "borealis")):
            cid = s.scalar(select(Customer.id).where(Customer.slug == customer)) if customer else None
            create_user(s, core.ledger, name, f"{name}-pass-1", role, cid, "test")
        heartbeat = {"camera": "cam-01", "state": "recording", "detail": ""}
        store_events(s, agent_id, site_id, _events(
            (1, "camera.state", heartbeat), (2, "camera.state", heartbeat), (3, "camera.state", heartbeat),
            (4, "camera.state", {"camera": "cam-01", "state": "tampered", "detail": "lens covered"}),
            (5, "alarm.camera_covered", COVERED), (6, "alarm.camera_covered", COVERED),
            (7, "alarm.camera_covered", COVERED), (8, "alarm.seat_uncovered", SEAT),
            (9, "gate.passage", {"gate": "gate-main", "at": T0.isoformat(), "direction": "entry",
                                 "person": "p-003", "cause": "grant", "area_to": "floor3"}),
        ), customer_ids(s))
        s.commit()
    with serve(app, database_url) as c:
        yield c, app, site_id


def login(c, name: str) -> dict:
    token = c.post("/api/auth/token", json={"username": name, "password": f"{name}-pass-1"}).json()["token"]
    return {"Authorization": f"Bearer {token}"}


def test_a_repeated_alarm_counts_on_the_active_one(rig):
    c, app, _ = rig
    with app.state.core.sessions() as s:
        rows = list(s.scalars(select(Alarm).where(Alarm.kind == "camera_covered")))
    assert len(rows) == 1 and rows[0].repeats == 2 and rows[0].last_raised_at is not None
    groups = c.get("/api/alarms/groups", headers=login(c, "off")).json()
    covered = next(g for g in groups if g["kind"] == "camera_covered")
    assert covered["count"] == 3 and covered["ids"] == [rows[0].id]
    assert covered["latest"]["links"]["camera"].startswith("/cameras/")
    assert "?at=" in covered["latest"]["links"]["camera"]  # the recording of that moment
    assert covered["latest"]["sentence"]["msgid"] == "Camera {camera} was covered"


def test_heartbeats_stay_out_of_the_feed_and_filters_apply(rig):
    c, app, site_id = rig
    off = login(c, "off")
    with app.state.core.sessions() as s:
        routine = dict(s.execute(select(Event.seq, Event.routine).where(Event.kind == "camera.state")).all())
    assert routine == {1: False, 2: True, 3: True, 4: False}
    feed = c.get("/api/events/feed", headers=off).json()
    states = [e for e in feed if e["kind"] == "camera.state"]
    assert [e["sentence"]["msgid"] for e in states] == ["Camera {camera} was tampered with",
                                                         "Camera {camera} is recording"]
    tamper = states[0]["sentence"]
    assert tamper["params"]["camera"] == "cam-01" and tamper["links"]["camera"] == f"/cameras/{site_id}/cam-01"
    passage = next(e for e in feed if e["kind"] == "gate.passage")["sentence"]
    assert passage["params"]["person"] != "p-003" and passage["links"]["person"] == "/gates?person=p-003"
    assert {e["kind"] for e in c.get("/api/events/feed?kind=gate", headers=off).json()} == {"gate.passage"}
    assert {e["severity"] for e in c.get("/api/events/feed?severity=critical", headers=off).json()} == {"critical"}
    assert c.get(f"/api/events/feed?site_id={site_id + 1000}", headers=off).json() == []
    assert len(c.get("/api/events/feed?routine=true&kind=camera.state", headers=off).json()) == 4


def _ledgered(app, kind: str, text: bytes) -> bool:
    with app.state.core.sessions() as s:
        leaves = list(s.scalars(select(LedgerEntry.leaf).where(LedgerEntry.kind == kind)))
        queued = list(s.scalars(select(LedgerQueued.data).where(LedgerQueued.kind == kind)))
    return any(text in bytes(x) for x in leaves + queued)


def test_an_officer_acknowledges_with_a_note_and_the_ledger_holds_it(rig):
    c, app, _ = rig
    off = login(c, "off")
    alarm = next(a for a in c.get("/api/alarms?state=active", headers=off).json() if a["kind"] == "camera_covered")
    assert c.get("/api/alarms/counts", headers=off).json() == {"info": 0, "warning": 0, "critical": 2}
    for who in ("insp", "ann", "acme1"):
        r = c.post(f"/api/alarms/{alarm['id']}/acknowledge", json={"note": "no"}, headers=login(c, who))
        assert r.status_code == 403, (who, r.status_code)
    r = c.post(f"/api/alarms/{alarm['id']}/assign", json={"to": "off2"}, headers=off)
    assert r.status_code == 200 and r.json()["assigned_to"] == "off2"
    assert c.post(f"/api/alarms/{alarm['id']}/assign", json={"to": "insp"}, headers=off).status_code == 422
    r = c.post(f"/api/alarms/{alarm['id']}/acknowledge", json={"note": "cloth removed from the lens"}, headers=off)
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["state"] == "acknowledged" and done["acknowledged_by"] == "off"
    assert done["ack_note"] == "cloth removed from the lens" and done["acknowledged_at"]
    assert c.get("/api/alarms/counts", headers=off).json()["critical"] == 1
    assert _ledgered(app, "alarm.assigned", b'"off2"')
    wait_for(lambda: _ledgered(app, "alarm.acknowledged", b"cloth removed from the lens"), timeout=20,
             what="the acknowledgement in the ledger")


def test_a_customer_sees_only_alarms_about_its_seats(rig):
    c, _, _ = rig
    acme = login(c, "acme1")
    bore = login(c, "bore1")
    assert c.get("/api/alarms/counts", headers=acme).json()["critical"] == 0
    assert c.get("/api/alarms/counts", headers=bore).json()["critical"] == 1
    assert [g["kind"] for g in c.get("/api/alarms/groups", headers=bore).json()] == ["seat_uncovered"]
    assert c.get("/api/alarms/groups", headers=acme).json() == []
