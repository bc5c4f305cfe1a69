"""Cameras end to end: simulated ONVIF cameras -> edge agent (ingest, recording, tamper,
retention index) -> controller (segments, alarms, ledger, snapshot, playback).

Every fault of the camera simulator is injected through its control endpoint and must come
back as the right alarm, at the right time, for the right camera.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml

from camera.recorder import ffprobe
from tests.conftest import DEMO_SITE, ROOT, ControllerRig, free_port, make_agent, wait_for

pytestmark = pytest.mark.slow
CAMERAS = ("cam-01", "cam-02")


def small_site(tmp: Path) -> Path:
    """The demo site cut to two cameras on free ports, 4-second segments, storage in tmp."""
    doc = yaml.safe_load(DEMO_SITE.read_text())
    doc["cameras"] = [c for c in doc["cameras"] if c["id"] in CAMERAS]
    for c in doc["cameras"]:
        c["onvif_port"] = free_port()
    doc["seats"] = [s for s in doc["seats"] if all(v["camera"] in CAMERAS for v in s["views"])]
    doc["retention"]["segment_seconds"] = 4
    doc["retention"]["storage_path"] = str(tmp / "recordings")
    path = tmp / "site.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


class Fleet:
    def __init__(self, tmp: Path, site: Path) -> None:
        self.control = f"http://127.0.0.1:{free_port()}"
        port = self.control.rsplit(":", 1)[1]
        self.log = open(tmp / "cameras.log", "ab")
        self.p = subprocess.Popen(
            [sys.executable, "-m", "simulators.camera", "--site", str(site), "--control-port", port,
             "--rtsp-port-offset", "-10000", "--no-discovery"],
            cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT)
        wait_for(self._up, timeout=60, what="camera simulators ready")

    def _up(self) -> bool:
        if self.p.poll() is not None:
            raise AssertionError("camera simulator exited")
        try:
            return httpx.get(self.control + "/cameras", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def fault(self, camera: str, fault: str | None) -> None:
        r = httpx.post(f"{self.control}/cameras/{camera}/fault", json={"fault": fault}, timeout=5)
        assert r.status_code == 200, r.text

    def stop(self) -> None:
        self.p.terminate()
        try:
            self.p.wait(10)
        except subprocess.TimeoutExpired:
            self.p.kill()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cams")
    site_file = small_site(tmp)
    fleet = Fleet(tmp, site_file)
    rig = ControllerRig(tmp, f"sqlite:///{tmp / 'controller.db'}", site=site_file).start()
    rig.seed_users({"off": ("officer", None)})
    agent = make_agent(tmp, rig, video=True, site=site_file).start()
    officer = rig.client("off", "off-pass")
    yield {"tmp": tmp, "fleet": fleet, "rig": rig, "agent": agent, "officer": officer,
           "site_id": officer.get("/api/sites").json()[0]["id"]}
    agent.stop()
    rig.proc.stop()
    fleet.stop()


def segments(ctx, camera: str, minutes: int = 30) -> dict:
    end = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=5)
    r = ctx["officer"].get(f"/api/cameras/{ctx['site_id']}/{camera}/segments",
                           params={"start": (end - dt.timedelta(minutes=minutes)).isoformat(),
                                   "end": end.isoformat()})
    assert r.status_code == 200, r.text
    return r.json()


def alarms(ctx, kind: str, camera: str, state: str | None = None) -> list[dict]:
    found = [a for a in ctx["officer"].get("/api/alarms", params={"limit": 500}).json()
             if a["kind"] == kind and a["source"].startswith(f"camera:{camera}")]
    return [a for a in found if state is None or a["state"] == state]


def test_cameras_record_playable_segments(site):
    for cam in CAMERAS:
        wait_for(lambda: len(segments(site, cam)["segments"]) >= 3, timeout=90,
                 what=f"{cam} segments", interval=1)
    files = sorted((site["tmp"] / "recordings" / "cam-01").rglob("*.mp4"))
    assert files, "no segment file on the edge"
    probe = ffprobe(files[0])
    assert probe.ok and probe.codec == "h264" and probe.width == 1280 and probe.height == 720
    assert 2.0 <= probe.duration_s <= 8.0
    seg = segments(site, "cam-01")["segments"][0]
    on_disk = next(f for f in files if hashlib.sha256(f.read_bytes()).hexdigest() == seg["sha256"])
    # Playback through the controller returns exactly the recorded bytes, and ranges work.
    r = site["officer"].get(f"/api/segments/{seg['id']}/video")
    assert r.status_code == 200 and r.content == on_disk.read_bytes()
    r = site["officer"].get(f"/api/segments/{seg['id']}/video", headers={"Range": "bytes=100-199"})
    assert r.status_code == 206 and r.content == on_disk.read_bytes()[100:200]
    def cam01() -> dict:
        return next(c for c in site["officer"].get("/api/cameras").json() if c["camera"] == "cam-01")

    health = wait_for(lambda: cam01() if cam01()["health"].get("fps", 0) > 1 else None,
                      timeout=30, what="fps reported")
    assert health["state"] == "recording", health
    assert health["health"]["bitrate_bps"] > 10_000
    snap = site["officer"].get(f"/api/cameras/{site['site_id']}/cam-01/snapshot")
    assert snap.status_code == 200 and snap.content[:2] == b"\xff\xd8"


@pytest.mark.parametrize("fault,kind", [
    ("blackout", "camera_blackout"), ("lens_covered", "camera_covered"),
    ("defocus", "camera_defocus"), ("turned", "camera_moved"),
])
def test_frame_faults_raise_and_clear_the_right_alarm(site, fault, kind):
    cam = "cam-02"
    wait_for(lambda: len(segments(site, cam)["segments"]) >= 2, timeout=90, what="recording", interval=1)
    time.sleep(3)  # the detector's baseline is learnt from healthy frames
    injected = dt.datetime.now(dt.timezone.utc)
    site["fleet"].fault(cam, fault)
    try:
        raised = wait_for(lambda: alarms(site, kind, cam, "active"), timeout=40, what=f"{kind} alarm")
        at = dt.datetime.fromisoformat(raised[0]["raised_at"])
        assert injected <= at <= injected + dt.timedelta(seconds=30)
        assert raised[0]["details"]["frame_jpeg_b64"]  # the frame that triggered it
        others = [a["kind"] for a in site["officer"].get("/api/alarms", params={"state": "active"}).json()
                  if a["source"].startswith("camera:cam-01") and a["kind"].startswith("camera_")]
        assert others == []  # the other camera's picture is not blamed
    finally:
        site["fleet"].fault(cam, None)
    wait_for(lambda: not alarms(site, kind, cam, "active") and alarms(site, kind, cam, "cleared"),
             timeout=40, what=f"{kind} cleared")
