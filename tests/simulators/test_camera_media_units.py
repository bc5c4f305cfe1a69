"""The camera simulator's parts on their own: site reading, scene, H.264 framing, RTP, auth."""
from __future__ import annotations

import base64
import hashlib
import shutil
import struct
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulators.camera.encoder import AnnexBSplitter, H264Encoder
from simulators.camera.rtsp import (BadRequest, DigestAuth, build_sdp, packetize_h264,
                                    parse_head)
from simulators.camera.scene import FAULTS, STATES, Occupancy, Scene
from simulators.camera.site_view import SeatView, camera_entries, load_site, seat_views
from tests.conftest import wait_for

DEMO_SITE = Path(__file__).resolve().parents[2] / "simulators" / "sites" / "demo.yaml"


@pytest.fixture(scope="module")
def site():
    return load_site(DEMO_SITE)


@pytest.fixture(scope="module")
def cam01(site):
    return camera_entries(site)[0], seat_views(site, "cam-01")


# --- site file -----------------------------------------------------------------------------

def test_demo_site_cameras_and_seat_views(site):
    cams = camera_entries(site)
    assert [c["id"] for c in cams] == [f"cam-0{i}" for i in range(1, 10)]
    assert cams[0]["resolution"] == [1280, 720]
    views = seat_views(site, "cam-01")
    assert [(v.seat_id, v.customer) for v in views] == [("A1", "acme"), ("A2", "acme")]
    assert views[0].screen.dtype == np.int32 and views[0].screen.shape == (4, 2)
    assert views[0].screen.tolist()[0] == [200, 240]
    assert seat_views(site, "cam-99") == []


@pytest.mark.parametrize("text, message", [
    ("cameras: [1, 2", "not valid YAML"),
    ("- just\n- a list\n", "mapping at the top level"),
    ("cameras: {id: x}\n", "'cameras' must be a list"),
    ("cameras: [{id: c, resolution: [1280]}]\n", "resolution"),
    ("cameras: [{name: no-id}]\n", "'id'"),
])
def test_bad_site_files_raise_value_error_naming_the_file(tmp_path, text, message):
    path = tmp_path / "site.yaml"
    path.write_text(text)
    with pytest.raises(ValueError, match=message) as err:
        load_site(path)
    assert str(path) in str(err.value)


def test_missing_site_file_and_bad_polygon(tmp_path):
    with pytest.raises(ValueError, match="cannot read"):
        load_site(tmp_path / "absent.yaml")
    site = {"seats": [{"id": "S", "views": [{"camera": "c", "seat": [[0, 0], [1, 1]],
                                                "screen": [[0, 0], [1, 0], [1, 1]]}]}]}
    with pytest.raises(ValueError, match="seat S on c seat"):
        seat_views(site, "c")


# --- scene ---------------------------------------------------------------------------------

def test_scene_is_deterministic_for_a_seed_and_time(cam01):
    cam, views = cam01
    a = Scene(cam, views, seed=5).render_raw(37.2)[0]
    b = Scene(cam, views, seed=5).render_raw(37.2)[0]
    c = Scene(cam, views, seed=6).render_raw(37.2)[0]
    assert a.shape == (720, 1280, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31), times=st.lists(st.floats(0, 20000), min_size=1, max_size=30))
def test_occupancy_does_not_depend_on_the_order_of_questions(seed, times):
    forward, backward = Occupancy(seed), Occupancy(seed)
    asked_forward = [forward.state_at(t) for t in times]
    asked_backward = [backward.state_at(t) for t in reversed(times)][::-1]
    assert asked_forward == asked_backward
    for state, progress in asked_forward:
        assert state in STATES and 0.0 <= progress <= 1.0


def test_occupancy_cycles_through_every_state():
    seen = set()
    order = []
    occ = Occupancy(1)
    for t in range(0, 4 * 3600, 1):
        state = occ.state_at(float(t))[0]
        seen.add(state)
        if not order or order[-1] != state:
            order.append(state)
    assert seen == set(STATES)
    follows = {"seated": "leaving", "leaving": "empty", "empty": "arriving", "arriving": "seated"}
    assert all(follows[a] == b for a, b in zip(order, order[1:]))


def _polygon_mask(poly: np.ndarray, shape, erode: int = 0) -> np.ndarray:
    mask = np.zeros(shape[:2], np.uint8)
    cv2.fillPoly(mask, [poly], 255)
    if erode:
        mask = cv2.erode(mask, np.ones((erode, erode), np.uint8))
    return mask > 0


