"""The simulated camera's ONVIF face, driven by onvif-zeep (unchanged) and raw HTTP on real sockets.

Also holds the helpers the other test_onvif_camera_* modules share (site file, fleet, raw SOAP).
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
import socket
import re
import time
from pathlib import Path
from urllib.parse import urlsplit

import cv2
import numpy as np
import onvif
import pytest
import requests
import yaml
from onvif import ONVIFCamera, ONVIFError
from requests.auth import HTTPDigestAuth

from simulators.camera.fleet import CameraFleet
from tests.conftest import free_port, wait_for

ROOT = Path(__file__).resolve().parents[2]
DEMO_SITE = ROOT / "simulators" / "sites" / "demo.yaml"
WSDL_DIR = str(Path(onvif.__file__).resolve().parent.parent / "wsdl")
RTSP_OFFSET = 700
USER, PASSWORD = "admin", "demo-camera"
TER = "http://www.onvif.org/ver10/error"
STREAM_SETUP = {"Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}}


# ---- shared helpers -------------------------------------------------------------------------

def _tcp_port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def camera_port(offset: int = RTSP_OFFSET) -> int:
    """A free ONVIF port whose RTSP twin (port + offset) is free too."""
    for _ in range(100):
        p = free_port()
        if p + offset < 65536 and _tcp_port_free(p + offset):
            return p
    raise RuntimeError("no free port pair")


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("", 0))
        return s.getsockname()[1]


def make_site(directory: Path, camera_ids=("cam-01", "cam-02"), offset: int = RTSP_OFFSET) -> Path:
    """The demo site cut down to some cameras, each moved to free ports."""
    site = yaml.safe_load(DEMO_SITE.read_text())
    site["cameras"] = [dict(c, onvif_port=camera_port(offset)) for c in site["cameras"]
                       if c["id"] in camera_ids]
    path = directory / "site.yaml"
    path.write_text(yaml.safe_dump(site, sort_keys=False))
    return path


def start_fleet(directory: Path, camera_ids=("cam-01", "cam-02"), **kwargs) -> CameraFleet:
    site = make_site(directory, camera_ids)
    kwargs.setdefault("discovery_port", free_udp_port())
    return CameraFleet(site, rtsp_port_offset=RTSP_OFFSET, **kwargs).start()


def connect(cam, password: str = PASSWORD, **kwargs) -> ONVIFCamera:
    return ONVIFCamera(cam.onvif.host, cam.onvif.port, USER, password, WSDL_DIR, **kwargs)


def subcodes(err: BaseException) -> list[str]:
    """The ONVIF fault subcodes behind an onvif-zeep error (it wraps zeep's Fault)."""
    fault = err.__context__ if isinstance(err, ONVIFError) else err
    return [q.localname for q in getattr(fault, "subcodes", None) or []]


def username_token(user: str, password: str, created: str | None = None,
                   nonce: bytes | None = None) -> str:
    """A WS-Security header, written out by hand to control every field."""
    nonce = nonce or os.urandom(16)
    created = created or dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    digest = base64.b64encode(hashlib.sha1(nonce + created.encode() + password.encode()).digest())
    return ('<wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-'
            'wssecurity-secext-1.0.xsd" xmlns:wsu="http://docs.oasis-open.org/wss/2004/01/oasis-'
            '200401-wss-wssecurity-utility-1.0.xsd"><wsse:UsernameToken>'
            f'<wsse:Username>{user}</wsse:Username>'
            '<wsse:Password Type="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-'
            f'token-profile-1.0#PasswordDigest">{digest.decode()}</wsse:Password>'
            f'<wsse:Nonce>{base64.b64encode(nonce).decode()}</wsse:Nonce>'
            f'<wsu:Created>{created}</wsu:Created></wsse:UsernameToken></wsse:Security>')


def soap(cam, operation: str, header: str = "", path: str = "/onvif/device_service") -> requests.Response:
    body = ('<?xml version="1.0" encoding="UTF-8"?>'
            '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
            'xmlns:tds="http://www.onvif.org/ver10/device/wsdl" '
            'xmlns:trt="http://www.onvif.org/ver10/media/wsdl">'
            f'<s:Header>{header}</s:Header><s:Body>{operation}</s:Body></s:Envelope>')
    return requests.post(cam.onvif.base_url + path, data=body.encode(), timeout=5,
                         headers={"Content-Type": "application/soap+xml; charset=utf-8"})


def assert_works(cam) -> None:
    client = connect(cam)
    assert client.devicemgmt.GetDeviceInformation().Model


def refused(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(2)
        return s.connect_ex((host, port)) != 0


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def rtsp_describe(url: str, password: str) -> int:
    """Status of an RTSP DESCRIBE answered with Digest credentials, as a player would send it."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as s:
        f = s.makefile("rb")

        def ask(cseq: int, auth: str = "") -> tuple[int, dict]:
            s.sendall(f"DESCRIBE {url} RTSP/1.0\r\nCSeq: {cseq}\r\nAccept: application/sdp\r\n{auth}\r\n".encode())
            status, headers = int(f.readline().split()[1]), {}
            while line := f.readline().strip():
                key, _, value = line.decode().partition(":")
                headers[key.strip().lower()] = value.strip()
            f.read(int(headers.get("content-length", 0)))
            return status, headers

        status, headers = ask(1)
        assert status == 401
        p = dict(re.findall(r'(\w+)="([^"]*)"', headers["www-authenticate"]))
        ha1, ha2 = _md5(f"{USER}:{p['realm']}:{password}"), _md5(f"DESCRIBE:{url}")
        response = _md5(f"{ha1}:{p['nonce']}:{ha2}")
        return ask(2, f'Authorization: Digest username="{USER}", realm="{p["realm"]}", '
                      f'nonce="{p["nonce"]}", uri="{url}", response="{response}"\r\n')[0]


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    f = start_fleet(tmp_path_factory.mktemp("onvif"), ("cam-01",), control_port=None)
    yield f
    f.stop()


@pytest.fixture()
def cam(fleet):
    cam = fleet.cameras["cam-01"]
    yield cam
    cam.set_fault(None)  # no test leaves a fault behind
    cam.onvif.clock_offset_s = 0.0


# ---- the client flow ------------------------------------------------------------------------

def test_onvif_zeep_client_flow(cam):
    client = connect(cam)  # the constructor already calls GetCapabilities and takes its XAddrs
    clock = client.devicemgmt.GetSystemDateAndTime().UTCDateTime
    assert abs(dt.datetime(clock.Date.Year, clock.Date.Month, clock.Date.Day, clock.Time.Hour,
                           clock.Time.Minute, clock.Time.Second) - dt.datetime.utcnow()) < dt.timedelta(seconds=5)
    info = client.devicemgmt.GetDeviceInformation()
    assert info.Manufacturer and info.Model and info.SerialNumber
    caps = client.devicemgmt.GetCapabilities({"Category": "All"})
    assert caps.Device.XAddr == cam.onvif.device_url
    assert caps.Media.XAddr == cam.onvif.base_url + "/onvif/media_service"

    media = client.create_media_service()
    profiles = media.GetProfiles()
    assert [p.token for p in profiles] == ["Profile_1", "Profile_2"]
    main, sub = profiles
    (w, h, fps), (sw, sh, sfps) = cam.media.profiles["main"], cam.media.profiles["sub"]
    assert (w, h) == tuple(cam.camera["resolution"])
    enc = main.VideoEncoderConfiguration
    assert (enc.Encoding, enc.Resolution.Width, enc.Resolution.Height) == ("H264", w, h)
    assert enc.RateControl.FrameRateLimit == fps and enc.H264.GovLength > 0
    assert (sub.VideoEncoderConfiguration.Resolution.Width, sub.VideoEncoderConfiguration.Resolution.Height) == (sw, sh)
    assert sw < w and sub.VideoEncoderConfiguration.RateControl.FrameRateLimit == sfps
    assert main.VideoSourceConfiguration.SourceToken == "VideoSource_1"
    assert media.GetProfile({"ProfileToken": "Profile_2"}).Name == sub.Name

    for profile, name in ((main, "main"), (sub, "sub")):
        uri = media.GetStreamUri({"StreamSetup": STREAM_SETUP, "ProfileToken": profile.token}).Uri
        assert uri == cam.media.rtsp_url(name) and uri.startswith("rtsp://") and "@" not in uri
        snap = media.GetSnapshotUri({"ProfileToken": profile.token}).Uri
        assert snap == f"{cam.onvif.base_url}/onvif/snapshot?profile={name}"
    sources = media.GetVideoSources()
    assert (sources[0].Resolution.Width, sources[0].Resolution.Height) == (w, h)


def test_services_scopes_and_categories(cam):
    client = connect(cam)
    services = client.devicemgmt.GetServices({"IncludeCapability": False})
    assert {s.Namespace: s.XAddr for s in services} == {
        "http://www.onvif.org/ver10/device/wsdl": cam.onvif.device_url,
        "http://www.onvif.org/ver10/media/wsdl": cam.onvif.base_url + "/onvif/media_service"}
    assert all(s.Capabilities is None for s in services)
    with_caps = client.devicemgmt.GetServices({"IncludeCapability": True})
    assert all(s.Capabilities is not None for s in with_caps)
    scopes = [s.ScopeItem for s in client.devicemgmt.GetScopes()]
    assert "onvif://www.onvif.org/name/cam-01" in scopes
    assert "onvif://www.onvif.org/type/video_encoder" in scopes
    assert client.devicemgmt.GetHostname().Name == "cam-01"
    media_only = client.devicemgmt.GetCapabilities({"Category": "Media"})
    assert media_only.Device is None and media_only.Media.XAddr
    with pytest.raises(ONVIFError) as err:
        client.devicemgmt.GetCapabilities({"Category": "PTZ"})
    assert "NoSuchService" in subcodes(err.value)
    media = client.create_media_service()
    with pytest.raises(ONVIFError) as err:
        media.GetStreamUri({"StreamSetup": STREAM_SETUP, "ProfileToken": "nope"})
    assert subcodes(err.value) == ["InvalidArgVal", "NoProfile"]
    with pytest.raises(ONVIFError) as err:
        media.GetStreamUri({"StreamSetup": {"Stream": "RTP-Multicast", "Transport": {"Protocol": "UDP"}},
                            "ProfileToken": "Profile_1"})
    assert "InvalidStreamSetup" in subcodes(err.value)


# ---- authentication -------------------------------------------------------------------------

def test_wrong_password_is_not_authorized(cam):
    with pytest.raises(ONVIFError) as err:
        connect(cam, password="not-the-password")
    assert subcodes(err.value) == ["NotAuthorized"]


def test_clock_skew_needs_adjust_time(cam):
    cam.onvif.clock_offset_s = 3600.0  # the camera's clock runs an hour ahead
    with pytest.raises(ONVIFError) as err:
        connect(cam)
    assert subcodes(err.value) == ["NotAuthorized"]
    client = connect(cam, adjust_time=True)  # reads GetSystemDateAndTime (no auth) first
    assert client.devicemgmt.GetDeviceInformation().Model


def test_username_token_rules_on_raw_soap(cam):
    op = "<tds:GetDeviceInformation/>"
    assert soap(cam, "<tds:GetSystemDateAndTime/>").status_code == 200  # no auth, as real cameras
    missing = soap(cam, op)
    assert missing.status_code == 400 and b"ter:NotAuthorized" in missing.content
    assert soap(cam, op, username_token(USER, PASSWORD)).status_code == 200
    assert soap(cam, op, username_token(USER, "wrong")).status_code == 400
    assert soap(cam, op, username_token("root", PASSWORD)).status_code == 400
    old = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
    stale = soap(cam, op, username_token(USER, PASSWORD, created=old))
    assert stale.status_code == 400 and b"Created" in stale.content
    token = username_token(USER, PASSWORD)
    assert soap(cam, op, token).status_code == 200
    replay = soap(cam, op, token)  # the very same nonce again
    assert replay.status_code == 400 and b"already used" in replay.content
    plain = token.replace("#PasswordDigest", "#PasswordText")
    assert soap(cam, op, plain).status_code == 400


def test_unknown_operation_is_action_not_supported(cam):
    r = soap(cam, "<tds:GetDot11Capabilities/>", username_token(USER, PASSWORD))
    assert r.status_code == 500 and b"ter:ActionNotSupported" in r.content
    anonymous = soap(cam, "<tds:GetDot11Capabilities/>")  # learns nothing without credentials
    assert anonymous.status_code == 400 and b"ter:NotAuthorized" in anonymous.content


# ---- snapshot -------------------------------------------------------------------------------

def test_snapshot_behind_http_digest(cam):
    for name in ("main", "sub"):
        url = cam.onvif.snapshot_url(name)
        r = requests.get(url, auth=HTTPDigestAuth(USER, PASSWORD), timeout=10)
        assert r.status_code == 200 and r.headers["Content-Type"] == "image/jpeg"
        image = cv2.imdecode(np.frombuffer(r.content, np.uint8), cv2.IMREAD_COLOR)
        w, h, _ = cam.media.profiles[name]
        assert image.shape == (h, w, 3)
    url = cam.onvif.snapshot_url("main")
    anonymous = requests.get(url, timeout=5)
    assert anonymous.status_code == 401 and anonymous.headers["WWW-Authenticate"].startswith("Digest ")
    assert requests.get(url, auth=HTTPDigestAuth(USER, "wrong"), timeout=5).status_code == 401
    assert requests.get(url, auth=(USER, PASSWORD), timeout=5).status_code == 401  # no Basic
    bad_profile = requests.get(url.replace("main", "third"), auth=HTTPDigestAuth(USER, PASSWORD), timeout=5)
    assert bad_profile.status_code == 404


# ---- faults ---------------------------------------------------------------------------------

def test_offline_refuses_connections_then_recovers(cam):
    client = connect(cam)
    rtsp = urlsplit(cam.rtsp_url("main"))
    cam.set_fault("offline")
    assert not cam.online
    assert refused(cam.onvif.host, cam.onvif.port) and refused(rtsp.hostname, rtsp.port)
    with pytest.raises(ONVIFError):
        client.devicemgmt.GetDeviceInformation()
    with pytest.raises(ONVIFError):
        connect(cam)
    cam.set_fault(None)
    assert cam.online
    assert client.devicemgmt.GetDeviceInformation().Model  # same client, camera back
    assert_works(cam)
    assert rtsp_describe(cam.rtsp_url("main"), PASSWORD) == 200


def test_wrong_credentials_then_recovers(cam):
    cam.set_fault("wrong_credentials")
    with pytest.raises(ONVIFError) as err:
        connect(cam)
    assert subcodes(err.value) == ["NotAuthorized"]
    assert soap(cam, "<tds:GetSystemDateAndTime/>").status_code == 200
    url = cam.onvif.snapshot_url("sub")
    assert requests.get(url, auth=HTTPDigestAuth(USER, PASSWORD), timeout=5).status_code == 401
    assert rtsp_describe(cam.rtsp_url("sub"), PASSWORD) == 401
    cam.set_fault(None)
    assert_works(cam)
    assert requests.get(url, auth=HTTPDigestAuth(USER, PASSWORD), timeout=10).status_code == 200
    assert rtsp_describe(cam.rtsp_url("sub"), PASSWORD) == 200


def test_malformed_soap_then_recovers(cam):
    cam.set_fault("malformed_soap")
    with pytest.raises(ONVIFError) as err:
        connect(cam)
    assert "Envelope" in str(err.value)
    from lxml import etree
    with pytest.raises(etree.XMLSyntaxError):
        etree.fromstring(soap(cam, "<tds:GetSystemDateAndTime/>").content)
    cam.set_fault(None)
    assert_works(cam)


def test_faults_replace_each_other_and_reject_unknown(cam):
    cam.set_fault("offline")
    cam.set_fault("malformed_soap")  # back on the network, now with broken replies
    assert cam.online and cam.fault == "malformed_soap"
    with pytest.raises(ValueError):
        cam.set_fault("on_fire")
    assert cam.fault == "malformed_soap"
    cam.set_fault(None)
    assert_works(cam)


def test_frame_fault_passes_through_to_the_picture(cam):
    url = cam.onvif.snapshot_url("sub")

    def brightness() -> float:
        r = requests.get(url, auth=HTTPDigestAuth(USER, PASSWORD), timeout=10)
        return float(cv2.imdecode(np.frombuffer(r.content, np.uint8), cv2.IMREAD_GRAYSCALE).mean())

    normal = brightness()
    cam.set_fault("blackout")
    assert cam.fault == "blackout" and cam.online
    wait_for(lambda: brightness() < normal / 3, timeout=10, what="a dark picture")
    assert_works(cam)  # a blacked-out camera still talks ONVIF
    cam.set_fault(None)
    wait_for(lambda: brightness() > normal * 0.7, timeout=10, what="the picture back")


# ---- hostile input --------------------------------------------------------------------------

def _raw(cam, data: bytes, read: bool = True) -> bytes:
    with socket.create_connection((cam.onvif.host, cam.onvif.port), timeout=5) as s:
        s.sendall(data)
        if not read:
            return b""
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
        return b"".join(chunks)


def _post(body: bytes, extra: str = "") -> bytes:
    return (f"POST /onvif/device_service HTTP/1.1\r\nHost: x\r\nContent-Type: application/soap+xml\r\n"
            f"Content-Length: {len(body)}\r\n{extra}\r\n").encode() + body


def test_garbage_requests_do_not_kill_the_server(cam):
    assert b"400" in _raw(cam, b"\x00\xff\x16\x03\x01 not http at all\r\n\r\n")  # an HTTP/0.9-style error page
    assert b" 400 " in _raw(cam, _post(b"<s:Envelope><unclosed>"))[:20]
    assert b"ter:WellFormed" in _raw(cam, _post(b"\x89PNG binary junk"))
    assert b" 411 " in _raw(cam, b"POST /onvif/device_service HTTP/1.1\r\nHost: x\r\n\r\n")[:20]
    assert b" 413 " in _raw(cam, b"POST /onvif/media_service HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n")[:20]
    assert b" 404 " in _raw(cam, _post(b"<x/>").replace(b"/onvif/device_service", b"/cgi-bin/x"))[:20]
    soap11 = (b'<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body>'
              b'<GetSystemDateAndTime xmlns="http://www.onvif.org/ver10/device/wsdl"/></e:Body></e:Envelope>')
    assert b"VersionMismatch" in _raw(cam, _post(soap11))
    xxe = (b'<?xml version="1.0"?><!DOCTYPE e [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
           b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>&x;</s:Body></s:Envelope>')
    reply = _raw(cam, _post(xxe))
    assert b" 400 " in reply[:20] and b"root:" not in reply
    assert b" 400 " in _raw(cam, _post(b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"/>'))[:20]
    chunked = (b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>'
               b'<GetSystemDateAndTime xmlns="http://www.onvif.org/ver10/device/wsdl"/></s:Body></s:Envelope>')
    head = b"POST /onvif/device_service HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    assert b"SystemDateAndTime" in _raw(cam, head + b"%x\r\n" % len(chunked) + chunked + b"\r\n0\r\n\r\n")
    # A client that announces a body and vanishes costs a thread for at most the handler timeout.
    _raw(cam, _post(b"").replace(b"Content-Length: 0", b"Content-Length: 500") + b"<s:Env", read=False)
    started = time.monotonic()
    assert_works(cam)
    assert time.monotonic() - started < 5
