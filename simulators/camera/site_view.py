"""What the camera simulator needs from a site file: cameras and the seats each one sees.

The site file is read as plain YAML on purpose: a simulator that shared the project's own
parser would hide the very schema mistakes the real product has to catch.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from simulators.site_file import read_site


@dataclass(frozen=True)
class SeatView:
    """One seat as one camera sees it; polygons are (N, 2) int32 pixel points."""

    seat_id: str
    customer: str
    seat: np.ndarray
    screen: np.ndarray


def load_site(path: str | Path) -> dict:
    """Read a site file; raise ValueError naming the file when it is unusable."""
    path = Path(path)
    site = read_site(path)
    cameras = site.get("cameras", [])
    if not isinstance(cameras, list) or not all(isinstance(c, dict) for c in cameras):
        raise ValueError(f"{path}: 'cameras' must be a list of mappings")
    for i, cam in enumerate(cameras):
        _check_camera(path, i, cam)
    seats = site.get("seats", [])
    if not isinstance(seats, list) or not all(isinstance(s, dict) for s in seats):
        raise ValueError(f"{path}: 'seats' must be a list of mappings")
    return site


def _check_camera(path: Path, index: int, cam: dict) -> None:
    where = f"{path}: cameras[{index}]"
    if not isinstance(cam.get("id"), str) or not cam["id"]:
        raise ValueError(f"{where}: 'id' must be a non-empty string")
    res = cam.get("resolution", [1280, 720])
    if (not isinstance(res, (list, tuple)) or len(res) != 2
            or not all(isinstance(v, int) and 16 <= v <= 8192 for v in res)):
        raise ValueError(f"{where} ({cam['id']}): 'resolution' must be [width, height] in pixels")


def camera_entries(site: dict) -> list[dict]:
    """The camera mappings, with the resolution defaulted so the scene always has a size."""
    out = []
    for cam in site.get("cameras") or []:
        entry = dict(cam)
        entry.setdefault("resolution", [1280, 720])
        entry.setdefault("name", entry.get("id", ""))
        out.append(entry)
    return out


def _polygon(points, what: str) -> np.ndarray:
    try:
        arr = np.asarray(points, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what}: polygon must be a list of [x, y] points") from exc
    if arr.ndim != 2 or arr.shape[1] != 2 or arr.shape[0] < 3:
        raise ValueError(f"{what}: polygon must be at least three [x, y] points")
    return np.round(arr).astype(np.int32)


def seat_views(site: dict, camera_id: str) -> list[SeatView]:
    """Every seat view that names this camera, in site-file order."""
    views = []
    for seat in site.get("seats") or []:
        for view in seat.get("views") or []:
            if not isinstance(view, dict) or view.get("camera") != camera_id:
                continue
            seat_id = str(seat.get("id", "?"))
            where = f"seat {seat_id} on {camera_id}"
            views.append(SeatView(
                seat_id=seat_id,
                customer=str(seat.get("customer", "")),
                seat=_polygon(view.get("seat"), f"{where} seat"),
                screen=_polygon(view.get("screen"), f"{where} screen"),
            ))
    return views


def gate_lanes(site: dict, camera_id: str) -> list[np.ndarray]:
    """The lanes of the gates this camera watches (gates with ``camera`` and ``lane``)."""
    lanes = []
    for gate in site.get("gates") or []:
        if isinstance(gate, dict) and gate.get("camera") == camera_id and gate.get("lane") is not None:
            lanes.append(_polygon(gate["lane"], f"gate {gate.get('id', '?')} lane"))
    return lanes