def test_monitor_content_fills_exactly_the_screen_polygon(cam01):
    cam, views = cam01
    scene = Scene(cam, views, seed=2)
    scene.set_seat_override("A1", "occupied")
    frame = scene.render_raw(4.0)[0]
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    screen = views[0].screen
    inside = _polygon_mask(screen, frame.shape, erode=5)
    dilated = cv2.dilate(_polygon_mask(screen, frame.shape).astype(np.uint8), np.ones((7, 7)))
    ring = (dilated > 0) & ~_polygon_mask(screen, frame.shape)
    assert gray[inside].mean() > 150       # the light annotation tool
    assert gray[ring].mean() < 50          # the dark bezel right around it


def test_overrides_put_a_person_in_the_seat_or_take_them_away(cam01):
    cam, views = cam01
    scene = Scene(cam, views, seed=2)
    scene.set_seat_override("A2", "occupied")
    occupied = scene.render_raw(10.0)[0].copy()
    assert scene.seat_state("A2", 10.0) == "seated"
    scene.set_seat_override("A2", "empty")
    empty = scene.render_raw(10.0)[0]
    assert scene.seat_state("A2", 10.0) == "empty"
    seat = _polygon_mask(views[1].seat, occupied.shape)
    changed = cv2.absdiff(occupied, empty).max(axis=2) > 30
    # The person (and the screen switching to its lock screen) changes a good part of the seat.
    assert changed[seat].mean() > 0.15
    other = _polygon_mask(views[0].seat, occupied.shape)
    assert changed[other].mean() < 0.01
    with pytest.raises(KeyError):
        scene.set_seat_override("Z9", "empty")
    with pytest.raises(ValueError):
        scene.set_seat_override("A2", "asleep")


def test_seated_person_types_hands_move(cam01):
    cam, views = cam01
    scene = Scene(cam, views, seed=2)
    scene.set_seat_override("A1", "occupied")
    a = scene.render_raw(20.00)[0].copy()
    b = scene.render_raw(20.05)[0]          # same screen refresh step, so only hands moved
    x0, y0, w, h = cv2.boundingRect(views[0].seat)
    below_screen = slice(int(views[0].screen[:, 1].max()) + 5, y0 + h)
    assert cv2.absdiff(a, b)[below_screen, x0:x0 + w].max() > 40


def test_occluder_covers_the_screen(cam01):
    cam, views = cam01
    scene = Scene(cam, views, seed=2)
    scene.set_seat_override("A1", "occupied")
    scene.set_occluder("A1", True)
    frame = scene.render_raw(8.0)[0]
    inside = _polygon_mask(views[0].screen, frame.shape, erode=3)
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)[inside]
    assert gray.mean() < 70 and gray.std() < 15     # one dark coat, no screen text
    scene.set_occluder("A1", False)
    assert cv2.cvtColor(scene.render_raw(8.0)[0], cv2.COLOR_BGR2GRAY)[inside].mean() > 150


def test_render_sizes_timestamp_and_stall(cam01):
    cam, views = cam01
    scene = Scene(cam, views, seed=2)
    small = scene.render(3.0, (640, 360))
    assert small.shape == (360, 640, 3)
    raw = scene.render_raw(3.0)[0]
    full = scene.render(3.0)
    # The timestamp overlay is drawn top left, on top of the scene.
    assert cv2.absdiff(full, raw)[:60, :400].max() > 100
    assert np.array_equal(full[100:], raw[100:])
    scene.set_fault("stall")
    assert np.array_equal(scene.render(9.0), full)   # frozen, clock included
    scene.set_fault(None)
    assert not np.array_equal(scene.render(9.0), full)
    with pytest.raises(ValueError):
        scene.set_fault("upside_down")
    assert set(FAULTS) == {"blackout", "lens_covered", "defocus", "turned", "stall"}


def test_scene_handles_odd_polygons_and_no_seats():
    cam = {"id": "c", "resolution": [320, 240]}
    tri = SeatView("T", "x", np.int32([[10, 100], [300, 100], [150, 235]]),
                   np.int32([[100, 40], [220, 50], [160, 110]]))
    assert Scene(cam, [tri]).render(1.0).shape == (240, 320, 3)
    assert Scene(cam, []).render(1.0).shape == (240, 320, 3)


# --- H.264 framing and the encoder ---------------------------------------------------------

def _nal(kind: int, body: bytes) -> bytes:
    return bytes([0x60 | kind]) + body


nal_bodies = st.binary(min_size=1, max_size=3000).map(lambda b: b.replace(b"\x00", b"\x01"))


