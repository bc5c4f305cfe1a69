"""Camera faults as a tamper detector and a recorder would see them, and the RTSP wire itself.

The RTSP client here is written from RFC 2326 / 2617 / 6184 for the test, sharing nothing with
the server, so the bytes on the wire are checked, not the server's own idea of them.
"""
from __future__ import annotations

import hashlib
import re
import shutil
import socket
import struct
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from simulators.camera.media import SimulatedCameraMedia
from simulators.camera.site_view import camera_entries, load_site, seat_views
from tests.conftest import wait_for

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg not installed")]

DEMO_SITE = Path(__file__).resolve().parents[2] / "simulators" / "sites" / "demo.yaml"
USER, PASSWORD = "admin", "demo-camera"
OSD_ROWS = 60   # the timestamp overlay stays sharp and bright through every fault: skip it


@pytest.fixture(scope="module")
def media():
    site = load_site(DEMO_SITE)
    cam = {**camera_entries(site)[1], "password": PASSWORD}  # the site file names an env variable
    m = SimulatedCameraMedia(cam, seat_views(site, cam["id"]), rtsp_port=0, seed=11)
    m.start()
    yield m
    m.stop()


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


class RawRtspClient:
    """Just enough of an RTSP client to see packets and timing on the wire."""

    def __init__(self, port: int, user: str = USER, password: str = PASSWORD):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.base = f"rtsp://127.0.0.1:{port}"
        self.user, self.password = user, password
        self.cseq = 0
        self.buf = b""
        self.challenge: dict[str, str] | None = None
        self.session: str | None = None

    def close(self):
        self.sock.close()

    def _fill(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("server closed the connection")
        self.buf += data

    def _authorization(self, method: str, uri: str) -> str:
        c = self.challenge
        ha1 = _md5(f"{self.user}:{c['realm']}:{self.password}")
        ha2 = _md5(f"{method}:{uri}")
        response = _md5(f"{ha1}:{c['nonce']}:{ha2}")
        return (f'Digest username="{self.user}", realm="{c["realm"]}", nonce="{c["nonce"]}", '
                f'uri="{uri}", response="{response}"')

    def request(self, method: str, url: str, headers: dict | None = None):
        for _ in range(2):
            self.cseq += 1
            lines = [f"{method} {url} RTSP/1.0", f"CSeq: {self.cseq}"]
            if self.challenge:
                lines.append(f"Authorization: {self._authorization(method, url)}")
            if self.session:
                lines.append(f"Session: {self.session}")
            lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
            self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
            status, head, body = self.read_response()
            assert head.get("cseq") == str(self.cseq)
            if status == 401 and self.challenge is None:
                value = head["www-authenticate"]
                assert value.startswith("Digest ")
                self.challenge = dict(re.findall(r'(\w+)="([^"]*)"', value))
                continue
            return status, head, body
        return status, head, body

    def read_response(self):
        while True:
            while self.buf[:1] == b"$":          # media ahead of the reply: skip it
                if len(self.buf) < 4:
                    self._fill()
                    continue
                size = struct.unpack("!H", self.buf[2:4])[0]
                while len(self.buf) < 4 + size:
                    self._fill()
                self.buf = self.buf[4 + size:]
            end = self.buf.find(b"\r\n\r\n")
            if end >= 0 and not self.buf.startswith(b"$"):
                break
            self._fill()
        head_text = self.buf[:end].decode()
        self.buf = self.buf[end + 4:]
        lines = head_text.split("\r\n")
        status = int(lines[0].split()[1])
        head = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            head[k.strip().lower()] = v.strip()
        length = int(head.get("content-length", "0"))
        while len(self.buf) < length:
            self._fill()
        body, self.buf = self.buf[:length], self.buf[length:]
        return status, head, body

    def play(self, profile: str = "main") -> None:
        status, head, body = self.request("DESCRIBE", f"{self.base}/{profile}",
                                          {"Accept": "application/sdp"})
        assert status == 200, status
        sdp = body.decode()
        control = re.search(r"m=video.*?a=control:(\S+)", sdp, re.S).group(1)
        track = head["content-base"] + control
        status, head, _ = self.request("SETUP", track,
                                       {"Transport": "RTP/AVP/TCP;unicast;interleaved=0-1"})
        assert status == 200
        assert "interleaved=0-1" in head["transport"]
        self.session = head["session"].split(";")[0]
        status, _, _ = self.request("PLAY", f"{self.base}/{profile}/", {"Range": "npt=0.000-"})
        assert status == 200

    def next_packet(self, deadline: float) -> tuple[int, bytes] | None:
        """(channel, packet) of the next interleaved frame, None at the deadline."""
        while True:
            if self.buf[:1] == b"$" and len(self.buf) >= 4:
                size = struct.unpack("!H", self.buf[2:4])[0]
                if len(self.buf) >= 4 + size:
                    channel, pkt = self.buf[1], self.buf[4:4 + size]
                    self.buf = self.buf[4 + size:]
                    return channel, pkt
            elif self.buf and self.buf[:1] != b"$":
                raise AssertionError(f"unexpected bytes while playing: {self.buf[:40]!r}")
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                self._fill()
            except socket.timeout:
                return None
            finally:
                self.sock.settimeout(5)


def _rtp(pkt: bytes) -> dict:
    b0, b1, seq, ts, ssrc = struct.unpack("!BBHII", pkt[:12])
    return {"version": b0 >> 6, "marker": bool(b1 & 0x80), "pt": b1 & 0x7F, "seq": seq, "ts": ts,
            "ssrc": ssrc, "payload": pkt[12:]}


def _gray(media, profile="main") -> np.ndarray:
    data = media.snapshot_jpeg(profile)
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)


