"""Recording one camera's main stream into fixed-length MP4 segments by stream copy.

FFmpeg does the work (no re-encode); this module starts it, watches it and hands over each
finished segment after ffprobe has checked it. Segments are fragmented MP4 so a segment cut short
by a crash or power loss stays playable up to its last fragment. A recorder that stops
producing (camera stalled, network gone) is restarted with backoff.
"""
from __future__ import annotations

import ctypes
import datetime as dt
import json
import logging
import os
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from camera.onvif_client import redact

log = logging.getLogger("siteguard.camera.recorder")

NAME_FORMAT = "%Y%m%dT%H%M%SZ"


@dataclass(frozen=True)
class ProbeResult:
    ok: bool
    codec: str = ""
    width: int = 0
    height: int = 0
    duration_s: float = 0.0
    frames: int = 0
    error: str = ""


@dataclass(frozen=True)
class FinishedSegment:
    camera: str
    path: Path
    start: dt.datetime
    end: dt.datetime
    bytes: int
    probe: ProbeResult


def ffprobe(path: str | Path, timeout: float = 30) -> ProbeResult:
    """Read a media file's first video stream; any failure is a result, not an exception."""
    cmd = ["ffprobe", "-v", "error", "-select_streams", "v:0", "-count_packets",
           "-show_entries", "stream=codec_name,width,height,nb_read_packets:format=duration",
           "-of", "json", str(path)]
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return ProbeResult(False, error=f"ffprobe did not run: {exc}")
    if res.returncode != 0:
        return ProbeResult(False, error=res.stderr.strip()[-300:] or f"ffprobe exit {res.returncode}")
    try:
        doc = json.loads(res.stdout)
        stream = doc["streams"][0]
        duration = float(doc.get("format", {}).get("duration") or 0)
        frames = int(stream.get("nb_read_packets") or 0)
        result = ProbeResult(True, stream.get("codec_name", ""), int(stream.get("width") or 0),
                             int(stream.get("height") or 0), duration, frames)
    except (ValueError, KeyError, IndexError) as exc:
        return ProbeResult(False, error=f"unreadable ffprobe output: {exc}")
    if result.frames == 0 or result.duration_s <= 0:
        return ProbeResult(False, result.codec, result.width, result.height, result.duration_s,
                           result.frames, "no video frames")
    return result


def segment_command(uri: str, out_dir: Path, segment_seconds: int) -> list[str]:
    return [
        "ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "warning",
        "-rtsp_transport", "tcp", "-timeout", "5000000",  # socket I/O timeout: a stall ends ffmpeg
        "-use_wallclock_as_timestamps", "1", "-fflags", "+genpts+discardcorrupt",
        "-i", uri, "-map", "0:v:0", "-c", "copy",
        "-f", "segment", "-segment_time", str(segment_seconds), "-segment_format", "mp4",
        "-segment_format_options", "movflags=+frag_keyframe+empty_moov+default_base_moof",
        "-reset_timestamps", "1", "-strftime", "1",
        "-segment_list", str(out_dir / "segments.csv"), "-segment_list_type", "csv",
        str(out_dir / f"{NAME_FORMAT}.mp4"),
    ]


_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the ffmpeg child before exec: killed when the recorder's thread is gone. An edge killed
    outright (power cut aside: kill -9, OOM) must not leave a segmenter writing into the folder
    the next edge records into; the half-written segment is collected at the next start."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the orphan lives on, as before
        pass


def start_from_name(path: Path) -> dt.datetime | None:
    try:
        return dt.datetime.strptime(path.stem, NAME_FORMAT).replace(tzinfo=dt.timezone.utc)
    except ValueError:
        return None


