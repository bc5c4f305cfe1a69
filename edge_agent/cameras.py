"""One worker per camera on the edge: ONVIF discovery of its streams, recording of the main
stream, tamper analysis of the sub stream, health, and the events that report all of it."""
from __future__ import annotations

import base64
import datetime as dt
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import cv2
import numpy as np

from camera.onvif_client import (
    CameraEndpoints,
    CameraError,
    probe_camera,
    with_credentials,
)
from camera.recorder import FinishedSegment, SegmentRecorder
from camera.tamper import KINDS as TAMPER_KINDS
from camera.tamper import TamperDetector, TamperThresholds
from edge_agent.crash import crash_point
from edge_agent.secrets import SecretError, secret_of
from edge_agent.store import EdgeStore, Tx
from edge_agent.wire import payloads as P
from edge_agent.wire.kinds import AlarmKind, EventKind
from edge_agent.wire.site import Camera
from retention.evidence import evidence_name
from retention.segments import SegmentStore

log = logging.getLogger("siteguard.edge.cameras")

GAP_TOLERANCE_S = 3.0     # keyframe-aligned cuts make segment edges wobble by up to a GOP
REPROBE_EVERY_S = 15.0
HEALTH_EVERY_S = 10.0
THUMB_WIDTH = 320
# A frame of the sub stream is analysed this often: how soon a covered lens takes a seat's
# coverage away (tamper analysis costs about 2 ms a frame).
ANALYZE_EVERY_S = 0.5


def iso(t: dt.datetime) -> str:
    return t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def camera_password(cam: Camera, site_dir: Path = Path(".")) -> str:
    """Read at each probe, so a rotated password file takes effect on the next one."""
    return secret_of(cam, "password", site_dir) or ""


def jpeg(frame: np.ndarray, width: int | None = None, quality: int = 80) -> bytes:
    if width and frame.shape[1] > width:
        frame = cv2.resize(frame, (width, int(frame.shape[0] * width / frame.shape[1])))
    ok, buf = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, quality])
    return buf.tobytes() if ok else b""


@dataclass
class Health:
    state: str = "connecting"
    detail: str = ""
    fps: float = 0.0
    bitrate_bps: float = 0.0
    last_frame_at: str | None = None
    recorder: str = "stopped"
    recorder_restarts: int = 0
    tamper: list[str] = field(default_factory=list)
    model: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"fps": round(self.fps, 2), "bitrate_bps": round(self.bitrate_bps),
                "last_frame_at": self.last_frame_at, "recorder": self.recorder,
                "recorder_restarts": self.recorder_restarts, "tamper": sorted(self.tamper),
                "model": self.model}


