"""The fleet's JSON control endpoint and timed scenario files, seen from an ONVIF client."""
from __future__ import annotations

import socket
import time

import httpx
import pytest
from onvif import ONVIFError

from simulators.camera.control import RequestError, load_scenario, parse_scenario
from tests.conftest import wait_for
from tests.simulators.test_onvif_camera import (PASSWORD, USER, assert_works, connect, refused, soap,
                                                start_fleet, subcodes, username_token)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    f = start_fleet(tmp_path_factory.mktemp("control"), ("cam-01", "cam-02"), control_port=0)
    yield f
    f.stop()


@pytest.fixture()
def api(fleet):
    with httpx.Client(base_url=fleet.control.url, timeout=10) as client:
        yield client
    for cam in fleet.cameras.values():
        cam.set_fault(None)


def test_list_cameras(api, fleet):
    r = api.get("/cameras")
    assert r.status_code == 200
    cams = {c["id"]: c for c in r.json()["cameras"]}
    assert set(cams) == {"cam-01", "cam-02"}
    c1 = cams["cam-01"]
    cam = fleet.cameras["cam-01"]
    assert c1["onvif_port"] == cam.onvif.port and c1["onvif_url"] == cam.onvif.device_url
    assert c1["rtsp"] == {"main": cam.rtsp_url("main"), "sub": cam.rtsp_url("sub")}
    assert c1["rtsp_port"] == cam.onvif.port + 700 and c1["rtsp"]["main"].startswith("rtsp://")
    assert c1["fault"] is None and c1["online"] is True
    assert set(c1["seats"]) == {"A1", "A2"}
    assert api.get("/cameras/cam-02").json()["id"] == "cam-02"


def test_fault_through_the_endpoint_reaches_the_client(api, fleet):
    cam = fleet.cameras["cam-01"]
    r = api.post("/cameras/cam-01/fault", json={"fault": "offline"})
    assert r.status_code == 200 and r.json()["fault"] == "offline" and r.json()["online"] is False
    assert refused(cam.onvif.host, cam.onvif.port)
    assert_works(fleet.cameras["cam-02"])  # the other camera is unaffected
    r = api.post("/cameras/cam-01/fault", json={"fault": "wrong_credentials"})
    assert r.json()["online"] is True
    with pytest.raises(ONVIFError) as err:
        connect(cam)
    assert subcodes(err.value) == ["NotAuthorized"]
    assert api.post("/cameras/cam-01/fault", json={"fault": None}).json()["fault"] is None
    assert_works(cam)


def test_seat_changes(api, fleet):
    scene = fleet.cameras["cam-01"].media.scene
    r = api.post("/cameras/cam-01/seats/A1", json={"state": "empty", "occluded": True})
    assert r.status_code == 200 and r.json()["seats"]["A1"] == {"state": "empty", "occluded": True}
    assert scene.seat_state("A1", 1.0) == "empty"
    r = api.post("/cameras/cam-01/seats/A1", json={"state": "occupied"})
    assert r.json()["seats"]["A1"] == {"state": "occupied", "occluded": True}
    assert scene.seat_state("A1", 1.0) == "seated"
    r = api.post("/cameras/cam-01/seats/A1", json={"state": "auto", "occluded": False})
    assert r.json()["seats"]["A1"] == {"state": "auto", "occluded": False}


@pytest.mark.parametrize("method,path,body,status,message", [
    ("post", "/cameras/cam-01/fault", {"fault": "on_fire"}, 400, "must be one of"),
    ("post", "/cameras/cam-01/fault", {}, 400, '{"fault"'),
    ("post", "/cameras/cam-01/fault", {"fault": None, "extra": 1}, 400, '{"fault"'),
    ("post", "/cameras/cam-01/fault", [1, 2], 400, "JSON object"),
    ("post", "/cameras/cam-01/fault", b"{not json", 400, "not valid JSON"),
    ("post", "/cameras/cam-09/fault", {"fault": None}, 404, "no camera 'cam-09'"),
    ("post", "/cameras/cam-01/seats/A1", {"state": "asleep"}, 400, "'state' must be one of"),
    ("post", "/cameras/cam-01/seats/A1", {"occluded": "yes"}, 400, "'occluded' must be true or false"),
    ("post", "/cameras/cam-01/seats/A1", {}, 400, "give 'state'"),
    ("post", "/cameras/cam-01/seats/A1", {"colour": "red"}, 400, "unknown field"),
    ("post", "/cameras/cam-01/seats/A3", {"state": "empty"}, 404, "does not see seat 'A3'"),
    ("get", "/cameras/cam-01/fault", None, 405, "not supported"),
    ("get", "/nothing/here", None, 404, "not supported"),
])
def test_bad_requests_get_clear_errors(api, method, path, body, status, message):
    kwargs = {"content": body} if isinstance(body, bytes) else {} if body is None else {"json": body}
    r = getattr(api, method)(path, **kwargs)
    assert r.status_code == status
    assert message in r.json()["error"]


