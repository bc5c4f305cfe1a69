"""WS-Discovery: the project's probe client finds the simulated cameras over real UDP multicast."""
from __future__ import annotations

import socket

import pytest
import yaml

from camera.discovery import discover, parse_probe_matches, unregistered
from simulators.camera.fleet import CameraFleet
from tests.conftest import DEMO_SITE, free_port

pytestmark = pytest.mark.slow


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("disc")
    doc = yaml.safe_load(DEMO_SITE.read_text())
    doc["cameras"] = doc["cameras"][:2]
    for area in doc.get("areas") or []:  # its floor plan names cameras left out here
        area.pop("floor_plan", None)
    for c in doc["cameras"]:
        c["onvif_port"] = free_port()
    doc["seats"] = [s for s in doc["seats"] if all(v["camera"] in ("cam-01", "cam-02") for v in s["views"])]
    site = tmp / "site.yaml"
    site.write_text(yaml.safe_dump(doc))
    port = free_udp_port()
    f = CameraFleet(str(site), rtsp_port_offset=-10000, discovery=True, discovery_port=port,
                    discovery_interface="127.0.0.1")
    f.start()
    yield f, doc["cameras"], port
    f.stop()


def test_probe_finds_every_camera_with_its_device_service(fleet):
    _, cameras, port = fleet
    found = discover(timeout=2.0, port=port, interface="127.0.0.1")
    by_name = {d.scope("name"): d for d in found}
    assert set(by_name) == {"cam-01", "cam-02"}
    for cam in cameras:
        dev = by_name[cam["id"]]
        assert dev.host_port == ("127.0.0.1", cam["onvif_port"])
        assert dev.xaddrs[0].endswith("/onvif/device_service")
        assert dev.endpoint.startswith("urn:uuid:")


def test_devices_missing_from_the_site_file_are_singled_out(fleet):
    _, cameras, port = fleet
    found = discover(timeout=2.0, port=port, interface="127.0.0.1")
    registered = {("127.0.0.1", cameras[0]["onvif_port"])}
    assert [d.scope("name") for d in unregistered(found, registered)] == ["cam-02"]


@pytest.mark.parametrize("datagram", [
    b"", b"garbage", b"<x/>", b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>',
    b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body/></s:Envelope>',
])
def test_stray_datagrams_are_ignored(datagram):
    assert parse_probe_matches(datagram, "urn:uuid:1") == []