class CameraWorker:
    def __init__(self, cam: Camera, segment_seconds: int, store: SegmentStore, outbox: EdgeStore,
                 work_root: Path, evidence_root: Path, analyze_every_s: float = ANALYZE_EVERY_S,
                 clock: Callable[[], float] = time.time, site_dir: Path = Path(".")) -> None:
        self.cam, self.segment_seconds = cam, segment_seconds
        self.site_dir = site_dir  # relative password_file paths start here
        self._password = ""  # as read for the last probe; the streams log in with the same
        self.store, self.outbox = store, outbox
        self.work_dir = work_root / cam.id
        self.evidence_dir = evidence_root / cam.id
        self.analyze_every_s = analyze_every_s
        self.clock = clock
        self.health = Health()
        self.endpoints: CameraEndpoints | None = None
        self.recorder: SegmentRecorder | None = None
        self.latest_frame: np.ndarray | None = None
        self._halt = threading.Event()
        self._wake = threading.Event()  # stream trouble: ask ONVIF now rather than at the next round
        self._threads: list[threading.Thread] = []
        self._reported = ("", "")
        self._onvif_problem: tuple[str, str] | None = None  # (state, detail) while ONVIF fails
        self._last_health_event = 0.0
        self._tamper_reconciled = False  # tamper alarms left from before a restart are settled
        self.on_change: Callable[[], None] | None = None  # called when judged_state changes
        self._judged = self.health.state
        t = cam.tamper
        self.detector = TamperDetector(cam.id, TamperThresholds(
            blackout_luma=t.blackout_luma, defocus_ratio=t.defocus_ratio, moved_px=t.moved_px), clock)

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        for target, name in ((self._supervise, "sup"), (self._analyze, "ana")):
            th = threading.Thread(target=target, name=f"{name}-{self.cam.id}", daemon=True)
            th.start()
            self._threads.append(th)

    def stop(self) -> None:
        self._halt.set()
        self._wake.set()
        if self.recorder:
            self.recorder.stop()
        for th in self._threads:
            th.join(10)

    # --- ONVIF supervision and recording -----------------------------------------------------

    def _supervise(self) -> None:
        backoff = 2.0
        while not self._halt.is_set():
            try:
                self._password = camera_password(self.cam, self.site_dir)
                self.endpoints = probe_camera(self.cam.host, self.cam.onvif_port, self.cam.username,
                                              self._password)
                self.health.model = f"{self.endpoints.manufacturer} {self.endpoints.model}"
                backoff = 2.0
                self._onvif_problem = None
                self._clear_alarm(AlarmKind.CAMERA_OFFLINE)
                if self.recorder is None:
                    self._start_recorder(self.endpoints)
                wait = REPROBE_EVERY_S
            except (CameraError, SecretError) as exc:  # a missing password file: retried until fixed
                kind = exc.kind if isinstance(exc, CameraError) else "error"
                state = "unauthorized" if kind == "unauthorized" else (
                    "offline" if kind == "unreachable" else "error")
                self._onvif_problem = (state, str(exc))
                self._derive_state()
                self._raise_alarm(AlarmKind.CAMERA_OFFLINE, f"camera {self.cam.id} {state}: {exc}", "critical")
                wait, backoff = backoff, min(backoff * 2, 30.0)
            self._report_health()
            self._wake.wait(wait)
            self._wake.clear()

    def _start_recorder(self, ep: CameraEndpoints) -> None:
        uri = with_credentials(ep.main.uri, self.cam.username, self._password)
        self.recorder = SegmentRecorder(self.cam.id, uri, self.work_dir, self.segment_seconds,
                                        on_segment=self._on_segment, on_state=self._on_recorder_state)
        self.recorder.start()

    def _on_recorder_state(self, state: str, detail: str) -> None:
        self.health.recorder = state
        self.health.recorder_restarts = self.recorder.restarts if self.recorder else 0
        if state in ("stalled", "reconnecting"):
            self._wake.set()
            self._raise_alarm(AlarmKind.RECORDER_STALLED, f"recorder of {self.cam.id} {state}: {detail}", "warning")
        elif state == "recording":
            self._clear_alarm(AlarmKind.RECORDER_STALLED)
        self._derive_state()

    def _on_segment(self, seg: FinishedSegment) -> None:
        if not seg.probe.ok:
            quarantine = self.work_dir.parent / "quarantine" / self.cam.id
            quarantine.mkdir(parents=True, exist_ok=True)
            seg.path.rename(quarantine / seg.path.name)
            self.outbox.append(AlarmKind.SEGMENT_CORRUPT.event, P.CameraAlarm(
                camera=self.cam.id, source=f"camera:{self.cam.id}:corrupt:{seg.path.name}"[:120],
                severity="warning", file=seg.path.name, error=seg.probe.error[:P.MAX_TEXT],
                message=f"{self.cam.id}: segment {seg.path.name} unreadable ({seg.probe.error[:120]})"))
            return
        previous = self.store.index.records(self.cam.id)
        prev_end = previous[-1].end if previous else None

        def report(db, record) -> None:  # in the transaction that indexes the segment
            tx = Tx(db)
            tx.append(EventKind.SEGMENT_RECORDED, P.SegmentRecorded(
                camera=self.cam.id, seq=record.seq, start=iso(record.start), end=iso(record.end),
                bytes=record.bytes, sha256=record.sha256.hex(), link=record.link.hex(),
                codec=seg.probe.codec, width=seg.probe.width, height=seg.probe.height,
                frames=seg.probe.frames))
            if prev_end is not None and (seg.start - prev_end).total_seconds() > GAP_TOLERANCE_S:
                seconds = (seg.start - prev_end).total_seconds()
                tx.append(AlarmKind.RECORDING_GAP.event, P.CameraAlarm(
                    camera=self.cam.id, source=f"camera:{self.cam.id}:gap:{iso(prev_end)}",
                    severity="critical", gap_start=iso(prev_end), gap_end=iso(seg.start),
                    seconds=round(seconds, 1),
                    message=f"{self.cam.id}: no recording from {prev_end:%Y-%m-%d %H:%M:%S} to "
                            f"{seg.start:%H:%M:%S} UTC ({seconds:.0f} s)"))

        self.store.ingest(self.cam.id, seg.start, seg.end, seg.path, then=report)
        crash_point("segment_indexed")
        self.health.bitrate_bps = seg.bytes * 8 / max(seg.probe.duration_s, 0.001)

    # --- analysis of the sub stream ----------------------------------------------------------

    def _analyze(self) -> None:
        while not self._halt.is_set():
            ep = self.endpoints
            if ep is None:
                self._halt.wait(1)
                continue
            uri = with_credentials(ep.sub.uri, self.cam.username, self._password)
            cap = cv2.VideoCapture(uri, cv2.CAP_FFMPEG, [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, 5000,
                                                         cv2.CAP_PROP_READ_TIMEOUT_MSEC, 5000])
            try:
                self._read_frames(cap)
            finally:
                cap.release()
            if not self._halt.is_set():
                self.health.fps = 0.0
                self._wake.set()
                self._derive_state(no_video=True)
                self._halt.wait(2)

    def _read_frames(self, cap) -> None:
        next_analysis, window_start, frames = 0.0, time.monotonic(), 0
        while not self._halt.is_set():
            ok, frame = cap.read()
            if not ok or frame is None:
                return
            frames += 1
            now = time.monotonic()
            if now - window_start >= 5:
                self.health.fps, window_start, frames = frames / (now - window_start), now, 0
            self.latest_frame = frame
            self.health.last_frame_at = iso(dt.datetime.now(dt.timezone.utc))
            if now >= next_analysis:
                next_analysis = now + self.analyze_every_s
                for ev in self.detector.observe(frame):
                    self._on_tamper(ev, frame)
                self._reconcile_tamper()
                self._derive_state()
                self._notify()
                self._report_health()

    def _on_tamper(self, ev, frame: np.ndarray) -> None:
        kind = AlarmKind(f"camera_{ev.kind}")
        if ev.state == "raised":
            self.health.tamper = sorted(set(self.health.tamper) | {ev.kind})
            if self.outbox.alarm_active(kind, f"camera:{self.cam.id}"):
                return  # raised before a restart and never cleared: no second frame, no second alarm
            self.evidence_dir.mkdir(parents=True, exist_ok=True)
            taken = dt.datetime.now(dt.timezone.utc)
            evidence = self.evidence_dir / evidence_name(taken, ev.kind)
            evidence.write_bytes(jpeg(frame, quality=90))
            self._raise_alarm(kind, ev.message, "critical", metrics=ev.metrics,
                              evidence=str(evidence.name), evidence_taken_at=iso(taken),
                              frame_jpeg_b64=base64.b64encode(jpeg(frame, THUMB_WIDTH, 70)).decode())
        else:
            self.health.tamper = [k for k in self.health.tamper if k != ev.kind]
            self._clear_alarm(kind, metrics=ev.metrics)

    def _reconcile_tamper(self) -> None:
        """A tamper alarm raised before a restart has no detector state behind it any more: once
        the detector has learnt the picture afresh, what it does not see is cleared."""
        if self._tamper_reconciled or not self.detector.baseline_ready:
            return
        self._tamper_reconciled = True
        for kind in TAMPER_KINDS:
            if kind not in self.detector.active:
                self._clear_alarm(AlarmKind(f"camera_{kind}"))

    # --- state and events --------------------------------------------------------------------

    def _derive_state(self, no_video: bool = False) -> None:
        """One state from the three views of the camera: ONVIF, the recorder, the analyser."""
        if self._onvif_problem is not None:
            self._set_state(*self._onvif_problem)  # e.g. wrong password while a stream lingers
        elif no_video and self.health.recorder != "recording":
            self._set_state("offline", "no video from the camera")
        elif self.health.tamper:
            self._set_state("tampered", ", ".join(self.health.tamper))
        elif self.health.recorder in ("stalled", "reconnecting"):
            self._set_state(self.health.recorder, self.recorder.last_error if self.recorder else "")
        elif self.health.recorder == "recording":
            self._set_state("recording", "")

    def _set_state(self, state: str, detail: str) -> None:
        self.health.state, self.health.detail = state, detail
        if (state, detail) != self._reported:
            self._reported = (state, detail)
            self._report_health(force=True)
        self._notify()

    @property
    def judged_state(self) -> str:
        """The state seats are judged by: the camera's, except that a recording camera whose last
        analysed frame is black or covered counts as tampered from that frame on. Its alarm waits
        for the tamper hold (a hand passing the lens is no camera fault), but a seat seen through
        it is not covered in the meantime."""
        if self.health.state == "recording" and self.detector.blind:
            return "tampered"
        return self.health.state

    def _notify(self) -> None:
        state = self.judged_state
        if state != self._judged:
            self._judged = state
            if self.on_change is not None:
                self.on_change()

    def _report_health(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_health_event < HEALTH_EVERY_S:
            return
        self._last_health_event = now
        self.outbox.append(EventKind.CAMERA_STATE, P.CameraState(camera=self.cam.id, state=self.health.state,
                                                                 detail=self.health.detail[:P.MAX_TEXT],
                                                                 health=P.CameraHealth(**self.health.as_dict())))

    def _raise_alarm(self, kind: AlarmKind, message: str, severity: str, evidence_taken_at: str | None = None,
                     **extra: Any) -> None:
        """Raise once, across restarts too (the store keeps which alarms are up); an evidence
        frame's record commits with the alarm that shows it."""
        with self.outbox.transaction() as tx:
            if tx.raise_alarm(kind, P.CameraAlarm(camera=self.cam.id, source=f"camera:{self.cam.id}",
                                                  severity=severity, message=message[:P.MAX_TEXT], **extra)) is None:
                return
            if evidence_taken_at is not None and extra.get("evidence"):
                tx.record_evidence(self.cam.id, extra["evidence"], evidence_taken_at)

    def _clear_alarm(self, kind: AlarmKind, **extra: Any) -> None:
        self.outbox.clear_alarm(kind, P.CameraAlarm(camera=self.cam.id, source=f"camera:{self.cam.id}",
                                                    state="cleared", **extra))

    # --- on demand ---------------------------------------------------------------------------

    def snapshot(self) -> bytes:
        """The newest analysed frame as JPEG (the sub stream: cheap, and proves video flows)."""
        frame = self.latest_frame
        if frame is None:
            raise RuntimeError(f"no picture from {self.cam.id} yet")
        return jpeg(frame, quality=80)
