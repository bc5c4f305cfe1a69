"""Camera tailgating: while a gate's grant window is open, count the people in its lane on the
camera that watches it, and hand each count to the gate service, which compares it with the
grants (``TailgateDetector.camera``). Nothing runs between grants."""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

from camera.coverage import persons_in_zone
from edge_agent.seats import CameraView, Detect

log = logging.getLogger("siteguard.edge.lanes")

PERIOD_S = 0.2  # the sub stream runs at 5 fps: every frame


class LaneWatcher:
    def __init__(self, cameras: CameraView, detect: Detect, report: Callable[[str, int], None],
                 period_s: float = PERIOD_S) -> None:
        self.cameras, self.detect, self.report, self.period_s = cameras, detect, report, period_s
        self._deadlines: dict[str, float] = {}
        self._lock = threading.Lock()
        self._halt = threading.Event()

    def watch(self, gate: str, camera: str, lane: Sequence[tuple[float, float]], seconds: float) -> None:
        """Count people in ``lane`` for ``seconds`` from now (a later grant extends the watch)."""
        until = time.monotonic() + seconds
        with self._lock:
            running = gate in self._deadlines
            self._deadlines[gate] = max(until, self._deadlines.get(gate, 0.0))
        if not running:
            threading.Thread(target=self._run, args=(gate, camera, tuple(lane)), name=f"lane-{gate}",
                             daemon=True).start()

    def _run(self, gate: str, camera: str, lane: tuple) -> None:
        last = None
        try:
            while not self._halt.is_set():
                with self._lock:
                    if time.monotonic() > self._deadlines[gate]:
                        del self._deadlines[gate]
                        return
                frame = self.cameras.camera_frame(camera)
                if frame is not None and frame is not last:  # each frame once
                    last = frame
                    count = persons_in_zone(self.detect(camera, frame), lane)
                    if count:
                        self.report(gate, count)
                self._halt.wait(self.period_s)
        except Exception:  # noqa: BLE001 - a failed count must not take the gate down
            log.exception("counting people in the lane of %s failed", gate)
            with self._lock:
                self._deadlines.pop(gate, None)

    def stop(self) -> None:
        self._halt.set()