@settings(max_examples=60, deadline=None)
@given(units=st.lists(st.lists(nal_bodies, min_size=1, max_size=4), min_size=2, max_size=6),
       cuts=st.lists(st.integers(1, 5000), max_size=20), long_codes=st.booleans())
def test_annexb_splitter_recovers_access_units_from_any_chunking(units, cuts, long_codes):
    expected = []
    stream = b""
    code = b"\x00\x00\x00\x01" if long_codes else b"\x00\x00\x01"
    for i, bodies in enumerate(units):
        # Each unit: delimiter, then slices; the first slice starts at macroblock 0.
        nals = [_nal(5 if i == 0 else 1, b"\x80" + bodies[0])]
        nals += [_nal(1, bytes([(b[0] & 0x7F) or 1]) + b[1:]) for b in bodies[1:]]
        expected.append(nals)
        stream += code + b"\x09\xf0" + b"".join(code + n for n in nals)
    splitter = AnnexBSplitter()
    got = []
    pos = 0
    for cut in cuts:
        got += splitter.feed(stream[pos:pos + cut])
        pos += cut
    got += splitter.feed(stream[pos:])
    last = splitter.flush()
    assert got + [last] == expected


pytestmark_ffmpeg = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="no ffmpeg")


@pytestmark_ffmpeg
def test_encoder_produces_one_access_unit_per_frame_and_parameter_sets():
    enc = H264Encoder(320, 240, 10, gop_seconds=1)
    sub = enc.subscribe(max_seconds=10)
    enc.start()
    try:
        for i in range(25):
            img = np.full((240, 320, 3), (i * 9) % 255, np.uint8)
            cv2.circle(img, (20 + i * 10, 120), 15, (0, 0, 255), -1)
            assert enc.push(img, capture=100.0 + i / 10)
        units = [sub.get(timeout=5) for _ in range(24)]   # the last waits for its successor
    finally:
        enc.stop()
    assert all(u is not None for u in units)
    assert [u.capture for u in units] == pytest.approx([100.0 + i / 10 for i in range(24)])
    assert [i for i, u in enumerate(units) if u.keyframe] == [0, 10, 20]
    sps, pps = enc.parameter_sets
    assert sps[0] & 0x1F == 7 and pps[0] & 0x1F == 8
    assert units[0].nals[0] == sps
    assert all(n[0] & 0x1F != 9 for u in units for n in u.nals)   # delimiters stripped
    with pytest.raises(ValueError):
        enc.push(np.zeros((10, 10, 3), np.uint8))


@pytestmark_ffmpeg
def test_a_slow_subscriber_drops_to_the_next_keyframe():
    enc = H264Encoder(160, 120, 10, gop_seconds=1)
    enc.start()
    slow = enc.subscribe(max_seconds=0.5)        # room for 6 frames
    try:
        for i in range(35):
            enc.push(np.full((120, 160, 3), i * 7 % 255, np.uint8), capture=float(i))
        wait_for(lambda: enc.frames_out >= 34, timeout=10, interval=0.05,  # nobody reads meanwhile
                 what="34 frames encoded")
        first = slow.get(timeout=5)
    finally:
        enc.stop()
    assert first is not None and first.keyframe
    assert slow.dropped > 0


# --- RTP, SDP, requests, Digest -------------------------------------------------------------

def _depacketize(packets: list[bytes]) -> list[bytes]:
    """RFC 6184 reassembly, written separately from the server's packetizer."""
    nals, partial = [], None
    for pkt in packets:
        payload = pkt[12:]
        kind = payload[0] & 0x1F
        if kind == 28:
            fu = payload[1]
            if fu & 0x80:
                partial = bytearray([(payload[0] & 0xE0) | (fu & 0x1F)])
            partial += payload[2:]
            if fu & 0x40:
                nals.append(bytes(partial))
                partial = None
        else:
            nals.append(payload)
    return nals


@settings(max_examples=80, deadline=None)
@given(nals=st.lists(st.binary(min_size=1, max_size=6000).map(
           # a NAL header: F=0, any NRI, a single-NAL type 1..23
           lambda b: bytes([(b[0] & 0x60) | (1 + b[0] % 23)]) + b[1:]), min_size=1, max_size=5),
       seq=st.integers(0, 0xFFFF), ts=st.integers(0, 0xFFFFFFFF), ssrc=st.integers(0, 0xFFFFFFFF))
