"""Where each simulated camera hangs and where it looks: a pinhole camera over the floor plan.

The site file gives a camera's floor position (``location``); the simulator mounts it at
``HEIGHT_M``, tilted ``TILT_DEG`` down, turned towards the seats it watches (or the gate whose lane
it watches, or the middle of its area). From that pose it knows, exactly, which floor point each
pixel shows and which floor its frame covers: the truth a calibration is checked against.

Written on its own (numpy only), sharing nothing with the product's floor geometry.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

HEIGHT_M = 3.0
TILT_DEG = 60.0
HFOV_DEG = 100.0


@dataclass(frozen=True)
class Pose:
    camera_id: str
    x: float
    y: float
    height: float
    yaw_deg: float     # the floor direction the camera faces, counter-clockwise from +x
    tilt_deg: float    # below the horizontal
    hfov_deg: float
    width: int
    height_px: int

    def _axes(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        yaw, tilt = math.radians(self.yaw_deg), math.radians(self.tilt_deg)
        forward = np.array([math.cos(yaw) * math.cos(tilt), math.sin(yaw) * math.cos(tilt), -math.sin(tilt)])
        right = np.array([math.sin(yaw), -math.cos(yaw), 0.0])
        down = np.cross(forward, right)
        return forward, right, down

    @property
    def focal_px(self) -> float:
        return (self.width / 2) / math.tan(math.radians(self.hfov_deg) / 2)

    def pixel_of(self, fx: float, fy: float) -> tuple[float, float] | None:
        """The pixel showing floor point (fx, fy), or None when it is behind the camera."""
        forward, right, down = self._axes()
        v = np.array([fx - self.x, fy - self.y, -self.height])
        z = float(v @ forward)
        if z <= 1e-6:
            return None
        f = self.focal_px
        return self.width / 2 + f * float(v @ right) / z, self.height_px / 2 + f * float(v @ down) / z

    def floor_of(self, u: float, v: float) -> tuple[float, float] | None:
        """The floor point pixel (u, v) shows, or None when the pixel looks at or above the horizon."""
        forward, right, down = self._axes()
        f = self.focal_px
        ray = forward + ((u - self.width / 2) / f) * right + ((v - self.height_px / 2) / f) * down
        if ray[2] >= -1e-9:
            return None
        t = self.height / -ray[2]
        return self.x + t * float(ray[0]), self.y + t * float(ray[1])

    def footprint(self) -> list[tuple[float, float]]:
        """The frame's four corners on the floor (the whole frame must look down at the floor)."""
        corners = [(0, 0), (self.width, 0), (self.width, self.height_px), (0, self.height_px)]
        out = [self.floor_of(u, v) for u, v in corners]
        if any(p is None for p in out):
            raise ValueError(f"camera {self.camera_id}: the frame reaches above the horizon")
        return out  # type: ignore[return-value]

    def footprint_area(self) -> float:
        pts = self.footprint()
        return abs(sum(pts[i][0] * pts[(i + 1) % 4][1] - pts[(i + 1) % 4][0] * pts[i][1] for i in range(4))) / 2


def _point(p) -> tuple[float, float] | None:
    if isinstance(p, dict) and isinstance(p.get("x"), (int, float)) and isinstance(p.get("y"), (int, float)):
        return float(p["x"]), float(p["y"])
    return None


def poses(site: dict) -> dict[str, Pose]:
    """Every camera that has a ``location``, posed; the rest are not on any plan."""
    seats_of: dict[str, list[tuple[float, float]]] = {}
    for seat in site.get("seats") or []:
        pos = _point(seat.get("position")) if isinstance(seat, dict) else None
        for view in (seat.get("views") or []) if pos else []:
            if isinstance(view, dict):
                seats_of.setdefault(view.get("camera"), []).append(pos)
    for gate in site.get("gates") or []:
        if isinstance(gate, dict) and (pos := _point(gate.get("position"))) and gate.get("camera"):
            seats_of.setdefault(gate["camera"], []).append(pos)
    out = {}
    for cam in site.get("cameras") or []:
        here = _point(cam.get("location")) if isinstance(cam, dict) else None
        if here is None:
            continue
        targets = seats_of.get(cam["id"]) or []
        tx, ty = (sum(p[0] for p in targets) / len(targets), sum(p[1] for p in targets) / len(targets)) \
            if targets else (here[0] + 1.0, here[1])
        w, h = cam.get("resolution") or [1280, 720]
        out[cam["id"]] = Pose(cam["id"], here[0], here[1], HEIGHT_M,
                              math.degrees(math.atan2(ty - here[1], tx - here[0])), TILT_DEG, HFOV_DEG,
                              int(w), int(h))
    return out


def calibration_pairs(pose: Pose, floor_points: list[tuple[float, float]], margin_px: float = 20.0,
                      ) -> list[tuple[tuple[int, int], tuple[float, float]]]:
    """(pixel, floor point) for each floor point the camera shows inside its frame, the pixel
    rounded as a click would be."""
    out = []
    for fx, fy in floor_points:
        px = pose.pixel_of(fx, fy)
        if px and margin_px <= px[0] <= pose.width - margin_px and margin_px <= px[1] <= pose.height_px - margin_px:
            out.append(((int(round(px[0])), int(round(px[1]))), (fx, fy)))
    return out
