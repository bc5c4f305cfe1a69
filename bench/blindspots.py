"""Time to recompute the blind area of a large floor: 200 calibrated cameras over a hall with
pillars, cabinets and partitions.

    .venv/bin/python -m bench.blindspots [--cameras 200] [--repeat 15] [--seed 7]

The site is synthetic: a hall 10 m deep per two rows of cameras that face each other from its
long walls, a camera every 3 m, a pillar every 6 m down the middle, a cabinet per bay and a
partition every 24 m. Each camera is posed by the camera simulator's pinhole model and calibrated
from six clicked point pairs (within 1.5 px), as an officer would. Timed, median of --repeat runs:

- recompute_ms: everything from the calibrations: every footprint (frame on the floor, shadows of
  walls and occluders cut out) and the blind area against the work area (what a new site file or
  calibration costs);
- state_change_ms: one camera goes offline with footprints cached: blind area and patches (what
  each camera state change costs the controller);
- exclusive_ms: every camera's exclusive patch (the floor only it sees), as the page shows them.

The last line prints the figures, e.g.
    blindspots: cameras=200 recompute_ms=95.0 state_change_ms=25.0 exclusive_ms=300.0 ...
The machine's load shows in these figures: the min of the runs is printed beside the median.
"""
from __future__ import annotations

import argparse
import random
import statistics
import time

from camera import floor_coverage as fc
from simulators.camera.placement import Pose, calibration_pairs

SPACING_M = 3.0
DEPTH_M = 10.0


def synthetic_site(cameras: int, seed: int):
    """(floor, [(camera id, calibration matrix, resolution, position)])."""
    rng = random.Random(seed)
    per_row = 20
    bays = (cameras + 2 * per_row - 1) // (2 * per_row)  # each bay: two facing rows of per_row cameras
    length = per_row * SPACING_M
    outline = [(0, 0), (length, 0), (length, bays * DEPTH_M), (0, bays * DEPTH_M)]
    occluders, walls = [], []
    for b in range(bays):
        mid = b * DEPTH_M + DEPTH_M / 2
        for k in range(int(length // 6)):
            x = 3 + 6 * k
            occluders.append([(x - 0.2, mid - 0.2), (x + 0.2, mid - 0.2), (x + 0.2, mid + 0.2), (x - 0.2, mid + 0.2)])
        cx = rng.uniform(5, length - 5)
        occluders.append([(cx, b * DEPTH_M + 0.1), (cx + 1.2, b * DEPTH_M + 0.1), (cx + 1.2, b * DEPTH_M + 0.6),
                          (cx, b * DEPTH_M + 0.6)])
        for k in range(1, int(length // 24) + 1):
            walls.append([(24 * k, mid - 1.5), (24 * k, mid + 1.5)])
        if b:
            walls.append([(0, b * DEPTH_M), (length * 0.4, b * DEPTH_M)])  # bays part along a wall
    floor = fc.Floor.of(outline, walls, occluders)
    cams = []
    for i in range(cameras):
        bay, rest = divmod(i, 2 * per_row)
        row, k = divmod(rest, per_row)
        x = SPACING_M / 2 + k * SPACING_M
        y = bay * DEPTH_M + (0.0 if row == 0 else DEPTH_M)
        pose = Pose(f"cam-{i:03d}", x, y, 3.0, 90.0 if row == 0 else -90.0, 60.0, 100.0, 1280, 720)
        grid = [(x + dx, y + dy) for dx in range(-8, 9) for dy in range(-10, 11)]
        pairs = calibration_pairs(pose, grid, margin_px=40)
        picked = rng.sample(pairs, 6)
        clicks = [((u + rng.uniform(-1.5, 1.5), v + rng.uniform(-1.5, 1.5)), f) for (u, v), f in picked]
        cams.append((pose.camera_id, fc.calibrate(clicks).matrix, (1280, 720), (x, y)))
    return floor, cams


def footprints(floor, cams):
    return {cid: fc.footprint(floor, m, size, pos) for cid, m, size, pos in cams}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cameras", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)
    floor, cams = synthetic_site(args.cameras, args.seed)
    ids = [c[0] for c in cams]

    full, change, excl = [], [], []
    cov = None
    for r in range(args.repeat):
        t0 = time.perf_counter()
        fps = footprints(floor, cams)
        cov = fc.coverage(floor, fps, ids)
        full.append((time.perf_counter() - t0) * 1000)
        down = ids[r % len(ids)]
        live = [c for c in ids if c != down]
        t0 = time.perf_counter()
        fc.coverage(floor, fps, live)
        change.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        fc.exclusive_patches(fps, live)
        excl.append((time.perf_counter() - t0) * 1000)
    fps = footprints(floor, cams)
    exclusive = fc.exclusive_patches(fps, ids)
    alone = sum(1 for g in exclusive.values() if g.area > fc.DEFAULT_MAX_BLIND_M2)
    print(f"site: {len(cams)} cameras, {len(floor.obstacles.geometries)} walls and occluders, "
          f"work area {cov.work_area_m2:.0f} m2; {alone} cameras alone on more than "
          f"{fc.DEFAULT_MAX_BLIND_M2} m2")
    print(f"recompute ms: min {min(full):.1f} median {statistics.median(full):.1f} max {max(full):.1f}")
    print(f"state change ms: min {min(change):.1f} median {statistics.median(change):.1f} max {max(change):.1f}")
    print(f"exclusive patches ms: min {min(excl):.1f} median {statistics.median(excl):.1f} max {max(excl):.1f}")
    print(f"blindspots: cameras={len(cams)} recompute_ms={statistics.median(full):.1f} "
          f"recompute_min_ms={min(full):.1f} state_change_ms={statistics.median(change):.1f} "
          f"exclusive_ms={statistics.median(excl):.1f} work_area_m2={cov.work_area_m2:.0f} "
          f"blind_m2={cov.blind_m2:.2f} patches={len(cov.blind_patches)}")


if __name__ == "__main__":
    main()
