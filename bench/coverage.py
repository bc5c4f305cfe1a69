"""The seat detector on held-out simulator scenes: precision and recall per class, time per
frame, and how many cameras one CPU core can check at the configured interval.

    .venv/bin/python -m bench.coverage [--images 300] [--seed 9001] [--interval 10]

The held-out scenes are rendered like the training set (``simulators.camera.training``) but
from a seed the training never used. A detection matches a true box of its class at IoU >= 0.5,
each true box at most once. Timing runs OpenCV with one thread, so a figure is per core: one
camera's round is the detector on its sub-stream frame plus the focus measure of each seat it
sees (two here, as on the demo site). The last line prints the figures, e.g.
    coverage: images=300 person_precision=0.99 person_recall=0.98 screen_precision=... infer_ms_p50=9.1 ...
"""
from __future__ import annotations

import argparse
import random
import statistics
import time

import cv2
import numpy as np

from camera.coverage import zone_sharpness
from camera.detector import OnnxDetector, config_for
from simulators.camera.training import NAMES, random_sample


def iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def match(truth: list[tuple[float, ...]], found: list[tuple[float, ...]], threshold: float = 0.5) -> int:
    """True positives: detections (best score first) each taking the best unused true box."""
    used: set[int] = set()
    hits = 0
    for box in found:
        best, best_iou = None, threshold
        for i, t in enumerate(truth):
            if i not in used and (v := iou(box, t)) >= best_iou:
                best, best_iou = i, v
        if best is not None:
            used.add(best)
            hits += 1
    return hits


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", type=int, default=300)
    ap.add_argument("--seed", type=int, default=9001, help="held out: training uses seed 7")
    ap.add_argument("--interval", type=float, default=10.0, help="seconds between coverage rounds")
    ap.add_argument("--weights", default="builtin")
    args = ap.parse_args(argv)

    cv2.setNumThreads(1)
    detector = OnnxDetector(config_for(args.weights))
    rng = random.Random(args.seed)
    counts = {n: {"truth": 0, "found": 0, "hits": 0} for n in NAMES}
    infer_ms, focus_ms = [], []
    started = time.monotonic()
    for i in range(args.images):
        frame, labels = random_sample(rng)
        t0 = time.perf_counter()
        boxes = detector.detect(frame)
        infer_ms.append((time.perf_counter() - t0) * 1000)
        h, w = frame.shape[:2]
        zones = [[(w * 0.2, h * 0.3), (w * 0.4, h * 0.3), (w * 0.4, h * 0.55), (w * 0.2, h * 0.55)],
                 [(w * 0.6, h * 0.3), (w * 0.8, h * 0.3), (w * 0.8, h * 0.55), (w * 0.6, h * 0.55)]]
        t0 = time.perf_counter()
        gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        for z in zones:
            zone_sharpness(gray, z)
        focus_ms.append((time.perf_counter() - t0) * 1000)
        for name in NAMES:
            truth = [b for lb, b in labels if lb == name]
            found = [(b.x1, b.y1, b.x2, b.y2) for b in boxes if b.label == name]
            c = counts[name]
            c["truth"] += len(truth)
            c["found"] += len(found)
            c["hits"] += match(truth, found)
        if (i + 1) % 50 == 0:
            print(f"  {i + 1}/{args.images} scenes ({time.monotonic() - started:.0f} s)", flush=True)

    figures = [f"images={args.images}"]
    for name in NAMES:
        c = counts[name]
        precision = c["hits"] / c["found"] if c["found"] else 1.0
        recall = c["hits"] / c["truth"] if c["truth"] else 1.0
        print(f"{name:7s} true={c['truth']} detected={c['found']} matched={c['hits']} "
              f"precision={precision:.3f} recall={recall:.3f}")
        figures += [f"{name}_precision={precision:.3f}", f"{name}_recall={recall:.3f}"]
    p50 = statistics.median(infer_ms)
    p99 = float(np.percentile(infer_ms, 99))
    round_ms = p50 + statistics.median(focus_ms)
    per_core = int(args.interval * 1000 / round_ms)
    figures += [f"infer_ms_p50={p50:.1f}", f"infer_ms_p99={p99:.1f}", f"camera_round_ms={round_ms:.1f}",
                f"interval_s={args.interval:g}", f"cameras_per_core={per_core}"]
    print("coverage: " + " ".join(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
