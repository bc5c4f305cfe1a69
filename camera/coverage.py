"""Whether a seat is under video: its person, its screen and what happens on it.

Pure: per seat, the views of the cameras that see it (camera health, the seat and screen zones,
the screen's focus against calibration, the detector's boxes) go in; a verdict with its reasons
comes out. A seat is covered when at least one camera that is online, recording and not tampered
sees the screen large enough to read (the seat's ``min_screen_px``), in focus and not hidden
behind someone, and, when the seat is occupied, sees the person in the seat zone.

Zones and boxes are in the camera's main-stream pixels (the site file's frame), whatever
resolution the detector ran at; the caller scales boxes back.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

NO_CAMERA = "no_camera"
CAMERA_OFFLINE = "camera_offline"
NOT_RECORDING = "not_recording"
TAMPERED = "camera_tampered"
SCREEN_TOO_SMALL = "screen_too_small"
OUT_OF_FOCUS = "out_of_focus"
OCCLUDED = "occluded"
PERSON_NOT_VISIBLE = "person_not_visible"
NOT_ANALYSED = "not_analysed"  # no frame judged yet from this camera
# Most to least fundamental: the first reason of a view is the one to fix first.
REASONS = (NO_CAMERA, CAMERA_OFFLINE, NOT_RECORDING, TAMPERED, SCREEN_TOO_SMALL, NOT_ANALYSED,
           OUT_OF_FOCUS, OCCLUDED, PERSON_NOT_VISIBLE)

Point = tuple[float, float]


@dataclass(frozen=True)
class Box:
    """A detection: corners in main-stream pixels, a label from the class mapping, a score."""

    x1: float
    y1: float
    x2: float
    y2: float
    label: str
    score: float = 1.0

    @property
    def area(self) -> float:
        return max(0.0, self.x2 - self.x1) * max(0.0, self.y2 - self.y1)


@dataclass(frozen=True)
class CoverageRules:
    # Screen-edge sharpness against its calibrated value. A locked screen reads about 0.5 of a
    # busy one on the simulator; a blurred lens under 0.05.
    min_focus_ratio: float = 0.25
    max_occlusion: float = 0.3  # share of the screen hidden behind a person's box
    min_person_in_seat: float = 0.3  # share of a person's box inside the seat zone to count as there
    min_screen_seen: float = 0.5  # share of the screen zone inside a detected screen to count as seen
    # A screen the detector cannot find where the site file puts it is hidden (by a box, a
    # plant, a coat) or gone, even when no person stands in front of it.
    require_screen_detection: bool = True


@dataclass(frozen=True)
class View:
    """One camera's view of one seat, as seen now."""

    camera: str
    seat_zone: Sequence[Point]
    screen_zone: Sequence[Point]
    online: bool
    recording: bool
    tampered: bool
    focus_ratio: float | None = None  # None: not measured yet
    detections: tuple[Box, ...] | None = None  # None: the detector has not run on this view


@dataclass(frozen=True)
class ViewVerdict:
    camera: str
    reasons: tuple[str, ...]
    screen_px: float
    occlusion: float | None
    person_seen: bool | None
    screen_seen: bool | None = None


@dataclass(frozen=True)
class SeatCoverage:
    seat: str
    covered: bool
    reasons: tuple[str, ...]  # empty when covered; else those of the view closest to covering
    camera: str | None  # the covering view, or the one closest to it
    views: tuple[ViewVerdict, ...]
    occupied: bool | None = None  # someone at the seat (given, or seen by any camera); None: unknown


def polygon_area(points: Sequence[Point]) -> float:
    """Shoelace area of a simple polygon."""
    n = len(points)
    twice = sum(points[i][0] * points[(i + 1) % n][1] - points[(i + 1) % n][0] * points[i][1] for i in range(n))
    return abs(twice) / 2.0


def _mask(points: Sequence[Point], origin: tuple[int, int], size: tuple[int, int], scale: float) -> np.ndarray:
    mask = np.zeros((size[1], size[0]), np.uint8)
    pts = np.array([[(x - origin[0]) * scale, (y - origin[1]) * scale] for x, y in points], np.float32)
    cv2.fillPoly(mask, [np.round(pts).astype(np.int32)], 1)
    return mask


def _corners(b: Box) -> list[Point]:
    return [(b.x1, b.y1), (b.x2, b.y1), (b.x2, b.y2), (b.x1, b.y2)]


def share_inside(region: Sequence[Point], covers: Iterable[Sequence[Point]], resolution: float = 200.0) -> float:
    """Share of polygon ``region`` inside the union of polygons ``covers``, rasterised at about
    ``resolution`` pixels across the region (exact enough for a threshold, and cheap)."""
    covers = list(covers)
    if not covers:
        return 0.0
    xs, ys = [p[0] for p in region], [p[1] for p in region]
    x0, y0 = int(np.floor(min(xs))), int(np.floor(min(ys)))
    scale = resolution / max(max(xs) - x0, max(ys) - y0, 1.0)
    size = (int(np.ceil((max(xs) - x0) * scale)) + 2, int(np.ceil((max(ys) - y0) * scale)) + 2)
    region_mask = _mask(region, (x0, y0), size, scale)
    total = int(region_mask.sum())
    if total == 0:
        return 0.0
    union = np.zeros_like(region_mask)
    for c in covers:
        union |= _mask(c, (x0, y0), size, scale)
    return float((region_mask & union).sum()) / total


