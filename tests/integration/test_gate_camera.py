"""Tailgating seen by a gate's camera: the turnstile's lane beam counts one person, the camera
over the lane sees two walk through on one grant, and the edge raises tailgating from the camera.
Everything is real on the wire: OSDP to the simulated turnstile, ONVIF and RTSP to the simulated
camera (which draws the people the test sends through its lane), the edge's detector on the sub
stream, the controller's alarm list."""
from __future__ import annotations

import pytest
import yaml

from tests.camera_site import Fleet
from tests.conftest import ControllerRig, free_port, make_agent, wait_for
from tests.gate_site import Gates, gate_site
from tests.integration.test_gates_e2e import Scenario, grant, passage

pytestmark = pytest.mark.slow

LANE = [[500, 250], [780, 250], [820, 700], [460, 700]]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("gatecam")
    path = gate_site(tmp)
    doc = yaml.safe_load(path.read_text())
    doc["cameras"] = [{"id": "cam-gate", "name": "Main entrance lane", "host": "127.0.0.1",
                       "onvif_port": free_port(), "username": "admin", "password": "gate-camera",
                       "resolution": [1280, 720]}]
    gate = next(g for g in doc["gates"] if g["id"] == "gate-main")
    gate["camera"], gate["lane"] = "cam-gate", LANE
    doc["retention"]["segment_seconds"] = 4
    doc["retention"]["storage_path"] = str(tmp / "recordings")
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    camera = Fleet(tmp, path)
    gates = Gates(tmp, path)
    rig = ControllerRig(tmp, f"sqlite:///{tmp / 'controller.db'}", site=path).start()
    rig.seed_users({"off": ("officer", None)})
    agent = make_agent(tmp, rig, site=path, gates=True, osdp_keys=gates.keys, video=True).start()
    officer = rig.client("off", "off-pass")
    sid = officer.get("/api/sites").json()[0]["id"]
    wait_for(lambda: all(g["online"] for g in officer.get(f"/api/sites/{sid}/gates").json()),
             timeout=60, what="gates online")
    wait_for(lambda: any(c["state"] == "recording" for c in officer.get("/api/cameras").json()),
             timeout=60, what="gate camera recording")
    ctx = {"tmp": tmp, "gates": gates, "camera": camera, "rig": rig, "agent": agent, "officer": officer, "sid": sid}
    yield ctx
    agent.stop()
    rig.proc.stop()
    gates.stop()
    camera.stop()


def walk(ctx, count: int) -> None:
    ctx["camera"].post("/cameras/cam-gate/walkers", {"count": count})


def test_one_person_on_one_grant_is_no_tailgating(site):
    sc = Scenario(site)
    site["gates"].act("gate-main", "enter", person="p-003")
    walk(site, 1)
    sc.expect([grant("gate-main", "p-003"), passage("gate-main", "p-003")], [], settle=8.0)


def test_two_people_on_camera_for_one_grant_raise_tailgating_from_the_camera(site):
    sc = Scenario(site)
    site["gates"].act("gate-main", "enter", person="p-004")  # the beam counts one passage
    walk(site, 2)  # the camera sees two walk through, close together
    sc.expect([grant("gate-main", "p-004"), passage("gate-main", "p-004")], [("tailgating", "gate-main")],
              settle=6.0)
    alarm = next(a for a in site["officer"].get("/api/alarms", params={"limit": 100}).json()
                 if a["kind"] == "tailgating")
    assert "(camera)" in alarm["message"] and alarm["details"]["count"] == 2 and alarm["details"]["expected"] == 1


def test_the_walkers_control_refuses_bad_requests(site):
    import httpx
    base = site["camera"].control
    assert httpx.post(f"{base}/cameras/cam-gate/walkers", json={"count": 9}).status_code == 400
    assert httpx.post(f"{base}/cameras/cam-gate/walkers", json={"count": 1, "lane": 3}).status_code == 404
    assert httpx.post(f"{base}/cameras/cam-gate/walkers", json={"people": 1}).status_code == 400
