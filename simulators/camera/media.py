"""The media side of one simulated camera: scene -> H.264 main and sub streams -> RTSP.

One render thread per camera draws each frame once at the camera's resolution, then feeds the
main encoder and a downscaled copy to the sub encoder, like a real camera's two profiles of one
sensor. Faults, credentials and being offline are switched here at run time.
"""
from __future__ import annotations

import logging
import threading
import time

import cv2
import numpy as np

from simulators.camera.encoder import H264Encoder
from simulators.camera.rtsp import RtspServer
from simulators.camera.scene import FAULTS, Scene
from simulators.camera.site_view import SeatView

log = logging.getLogger(__name__)

PROFILES = ("main", "sub")


def _even(v: int) -> int:
    return max(16, int(v) - int(v) % 2)


def sub_size(width: int, height: int) -> tuple[int, int]:
    """640 wide (or half the width for small sensors), same aspect, even sides."""
    sw = 640 if width >= 1280 else width // 2
    sh = int(round(sw * height / width))
    return _even(sw), _even(sh)


class SimulatedCameraMedia:
    def __init__(self, camera: dict, seats: list[SeatView], rtsp_port: int,
                 host: str = "127.0.0.1", main_fps: float = 10, sub_fps: float = 5,
                 seed: int = 0, lanes: list[np.ndarray] | tuple = ()):
        if main_fps <= 0 or sub_fps <= 0:
            raise ValueError("frame rates must be positive")
        self.camera = dict(camera)
        self.camera_id = str(camera.get("id", "camera"))
        self.host = host
        w, h = camera.get("resolution", [1280, 720])
        w, h = _even(w), _even(h)
        sw, sh = sub_size(w, h)
        self.profiles: dict[str, tuple[int, int, float]] = {
            "main": (w, h, main_fps), "sub": (sw, sh, sub_fps)}
        self.scene = Scene({**self.camera, "resolution": [w, h]}, seats, seed=seed, lanes=lanes)
        self._started = time.monotonic()  # t = 0 of the scene, reset when rendering starts
        self._encoders = {name: H264Encoder(pw, ph, fps, gop_seconds=2,
                                            name=f"{self.camera_id}-{name}")
                          for name, (pw, ph, fps) in self.profiles.items()}
        self.rtsp = RtspServer(self._encoders, host=host, port=rtsp_port,
                               username=str(camera.get("username", "admin")),
                               password=str(camera.get("password") or ""),
                               realm="IP Camera", title=f"{self.camera_id}")
        self._latest: tuple[np.ndarray, float] | None = None
        self._latest_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.frames_rendered = 0

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            return
        # OpenCV's worker pool costs more CPU than it saves on these small per-frame jobs,
        # and eight cameras share two cores.
        cv2.setNumThreads(1)
        for enc in self._encoders.values():
            enc.start()
        self.rtsp.start()
        self._stop.clear()
        self._thread = threading.Thread(target=self._render_loop, daemon=True,
                                        name=f"{self.camera_id}-render")
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self.rtsp.stop()
        for enc in self._encoders.values():
            enc.stop()

    @property
    def rtsp_port(self) -> int:
        return self.rtsp.port

    def rtsp_url(self, profile: str = "main") -> str:
        self._check_profile(profile)
        return f"rtsp://{self.host}:{self.rtsp.port}/{profile}"

    def encoder_settings(self, profile: str = "main") -> dict:
        """What an ONVIF GetVideoEncoderConfiguration would report for a profile."""
        self._check_profile(profile)
        enc = self._encoders[profile]
        return {"width": enc.width, "height": enc.height, "fps": enc.fps,
                "bitrate_kbps": enc.bitrate_kbps, "gop": enc.gop,
                "h264_profile": enc.h264_profile}

    def process_ids(self) -> list[int]:
        """The encoder child processes, for CPU accounting."""
        return [p for p in (e.pid for e in self._encoders.values()) if p is not None]

    # -- run-time controls ----------------------------------------------------------------
    def set_fault(self, name: str | None) -> None:
        """A frame fault (see scene.FAULTS); "stall" stops new frames reaching the encoders."""
        if name is not None and name not in FAULTS:
            raise ValueError(f"frame fault must be one of {FAULTS} or None, not {name!r}")
        self.scene.set_fault(name)

    @property
    def fault(self) -> str | None:
        return self.scene.fault

    def set_online(self, online: bool) -> None:
        self.rtsp.set_online(online)

    @property
    def online(self) -> bool:
        return self.rtsp.online

    def set_credentials(self, username: str, password: str) -> None:
        self.rtsp.set_credentials(username, password)

    @property
    def credentials(self) -> tuple[str, str]:
        return self.rtsp.auth.credentials

    def set_seat_override(self, seat_id: str, state: str) -> None:
        self.scene.set_seat_override(seat_id, state)

    def set_occluder(self, seat_id: str, on: bool) -> None:
        self.scene.set_occluder(seat_id, on)

    def start_walkers(self, count: int, lane: int = 0) -> None:
        """People walk through a gate lane in view, starting now."""
        self.scene.start_walkers(count, time.monotonic() - self._started, lane)

    # -- frames ---------------------------------------------------------------------------
    def snapshot_jpeg(self, profile: str = "main") -> bytes:
        """JPEG of the latest frame at the profile's size (rendered now if none yet)."""
        self._check_profile(profile)
        with self._latest_lock:
            latest = self._latest
        if latest is None:
            latest = self.scene.render_raw(0.0)
        raw, shown = latest
        pw, ph, _ = self.profiles[profile]
        frame = raw.copy() if raw.shape[1] == pw else cv2.resize(
            raw, (pw, ph), interpolation=cv2.INTER_AREA)
        self.scene.stamp(frame, shown)
        ok, data = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 85])
        if not ok:
            raise RuntimeError("JPEG encoding failed")
        return data.tobytes()

    def _check_profile(self, profile: str) -> None:
        if profile not in self.profiles:
            raise ValueError(f"unknown stream profile {profile!r}; profiles: {', '.join(PROFILES)}")

    def _render_loop(self) -> None:
        fps = {name: p[2] for name, p in self.profiles.items()}
        tick = 1.0 / max(fps.values())
        start = self._started = time.monotonic()
        self.scene.clock_origin = time.time()
        due = {name: start for name in fps}
        next_tick = start
        while not self._stop.is_set():
            now = time.monotonic()
            if now < next_tick:
                self._stop.wait(next_tick - now)
                continue
            # Behind by more than a frame (a busy machine): skip ahead, never burst.
            next_tick = max(next_tick + tick, now)
            if self.scene.fault == "stall":
                continue  # a frozen camera sends nothing new; connections stay open
            try:
                self._render_once(now, now - start, due, fps)
            except Exception:
                log.exception("%s: rendering a frame failed", self.camera_id)
                self._stop.wait(0.5)

    def _render_once(self, now: float, t: float, due: dict, fps: dict) -> None:
        raw, shown = self.scene.render_raw(t)
        self.frames_rendered += 1
        with self._latest_lock:
            self._latest = (raw, shown)
        for name, enc in self._encoders.items():
            if now + 1e-3 < due[name]:
                continue
            period = 1.0 / fps[name]
            due[name] = max(due[name] + period, now)
            if (enc.width, enc.height) == (raw.shape[1], raw.shape[0]):
                frame = raw.copy()
            else:
                frame = cv2.resize(raw, (enc.width, enc.height), interpolation=cv2.INTER_AREA)
            self.scene.stamp(frame, shown)
            enc.push(frame, now)
