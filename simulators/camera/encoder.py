"""Live H.264 for one stream profile: raw BGR frames in, access units out to subscribers.

ffmpeg/libx264 does the encoding in a child process. Its Annex-B output is cut into access
units (one per frame) here, so the RTSP side can packetize per RFC 6184 and stamp each frame
with the time it was rendered.
"""
from __future__ import annotations

import collections
import fcntl
import logging
import os
import subprocess
import threading
import time
from dataclasses import dataclass

import cv2
import numpy as np

log = logging.getLogger(__name__)

NAL_SLICE = 1
NAL_IDR = 5
NAL_SEI = 6
NAL_SPS = 7
NAL_PPS = 8
NAL_AUD = 9


@dataclass(frozen=True)
class AccessUnit:
    """One encoded frame: its NAL units (no start codes, no delimiter) and capture time."""

    nals: tuple[bytes, ...]
    capture: float      # time.monotonic() when the frame was rendered
    keyframe: bool


def nal_type(nal: bytes) -> int:
    return nal[0] & 0x1F


class AnnexBSplitter:
    """Cuts an Annex-B byte stream into access units.

    A NAL is complete only once the next start code arrives, and an access unit once the next
    one begins: x264 is asked for access unit delimiters, and as a fallback a slice whose first
    macroblock is 0 also starts a new unit. The cost is one frame of delay.
    """

    def __init__(self):
        self._buf = bytearray()
        self._nal_start = -1     # offset of the current NAL's first byte, -1 before any start code
        self._scan = 0           # where to resume looking for a start code
        self._unit: list[bytes] = []
        self._unit_has_slice = False

    def feed(self, data: bytes) -> list[list[bytes]]:
        self._buf += data
        done: list[list[bytes]] = []
        buf = self._buf
        while True:
            j = buf.find(b"\x00\x00\x01", self._scan)
            if j < 0:
                self._scan = max(self._scan, len(buf) - 2)
                break
            if self._nal_start >= 0:
                self._take(bytes(buf[self._nal_start:j]).rstrip(b"\x00"), done)
            self._nal_start = j + 3
            self._scan = j + 3
        # Drop consumed bytes so the buffer stays about one NAL long.
        if self._nal_start > 65536 or (self._nal_start < 0 and len(buf) > 65536):
            cut = self._nal_start if self._nal_start >= 0 else len(buf) - 2
            del buf[:cut]
            self._scan -= cut
            if self._nal_start >= 0:
                self._nal_start = 0
        return done

    def flush(self) -> list[bytes] | None:
        """At end of stream: the last unit, if any."""
        done: list[list[bytes]] = []
        if self._nal_start >= 0:
            self._take(bytes(self._buf[self._nal_start:]).rstrip(b"\x00"), done)
        self._buf.clear()
        self._nal_start, self._scan = -1, 0
        if self._unit:
            done.append(self._unit)
        self._unit, self._unit_has_slice = [], False
        return done[-1] if done else None

    def _take(self, nal: bytes, done: list[list[bytes]]) -> None:
        if not nal:
            return
        kind = nal_type(nal)
        # first_mb_in_slice is the first ue(v) of the slice header: a leading 1 bit means 0.
        new_picture = kind in (NAL_SLICE, NAL_IDR) and len(nal) > 1 and nal[1] & 0x80
        starts_unit = kind == NAL_AUD or (self._unit_has_slice and (
            new_picture or kind in (NAL_SEI, NAL_SPS, NAL_PPS)))
        if starts_unit and self._unit:
            done.append(self._unit)
            self._unit, self._unit_has_slice = [], False
        if kind == NAL_AUD:
            return
        self._unit.append(nal)
        if kind in (NAL_SLICE, NAL_IDR):
            self._unit_has_slice = True