class SegmentRecorder:
    """Keeps one ffmpeg segmenter running for one camera and reports finished segments."""

    def __init__(self, camera: str, uri: str, work_dir: Path, segment_seconds: int,
                 on_segment: Callable[[FinishedSegment], None],
                 on_state: Callable[[str, str], None] = lambda state, detail: None,
                 stall_after_s: float | None = None) -> None:
        self.camera, self.uri, self.segment_seconds = camera, uri, segment_seconds
        self.work_dir = Path(work_dir)
        self.on_segment, self.on_state = on_segment, on_state
        self.stall_after_s = stall_after_s or max(30.0, segment_seconds * 3.0)
        self._halt = threading.Event()
        self._thread: threading.Thread | None = None
        self._proc: subprocess.Popen | None = None
        self._seen: set[str] = set()
        self.state = "stopped"
        self.restarts = 0
        self.last_error = ""

    def start(self) -> None:
        if shutil.which("ffmpeg") is None:
            raise RuntimeError("ffmpeg is not installed (scripts/setup.sh installs it)")
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self._halt.clear()
        self._thread = threading.Thread(target=self._run, name=f"rec-{self.camera}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 15) -> None:
        self._halt.set()
        if self._thread:
            self._thread.join(timeout)

    def _set_state(self, state: str, detail: str = "") -> None:
        if state != self.state:
            self.state = state
            self.on_state(state, detail)

    def _run(self) -> None:
        backoff = 1.0
        self._collect(final=True)  # segments left by a previous run (crash, power loss)
        while not self._halt.is_set():
            started = time.monotonic()
            self._spawn()
            self._watch()
            self._collect(final=True)
            if self._halt.is_set():
                break
            self.restarts += 1
            ran = time.monotonic() - started
            backoff = 1.0 if ran > 60 else min(backoff * 2, 30.0)
            self._set_state("reconnecting", self.last_error)
            log.warning("%s: recorder restarting in %.0f s (%s)", self.camera, backoff, self.last_error)
            self._halt.wait(backoff)
        self._set_state("stopped")

    def _spawn(self) -> None:
        cmd = segment_command(self.uri, self.work_dir, self.segment_seconds)
        log.info("%s: recording %s", self.camera, redact(self.uri))
        self._proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.PIPE, env={**os.environ, "TZ": "UTC"},
                                      preexec_fn=_die_with_parent)
        self._stderr: list[str] = []
        threading.Thread(target=self._read_stderr, args=(self._proc,), daemon=True).start()

    def _read_stderr(self, proc: subprocess.Popen) -> None:
        for line in proc.stderr:  # type: ignore[union-attr]
            text = line.decode(errors="replace").strip().replace(self.uri, redact(self.uri))
            if text:
                self._stderr = (self._stderr + [text])[-20:]

    def _watch(self) -> None:
        proc = self._proc
        assert proc is not None
        last_growth, last_mark = time.monotonic(), None
        while not self._halt.wait(0.5):
            self._collect(final=False)
            if proc.poll() is not None:
                # ffmpeg's last line is the reason it stopped (earlier ones are warnings)
                self.last_error = (self._stderr[-1] if self._stderr else "") or f"ffmpeg exited {proc.returncode}"
                return
            mark = self._progress_mark()
            if mark != last_mark:
                last_mark, last_growth = mark, time.monotonic()
                if mark is not None:
                    self._set_state("recording")
            elif time.monotonic() - last_growth > self.stall_after_s:
                self.last_error = f"no data for {self.stall_after_s:.0f} s"
                self._set_state("stalled", self.last_error)
                break
        self._terminate(proc)

    def _terminate(self, proc: subprocess.Popen) -> None:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)  # lets ffmpeg close the current segment properly
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)

    def _progress_mark(self) -> tuple[str, int] | None:
        """(newest file, its size): changes whenever ffmpeg writes or starts a segment.

        The segment muxer may hold a whole segment in memory, so a new file counts as much as
        a growing one."""
        files = sorted(self.work_dir.glob("*.mp4"))
        if not files:
            return None
        try:
            return files[-1].name, files[-1].stat().st_size
        except FileNotFoundError:
            return None

    def _collect(self, final: bool) -> None:
        """Hand over every finished segment: all but the newest file, or all when ffmpeg is gone."""
        files = sorted(p for p in self.work_dir.glob("*.mp4") if p.name not in self._seen)
        if not final:
            files = files[:-1]
        for path in files:
            self._seen.add(path.name)
            self._finish(path)

    def _finish(self, path: Path) -> None:
        start = start_from_name(path)
        size = path.stat().st_size if path.exists() else 0
        probe = ffprobe(path) if size else ProbeResult(False, error="empty file")
        if start is None:
            probe = ProbeResult(False, error=f"unexpected file name {path.name}")
            start = dt.datetime.now(dt.timezone.utc)
        end = start + dt.timedelta(seconds=probe.duration_s)
        try:
            self.on_segment(FinishedSegment(self.camera, path, start, end, size, probe))
        except Exception:  # keep recording; the file stays in the work dir for the next sweep
            log.exception("%s: handling segment %s failed", self.camera, path.name)
            self._seen.discard(path.name)
