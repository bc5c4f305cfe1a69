"""The seat API from the attacker's side and with bad input: a customer reads only its own seats,
their history and frames; only officers calibrate; polygons that do not fit are refused with
the field named, and nothing is changed or ledgered. History comes from seat-state events."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from controller.ingest import customer_ids, store_events
from controller.models import Agent, Role, Site
from controller.services.users import create_user
from edge_agent.wire.messages import Event
from tests.conftest import app_with_demo_site, serve


@pytest.fixture
def api(tmp_path, database_url):
    app, site_id, agent_id = app_with_demo_site(tmp_path, database_url)
    core = app.state.core
    now = dt.datetime.now(dt.timezone.utc)
    with core.sessions() as s:
        ids = customer_ids(s)
        for user, role, customer in (("off", Role.officer, None), ("acme1", Role.customer, "acme"),
                                     ("bor1", Role.customer, "borealis")):
            create_user(s, core.ledger, user, f"{user}-pass-1", role, ids.get(customer), "test")
        changes = [(-3.0, "A1", True, []), (-2.0, "A1", False, ["occluded"]), (-1.0, "A1", True, []),
                   (-2.5, "B1", False, ["camera_offline"])]
        store_events(s, agent_id, site_id, [
            Event(seq=i + 1, ts=(now + dt.timedelta(hours=h)).isoformat(), kind="seat.state",
                  data={"seat": seat, "customer": "acme" if seat[0] == "A" else "borealis", "covered": ok,
                        "reasons": reasons, "camera": "cam-01", "views": []})
            for i, (h, seat, ok, reasons) in enumerate(changes)], customer_ids(s))
        s.commit()
    with serve(app, database_url) as c:
        c.fixture_now = now  # the history's times are relative to it

        def as_user(name: str) -> dict:
            token = c.post("/api/auth/token", json={"username": name, "password": f"{name}-pass-1"}).json()["token"]
            return {"Authorization": f"Bearer {token}"}
        yield c, site_id, as_user, core


def test_history_spans_and_percent(api):
    c, sid, as_user, _ = api
    h = c.get(f"/api/sites/{sid}/coverage/history", params={"hours": 4}, headers=as_user("off")).json()
    a1 = h["seats"]["A1"]
    assert [(x["covered"], x["reasons"]) for x in a1] == [(None, []), (True, []), (False, ["occluded"]), (True, [])]
    assert [(x["covered"], x["reasons"]) for x in h["seats"]["B1"]] == [(None, []), (False, ["camera_offline"])]
    assert [p["percent"] for p in h["percent"]] == [None, 100.0, 50.0, 0.0, 50.0]
    detail = c.get(f"/api/sites/{sid}/seats/A1", params={"hours": 4}, headers=as_user("off")).json()
    changes = lambda spans: [(x["start"], x["covered"], x["reasons"]) for x in spans[1:]]  # noqa: E731
    assert changes(detail["history"]) == changes(a1) and detail["state"]["covered"] is True
    assert detail["views"][0]["camera"] == "cam-01" and detail["views"][0]["resolution"] == [1280, 720]
    # Covered 3 h ago to 2 h ago and from 1 h ago until the request: half the 4-h window, plus the
    # share of it that passed between the fixture's clock and the request.
    late = 100 * (dt.datetime.now(dt.timezone.utc) - c.fixture_now).total_seconds() / (4 * 3600)
    assert 49.9 < h["covered_share"]["A1"] < 50.1 + late and h["covered_share"]["B1"] == 0.0
    assert abs(detail["covered_share"] - h["covered_share"]["A1"]) < 0.02  # asked a moment later


def test_a_customer_reads_its_own_seats_only(api):
    c, sid, as_user, _ = api
    acme = as_user("acme1")
    h = c.get(f"/api/sites/{sid}/coverage/history", headers=acme).json()
    assert set(h["seats"]) == {f"A{i}" for i in range(1, 9)}
    assert c.get(f"/api/sites/{sid}/seats/A1", headers=acme).status_code == 200
    for path in ("/seats/B1", "/seats/B1/frame", "/seats/Z9"):
        r = c.get(f"/api/sites/{sid}{path}", headers=acme)
        assert r.status_code == 404, (path, r.text)  # another's seat is not there at all
    # Its own seat's frame is asked of the edge, which is not connected here.
    assert c.get(f"/api/sites/{sid}/seats/A1/frame", headers=acme).status_code == 503
    r = c.put(f"/api/sites/{sid}/seats/A1/views/cam-01", headers=acme,
              json={"seat": [[0, 0], [10, 0], [10, 10]], "screen": [[0, 0], [10, 0], [10, 10]]})
    assert r.status_code == 403


GOOD = {"seat": [[60, 180], [620, 160], [630, 700], [50, 710]], "screen": [[220, 250], [460, 240], [470, 410], [225, 420]]}


@pytest.mark.parametrize(("body", "status", "words"), [
    ({**GOOD, "screen": [[220, 250], [1460, 240], [470, 410]]}, 422, "outside cam-01's 1280x720 frame"),
    ({**GOOD, "screen": [[1, 1], [2, 2]]}, 422, "at least 3"),
    ({**GOOD, "seat": "everywhere"}, 422, "seat"),
    ({**GOOD, "screen": [[10, 10], [20, 20], [30, 30]]}, 422, "screen"),  # no area
])
def test_calibration_refuses_polygons_that_do_not_fit(api, body, status, words):
    c, sid, as_user, core = api
    r = c.put(f"/api/sites/{sid}/seats/A1/views/cam-01", json=body, headers=as_user("off"))
    assert r.status_code == status and words in r.text, r.text
    with core.sessions() as s:
        assert s.get(Site, sid).version == 1  # nothing changed


def test_calibration_saves_a_new_version_and_a_new_view(api):
    c, sid, as_user, core = api
    off = as_user("off")
    assert c.put(f"/api/sites/{sid}/seats/A1/views/cam-99", json=GOOD, headers=off).status_code == 404
    r = c.put(f"/api/sites/{sid}/seats/A1/views/cam-01", json=GOOD, headers=off)
    assert r.status_code == 200 and r.json()["version"] == 2 and r.json()["changed"]
    again = c.put(f"/api/sites/{sid}/seats/A1/views/cam-01", json=GOOD, headers=off).json()
    assert again["changed"] is False and again["version"] == 2
    # A second camera's view of the same seat is added beside the first.
    r = c.put(f"/api/sites/{sid}/seats/A1/views/cam-02", json=GOOD, headers=off)
    views = c.get(f"/api/sites/{sid}/seats/A1", headers=off).json()["views"]
    assert r.status_code == 200 and [v["camera"] for v in views] == ["cam-01", "cam-02"]
    assert views[0]["screen_zone"] == GOOD["screen"]
    assert core.ledger.count_kind("seat.calibrated") == 2  # the unchanged save is not an entry


# --- the work policy: may the seat's customer's data be shown there, to this person -------------

def _edge_reports(core, agent_id: int, seats: dict, seen: dt.datetime | None) -> None:
    with core.sessions() as s:
        agent = s.get(Agent, agent_id)
        agent.status, agent.last_seen_at = {"seats": seats}, seen
        s.commit()


def _passes(core, agent_id: int, site_id: int, seq: int, person: str, area: str) -> None:
    at = dt.datetime.now(dt.timezone.utc).isoformat()
    with core.sessions() as s:
        store_events(s, agent_id, site_id, [Event(seq=seq, ts=at, kind="gate.passage", data={
            "gate": "gate-main", "at": at, "direction": "entry" if area == "floor3" else "exit",
            "person": person, "cause": "grant", "area_to": area})], customer_ids(s))
        s.commit()


def test_work_policy_follows_the_live_seat_the_person_and_the_gates(api):
    c, sid, as_user, core = api
    with core.sessions() as s:
        agent_id = s.scalar(select(Agent.id).where(Agent.site_id == sid))
    off = as_user("off")

    def ask(seat: str, person: str | None = None, who: dict = off):
        r = c.get(f"/api/sites/{sid}/seats/{seat}/policy", params={"person": person} if person else {}, headers=who)
        assert r.status_code == 200, r.text
        return r.json()

    # The stored seat.state says A1 is covered, but no agent on line vouches for it now.
    v = ask("A1", "p-003")
    assert (v["allowed"], v["reasons"]) == (False, ["seat_unverified", "not_on_site"])
    now = dt.datetime.now(dt.timezone.utc)
    _edge_reports(core, agent_id, {"A1": {"covered": True, "reasons": []},
                                   "A2": {"covered": False, "reasons": ["occluded"]}}, now)
    assert ask("A1", "p-003")["reasons"] == ["not_on_site"]
    _passes(core, agent_id, sid, 100, "p-003", "floor3")
    v = ask("A1", "p-003")
    assert (v["allowed"], v["reasons"], v["area"], v["seat_covered"]) == (True, [], "floor3", True)
    v = ask("A2", "p-003")
    assert (v["allowed"], v["reasons"], v["seat_reasons"]) == (False, ["seat_not_covered"], ["occluded"])
    # Another customer's seat, an expired training, someone unknown.
    assert ask("B1", "p-003")["reasons"] == ["seat_unverified", "not_assigned_to_customer"]
    _passes(core, agent_id, sid, 101, "p-005", "floor3")
    assert ask("A1", "p-005")["reasons"] == ["training_expired"]
    assert ask("A1", "p-404")["reasons"] == ["unknown_person"]
    # Walking out ends it; so does the agent falling silent.
    _passes(core, agent_id, sid, 102, "p-003", "outside")
    assert ask("A1", "p-003")["reasons"] == ["not_on_site"]
    _passes(core, agent_id, sid, 103, "p-003", "floor3")
    _edge_reports(core, agent_id, {"A1": {"covered": True, "reasons": []}}, now - dt.timedelta(minutes=5))
    assert ask("A1", "p-003")["reasons"] == ["seat_unverified"]


def test_work_policy_from_the_attackers_side(api):
    c, sid, as_user, _ = api
    acme = as_user("acme1")
    url = f"/api/sites/{sid}/seats/{{}}/policy"
    assert c.get(url.format("A1"), headers=acme).json()["customer"] == "acme"  # its own seat
    assert c.get(url.format("B1"), headers=acme).status_code == 404  # another's: not there
    assert c.get(url.format("A1"), params={"person": "p-003"}, headers=acme).status_code == 403
    assert c.get(url.format("A1")).status_code == 401
    assert c.get(url.format("A1"), params={"person": "x" * 65}, headers=as_user("off")).status_code == 422
    assert c.get(url.format("Z9"), headers=as_user("off")).status_code == 404


def test_the_overview_carries_each_sites_coverage_figure(api):
    c, sid, as_user, core = api
    with core.sessions() as s:
        agent_id = s.scalar(select(Agent.id).where(Agent.site_id == sid))
    off = as_user("off")
    (before,) = c.get("/api/overview", headers=off).json()["coverage"]
    assert (before["site_id"], before["percent"], before["at"]) == (sid, None, None)  # nothing judged yet
    now = dt.datetime.now(dt.timezone.utc).isoformat()
    with core.sessions() as s:
        store_events(s, agent_id, sid, [
            Event(seq=200 + i, ts=now, kind="site.coverage", data={"percent": p, "seats": 16, "covered": n})
            for i, (p, n) in enumerate([(100.0, 16), (87.5, 14)])], customer_ids(s))
        s.commit()
    (after,) = c.get("/api/overview", headers=off).json()["coverage"]
    assert (after["percent"], after["covered"], after["seats"]) == (87.5, 14, 16) and after["at"]


def test_an_edge_outage_is_not_judged_time_in_the_history(api):
    c, sid, as_user, core = api
    now = c.fixture_now
    hours = lambda h: (now + dt.timedelta(hours=h)).isoformat()  # noqa: E731
    with core.sessions() as s:
        agent_id = s.scalar(select(Agent.id).where(Agent.site_id == sid))
        store_events(s, agent_id, sid, [
            Event(seq=300, ts=hours(-0.5), kind="coverage.gap",
                  data={"since": hours(-0.75), "until": hours(-0.5), "seats": ["A1", "A2"]}),
            Event(seq=301, ts=hours(-0.5), kind="seat.state",
                  data={"seat": "A1", "customer": "acme", "covered": True, "reasons": [], "camera": "cam-01",
                        "views": []})], customer_ids(s))
        s.commit()
    h = c.get(f"/api/sites/{sid}/coverage/history", params={"hours": 4}, headers=as_user("off")).json()
    assert [(x["covered"], x["reasons"]) for x in h["seats"]["A1"]] == [
        (None, []), (True, []), (False, ["occluded"]), (True, []), (None, ["edge_down"]), (True, [])]
    # A2 had no verdict before; from the outage on it stays not judged until the edge says more.
    assert [(x["covered"], x["reasons"]) for x in h["seats"]["A2"]] == [(None, []), (None, ["edge_down"])]
    # 3-2 h and 1-0.75 h and the last 0.5 h, of 4 h; the last span grows while the request is on its way.
    late = (dt.datetime.now(dt.timezone.utc) - now).total_seconds() / 3600 / 4 * 100
    assert 43.6 < h["covered_share"]["A1"] < 43.9 + late
    # A malformed gap (seats not a list of names) changes nothing and breaks nothing.
    with core.sessions() as s:
        store_events(s, agent_id, sid, [Event(seq=302 + i, ts=hours(-0.1), kind="coverage.gap",
                                              data={"since": hours(-0.2), "seats": bad})
                                        for i, bad in enumerate([7, "A1", None, [3, None]])], customer_ids(s))
        s.commit()
    again = c.get(f"/api/sites/{sid}/coverage/history", params={"hours": 4}, headers=as_user("off"))
    assert again.status_code == 200 and [x["reasons"] for x in again.json()["seats"]["A1"]][-1] == []
