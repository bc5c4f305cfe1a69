"""The edge's seat watcher: judges every seat's coverage on a schedule and whenever a camera's
state changes, and reports seats that gain or lose coverage (with reasons and an alarm).

Cameras are read through a small face (``CameraView``: state and latest frame), so the watcher
runs the same against the video service or a test's stand-in. The detector plugs in as
``detect(camera, frame) -> boxes`` in main-stream pixels; without one, views carry no
detections and the person and screen checks are skipped (occupancy unknown).

A loss of coverage that comes from the picture (focus, occlusion, a person not seen) is reported
once it holds for ``CONFIRM_ROUNDS`` rounds, so one missed detection is not an alarm; a loss that
comes from the camera itself (offline, not recording, tampered) is reported at once.
"""
from __future__ import annotations

import base64
import datetime as dt
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np

from camera.coverage import (
    CAMERA_OFFLINE,
    NO_CAMERA,
    NOT_ANALYSED,
    NOT_RECORDING,
    TAMPERED,
    Box,
    CoverageRules,
    SeatCoverage,
    View,
    coverage_percent,
    seat_coverage,
    zone_sharpness,
)
from camera.overlay import draw_seat_overlay
from edge_agent.store import EdgeStore, Tx
from edge_agent.wire import payloads as P
from edge_agent.wire.kinds import AlarmKind, EventKind
from edge_agent.wire.site import SiteConfig
from retention.evidence import evidence_name

log = logging.getLogger("siteguard.edge.seats")

ONLINE_STATES = {"recording", "tampered", "stalled"}  # states in which video still arrives


class CameraView(Protocol):
    def camera_state(self, camera: str) -> str: ...

    def camera_frame(self, camera: str) -> np.ndarray | None: ...


RECENT = 6  # rounds a focus judgement looks back over
STARTUP_GRACE_S = 30.0
CONFIRM_ROUNDS = 2
CAMERA_REASONS = {NO_CAMERA, CAMERA_OFFLINE, NOT_RECORDING, TAMPERED}
Detect = Callable[[str, np.ndarray], tuple[Box, ...]]


@dataclass(frozen=True)
class Judged:
    """What one camera showed in the last round: the frame and what the detector found."""

    frame: np.ndarray | None
    boxes: tuple[Box, ...] | None
    at: float


@dataclass
class _Focus:
    """A screen zone's sharpness: the best seen on a healthy picture is the calibration; the
    judgement uses the best of the last few rounds, since what a screen shows (a page being
    typed, a dark editor, someone's hand) changes its detail from one moment to the next."""

    best: float = 0.0
    recent: deque = field(default_factory=lambda: deque(maxlen=RECENT))


LAST_ROUND_KEY = "seats.last_round"  # in the edge store: wall-clock seconds of the last round


def _iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).isoformat()


