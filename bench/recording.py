"""CPU per recorded stream: SiteGuard's recorder next to plain `ffmpeg -c copy` of the same stream.

    .venv/bin/python -m bench.recording [--seconds 60] [--segment-seconds 10]

One simulated camera serves its main stream over RTSP. Two recorders run side by side on it for
the same wall time: SiteGuard's (ffmpeg segmenter, ffprobe check of every segment, hashing and
indexing into the segment store) in a child process, and a plain `ffmpeg -c copy` into one MP4.
Each one's CPU seconds (user + system, children included) is divided by the wall time.
The last line prints the figures, e.g.
    recording: seconds=60 siteguard_cpu_pct=0.9 ffmpeg_copy_cpu_pct=0.5 streams_per_core=110 ...
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from tests.conftest import DEMO_SITE, free_port


def worker(uri: str, seconds: float, segment_seconds: int, out: Path) -> None:
    """Child process: run the real recorder and store for `seconds`, then print CPU used."""
    from camera.recorder import SegmentRecorder
    from retention.policy import RetentionPolicy
    from retention.segments import SegmentIndex, SegmentStore

    out.mkdir(parents=True, exist_ok=True)
    clock = lambda: dt.datetime.now(dt.timezone.utc)  # noqa: E731
    store = SegmentStore(out / "store", SegmentIndex(out / "segments.db"), RetentionPolicy(), clock)
    count = [0]

    def on_segment(seg) -> None:
        if seg.probe.ok:
            store.ingest("cam-01", seg.start, seg.end, seg.path)
            count[0] += 1

    def used() -> float:
        a, b = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime

    rec = SegmentRecorder("cam-01", uri, out / "incoming", segment_seconds, on_segment)
    before = used()  # interpreter start and imports are not recording work
    rec.start()
    time.sleep(seconds)
    rec.stop()
    print(f"{used() - before:.4f} {count[0]}", flush=True)


def small_site(tmp: Path) -> Path:
    doc = yaml.safe_load(DEMO_SITE.read_text())
    doc["cameras"] = doc["cameras"][:1]
    for area in doc.get("areas") or []:  # its floor plan names cameras left out here
        area.pop("floor_plan", None)
    doc["cameras"][0]["onvif_port"] = free_port()
    doc["seats"] = [s for s in doc["seats"] if s["views"][0]["camera"] == "cam-01"]
    path = tmp / "site.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--segment-seconds", type=int, default=10)
    ap.add_argument("--worker", nargs=2, metavar=("URI", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args.worker[0], args.seconds, args.segment_seconds, Path(args.worker[1]))
        return

    from simulators.camera.fleet import CameraFleet

    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        fleet = CameraFleet(str(small_site(tmp)), rtsp_port_offset=-10000, discovery=False)
        fleet.start()
        try:
            cam = fleet.cameras["cam-01"]
            uri = cam.rtsp_url("main").replace("rtsp://", "rtsp://admin:demo-camera@", 1)
            print(f"recording {uri.split('@')[1]} for {args.seconds:.0f} s with both recorders …",
                  file=sys.stderr, flush=True)
            ours = subprocess.Popen([sys.executable, "-m", "bench.recording", "--seconds", str(args.seconds),
                                     "--segment-seconds", str(args.segment_seconds), "--worker", uri, str(tmp / "ours")],
                                    stdout=subprocess.PIPE, text=True)
            t0 = time.monotonic()
            plain = subprocess.Popen(["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin",
                                      "-rtsp_transport", "tcp", "-i", uri, "-c", "copy",
                                      "-t", str(args.seconds), "-y", str(tmp / "plain.mp4")])
            _, status, ru = os.wait4(plain.pid, 0)
            plain_wall = time.monotonic() - t0
            plain_cpu = ru.ru_utime + ru.ru_stime
            out, _ = ours.communicate(timeout=args.seconds + 60)
            ours_cpu, segments = out.split()
        finally:
            fleet.stop()
    ours_pct = float(ours_cpu) / args.seconds * 100
    plain_pct = plain_cpu / plain_wall * 100
    print(f"  siteguard recorder: {float(ours_cpu):.2f} CPU-s over {args.seconds:.0f} s, "
          f"{segments} segments; plain ffmpeg: {plain_cpu:.2f} CPU-s over {plain_wall:.0f} s",
          file=sys.stderr)
    print(f"recording: seconds={args.seconds:.0f} segment_seconds={args.segment_seconds} "
          f"siteguard_cpu_pct={ours_pct:.2f} ffmpeg_copy_cpu_pct={plain_pct:.2f} "
          f"overhead_x={ours_pct / max(plain_pct, 1e-9):.2f} streams_per_core={100 / max(ours_pct, 1e-9):.0f}")


if __name__ == "__main__":
    main()
