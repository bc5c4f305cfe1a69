"""Whether the whole work area is under video: camera footprints on the floor and the blind area.

Pure, no I/O. A camera's calibration is a homography between its image pixels and the floor
plane in metres, fitted to four or more point pairs (OpenCV). Its footprint is the part of its
frame that lies below the horizon, mapped onto the floor, minus what walls and tall furniture
(occluders) hide from the camera's floor position, and clipped to the work area. The union of
the live cameras' footprints against the work area gives the blind area, patch by patch; a
camera's exclusive patch is what only it sees, the floor that goes blind when it fails.

Lengths are metres, areas square metres, image points pixels of the camera's main stream.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import cv2
import numpy as np
import shapely
from shapely.geometry import LineString, Polygon
from shapely.geometry.base import BaseGeometry

Point = tuple[float, float]
PointPair = tuple[Point, Point]  # (image pixel, floor metres)

MIN_PAIRS = 4
DEFAULT_MAX_BLIND_M2 = 0.5
# Image rows whose floor point is further than this many times the nearest frame corner's are
# treated as the horizon: the floor there is too far away to be watched.
HORIZON_RANGE_RATIO = 25.0
# Patches thinner than this (numeric slivers between footprints that touch) are no blind spot.
SLIVER_M = 0.01


class CalibrationError(ValueError):
    """Point pairs that give no usable homography; the message says why."""


@dataclass(frozen=True)
class Calibration:
    """Image pixels to floor metres: ``homography`` (row-major 3x3) and how well it fits."""

    homography: tuple[tuple[float, float, float], ...]
    rms_m: float  # the pairs' floor points against their image points mapped, root mean square
    pairs: int

    @property
    def matrix(self) -> np.ndarray:
        return np.asarray(self.homography, dtype=np.float64)


def _not_collinear(points: np.ndarray, tolerance: float) -> bool:
    centred = points - points.mean(axis=0)
    # The smaller singular value is the spread across the best-fit line.
    return bool(np.linalg.svd(centred, compute_uv=False)[-1] > tolerance)


def calibrate(pairs: Sequence[PointPair]) -> Calibration:
    """Fit the homography from (image point, floor point) pairs; CalibrationError when unusable."""
    if len(pairs) < MIN_PAIRS:
        raise CalibrationError(f"a calibration needs at least {MIN_PAIRS} point pairs, got {len(pairs)}")
    try:
        image = np.array([p[0] for p in pairs], dtype=np.float64).reshape(-1, 2)
        floor = np.array([p[1] for p in pairs], dtype=np.float64).reshape(-1, 2)
    except (TypeError, ValueError):
        raise CalibrationError("each pair must be [[u, v], [x, y]]") from None
    if not (np.isfinite(image).all() and np.isfinite(floor).all()):
        raise CalibrationError("points must be finite numbers")
    if not _not_collinear(image, 1.0):
        raise CalibrationError("the image points lie on one line; spread them over the floor in view")
    if not _not_collinear(floor, 0.05):
        raise CalibrationError("the floor points lie on one line; spread them over the floor in view")
    matrix, _ = cv2.findHomography(image, floor, 0)
    if matrix is None or not np.isfinite(matrix).all() or abs(np.linalg.det(matrix)) < 1e-12:
        raise CalibrationError("the point pairs give no homography; check that each image point matches its floor point")
    w = matrix[2] @ np.vstack([image.T, np.ones(len(image))])
    if np.all(w < 0):
        matrix = -matrix
        w = -w
    if not np.all(w > 0):
        raise CalibrationError("the pairs do not fit one floor plane; check that each image point matches its floor point")
    mapped = image_to_floor(matrix, image)
    rms = float(np.sqrt(np.mean(np.sum((mapped - floor) ** 2, axis=1))))
    matrix = matrix / matrix[2, 2] if abs(matrix[2, 2]) > 1e-12 else matrix
    return Calibration(tuple(tuple(float(v) for v in row) for row in matrix), rms, len(pairs))


def image_to_floor(matrix: np.ndarray, points: np.ndarray | Sequence[Point]) -> np.ndarray:
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    h = np.asarray(matrix, dtype=np.float64) @ np.vstack([pts.T, np.ones(len(pts))])
    return (h[:2] / h[2]).T


def floor_to_image(matrix: np.ndarray, points: np.ndarray | Sequence[Point]) -> np.ndarray:
    return image_to_floor(np.linalg.inv(np.asarray(matrix, dtype=np.float64)), points)


def _clip_half_plane(poly: np.ndarray, a: np.ndarray, t: float) -> np.ndarray:
    """Sutherland-Hodgman: the part of a convex polygon (N, 2) where a . (u, v, 1) >= t."""
    out = []
    n = len(poly)
    vals = poly @ a[:2] + a[2] - t
    for i in range(n):
        p, q = poly[i], poly[(i + 1) % n]
        vp, vq = vals[i], vals[(i + 1) % n]
        if vp >= 0:
            out.append(p)
        if (vp >= 0) != (vq >= 0):
            out.append(p + (q - p) * (vp / (vp - vq)))
    return np.array(out).reshape(-1, 2)


def frame_on_floor(matrix: np.ndarray, size: tuple[int, int], usable_from_row: float = 0.0) -> Polygon:
    """The camera's frame (from ``usable_from_row`` down) mapped onto the floor; the part at or
    above the horizon, whose floor is out of sight, is left out. Empty when nothing is left."""
    m = np.asarray(matrix, dtype=np.float64)
    w, h = size
    frame = np.array([[0, usable_from_row], [w, usable_from_row], [w, h], [0, h]], dtype=np.float64)
    denominators = frame @ m[2, :2] + m[2, 2]
    nearest = float(denominators.max())
    if nearest <= 0:
        return Polygon()
    frame = _clip_half_plane(frame, m[2], nearest / HORIZON_RANGE_RATIO)
    if len(frame) < 3:
        return Polygon()
    # A convex polygon in front of the camera maps to a convex polygon: no repair needed.
    return Polygon(image_to_floor(m, frame))


def _shadow_points(camera: np.ndarray, vertices: np.ndarray, reach: float) -> np.ndarray | None:
    """The points whose convex hull is what a convex piece (a segment or a convex polygon's
    corners) hides from ``camera``: the piece and everything behind it out to ``reach`` metres.
    None when it hides nothing. Plain floats: a piece has two to a few corners, and numpy's
    per-call cost on such small arrays was most of a 200-camera recompute."""
    cx, cy = float(camera[0]), float(camera[1])
    rel = [(float(x) - cx, float(y) - cy) for x, y in vertices]
    if min(abs(dx) + abs(dy) for dx, dy in rel) < 1e-9:
        return None
    mx = sum(dx for dx, _ in rel) / len(rel)
    my = sum(dy for _, dy in rel) / len(rel)
    base = math.atan2(my, mx)
    two_pi = 2 * math.pi
    angles = [(math.atan2(dy, dx) - base + math.pi) % two_pi - math.pi for dx, dy in rel]
    lo, hi = min(angles), max(angles)
    if hi - lo < 1e-9 or hi - lo >= math.pi - 1e-9:
        return None  # seen edge-on (no width), or the camera stands among the piece's corners
    # Far points every <= 45 degrees: the far side then stays beyond reach * cos(22.5 deg).
    steps = max(1, math.ceil((hi - lo) / (math.pi / 4)))
    far = reach / math.cos(math.pi / 8)
    points = [(cx + dx, cy + dy) for dx, dy in rel]
    for i in range(steps + 1):
        t = base + lo + (hi - lo) * i / steps
        points.append((cx + far * math.cos(t), cy + far * math.sin(t)))
    return np.array(points, dtype=np.float64)


def _shadow(camera: np.ndarray, vertices: np.ndarray, reach: float) -> Polygon | None:
    pts = _shadow_points(camera, vertices, reach)
    return None if pts is None else shapely.convex_hull(shapely.multipoints(pts))


def _pieces(geom: BaseGeometry) -> list[np.ndarray]:
    """Convex pieces whose shadows make the shadow of ``geom``: a convex polygon whole, the
    edges of any other polygon, every segment of a line."""
    out: list[np.ndarray] = []
    for g in getattr(geom, "geoms", [geom]):
        if isinstance(g, Polygon):
            ring = np.asarray(g.exterior.coords)[:-1]
            if g.convex_hull.area - g.area <= 1e-9 * max(1.0, g.area):
                out.append(ring)
            else:
                out.extend(np.array([ring[i], ring[(i + 1) % len(ring)]]) for i in range(len(ring)))
        elif isinstance(g, LineString):
            coords = np.asarray(g.coords)
            out.extend(coords[i:i + 2] for i in range(len(coords) - 1))
    return out


@dataclass(frozen=True)
class Obstacles:
    """Walls (lines) and occluders (polygons) of one floor, indexed for "what is near here"."""

    geometries: tuple[BaseGeometry, ...]
    pieces: tuple[tuple[np.ndarray, ...], ...]
    tree: shapely.STRtree

    @classmethod
    def of(cls, walls: Iterable[BaseGeometry] = (), occluders: Iterable[BaseGeometry] = ()) -> Obstacles:
        geoms = tuple(list(walls) + list(occluders))
        return cls(geoms, tuple(tuple(_pieces(g)) for g in geoms), shapely.STRtree(list(geoms)))

    def shadows(self, camera: Point, area: BaseGeometry) -> BaseGeometry:
        """Everything inside ``area`` that the obstacles hide from a camera at ``camera``."""
        if area.is_empty:
            return Polygon()
        c = np.asarray(camera, dtype=np.float64)
        x0, y0, x1, y1 = area.bounds
        reach = max(math.hypot(x - c[0], y - c[1]) for x in (x0, x1) for y in (y0, y1)) + 1.0
        near = self.tree.query(shapely.box(min(x0, c[0]), min(y0, c[1]), max(x1, c[0]), max(y1, c[1])))
        groups = [p for i in near for piece in self.pieces[i] if (p := _shadow_points(c, piece, reach)) is not None]
        if not groups:
            return Polygon()
        index = np.repeat(np.arange(len(groups)), [len(g) for g in groups])
        hulls = shapely.convex_hull(shapely.multipoints(np.vstack(groups), indices=index))
        hulls = hulls[shapely.intersects(hulls, area)]  # most near obstacles cast away from the view
        return shapely.union_all(hulls) if len(hulls) else Polygon()


@dataclass(frozen=True)
class Floor:
    """One area's floor: the work area that must be under video and what blocks the view.
    The floor under an occluder needs no camera; the work area to cover leaves it out."""

    outline: Polygon
    obstacles: Obstacles = field(default_factory=Obstacles.of)

    @classmethod
    def of(cls, outline: Sequence[Point], walls: Iterable[Sequence[Point]] = (),
           occluders: Iterable[Sequence[Point]] = ()) -> Floor:
        return cls(Polygon(outline), Obstacles.of([LineString(w) for w in walls], [Polygon(o) for o in occluders]))

    @cached_property
    def work_area(self) -> BaseGeometry:
        occluders = [g for g in self.obstacles.geometries if isinstance(g, Polygon)]
        return self.outline.difference(shapely.union_all(occluders)) if occluders else self.outline


def footprint(floor: Floor, matrix: np.ndarray, size: tuple[int, int], position: Point | None,
              usable_from_row: float = 0.0) -> BaseGeometry:
    """The floor a calibrated camera sees inside the work area. Without a floor position the
    obstacles cannot be placed relative to the camera and only the frame and work area clip it."""
    frame = frame_on_floor(matrix, size, usable_from_row)
    if frame.is_empty:
        return Polygon()
    # Cut the (large) work area down to the frame's box first: the exact intersection then works
    # on a few local edges instead of the whole floor's outline.
    seen = frame.intersection(shapely.clip_by_rect(floor.work_area, *frame.bounds))
    if position is not None and not seen.is_empty:
        hidden = floor.obstacles.shadows(position, seen)
        if not hidden.is_empty:
            seen = seen.difference(hidden)
    return _polygonal(seen)


def _polygonal(geom: BaseGeometry) -> BaseGeometry:
    """Only the areas of a geometry (an intersection can leave lines and points behind)."""
    if geom.is_empty or geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    polys = [g for g in getattr(geom, "geoms", []) if g.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(polys) if polys else Polygon()


def patches(geom: BaseGeometry) -> list[Polygon]:
    """The separate pieces of an area, largest first, slivers left out."""
    geom = _polygonal(geom)
    if geom.is_empty:
        return []
    parts = [g for g in getattr(geom, "geoms", [geom]) if g.area > 0]
    parts = [p for p in parts if not p.buffer(-SLIVER_M / 2).is_empty]
    return sorted(parts, key=lambda p: -p.area)


@dataclass(frozen=True)
class Coverage:
    """The work area against the union of the live cameras' footprints."""

    work_area_m2: float
    blind_m2: float
    blind_patches: tuple[Polygon, ...]

    @property
    def blind_share(self) -> float:
        return self.blind_m2 / self.work_area_m2 if self.work_area_m2 > 0 else 0.0

    @property
    def largest_patch_m2(self) -> float:
        return self.blind_patches[0].area if self.blind_patches else 0.0