def test_garbage_does_not_kill_the_endpoint(api, fleet):
    with socket.create_connection((fleet.control.host, fleet.control.port), timeout=5) as s:
        s.sendall(b"POST /cameras/cam-01/fault HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n")
        assert b" 413 " in s.recv(1024)[:20]
    with socket.create_connection((fleet.control.host, fleet.control.port), timeout=5) as s:
        s.sendall(b"\x16\x03\x01\x00garbage\r\n\r\n")
        s.recv(1024)
    assert api.get("/cameras").status_code == 200


# ---- scenarios ------------------------------------------------------------------------------

def test_scenario_file_applies_steps_on_time(tmp_path):
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(
        "# cam-01 has its password changed for a while; seat A2 empties and gets covered\n"
        "- {at: 2.0, camera: cam-01, fault: null}\n"
        "- {at: 0.4, camera: cam-01, fault: wrong_credentials}\n"
        "- {at: 0.4, camera: cam-01, seat: A2, state: empty, occluded: true}\n")
    fleet = start_fleet(tmp_path, ("cam-01",), control_port=0, scenario=scenario)
    try:
        cam, runner = fleet.cameras["cam-01"], fleet.scenario_runner
        op = "<tds:GetDeviceInformation/>"
        assert soap(cam, op, username_token(USER, PASSWORD)).status_code == 200  # before step 1
        wait_for(lambda: cam.fault == "wrong_credentials", timeout=3, interval=0.02, what="first step")
        first = time.monotonic() - runner.started_at
        assert 0.4 <= first < 1.4  # slack for a loaded machine
        denied = soap(cam, op, username_token(USER, PASSWORD))
        assert denied.status_code == 400 and b"NotAuthorized" in denied.content
        assert cam.seats["A2"] == {"state": "empty", "occluded": True}
        assert runner.done.wait(5)
        assert cam.fault is None
        assert_works(cam)
        with httpx.Client(base_url=fleet.control.url) as api:
            report = api.get("/scenario").json()
        assert report["done"] and [s["at"] for s in report["applied"]] == [0.4, 0.4, 2.0]
        for step in report["applied"]:
            assert step["error"] is None and step["at"] <= step["applied_at"] < step["at"] + 1.0
    finally:
        fleet.stop()


def test_scenario_mistakes_are_refused_with_the_step_named(tmp_path):
    assert [s.at for s in parse_scenario({"steps": [{"at": 2, "camera": "c", "fault": None},
                                                    {"at": 1, "camera": "c", "fault": "stall"}]})] == [1, 2]
    for bad, message in [
        ({"at": 1}, "a scenario is a list"),
        ([{"at": -1, "camera": "c", "fault": None}], "step 1: 'at' must be seconds"),
        ([{"at": 1, "camera": "c", "fault": None}, {"at": 1, "camera": "c"}], "step 2: a step needs"),
        ([{"at": 1, "camera": "c", "fault": "smoke"}], "step 1: 'fault' must be one of"),
        ([{"at": 1, "camera": "c", "fault": None, "seat": "A1"}], "takes only"),
        ([{"at": 1, "camera": "c", "seat": "A1", "state": "gone"}], "'state' must be one of"),
        (["blackout"], "step 1: must be a mapping"),
    ]:
        with pytest.raises(RequestError, match=message):
            parse_scenario(bad)
    broken = tmp_path / "broken.yaml"
    broken.write_text("- {at: 1, camera: [unclosed\n")
    with pytest.raises(RequestError, match="cannot read scenario"):
        load_scenario(broken)
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text("- {at: 1, camera: cam-01, seat: B7, state: empty}\n")
    with pytest.raises(RequestError, match="does not see seat 'B7'"):
        start_fleet(tmp_path, ("cam-01",), control_port=None, scenario=unknown)
