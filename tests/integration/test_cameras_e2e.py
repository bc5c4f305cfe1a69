"""Cameras end to end: simulated ONVIF cameras -> edge agent (ingest, recording, tamper,
retention index) -> controller (segments, alarms, ledger, snapshot, playback).

Every fault of the camera simulator is injected through its control endpoint and must come
back as the right alarm, at the right time, for the right camera.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import time

import pytest

from camera.recorder import ffprobe
from tests.camera_site import CAMERAS, start_camera_site, stop_camera_site
from tests.conftest import wait_for

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    ctx = start_camera_site(tmp_path_factory.mktemp("cams"))
    yield ctx
    stop_camera_site(ctx)


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


def _latest(ctx, kind: str, camera: str, after: dt.datetime) -> list[dict]:
    return [a for a in alarms(ctx, kind, camera)
            if dt.datetime.fromisoformat(a["raised_at"]) >= after]


@pytest.mark.parametrize("fault,kind,words", [
    ("offline", "camera_offline", "offline"),
    ("wrong_credentials", "camera_offline", "unauthorized"),
    ("malformed_soap", "camera_offline", "malformed"),
    ("stall", "recorder_stalled", "timed out"),
])
def test_camera_faults_raise_the_right_alarm_and_recover(site, fault, kind, words):
    cam = "cam-01"
    wait_for(lambda: len(segments(site, cam)["segments"]) >= 2, timeout=90, what="recording", interval=1)
    injected = dt.datetime.now(dt.timezone.utc)
    site["fleet"].fault(cam, fault)
    try:
        raised = wait_for(lambda: _latest(site, kind, cam, injected), timeout=60, what=f"{kind} alarm")
        assert words in raised[0]["message"], raised[0]["message"]
        assert "demo-camera" not in json.dumps(raised[0])  # no camera password in alarms
        assert dt.datetime.fromisoformat(raised[0]["raised_at"]) <= injected + dt.timedelta(seconds=45)
    finally:
        site["fleet"].fault(cam, None)
    recovered = dt.datetime.now(dt.timezone.utc)
    wait_for(lambda: not alarms(site, kind, cam, "active"), timeout=60, what=f"{kind} cleared")
    # Recording resumes, and a fault that cut the stream shows as a gap with its exact span.
    wait_for(lambda: any(dt.datetime.fromisoformat(s["start"]) > recovered
                         for s in segments(site, cam)["segments"]), timeout=60, what="recording resumed")
    if fault in ("offline", "stall"):
        gaps = wait_for(lambda: _latest(site, "recording_gap", cam, injected), timeout=30, what="gap alarm")
        g = gaps[0]["details"]
        start, end = dt.datetime.fromisoformat(g["gap_start"]), dt.datetime.fromisoformat(g["gap_end"])
        assert injected - dt.timedelta(seconds=10) <= start <= injected + dt.timedelta(seconds=10)
        assert recovered - dt.timedelta(seconds=5) <= end <= recovered + dt.timedelta(seconds=30)
        assert g["seconds"] == pytest.approx((end - start).total_seconds(), abs=0.2)


def test_an_edited_and_a_deleted_recording_are_caught_by_the_audit(site):
    cam = "cam-02"
    wait_for(lambda: len(segments(site, cam)["segments"]) >= 4, timeout=90, what="segments", interval=1)
    audit = site["officer"].get(f"/api/sites/{site['site_id']}/recordings/audit", timeout=120).json()
    assert audit["ok"], audit["problems"]
    by_hash = {s["sha256"]: s["seq"] for s in segments(site, cam)["segments"]}
    files = {by_hash[hashlib.sha256(f.read_bytes()).hexdigest()]: f
             for f in (site["tmp"] / "recordings" / cam).rglob("*.mp4")
             if hashlib.sha256(f.read_bytes()).hexdigest() in by_hash}
    edited_seq, deleted_seq = sorted(files)[:2]
    raw = bytearray(files[edited_seq].read_bytes())
    raw[len(raw) // 2] ^= 0x01  # one bit in the middle of the picture data
    files[edited_seq].write_bytes(bytes(raw))
    files[deleted_seq].unlink()
    audit = site["officer"].get(f"/api/sites/{site['site_id']}/recordings/audit", timeout=120).json()
    assert not audit["ok"]
    assert len(audit["problems"]) == 2, audit["problems"]
    text = "\n".join(audit["problems"])
    assert f"{cam} segment {edited_seq}" in text and "changed" in text
    assert f"{cam} segment {deleted_seq}" in text and "missing" in text


def test_legal_holds_are_placed_listed_released_and_ledgered(site):
    off, sid = site["officer"], site["site_id"]
    now = dt.datetime.now(dt.timezone.utc)
    r = off.post(f"/api/sites/{sid}/holds", json={"camera": "cam-01", "start": (now - dt.timedelta(hours=1)).isoformat(),
                                                  "end": now.isoformat(), "reason": "incident 42 under review"})
    assert r.status_code == 201, r.text
    hold = r.json()
    assert [h["id"] for h in off.get(f"/api/sites/{sid}/holds").json()] == [hold["id"]]
    bad = off.post(f"/api/sites/{sid}/holds", json={"camera": "cam-99", "start": now.isoformat(),
                                                    "end": now.isoformat(), "reason": "nope nope"})
    assert bad.status_code == 502 and "cam-99" in bad.text
    r = off.post(f"/api/sites/{sid}/holds/{hold['id']}/release")
    assert r.status_code == 200 and r.json()["released_at"]
    kinds = wait_for(lambda: {e["kind"] for e in off.get("/api/events", params={"limit": 200}).json()}
                     >= {"retention.hold_placed", "retention.hold_released"}, what="hold events")
    assert kinds
