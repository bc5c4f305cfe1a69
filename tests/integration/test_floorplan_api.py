"""The floor plan on the controller: blind area from camera states, its alarm, calibrations
submitted by officers, versioned and ledgered, and the blind area per hour."""
from __future__ import annotations

import datetime as dt
import itertools

import pytest

from controller.ingest import customer_ids, store_events
from controller.models import Role
from controller.services.users import create_user
from edge_agent.wire.messages import Event
from tests.conftest import app_with_demo_site, serve

CAMERAS = [f"cam-0{i}" for i in range(1, 10)]
# cam-01's frame as the simulator poses it, clicked at six floor points (see the demo site file)
CAM01_PAIRS = [[[593, 561], [3, 3]], [[1193, 62], [8.5, 7.5]], [[298, 62], [0, 7.5]],
               [[1159, 561], [6, 3]], [[121, 561], [0.5, 3]], [[728, 131], [4, 6.5]]]


@pytest.fixture
def rig(tmp_path, database_url):
    app, site_id, agent_id = app_with_demo_site(tmp_path, database_url)
    core = app.state.core
    seq = itertools.count(1)

    def report(states: dict[str, str]) -> tuple[list, list]:
        """The edge reports camera states; returns (raised, cleared) alarm kinds, ledgered as the link does."""
        t = dt.datetime.now(dt.timezone.utc).isoformat()
        with core.sessions() as s:
            result = store_events(s, agent_id, site_id, [
                Event(seq=next(seq), ts=t, kind="camera.state", data={"camera": c, "state": st})
                for c, st in states.items()], customer_ids(s))
            for a in result.alarms:
                core.ledger.record(s, "alarm.raised", {"alarm": a.id, "kind": a.kind})
            for a in result.cleared:
                core.ledger.record(s, "alarm.cleared", {"alarm": a.id, "kind": a.kind})
            s.commit()
            return [a.kind for a in result.alarms], [a.kind for a in result.cleared]

    with core.sessions() as s:
        create_user(s, core.ledger, "off", "off-pass-1", Role.officer, None, "test")
        create_user(s, core.ledger, "insp", "insp-pass-1", Role.inspector, None, "test")
        s.commit()
    with serve(app, database_url) as c:
        def login(user, password):
            return {"Authorization": "Bearer " + c.post("/api/auth/token", json={
                "username": user, "password": password}).json()["token"]}
        yield c, site_id, report, login("off", "off-pass-1"), login("insp", "insp-pass-1")


def _area(c, site_id, headers):
    r = c.get(f"/api/sites/{site_id}/floorplan", headers=headers)
    assert r.status_code == 200, r.text
    [area] = r.json()["areas"]
    return area


def test_an_offline_camera_opens_its_patch_and_raises_the_blind_spot_alarm_until_it_returns(rig):
    c, site_id, report, officer, _ = rig
    # Nothing reported yet: no camera watches, yet no alarm before every camera has been heard of.
    area = _area(c, site_id, officer)
    assert area["blind_m2"] == pytest.approx(area["work_area_m2"])
    assert report({cam: "recording" for cam in CAMERAS[:-1]}) == ([], [])

    raised, _ = report({"cam-09": "recording"})
    assert raised == []
    area = _area(c, site_id, officer)
    assert area["work_area_m2"] == pytest.approx(105 - 0.8 - 0.16)  # less the cabinet and the pillar
    assert area["blind_m2"] < 0.5 and area["alarm"] is None
    assert all(cam["footprint"] and cam["live"] for cam in area["cameras"] if cam["camera"] != "cam-09")
    assert all(seat["covered"] for seat in area["seats"]) and len(area["seats"]) == 16
    assert {g["gate"] for g in area["gates"]} == {"gate-main", "gate-side"}
    exclusive = {cam["camera"]: cam["exclusive_m2"] for cam in area["cameras"]}
    assert exclusive["cam-08"] > 0.5

    before = area["blind_m2"]
    assert report({"cam-08": "offline"}) == (["coverage.blind_spot"], [])
    area = _area(c, site_id, officer)
    assert area["blind_m2"] == pytest.approx(before + exclusive["cam-08"], abs=0.05)
    assert area["alarm"] and "cam-08" in area["alarm"]["message"]
    assert any(p["alarm"] for p in area["blind_patches"])
    assert not next(cam for cam in area["cameras"] if cam["camera"] == "cam-08")["live"]
    alarms = c.get("/api/alarms", headers=officer).json()
    assert any(a["kind"] == "coverage.blind_spot" and a["state"] == "active" for a in alarms)

    assert report({"cam-08": "offline"}) == ([], [])  # the same state again: nothing new
    assert report({"cam-08": "recording"}) == ([], ["coverage.blind_spot"])
    assert _area(c, site_id, officer)["alarm"] is None

    hours = c.get(f"/api/sites/{site_id}/floorplan/hours", headers=officer).json()
    [hour] = hours
    assert hour["area"] == "floor3" and hour["max_blind_m2"] >= before + exclusive["cam-08"] - 0.05
    assert hour["last_blind_m2"] == pytest.approx(before, abs=1e-3)


def test_officers_submit_calibrations_that_are_versioned_and_ledgered(rig):
    c, site_id, report, officer, inspector = rig
    ledger = c.app.state.core.ledger
    url = f"/api/sites/{site_id}/cameras/cam-01/calibrations"
    body = {"pairs": [{"image": i, "floor": f} for i, f in CAM01_PAIRS]}
    assert c.post(url, json=body, headers=inspector).status_code == 403
    before = ledger.count_kind("camera.calibrated")

    r = c.post(url, json=body, headers=officer)
    assert r.status_code == 201, r.text
    first = r.json()
    assert first["version"] == 1 and first["created_by"] == "off" and first["rms_m"] < 0.05
    # The camera turned a little: its frame now shows the floor 1 m further right.
    moved = {"pairs": [{"image": i, "floor": [f[0] + 1.0, f[1]]} for i, f in CAM01_PAIRS]}
    assert c.post(url, json=moved, headers=officer).json()["version"] == 2
    assert ledger.count_kind("camera.calibrated") == before + 2

    history = c.get(url, headers=inspector).json()
    assert [h["version"] for h in history] == [2, 1]
    cam01 = next(cam for cam in _area(c, site_id, officer)["cameras"] if cam["camera"] == "cam-01")
    assert cam01["calibration"]["version"] == 2 and cam01["calibration"]["source"] == "officer"

    collinear = {"pairs": [{"image": [100 * k, 100 * k], "floor": [k, k]} for k in range(1, 5)]}
    r = c.post(url, json=collinear, headers=officer)
    assert r.status_code == 422 and "one line" in r.text
    too_few = {"pairs": body["pairs"][:3]}
    assert c.post(url, json=too_few, headers=officer).status_code == 422
    outside = {"pairs": [{"image": [5000, 10], "floor": [0, 0]}] + body["pairs"][1:]}
    r = c.post(url, json=outside, headers=officer)
    assert r.status_code == 422 and "outside" in r.text
    assert c.post(f"/api/sites/{site_id}/cameras/nope/calibrations", json=body, headers=officer).status_code == 404
    assert ledger.count_kind("camera.calibrated") == before + 2