def _fresh_frames(media, n: int = 2) -> None:
    start = media.frames_rendered
    wait_for(lambda: media.frames_rendered >= start + n, timeout=5, interval=0.05, what=f"{n} fresh frames")


@pytest.fixture
def normal(media):
    media.set_fault(None)
    _fresh_frames(media)
    yield _gray(media)
    media.set_fault(None)


def _with_fault(media, name: str) -> np.ndarray:
    media.set_fault(name)
    _fresh_frames(media)
    return _gray(media)


def test_blackout_is_near_black_with_noise(media, normal):
    img = _with_fault(media, "blackout")[OSD_ROWS:]
    assert normal[OSD_ROWS:].mean() > 80
    assert img.mean() < 20
    assert img.std() > 0.5  # sensor noise, not a flat synthetic black


def test_lens_covered_is_dim_flat_and_warm(media, normal):
    media.set_fault("lens_covered")
    _fresh_frames(media)
    color = cv2.imdecode(np.frombuffer(media.snapshot_jpeg(), np.uint8), cv2.IMREAD_COLOR)
    body = color[OSD_ROWS:]
    gray = cv2.cvtColor(body, cv2.COLOR_BGR2GRAY)
    # Dim (light bleeding through a hand), yet brighter than a dead sensor's black.
    assert 25 < gray.mean() < 0.5 * normal[OSD_ROWS:].mean()
    assert gray.std() < 6 < normal[OSD_ROWS:].std()
    b, _, r = (body[:, :, i].mean() for i in range(3))
    assert r > b + 5


def test_defocus_drops_laplacian_variance_more_than_threefold(media, normal):
    blurred = _with_fault(media, "defocus")
    sharp_score = cv2.Laplacian(normal[OSD_ROWS:], cv2.CV_64F).var()
    blur_score = cv2.Laplacian(blurred[OSD_ROWS:], cv2.CV_64F).var()
    assert blur_score * 3 < sharp_score, (sharp_score, blur_score)


def test_turned_camera_shows_a_large_phase_correlation_shift(media, normal):
    turned = _with_fault(media, "turned")
    a = normal[OSD_ROWS:].astype(np.float32)
    b = turned[OSD_ROWS:].astype(np.float32)
    window = cv2.createHanningWindow(a.shape[::-1], cv2.CV_32F)
    (dx, dy), _ = cv2.phaseCorrelate(a, b, window)
    assert np.hypot(dx, dy) > 40, (dx, dy)
    assert 150 < dx < 260, (dx, dy)   # the simulated knock pans the view about 16 % right
    # Control: two normal frames a moment apart do not move the view. People walking in the
    # scene can pull the peak a few pixels (7 px seen), far from the knock's ~200 px.
    media.set_fault(None)
    _fresh_frames(media, 3)
    (dx, dy), _ = cv2.phaseCorrelate(a, _gray(media)[OSD_ROWS:].astype(np.float32), window)
    assert np.hypot(dx, dy) < 20, (dx, dy)


def test_unknown_fault_is_refused(media):
    with pytest.raises(ValueError):
        media.set_fault("melted")


