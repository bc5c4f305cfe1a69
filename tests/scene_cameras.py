"""The simulator's scenes as the seat watcher's cameras, without the network in between.

Frames are rendered in-process at each camera's sub-stream size, exactly what the simulator
encodes, and camera states come from the product's own tamper detector fed with those frames
(on a test clock), so a turned or blurred scene turns the camera ``tampered`` the way the
video service would. ``offline`` cameras deliver nothing. The RTSP and ONVIF path itself is
covered by the camera end-to-end tests.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from camera.tamper import TamperDetector
from simulators.camera.media import sub_size
from simulators.camera.scene import Scene
from simulators.camera.site_view import camera_entries, load_site, seat_views


class SceneCameras:
    def __init__(self, site_file: str | Path, seed: int = 3, start_t: float = 20.0) -> None:
        site = load_site(site_file)
        self.scenes = {c["id"]: Scene(c, seat_views(site, c["id"]), seed=seed) for c in camera_entries(site)}
        self.t = start_t
        self.tamper = {cid: TamperDetector(cid, clock=lambda: self.t) for cid in self.scenes}
        self.offline: set[str] = set()
        self.frames: dict[str, np.ndarray] = {}

    def advance(self, seconds: float, step: float = 1.0) -> None:
        """Let ``seconds`` pass, rendering and tamper-checking a frame every ``step``."""
        end = self.t + seconds
        while self.t < end - 1e-9:
            self.t += step
            for cid, scene in self.scenes.items():
                frame = scene.render(self.t, size=sub_size(scene.width, scene.height))
                self.frames[cid] = frame
                if cid not in self.offline:
                    self.tamper[cid].observe(frame)

    def camera_state(self, camera: str) -> str:
        if camera in self.offline:
            return "offline"
        return "tampered" if self.tamper[camera].active else "recording"

    def camera_frame(self, camera: str) -> np.ndarray | None:
        return None if camera in self.offline else self.frames.get(camera)