def coverage(floor: Floor, footprints: Mapping[str, BaseGeometry], live: Iterable[str]) -> Coverage:
    """Blind area of the floor when only the ``live`` cameras see (others are offline, covered,
    moved or not calibrated)."""
    work = floor.work_area
    seen = [footprints[c] for c in live if c in footprints and not footprints[c].is_empty]
    blind = work.difference(shapely.union_all(seen)) if seen else work
    parts = tuple(patches(blind))
    return Coverage(float(work.area), float(sum(p.area for p in parts)), parts)


def exclusive_patches(footprints: Mapping[str, BaseGeometry], live: Iterable[str]) -> dict[str, BaseGeometry]:
    """Per live camera, the floor that only it sees: the patch that opens when it goes dark.
    Its footprint less the floor seen twice or more (the union of the pairwise overlaps)."""
    live = [c for c in live if c in footprints and not footprints[c].is_empty]
    if not live:
        return {}
    geoms = np.array([footprints[c] for c in live], dtype=object)
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    keep = left < right
    overlaps = shapely.intersection(geoms[left[keep]], geoms[right[keep]])
    twice = shapely.union_all(overlaps) if len(overlaps) else Polygon()
    if twice.is_empty:
        return dict(zip(live, geoms))
    shapely.prepare(twice)
    local = shapely.intersection(twice, shapely.envelope(geoms))
    return {c: _polygonal(g) for c, g in zip(live, shapely.difference(geoms, local))}


def alarm_patches(cov: Coverage, max_blind_m2: float = DEFAULT_MAX_BLIND_M2) -> list[Polygon]:
    """The blind patches large enough to alarm on (each bigger than ``max_blind_m2``)."""
    return [p for p in cov.blind_patches if p.area > max_blind_m2]


def is_blind_alarm(cov: Coverage, max_blind_m2: float = DEFAULT_MAX_BLIND_M2) -> bool:
    return bool(alarm_patches(cov, max_blind_m2))


def polygon_points(geom: BaseGeometry, digits: int = 3) -> list[list[list[float]]]:
    """The outer rings of an area's pieces as [[x, y], ...] lists (for pages and records)."""
    return [[[round(x, digits), round(y, digits)] for x, y in p.exterior.coords[:-1]] for p in patches(geom)]