def test_rtp_over_tcp_starts_with_parameter_sets_and_a_keyframe(media):
    client = RawRtspClient(media.rtsp_port)
    try:
        client.play("sub")
        deadline = time.monotonic() + 5
        packets = []
        while len([p for p in packets if p["marker"]]) < 4:
            got = client.next_packet(deadline)
            assert got is not None, "no media within 5 s"
            channel, pkt = got
            if channel == 0:
                packets.append(_rtp(pkt))
    finally:
        client.close()
    first = packets[0]
    assert first["version"] == 2 and first["pt"] == 96
    assert first["payload"][0] & 0x1F == 7                  # SPS first
    assert packets[1]["payload"][0] & 0x1F == 8             # then PPS
    kinds = {p["payload"][0] & 0x1F for p in packets[2:]}
    assert kinds <= {1, 5, 6, 7, 8, 28}
    seqs = [p["seq"] for p in packets]
    assert all((b - a) & 0xFFFF == 1 for a, b in zip(seqs, seqs[1:]))
    assert len({p["ssrc"] for p in packets}) == 1
    # One timestamp per frame, rising by about 90000 / fps between frames (5 fps here).
    frame_ts = [p["ts"] for p in packets if p["marker"]]
    steps = [(b - a) & 0xFFFFFFFF for a, b in zip(frame_ts, frame_ts[1:])]
    assert all(9000 <= s <= 40000 for s in steps), steps
    for p in packets:
        if p["payload"][0] & 0x1F == 28:                     # FU-A fragments stay under MTU
            assert len(p["payload"]) <= 1400


def test_stall_stops_packets_but_keeps_the_connection(media):
    client = RawRtspClient(media.rtsp_port)
    try:
        client.play("main")
        got = client.next_packet(time.monotonic() + 5)
        assert got is not None
        media.set_fault("stall")
        # Frames already encoded may still drain; after that, silence.
        drain_end = time.monotonic() + 0.6
        while client.next_packet(drain_end) is not None:
            pass
        quiet_end = time.monotonic() + 3.0
        while True:
            got = client.next_packet(quiet_end)
            if got is None:
                break
            assert got[0] != 0, "RTP packet arrived during a stall"
        # The connection is still up and the server still answers on it.
        status, _, _ = client.request("GET_PARAMETER", f"{client.base}/main/")
        assert status == 200
        media.set_fault(None)
        got = client.next_packet(time.monotonic() + 3)
        assert got is not None and got[0] == 0, "stream did not resume after the stall"
    finally:
        media.set_fault(None)
        client.close()


def test_offline_closes_open_connections(media):
    client = RawRtspClient(media.rtsp_port)
    try:
        client.play("sub")
        assert client.next_packet(time.monotonic() + 5) is not None
        media.set_online(False)
        with pytest.raises((ConnectionError, OSError)):
            end = time.monotonic() + 3
            while time.monotonic() < end:
                client.next_packet(end)
    finally:
        media.set_online(True)
        client.close()


def test_protocol_errors(media):
    client = RawRtspClient(media.rtsp_port)
    try:
        status, head, _ = client.request("OPTIONS", f"{client.base}/main")
        assert status == 200 and "GET_PARAMETER" in head["public"]
        status, _, _ = client.request("DESCRIBE", f"{client.base}/nowhere")
        assert status == 404
        status, _, _ = client.request("SETUP", f"{client.base}/main/trackID=0",
                                      {"Transport": "RTP/AVP;unicast;client_port=5000-5001"})
        assert status == 461                                  # clients then fall back to TCP
        status, _, _ = client.request("PLAY", f"{client.base}/main", {"Session": "12345"})
        assert status == 454
        status, _, _ = client.request("RECORD", f"{client.base}/main")
        assert status == 405
        status, _, _ = client.request("FLY", f"{client.base}/main")
        assert status == 501
        # A request without CSeq is answered 400 and the connection stays usable.
        client.sock.sendall(b"OPTIONS * RTSP/1.0\r\n\r\n")
        status, _, _ = client.read_response()
        assert status == 400
        status, _, _ = client.request("OPTIONS", "*")
        assert status == 200
    finally:
        client.close()


def test_digest_rejects_a_wrong_password_and_a_forged_nonce(media):
    client = RawRtspClient(media.rtsp_port, password="not-the-password")
    try:
        status, head, _ = client.request("DESCRIBE", f"{client.base}/main")
        assert status == 401 and head["www-authenticate"].startswith("Digest realm=")
        good = RawRtspClient(media.rtsp_port)
        try:
            assert good.request("DESCRIBE", f"{good.base}/main")[0] == 200
            good.challenge["nonce"] = "0" * 32
            assert good.request("DESCRIBE", f"{good.base}/main")[0] == 401
        finally:
            good.close()
    finally:
        client.close()