class Subscription:
    """One consumer's bounded queue of access units.

    It starts at a keyframe, and when the consumer falls behind the queue is emptied and
    refilled from the next keyframe: a slow client loses frames, never the others' time.
    """

    def __init__(self, encoder: "H264Encoder", max_frames: int):
        self._encoder = encoder
        self._max = max(2, max_frames)
        self._queue: collections.deque[AccessUnit] = collections.deque()
        self._cond = threading.Condition()
        self._need_keyframe = True
        self.closed = False
        self.dropped = 0

    def offer(self, unit: AccessUnit) -> None:
        with self._cond:
            if self.closed:
                return
            if self._need_keyframe and not unit.keyframe:
                self.dropped += 1
                return
            if len(self._queue) >= self._max:
                self.dropped += len(self._queue)
                self._queue.clear()
                if not unit.keyframe:
                    self._need_keyframe = True
                    self.dropped += 1
                    return
            self._need_keyframe = False
            self._queue.append(unit)
            self._cond.notify()

    def get(self, timeout: float | None = None) -> AccessUnit | None:
        """The next unit, or None after timeout or once closed."""
        with self._cond:
            if not self._queue and not self.closed:
                self._cond.wait(timeout)
            if self._queue:
                return self._queue.popleft()
            return None

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._queue.clear()
            self._cond.notify_all()
        self._encoder._unsubscribe(self)