class SeatWatcher:
    def __init__(self, config: SiteConfig, cameras: CameraView, outbox: EdgeStore,
                 rules: CoverageRules = CoverageRules(), detect: Detect | None = None,
                 evidence_dir: Path | None = None, confirm_rounds: int = CONFIRM_ROUNDS,
                 gap_after_s: float = 60.0) -> None:
        self.config, self.cameras, self.outbox = config, cameras, outbox
        self.gap_after_s, self._resumed = gap_after_s, False
        self.rules, self.detect = rules, detect
        self.evidence_dir, self.confirm_rounds = evidence_dir, confirm_rounds
        self.resolution = {c.id: c.resolution for c in config.cameras}
        self._focus: dict[tuple[str, str], _Focus] = {}
        self._reported: dict[str, tuple[bool, tuple[str, ...]]] = {}
        self._pending: dict[str, tuple[tuple[bool, tuple[str, ...]], int]] = {}
        self.judged: dict[str, Judged] = {}
        self.latest: dict[str, SeatCoverage] = {}
        self._states: dict[str, str] = {}
        self._halt = threading.Event()
        self._wake = threading.Event()
        # Called after a round whose verdicts differ from the last round's (the agent sends its
        # status, which the work policy reads, at once rather than at its next heartbeat).
        self.on_change: Callable[[], None] | None = None

    # --- one round -----------------------------------------------------------------------------

    def _focus_ratio(self, seat: str, camera: str, screen, state: str, gray: np.ndarray | None) -> float | None:
        if gray is None:
            return None
        scale = gray.shape[1] / self.resolution[camera][0]
        sharp = zone_sharpness(gray, screen, scale)
        focus = self._focus.setdefault((seat, camera), _Focus())
        focus.recent.append(sharp)
        if state == "recording":  # calibrate only on a healthy picture
            focus.best = max(focus.best, sharp)
        if focus.best <= 0:
            return None
        return max(focus.recent) / focus.best

    def judge(self, occupied: Mapping[str, bool] | None = None) -> list[SeatCoverage]:
        frames: dict[str, tuple[str, np.ndarray | None, tuple[Box, ...] | None]] = {}
        now = time.time()
        for cam in self.config.cameras:
            state = self.cameras.camera_state(cam.id)
            frame = self.cameras.camera_frame(cam.id) if state in ONLINE_STATES else None
            gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY) if frame is not None and frame.ndim == 3 else frame
            boxes = None
            if self.detect is not None and frame is not None:
                boxes = self.detect(cam.id, frame)
            frames[cam.id] = (state, gray, boxes)
            self.judged[cam.id] = Judged(frame, boxes, now)
        results = []
        for seat in self.config.seats:
            views = []
            for v in seat.views:
                state, gray, boxes = frames.get(v.camera, ("unknown", None, None))
                views.append(View(v.camera, v.seat, v.screen, online=state in ONLINE_STATES,
                                  recording=state in ("recording", "tampered"), tampered=state == "tampered",
                                  focus_ratio=self._focus_ratio(seat.id, v.camera, v.screen, state, gray),
                                  detections=boxes))
            results.append(seat_coverage(seat.id, views, seat.min_screen_px,
                                         (occupied or {}).get(seat.id), self.rules))
        before = self.status()
        self.latest = {r.seat: r for r in results}
        self._note_round(now)
        self._report(results)
        if self.on_change is not None and self.status() != before:
            self.on_change()
        return results

    def _note_round(self, now: float) -> None:
        """Remember when seats were last judged. The first round after a silence longer than
        ``gap_after_s`` (the agent or the appliance was down) reports the silence first, so the
        history shows it as not judged rather than carrying the old verdicts across it."""
        if not self._resumed:
            self._resumed = True
            last = self.outbox.get(LAST_ROUND_KEY)
            try:
                silent_since = float(last) if last is not None else None
            except ValueError:
                silent_since = None
            if silent_since is not None and now - silent_since > self.gap_after_s:
                self.outbox.append(EventKind.COVERAGE_GAP, P.CoverageGap(
                    since=_iso(silent_since), until=_iso(now), seats=[s.id for s in self.config.seats]))
        self.outbox.put(LAST_ROUND_KEY, repr(now))

    def _confirmed(self, r: SeatCoverage) -> bool:
        """Whether a change of this seat's verdict has held long enough to report."""
        key = (r.covered, r.reasons)
        if r.seat not in self._reported or CAMERA_REASONS & set(r.reasons) or self.confirm_rounds <= 1:
            self._pending.pop(r.seat, None)
            return True
        seen, count = self._pending.get(r.seat, (None, 0))
        count = count + 1 if seen == key else 1
        self._pending[r.seat] = (key, count)
        if count >= self.confirm_rounds:
            del self._pending[r.seat]
            return True
        return False

    def _detections(self, camera: str | None) -> list[list]:
        judged = self.judged.get(camera) if camera else None
        if judged is None or judged.boxes is None:
            return []
        return [[round(b.x1), round(b.y1), round(b.x2), round(b.y2), b.label, b.score] for b in judged.boxes]

    def _evidence(self, r: SeatCoverage) -> tuple[str | None, str | None]:
        """Save the frame that shows why a seat lost coverage; (file name, thumbnail base64)."""
        judged = self.judged.get(r.camera) if r.camera else None
        if judged is None or judged.frame is None:
            return None, None
        seat = next(s for s in self.config.seats if s.id == r.seat)
        view = next(v for v in seat.views if v.camera == r.camera)
        marked = draw_seat_overlay(judged.frame, self.resolution[r.camera][0], [(seat.id, view.seat, view.screen)],
                                   judged.boxes or ())
        name = None
        if self.evidence_dir is not None:  # the whole view, for officers and inspectors
            folder = self.evidence_dir / r.camera  # beside the camera's tamper frames, pruned with them
            folder.mkdir(parents=True, exist_ok=True)
            name = evidence_name(dt.datetime.fromtimestamp(judged.at, dt.timezone.utc), f"seat_{r.seat}")
            cv2.imwrite(str(folder / name), marked, [cv2.IMWRITE_JPEG_QUALITY, 90])
        # The thumbnail travels with the alarm, which the seat's customer reads: no other
        # customer's screen may be on it.
        self._black_out_others(marked, r.camera, seat.customer)
        ok, jpg = cv2.imencode(".jpg", marked, [cv2.IMWRITE_JPEG_QUALITY, 70])
        return name, base64.b64encode(jpg.tobytes()).decode() if ok else None

    def _black_out_others(self, frame: np.ndarray, camera: str, customer: str) -> None:
        """Paint black, in place, every screen in ``camera``'s sub-stream ``frame`` that belongs to
        a customer other than ``customer``."""
        scale = frame.shape[1] / self.resolution[camera][0]
        for s in self.config.seats:
            if s.customer == customer:
                continue
            for v in s.views:
                if v.camera == camera:
                    pts = np.round(np.array(v.screen, np.float32) * scale).astype(np.int32)
                    cv2.fillPoly(frame, [pts], (0, 0, 0))

    def _report(self, results: list[SeatCoverage]) -> None:
        customers = {s.id: s.customer for s in self.config.seats}
        changed = False
        for r in results:
            key = (r.covered, r.reasons)
            if self._reported.get(r.seat) == key:
                self._pending.pop(r.seat, None)
                continue
            if r.seat not in self._reported and r.reasons == (NOT_ANALYSED,):
                continue  # a camera still starting up: no verdict yet, and no alarm for it
            if not self._confirmed(r):
                continue
            changed = True
            self._reported[r.seat] = key
            evidence, thumb = self._evidence(r) if not r.covered else (None, None)
            # The verdict, its alarm and its evidence frame's record commit together; the alarm's
            # state is the store's, so one raised before a restart is cleared after it.
            with self.outbox.transaction() as tx:
                self._report_seat(tx, r, customers[r.seat], evidence, thumb)
        if changed:
            self.outbox.append(EventKind.SITE_COVERAGE, P.SiteCoverage(
                percent=round(coverage_percent(results), 1), seats=len(results),
                covered=sum(r.covered for r in results)))

    def _report_seat(self, tx: Tx, r: SeatCoverage, customer: str, evidence: str | None,
                     thumb: str | None) -> None:
        if evidence is not None and r.camera in self.judged:
            tx.record_evidence(r.camera, evidence, _iso(self.judged[r.camera].at))
        tx.append(EventKind.SEAT_STATE, P.SeatState(
            seat=r.seat, customer=customer, covered=r.covered, reasons=list(r.reasons),
            camera=r.camera, occupied=r.occupied, evidence=evidence,
            views=[P.SeatView(camera=v.camera, reasons=list(v.reasons), screen_px=round(v.screen_px),
                              occlusion=None if v.occlusion is None else round(v.occlusion, 3),
                              person_seen=v.person_seen, screen_seen=v.screen_seen,
                              detections=self._detections(v.camera)) for v in r.views]))
        if not r.covered:
            tx.raise_alarm(AlarmKind.SEAT_UNCOVERED, P.SeatAlarm(
                source=f"seat:{r.seat}", severity="critical", customer=customer,
                seat=r.seat, reasons=list(r.reasons), camera=r.camera, evidence=evidence,
                frame_jpeg_b64=thumb,
                message=f"seat {r.seat} is not covered: {', '.join(r.reasons).replace('_', ' ')}"[:P.MAX_TEXT]))
        else:
            tx.clear_alarm(AlarmKind.SEAT_UNCOVERED, P.SeatAlarm(source=f"seat:{r.seat}", customer=customer,
                                                                 state="cleared"))

    # --- schedule --------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        return {s: {"covered": r.covered, "reasons": list(r.reasons), "occupied": r.occupied}
                for s, r in self.latest.items()}

    def seat_frame(self, seat_id: str, viewer_customer: str | None = None) -> dict[str, Any]:
        """The last judged frame of the camera that decides a seat, with every seat's polygons on
        it and the detections, for the officer's seat page. For a customer, other customers'
        screens are blacked out and their seats left out: a camera sees more than one seat."""
        seat = next((s for s in self.config.seats if s.id == seat_id), None)
        if seat is None or (viewer_customer is not None and seat.customer != viewer_customer):
            raise KeyError(f"no seat {seat_id!r}")
        verdict = self.latest.get(seat_id)
        camera = (verdict.camera if verdict and verdict.camera else seat.views[0].camera)
        judged = self.judged.get(camera)
        if judged is None or judged.frame is None:
            raise LookupError(f"no frame of {camera} has been judged yet")
        frame = judged.frame.copy()
        width, height = self.resolution[camera]
        if viewer_customer is not None:
            self._black_out_others(frame, camera, viewer_customer)
        seats = []
        for s in self.config.seats:
            for v in s.views:
                if v.camera != camera or (viewer_customer is not None and s.customer != viewer_customer):
                    continue
                seats.append({"seat": s.id, "customer": s.customer, "seat_zone": [list(p) for p in v.seat],
                              "screen_zone": [list(p) for p in v.screen]})
        ok, jpg = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 85])
        boxes = self._detections(camera)
        if viewer_customer is not None:  # only what lies on the viewer's own seats
            boxes = [b for b in boxes if any(_overlaps(b, z["seat_zone"]) or _overlaps(b, z["screen_zone"])
                                             for z in seats)]
        return {"seat": seat_id, "camera": camera, "width": width, "height": height,
                "judged_at": judged.at, "jpeg_b64": base64.b64encode(jpg.tobytes()).decode() if ok else None,
                "seats": seats, "detections": boxes,
                "reasons": list(verdict.reasons) if verdict else None,
                "covered": verdict.covered if verdict else None,
                "occupied": verdict.occupied if verdict else None}

    def update_config(self, config: SiteConfig) -> None:
        """New seat polygons (a calibration): judged from the next round on."""
        self.config = config
        self.resolution = {c.id: c.resolution for c in config.cameras}
        self._focus.clear()  # a new screen zone has a new calibration

    def wake(self) -> None:
        """A camera's state changed: look now rather than at the next poll."""
        self._wake.set()

    def run(self, every_s: float, poll_s: float = 1.0, grace_s: float = STARTUP_GRACE_S) -> None:
        """Judge every ``every_s`` seconds, and at once when a camera's state changes (seen at
        the next ``poll_s``, or as soon as ``wake`` is called); the first round waits until every
        camera has connected and sent a frame, or failed to (at most ``grace_s``), so a start is
        not a false alarm per seat."""
        deadline = time.monotonic() + grace_s
        while not self._settled() and time.monotonic() < deadline:
            if self._halt.wait(poll_s):
                return
        due = 0.0
        while not self._halt.is_set():
            states = {c.id: self.cameras.camera_state(c.id) for c in self.config.cameras}
            now = time.monotonic()
            if states != self._states or now >= due:
                self._states = states
                try:
                    self.judge()
                except Exception:  # noqa: BLE001 - one bad frame must not stop the watch
                    log.exception("seat coverage round failed")
                due = now + every_s
            self._wake.wait(poll_s)
            self._wake.clear()

    def _settled(self) -> bool:
        for cam in self.config.cameras:
            state = self.cameras.camera_state(cam.id)
            if state in ("connecting", "unknown") or (state in ONLINE_STATES and self.cameras.camera_frame(cam.id) is None):
                return False
        return True

    def start(self, every_s: float) -> None:
        threading.Thread(target=self.run, args=(every_s,), name="seats", daemon=True).start()

    def stop(self) -> None:
        self._halt.set()
        self._wake.set()


def _overlaps(box: list, zone: list) -> bool:
    xs, ys = [p[0] for p in zone], [p[1] for p in zone]
    return box[0] < max(xs) and box[2] > min(xs) and box[1] < max(ys) and box[3] > min(ys)
