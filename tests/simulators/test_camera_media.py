"""The simulated camera's streams, read by the same tools the project records and analyses with.

ffprobe, ffmpeg and OpenCV talk to a live SimulatedCameraMedia over real RTSP on loopback.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from simulators.camera.media import SimulatedCameraMedia
from simulators.camera.site_view import camera_entries, load_site, seat_views

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("ffprobe") is None or shutil.which("ffmpeg") is None,
                       reason="ffmpeg/ffprobe not installed"),
]

DEMO_SITE = Path(__file__).resolve().parents[2] / "simulators" / "sites" / "demo.yaml"
USER, PASSWORD = "admin", "demo-camera"


@pytest.fixture(scope="module")
def site():
    return load_site(DEMO_SITE)


@pytest.fixture(scope="module")
def media(site):
    cam = {**camera_entries(site)[0], "password": PASSWORD}  # the site file names an env variable
    m = SimulatedCameraMedia(cam, seat_views(site, cam["id"]), rtsp_port=0, seed=3)
    for seat_id in m.scene.seat_ids:
        m.set_seat_override(seat_id, "occupied")  # screens show the working tool, not a lock
    m.start()
    yield m
    m.stop()


def url_with_credentials(media, profile: str, user: str = USER, password: str = PASSWORD) -> str:
    return media.rtsp_url(profile).replace("rtsp://", f"rtsp://{user}:{password}@", 1)


def ffprobe(url: str, timeout: float = 25) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["ffprobe", "-v", "error", "-rtsp_transport", "tcp", "-analyzeduration", "500000",
         "-show_entries",
         "stream=codec_name,codec_type,width,height", "-of", "json", url],
        capture_output=True, text=True, timeout=timeout)


def probe_video(url: str) -> dict:
    out = ffprobe(url)
    assert out.returncode == 0, out.stderr
    streams = json.loads(out.stdout)["streams"]
    assert len(streams) == 1
    return streams[0]


@pytest.mark.parametrize("profile", ["main", "sub"])
def test_ffprobe_reads_h264_at_the_profile_size(media, profile):
    width, height, _ = media.profiles[profile]
    stream = probe_video(url_with_credentials(media, profile))
    assert stream["codec_name"] == "h264"
    assert (stream["width"], stream["height"]) == (width, height)


def test_profiles_and_urls(media):
    assert media.profiles["main"] == (1280, 720, 10)
    assert media.profiles["sub"] == (640, 360, 5)
    assert media.rtsp_url("main") == f"rtsp://127.0.0.1:{media.rtsp_port}/main"
    assert "@" not in media.rtsp_url("sub")
    with pytest.raises(ValueError):
        media.rtsp_url("third")


def test_snapshot_jpeg_has_the_profile_size(media):
    for profile, (w, h, _) in media.profiles.items():
        data = media.snapshot_jpeg(profile)
        assert data[:2] == b"\xff\xd8"
        img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        assert img.shape == (h, w, 3)


def _read_for(cap: cv2.VideoCapture, seconds: float) -> np.ndarray:
    """Keep reading (so frames do not pile up in the buffer) and return the newest one."""
    frame = None
    end = time.monotonic() + seconds
    while time.monotonic() < end or frame is None:
        ok, img = cap.read()
        assert ok, "stream ended"
        frame = img
    return frame


def test_opencv_reads_frames_and_the_screen_content_changes(media, site, monkeypatch):
    monkeypatch.setenv("OPENCV_FFMPEG_CAPTURE_OPTIONS", "rtsp_transport;tcp")
    cap = cv2.VideoCapture(url_with_credentials(media, "main"), cv2.CAP_FFMPEG)
    try:
        assert cap.isOpened()
        first = _read_for(cap, 0.2)
        later = _read_for(cap, 2.0)
        assert first.shape == (720, 1280, 3)
        view = seat_views(site, media.camera_id)[0]
        mask = np.zeros(first.shape[:2], np.uint8)
        cv2.fillPoly(mask, [view.screen], 255)
        mask = cv2.erode(mask, np.ones((5, 5), np.uint8)) > 0
        diff = cv2.absdiff(first, later).max(axis=2)
        assert diff[mask].mean() > 8, "screen content did not change in 2 s"

        # A frame fault reaches the stream too: blackout drives luma towards zero.
        media.set_fault("blackout")
        try:
            dark = cv2.cvtColor(_read_for(cap, 1.5), cv2.COLOR_BGR2GRAY)
        finally:
            media.set_fault(None)
        assert dark[60:].mean() < 20
    finally:
        cap.release()


def test_ffmpeg_records_a_playable_file_by_stream_copy(media, tmp_path):
    out = tmp_path / "segment.mp4"
    rec = subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-rtsp_transport", "tcp",
         "-i", url_with_credentials(media, "main"), "-c", "copy", "-t", "4", str(out)],
        capture_output=True, text=True, timeout=40)
    assert rec.returncode == 0, rec.stderr
    info = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries",
         "format=duration:stream=codec_name,width,height",
         "-of", "json", str(out)], capture_output=True, text=True, timeout=20)
    meta = json.loads(info.stdout)
    assert meta["streams"][0]["codec_name"] == "h264"
    assert (meta["streams"][0]["width"], meta["streams"][0]["height"]) == (1280, 720)
    assert 3.5 <= float(meta["format"]["duration"]) <= 4.6
    # And it decodes from its first frame: the recording starts at a keyframe.
    dec = subprocess.run(["ffmpeg", "-v", "error", "-i", str(out), "-f", "null", "-"],
                         capture_output=True, text=True, timeout=30)
    assert dec.returncode == 0 and dec.stderr.strip() == "", dec.stderr


def test_wrong_credentials_are_refused_until_they_match_again(media):
    media.set_credentials(USER, "changed-by-fault")
    try:
        out = ffprobe(url_with_credentials(media, "sub"))
        assert out.returncode != 0
        assert "401" in out.stderr
    finally:
        media.set_credentials(USER, PASSWORD)
    assert media.credentials == (USER, PASSWORD)
    assert probe_video(url_with_credentials(media, "sub"))["codec_name"] == "h264"


def test_offline_refuses_connections_and_online_serves_again(media):
    port = media.rtsp_port
    media.set_online(False)
    try:
        assert not media.online
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
        assert ffprobe(url_with_credentials(media, "sub"), timeout=15).returncode != 0
    finally:
        media.set_online(True)
    assert media.rtsp_port == port
    assert probe_video(url_with_credentials(media, "sub"))["width"] == 640


def _garbage_gets_400_or_close(port: int, payload: bytes) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(payload)
        try:
            reply = s.recv(4096)
        except ConnectionResetError:
            reply = b""
        assert reply == b"" or reply.startswith(b"RTSP/1.0 400 "), reply[:80]


def test_garbage_gets_a_400_and_the_server_keeps_serving(media):
    port = media.rtsp_port
    _garbage_gets_400_or_close(port, os.urandom(3000))
    _garbage_gets_400_or_close(port, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" * 20)
    _garbage_gets_400_or_close(port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    _garbage_gets_400_or_close(port, b"DESCRIBE rtsp://x/main RTSP/1.0\r\nno colon here\r\n\r\n")
    _garbage_gets_400_or_close(port, b"A" * 20000)
    stream = probe_video(url_with_credentials(media, "main"))
    assert (stream["width"], stream["height"]) == (1280, 720)