class H264Encoder:
    """An ffmpeg/libx264 child fed raw frames; fans access units out to subscribers."""

    def __init__(self, width: int, height: int, fps: float, gop_seconds: float = 2,
                 bitrate_kbps: int | None = None, name: str = "h264",
                 input_pix_fmt: str = "yuv420p"):
        if width % 2 or height % 2:
            raise ValueError(f"H.264 4:2:0 needs even dimensions, got {width}x{height}")
        self.width, self.height, self.fps = int(width), int(height), float(fps)
        self.gop = max(1, int(round(gop_seconds * fps)))
        # About 0.1 bit per pixel: plenty for a mostly static office scene.
        self.bitrate_kbps = int(bitrate_kbps or max(128, width * height * fps * 0.1 / 1000))
        self.name = name
        self.h264_profile = "baseline"
        # Frames are always pushed as BGR. Converting to I420 here (SIMD in OpenCV) costs less
        # than half of what ffmpeg's bgr24 conversion does, and halves the bytes piped.
        if input_pix_fmt not in ("yuv420p", "bgr24"):
            raise ValueError("input_pix_fmt must be 'yuv420p' or 'bgr24'")
        self.input_pix_fmt = input_pix_fmt
        self._lock = threading.Lock()
        self._subs: set[Subscription] = set()
        self._proc: subprocess.Popen | None = None
        self._captures: collections.deque[float] = collections.deque()
        self._params: tuple[bytes, bytes] | None = None
        self._params_ready = threading.Condition(self._lock)
        self._stderr_tail: collections.deque[str] = collections.deque(maxlen=20)
        self._running = False
        self._last_start = 0.0
        self.frames_in = 0
        self.frames_out = 0
        self.restarts = 0

    # -- process ---------------------------------------------------------------------------
    def command(self) -> list[str]:
        kbps = self.bitrate_kbps
        return [
            "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin",
            "-f", "rawvideo", "-pix_fmt", self.input_pix_fmt, "-s", f"{self.width}x{self.height}",
            "-r", f"{self.fps:g}", "-i", "pipe:0", "-an",
            "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency",
            "-profile:v", self.h264_profile, "-pix_fmt", "yuv420p", "-threads", "1",
            "-g", str(self.gop), "-keyint_min", str(self.gop), "-sc_threshold", "0",
            "-b:v", f"{kbps}k", "-maxrate", f"{kbps}k", "-bufsize", f"{2 * kbps}k",
            # AUDs mark frame boundaries; SPS/PPS before every IDR lets anyone join at a keyframe.
            "-x264-params", "aud=1:repeat-headers=1",
            "-fps_mode", "passthrough", "-bsf:v", "h264_mp4toannexb",
            "-flush_packets", "1", "-f", "h264", "pipe:1",
        ]

    def start(self) -> None:
        with self._lock:
            self._running = True
            self._spawn_locked()

    def _spawn_locked(self) -> None:
        self._last_start = time.monotonic()
        self._captures.clear()
        proc = subprocess.Popen(self.command(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, bufsize=0)
        self._proc = proc
        try:
            # A pipe that holds a whole frame: one write, fewer wake-ups on both sides.
            fcntl.fcntl(proc.stdin.fileno(), fcntl.F_SETPIPE_SZ, 1 << 20)
        except OSError:
            pass
        threading.Thread(target=self._read_loop, args=(proc,), daemon=True,
                         name=f"{self.name}-reader").start()
        threading.Thread(target=self._stderr_loop, args=(proc,), daemon=True,
                         name=f"{self.name}-stderr").start()

    def stop(self) -> None:
        with self._lock:
            self._running = False
            proc, self._proc = self._proc, None
            subs = list(self._subs)
        if proc is not None:
            try:
                proc.stdin.close()
            except OSError:
                pass
            try:
                proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for sub in subs:
            sub.close()

    @property
    def pid(self) -> int | None:
        proc = self._proc
        return proc.pid if proc is not None else None

    def push(self, frame: np.ndarray, capture: float | None = None) -> bool:
        """Encode one BGR frame of this encoder's size; False if it could not be written.

        A dead encoder is restarted (at most once a second) so a camera heals by itself.
        """
        if frame.shape != (self.height, self.width, 3) or frame.dtype != np.uint8:
            raise ValueError(f"{self.name}: expected {self.width}x{self.height} BGR uint8 frame, "
                             f"got {frame.shape} {frame.dtype}")
        with self._lock:
            if not self._running:
                return False
            proc = self._proc
            if proc is None or proc.poll() is not None:
                if time.monotonic() - self._last_start < 1.0:
                    return False
                log.warning("%s: encoder exited (%s); restarting: %s", self.name,
                            proc.returncode if proc else None, " | ".join(self._stderr_tail))
                self.restarts += 1
                self._spawn_locked()
                proc = self._proc
            self._captures.append(time.monotonic() if capture is None else capture)
        if self.input_pix_fmt == "yuv420p":
            frame = cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420)
        data = memoryview(np.ascontiguousarray(frame)).cast("B")
        fd = proc.stdin.fileno()
        try:
            while data:
                n = os.write(fd, data)
                data = data[n:]
        except (BrokenPipeError, OSError, ValueError):
            return False
        self.frames_in += 1
        return True

    def _read_loop(self, proc: subprocess.Popen) -> None:
        splitter = AnnexBSplitter()
        fd = proc.stdout.fileno()
        while True:
            try:
                chunk = os.read(fd, 1 << 16)
            except OSError:
                break
            if not chunk:
                break
            for nals in splitter.feed(chunk):
                self._publish(proc, nals)
        last = splitter.flush()
        if last:
            self._publish(proc, last)
        proc.stdout.close()

    def _stderr_loop(self, proc: subprocess.Popen) -> None:
        for line in proc.stderr:
            self._stderr_tail.append(line.decode("utf-8", "replace").rstrip())
        proc.stderr.close()

    def _publish(self, proc: subprocess.Popen, nals: list[bytes]) -> None:
        with self._lock:
            if proc is not self._proc:
                return  # output of a process being replaced
            capture = self._captures.popleft() if self._captures else time.monotonic()
            sps = next((n for n in nals if nal_type(n) == NAL_SPS), None)
            pps = next((n for n in nals if nal_type(n) == NAL_PPS), None)
            if sps and pps:
                self._params = (sps, pps)
                self._params_ready.notify_all()
            subs = list(self._subs)
        unit = AccessUnit(tuple(nals), capture, any(nal_type(n) == NAL_IDR for n in nals))
        self.frames_out += 1
        for sub in subs:
            sub.offer(unit)

    # -- consumers -------------------------------------------------------------------------
    @property
    def parameter_sets(self) -> tuple[bytes, bytes] | None:
        """The latest (SPS, PPS), once the encoder has produced a keyframe."""
        return self._params

    def wait_parameter_sets(self, timeout: float) -> tuple[bytes, bytes] | None:
        with self._lock:
            if self._params is None:
                self._params_ready.wait_for(lambda: self._params is not None, timeout)
            return self._params

    def subscribe(self, max_seconds: float = 2.0) -> Subscription:
        """A new queue that receives access units from the next keyframe on."""
        sub = Subscription(self, int(max_seconds * self.fps) + 1)
        with self._lock:
            self._subs.add(sub)
        return sub

    def _unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            self._subs.discard(sub)

    @property
    def subscriber_count(self) -> int:
        with self._lock:
            return len(self._subs)