def _person_in_seat(box: Box, seat_zone: Sequence[Point], rules: CoverageRules) -> bool:
    return box.area > 0 and share_inside(_corners(box), [seat_zone]) >= rules.min_person_in_seat


def judge_view(view: View, min_screen_px: int, occupied: bool | None, rules: CoverageRules) -> ViewVerdict:
    reasons: list[str] = []
    screen_px = polygon_area(view.screen_zone)
    if not view.online:
        reasons.append(CAMERA_OFFLINE)
    elif not view.recording:
        reasons.append(NOT_RECORDING)
    if view.tampered:
        reasons.append(TAMPERED)
    if screen_px < min_screen_px:
        reasons.append(SCREEN_TOO_SMALL)
    occlusion = None
    person_seen = screen_seen = None
    if view.online and view.focus_ratio is None and view.detections is None:
        reasons.append(NOT_ANALYSED)  # (an offline camera says enough)
    if view.detections is not None:
        people = [b for b in view.detections if b.label == "person"]
        # The person working at the seat may well be in front of part of the screen; what counts
        # is how much of the screen is still readable, whoever stands there.
        occlusion = share_inside(view.screen_zone, [_corners(b) for b in people])
    # Behind someone, the screen's focus cannot be judged: occlusion says it all.
    hidden = occlusion is not None and occlusion > rules.max_occlusion
    if view.focus_ratio is not None and view.focus_ratio < rules.min_focus_ratio and not hidden:
        reasons.append(OUT_OF_FOCUS)
    if view.detections is not None:
        screens = [_corners(b) for b in view.detections if b.label == "screen"]
        screen_seen = bool(screens) and share_inside(view.screen_zone, screens) >= rules.min_screen_seen
        if occlusion > rules.max_occlusion or (rules.require_screen_detection and not screen_seen):
            reasons.append(OCCLUDED)
        person_seen = any(_person_in_seat(b, view.seat_zone, rules) for b in people)
        if occupied and not person_seen:
            reasons.append(PERSON_NOT_VISIBLE)
    elif occupied:
        reasons.append(PERSON_NOT_VISIBLE)
    ordered = tuple(r for r in REASONS if r in reasons)
    return ViewVerdict(view.camera, ordered, screen_px, occlusion, person_seen, screen_seen)


def seat_coverage(seat: str, views: Sequence[View], min_screen_px: int, occupied: bool | None = None,
                  rules: CoverageRules = CoverageRules()) -> SeatCoverage:
    """``occupied``: whether someone works at the seat now, from outside the video (a login at
    the workstation, say). None: it is taken from the cameras, occupied when any view that ran
    the detector sees a person in the seat zone; then every other such view must see them too."""
    if occupied is None and any(v.detections is not None and v.online for v in views):
        occupied = any(judge_view(v, min_screen_px, None, rules).person_seen
                       for v in views if v.detections is not None and v.online)
    verdicts = tuple(judge_view(v, min_screen_px, occupied, rules) for v in views)
    if not verdicts:
        return SeatCoverage(seat, False, (NO_CAMERA,), None, (), occupied)
    # The covering view, else the one closest to covering: fewest reasons, least fundamental first.
    def distance(v: ViewVerdict) -> tuple:
        first = -REASONS.index(v.reasons[0]) if v.reasons else 0
        return (len(v.reasons), first, -v.screen_px)
    best = min(verdicts, key=distance)
    return SeatCoverage(seat, not best.reasons, best.reasons, best.camera, verdicts, occupied)


def coverage_percent(seats: Iterable[SeatCoverage]) -> float:
    seats = list(seats)
    return 100.0 * sum(s.covered for s in seats) / len(seats) if seats else 100.0


def zone_sharpness(gray: np.ndarray, zone: Sequence[Point], scale: float = 1.0, ring: float = 0.12) -> float:
    """Variance of the Laplacian on the screen's edge: a band ``ring`` of the zone's smaller side
    wide on both sides of its outline (``zone`` in main-stream pixels; ``scale`` maps it onto
    ``gray``, e.g. 640/1920 for a sub-stream frame).

    The band holds the bezel against the room, which is as sharp whatever the screen shows; the
    screen's inside is not, a lock screen having a tenth of the detail of a page of text, and an
    empty seat with a locked screen must not read as a blurred camera."""
    h, w = gray.shape[:2]
    mask = np.zeros((h, w), np.uint8)
    pts = np.round(np.array(zone, np.float32) * scale).astype(np.int32)
    cv2.fillPoly(mask, [pts], 1)
    _, _, bw, bh = cv2.boundingRect(pts)
    k = max(3, int(min(bw, bh) * ring)) | 1
    kernel = np.ones((k, k), np.uint8)
    band = (cv2.dilate(mask, kernel) - cv2.erode(mask, kernel)).astype(bool)
    if band.sum() < 16:
        return 0.0
    lap = cv2.Laplacian(gray, cv2.CV_64F)
    return float(lap[band].var())


def persons_in_zone(boxes: Iterable[Box], zone: Sequence[Point]) -> int:
    """People standing in ``zone`` (a gate lane): person boxes whose bottom centre, where the
    feet are, lies inside the polygon. Same pixel frame for both."""
    poly = np.array(zone, np.float32).reshape(-1, 1, 2)
    return sum(1 for b in boxes if b.label == "person"
               and cv2.pointPolygonTest(poly, ((b.x1 + b.x2) / 2, b.y2), False) >= 0)
