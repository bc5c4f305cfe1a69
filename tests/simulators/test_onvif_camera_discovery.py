"""WS-Discovery of the simulated cameras over real UDP (multicast on loopback, and unicast)."""
from __future__ import annotations

import socket
import struct
import time
import uuid
from urllib.parse import urlsplit

import pytest
from lxml import etree
from onvif import ONVIFCamera

from simulators.camera.discovery import DiscoveryResponder, DiscoveryTarget, MULTICAST_GROUP
from tests.simulators.test_onvif_camera import PASSWORD, USER, WSDL_DIR, free_udp_port, start_fleet

NS = {"s": "http://www.w3.org/2003/05/soap-envelope",
      "a": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
      "d": "http://schemas.xmlsoap.org/ws/2005/04/discovery"}


def probe_message(types: str | None = "dn:NetworkVideoTransmitter", scopes: str = "",
                  message_id: str | None = None) -> bytes:
    types_el = f"<d:Types>{types}</d:Types>" if types is not None else ""
    scopes_el = f"<d:Scopes>{scopes}</d:Scopes>" if scopes else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
        'xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
        'xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery" '
        'xmlns:dn="http://www.onvif.org/ver10/network/wsdl" '
        'xmlns:tds="http://www.onvif.org/ver10/device/wsdl"><s:Header>'
        '<a:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe</a:Action>'
        f'<a:MessageID>{message_id or "urn:uuid:" + str(uuid.uuid4())}</a:MessageID>'
        '<a:To>urn:schemas-xmlsoap-org:ws:2005:04:discovery</a:To></s:Header>'
        f'<s:Body><d:Probe>{types_el}{scopes_el}</d:Probe></s:Body></s:Envelope>').encode()


def probe(port: int, message: bytes, to: str = MULTICAST_GROUP, wait: float = 0.3,
          expect: int | None = None) -> list[dict]:
    """Send one Probe; collect ProbeMatch entries for `wait` s, or until `expect` arrived."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("127.0.0.1"))
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
        s.bind(("127.0.0.1", 0))
        s.sendto(message, (to, port))
        return _collect(s, 3.0 if expect else wait, "ProbeMatch", expect)


def _collect(s: socket.socket, wait: float, kind: str, expect: int | None = None) -> list[dict]:
    found, deadline = [], time.monotonic() + wait
    while (left := deadline - time.monotonic()) > 0 and len(found) < (expect or 1 << 30):
        s.settimeout(left)
        try:
            data, _ = s.recvfrom(65535)
        except socket.timeout:
            break
        root = etree.fromstring(data)
        for m in root.iterfind(f".//d:{kind}", NS):
            found.append({
                "action": root.findtext("s:Header/a:Action", namespaces=NS),
                "relates_to": root.findtext("s:Header/a:RelatesTo", namespaces=NS),
                "address": m.findtext("a:EndpointReference/a:Address", namespaces=NS),
                "types": (m.findtext("d:Types", namespaces=NS) or "").split(),
                "scopes": (m.findtext("d:Scopes", namespaces=NS) or "").split(),
                "xaddrs": (m.findtext("d:XAddrs", namespaces=NS) or "").split(),
                "version": m.findtext("d:MetadataVersion", namespaces=NS),
            })
    return found


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    f = start_fleet(tmp_path_factory.mktemp("wsd"), ("cam-01", "cam-02"), control_port=None)
    yield f
    f.stop()


def test_multicast_probe_finds_every_camera_and_onvif_zeep_follows_xaddrs(fleet):
    message_id = "urn:uuid:" + str(uuid.uuid4())
    matches = probe(fleet.discovery.port, probe_message(message_id=message_id), expect=2)
    by_name = {next(s.rsplit("/", 1)[1] for s in m["scopes"] if "/name/" in s): m for m in matches}
    assert set(by_name) == {"cam-01", "cam-02"}
    for cam_id, m in by_name.items():
        cam = fleet.cameras[cam_id]
        assert m["relates_to"] == message_id
        assert m["address"].startswith("urn:uuid:") and m["types"] == ["dn:NetworkVideoTransmitter", "tds:Device"]
        assert "onvif://www.onvif.org/type/video_encoder" in m["scopes"]
        assert any(s.startswith("onvif://www.onvif.org/location/") for s in m["scopes"])
        assert m["xaddrs"] == [cam.onvif.device_url] and m["version"] == "1"
        url = urlsplit(m["xaddrs"][0])
        client = ONVIFCamera(url.hostname, url.port, USER, PASSWORD, WSDL_DIR)
        assert client.devicemgmt.GetHostname().Name == cam_id
    assert by_name["cam-01"]["address"] != by_name["cam-02"]["address"]
    again = probe(fleet.discovery.port, probe_message(), expect=2)
    assert {m["address"] for m in again} == {m["address"] for m in matches}  # stable identity


def test_probe_filters_by_types_and_scopes(fleet):
    port = fleet.discovery.port
    assert len(probe(port, probe_message(types=None))) == 2  # no Types: everything
    assert len(probe(port, probe_message(types="tds:Device"))) == 2
    assert probe(port, probe_message(types="dn:Printer")) == []
    only = probe(port, probe_message(scopes="onvif://www.onvif.org/name/cam-02"))
    assert [m["xaddrs"] for m in only] == [[fleet.cameras["cam-02"].onvif.device_url]]
    assert len(probe(port, probe_message(scopes="onvif://www.onvif.org/type"))) == 2
    assert probe(port, probe_message(scopes="onvif://www.onvif.org/name/cam-0")) == []


def test_unicast_probe_garbage_and_offline_camera(fleet):
    port = fleet.discovery.port
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for junk in (b"", b"\x00" * 100, b"<not-xml", b"<a/>", probe_message()[:120],
                     probe_message(types="zz:Undeclared")):
            s.sendto(junk, ("127.0.0.1", port))
    assert len(probe(port, probe_message(), to="127.0.0.1", expect=2)) == 2  # still answering
    fleet.cameras["cam-02"].set_fault("offline")
    try:
        assert [m["xaddrs"] for m in probe(port, probe_message())] == [
            [fleet.cameras["cam-01"].onvif.device_url]]
    finally:
        fleet.cameras["cam-02"].set_fault(None)
    assert len(probe(port, probe_message(), expect=2)) == 2


def test_repeated_probe_is_answered_once(fleet):
    message = probe_message(message_id="urn:uuid:" + str(uuid.uuid4()))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        for _ in range(3):  # SOAP-over-UDP senders repeat datagrams
            s.sendto(message, ("127.0.0.1", fleet.discovery.port))
        assert len(_collect(s, 0.4, "ProbeMatch")) == 2


def test_hello_on_start_and_bye_on_stop():
    port = free_udp_port()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        listener.bind(("", port))
        listener.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
                            struct.pack("4s4s", socket.inet_aton(MULTICAST_GROUP), socket.inet_aton("127.0.0.1")))
        target = DiscoveryTarget("cam-x", ("http://127.0.0.1:1/onvif/device_service",),
                                 ("onvif://www.onvif.org/name/cam-x",))
        responder = DiscoveryResponder(lambda: [target], port=port)
        responder.start()
        hello = _collect(listener, 2.0, "Hello", expect=1)
        responder.stop()
        bye = _collect(listener, 2.0, "Bye", expect=1)
    assert [(h["address"], h["xaddrs"]) for h in hello] == [(target.address, list(target.xaddrs))]
    assert [b["address"] for b in bye] == [target.address]
    assert bye[0]["action"].endswith("/Bye")
