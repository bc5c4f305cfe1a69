"""The edge's seat watcher: judges every seat's coverage on a schedule and whenever a camera's
state changes, and reports seats that gain or lose coverage (with reasons and an alarm).

Cameras are read through a small face (``CameraView``: state and latest frame), so the watcher
runs the same against the video service or a test's stand-in. The person detector plugs in as
``detect(camera, frame) -> boxes``; until one is configured, views carry no detections and the
person check is skipped (occupancy unknown).
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Protocol

import cv2
import numpy as np

from camera.coverage import Box, CoverageRules, SeatCoverage, View, coverage_percent, seat_coverage, zone_sharpness
from edge_agent.store import EdgeStore
from edge_agent.wire.site import SiteConfig

log = logging.getLogger("siteguard.edge.seats")

ONLINE_STATES = {"recording", "tampered", "stalled"}  # states in which video still arrives


class CameraView(Protocol):
    def camera_state(self, camera: str) -> str: ...

    def camera_frame(self, camera: str) -> np.ndarray | None: ...


RECENT = 6  # rounds a focus judgement looks back over
STARTUP_GRACE_S = 30.0


@dataclass
class _Focus:
    """A screen zone's sharpness: the best seen on a healthy picture is the calibration; the
    judgement uses the best of the last few rounds, since what a screen shows (a page being
    typed, a dark editor, someone's hand) changes its detail from one moment to the next."""

    best: float = 0.0
    recent: deque = field(default_factory=lambda: deque(maxlen=RECENT))


class SeatWatcher:
    def __init__(self, config: SiteConfig, cameras: CameraView, outbox: EdgeStore,
                 rules: CoverageRules = CoverageRules(),
                 detect: Callable[[str, np.ndarray], tuple[Box, ...]] | None = None) -> None:
        self.config, self.cameras, self.outbox = config, cameras, outbox
        self.rules, self.detect = rules, detect
        self.resolution = {c.id: c.resolution for c in config.cameras}
        self._focus: dict[tuple[str, str], _Focus] = {}
        self._reported: dict[str, tuple[bool, tuple[str, ...]]] = {}
        self.latest: dict[str, SeatCoverage] = {}
        self._states: dict[str, str] = {}
        self._halt = threading.Event()

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
        for cam in self.config.cameras:
            state = self.cameras.camera_state(cam.id)
            frame = self.cameras.camera_frame(cam.id) if state in ONLINE_STATES else None
            gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY) if frame is not None and frame.ndim == 3 else frame
            boxes = None
            if self.detect is not None and frame is not None:
                boxes = self.detect(cam.id, frame)
            frames[cam.id] = (state, gray, boxes)
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
        self.latest = {r.seat: r for r in results}
        self._report(results)
        return results

    def _report(self, results: list[SeatCoverage]) -> None:
        customers = {s.id: s.customer for s in self.config.seats}
        changed = False
        for r in results:
            key = (r.covered, r.reasons)
            if self._reported.get(r.seat) == key:
                continue
            changed = True
            first = r.seat not in self._reported
            self._reported[r.seat] = key
            self.outbox.append("seat.state", {
                "seat": r.seat, "customer": customers[r.seat], "covered": r.covered, "reasons": list(r.reasons),
                "camera": r.camera, "views": [{"camera": v.camera, "reasons": list(v.reasons),
                                               "screen_px": round(v.screen_px), "occlusion": v.occlusion,
                                               "person_seen": v.person_seen} for v in r.views]})
            if not r.covered:
                self.outbox.append("alarm.seat_uncovered", {
                    "source": f"seat:{r.seat}", "severity": "critical", "customer": customers[r.seat],
                    "seat": r.seat, "reasons": list(r.reasons),
                    "message": f"seat {r.seat} is not covered: {', '.join(r.reasons).replace('_', ' ')}"})
            elif not first:
                self.outbox.append("alarm.seat_uncovered", {"source": f"seat:{r.seat}", "state": "cleared",
                                                            "customer": customers[r.seat]})
        if changed:
            self.outbox.append("site.coverage", {"percent": round(coverage_percent(results), 1),
                                                 "seats": len(results),
                                                 "covered": sum(r.covered for r in results)})

    # --- schedule --------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        return {s: {"covered": r.covered, "reasons": list(r.reasons)} for s, r in self.latest.items()}

    def run(self, every_s: float, poll_s: float = 1.0, grace_s: float = STARTUP_GRACE_S) -> None:
        """Judge every ``every_s`` seconds, and at once when a camera's state changes; the first
        round waits until the cameras had time to connect, so a start is not 16 false alarms."""
        if self._halt.wait(grace_s):
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
            self._halt.wait(poll_s)

    def start(self, every_s: float) -> None:
        threading.Thread(target=self.run, args=(every_s,), name="seats", daemon=True).start()

    def stop(self) -> None:
        self._halt.set()