def test_packetizer_round_trips_and_marks_the_last_packet(nals, seq, ts, ssrc):
    packets, next_seq = packetize_h264(nals, seq, ts, ssrc)
    assert _depacketize(packets) == nals
    assert next_seq == (seq + len(packets)) & 0xFFFF
    for i, pkt in enumerate(packets):
        b0, b1, s, t, c = struct.unpack("!BBHII", pkt[:12])
        assert b0 == 0x80 and b1 & 0x7F == 96
        assert (s, t, c) == ((seq + i) & 0xFFFF, ts, ssrc)
        assert bool(b1 & 0x80) == (i == len(packets) - 1)
        assert len(pkt) - 12 <= 1400


class _FakeSource:
    width, height, fps, bitrate_kbps = 1280, 720, 10.0, 900
    parameter_sets = (bytes.fromhex("6742c01fda0140"), bytes.fromhex("68ce3c80"))


def test_sdp_carries_what_clients_need():
    sdp = build_sdp(_FakeSource(), "cam main", "127.0.0.1", 42)
    lines = sdp.split("\r\n")
    assert lines[0] == "v=0"
    assert "m=video 0 RTP/AVP 96" in lines
    assert "a=rtpmap:96 H264/90000" in lines
    fmtp = next(line for line in lines if line.startswith("a=fmtp:96 "))
    assert "packetization-mode=1" in fmtp and "profile-level-id=42C01F" in fmtp
    sps64, pps64 = fmtp.split("sprop-parameter-sets=")[1].split(",")
    assert base64.b64decode(sps64) == _FakeSource.parameter_sets[0]
    assert base64.b64decode(pps64) == _FakeSource.parameter_sets[1]
    assert lines.index("a=control:trackID=0") > lines.index("m=video 0 RTP/AVP 96")


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=600))
def test_request_parser_only_ever_raises_bad_request(data):
    try:
        parse_head(data)
    except BadRequest:
        pass


def test_request_parser_reads_a_real_request():
    req = parse_head(b"SETUP rtsp://h:554/main/trackID=0 RTSP/1.0\r\nCSeq: 3\r\n"
                     b"Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\nUser-Agent: x")
    assert (req.method, req.url, req.version) == ("SETUP", "rtsp://h:554/main/trackID=0",
                                                  "RTSP/1.0")
    assert req.header("cseq") == "3" and req.header("Transport").endswith("0-1")


def _digest_header(user, realm, password, nonce, method, uri, qop=None):
    md5 = lambda s: hashlib.md5(s.encode()).hexdigest()  # noqa: E731
    ha1, ha2 = md5(f"{user}:{realm}:{password}"), md5(f"{method}:{uri}")
    if qop:
        resp = md5(f"{ha1}:{nonce}:00000001:abcd:auth:{ha2}")
        extra = ', qop=auth, nc=00000001, cnonce="abcd"'
    else:
        resp, extra = md5(f"{ha1}:{nonce}:{ha2}"), ""
    return (f'Digest username="{user}", realm="{realm}", nonce="{nonce}", uri="{uri}", '
            f'response="{resp}"{extra}')


def test_digest_auth_checks_password_nonce_and_follows_credential_changes():
    auth = DigestAuth("IP Camera", "admin", "pw1")
    challenge = auth.challenge()
    nonce = challenge.split('nonce="')[1].split('"')[0]
    uri = "rtsp://127.0.0.1/main"
    ok = _digest_header("admin", "IP Camera", "pw1", nonce, "DESCRIBE", uri)
    assert auth.check("DESCRIBE", ok) == "ok"
    assert auth.check("DESCRIBE", _digest_header("admin", "IP Camera", "pw1", nonce, "DESCRIBE",
                                                 uri, qop=True)) == "ok"
    assert auth.check("PLAY", ok) == "denied"                     # response binds the method
    assert auth.check("DESCRIBE", _digest_header("admin", "IP Camera", "nope", nonce,
                                                 "DESCRIBE", uri)) == "denied"
    forged = "00000000" + nonce[8:]
    assert auth.check("DESCRIBE", _digest_header("admin", "IP Camera", "pw1", forged,
                                                 "DESCRIBE", uri)) == "denied"
    assert auth.check("DESCRIBE", None) == "denied"
    assert auth.check("DESCRIBE", "Basic YWRtaW46cHcx") == "denied"
    auth.set_credentials("admin", "pw2")
    assert auth.check("DESCRIBE", ok) == "denied"
    assert auth.check("DESCRIBE", _digest_header("admin", "IP Camera", "pw2", nonce,
                                                 "DESCRIBE", uri)) == "ok"
