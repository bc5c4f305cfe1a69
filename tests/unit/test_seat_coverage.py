"""Seat coverage verdicts: every reason on its own, the choice between views, and the geometry."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from camera.coverage import (CAMERA_OFFLINE, NO_CAMERA, NOT_ANALYSED, NOT_RECORDING, OCCLUDED, OUT_OF_FOCUS,
                             PERSON_NOT_VISIBLE, SCREEN_TOO_SMALL, TAMPERED, Box, View, coverage_percent,
                             polygon_area, seat_coverage, share_inside, zone_sharpness)

SEAT = [(100, 300), (500, 300), (500, 700), (100, 700)]
SCREEN = [(200, 100), (440, 100), (440, 260), (200, 260)]  # 240 x 160 = 38400 px
SITTER = Box(180, 320, 420, 690, "person")  # in the seat zone, below the screen
MONITOR = Box(195, 95, 445, 265, "screen")  # the detected monitor, around the screen zone
MIN_PX = 2500


def view(**kw) -> View:
    base = dict(camera="cam-01", seat_zone=SEAT, screen_zone=SCREEN, online=True, recording=True, tampered=False,
                focus_ratio=1.0, detections=(SITTER, MONITOR))
    return View(**{**base, **kw})


def test_a_healthy_view_covers_an_occupied_seat():
    s = seat_coverage("A1", [view()], MIN_PX, occupied=True)
    assert s.covered and s.reasons == () and s.camera == "cam-01"
    v = s.views[0]
    assert v.screen_px == 38400 and v.occlusion == 0.0 and v.person_seen


@pytest.mark.parametrize(("change", "occupied", "reason"), [
    (dict(online=False), None, CAMERA_OFFLINE),
    (dict(recording=False), None, NOT_RECORDING),
    (dict(tampered=True), None, TAMPERED),
    (dict(screen_zone=[(200, 100), (240, 100), (240, 140), (200, 140)]), None, SCREEN_TOO_SMALL),
    (dict(focus_ratio=0.2), None, OUT_OF_FOCUS),
    (dict(detections=(SITTER, MONITOR, Box(150, 50, 400, 280, "person"))), None, OCCLUDED),
    (dict(detections=(SITTER,)), None, OCCLUDED),  # no screen where the site file puts it
    (dict(detections=(SITTER, Box(600, 90, 800, 260, "screen"))), None, OCCLUDED),  # another screen
    (dict(detections=(MONITOR,)), True, PERSON_NOT_VISIBLE),
    (dict(detections=(MONITOR, Box(600, 300, 700, 700, "person"))), True, PERSON_NOT_VISIBLE),  # beside
    (dict(focus_ratio=None, detections=None), None, NOT_ANALYSED),
])
def test_each_reason_on_its_own(change, occupied, reason):
    s = seat_coverage("A1", [view(**change)], MIN_PX, occupied=occupied)
    assert not s.covered and s.reasons == (reason,), s


def test_an_empty_seat_needs_no_person_and_occupancy_comes_from_the_cameras_when_not_given():
    assert seat_coverage("A1", [view(detections=(MONITOR,))], MIN_PX, occupied=False).covered
    empty = seat_coverage("A1", [view(detections=(MONITOR,))], MIN_PX, occupied=None)
    assert empty.covered and empty.occupied is False
    seen = seat_coverage("A1", [view()], MIN_PX, occupied=None)
    assert seen.covered and seen.occupied is True
    # Without a detector nothing is known about the person, and nothing is claimed.
    unknown = seat_coverage("A1", [view(detections=None)], MIN_PX, occupied=None)
    assert unknown.covered and unknown.occupied is None and unknown.views[0].person_seen is None


def test_a_person_seen_by_one_camera_must_be_seen_by_the_others_to_cover_from_there():
    front = view(camera="cam-01")
    side = view(camera="cam-02", detections=(MONITOR,))  # sees the screen, not the person
    s = seat_coverage("A1", [side, front], MIN_PX)
    assert s.covered and s.occupied and s.camera == "cam-01"
    assert {v.camera: v.reasons for v in s.views} == {"cam-01": (), "cam-02": (PERSON_NOT_VISIBLE,)}
    only_side = seat_coverage("A1", [side, view(camera="cam-01", online=False)], MIN_PX)
    assert only_side.covered and only_side.occupied is False  # an offline camera sees nobody


def test_screen_detection_can_be_left_out_for_cameras_whose_detector_misses_screens():
    from camera.coverage import CoverageRules
    rules = CoverageRules(require_screen_detection=False)
    assert seat_coverage("A1", [view(detections=(SITTER,))], MIN_PX, rules=rules).covered


def test_no_camera():
    s = seat_coverage("A1", [], MIN_PX)
    assert (s.covered, s.reasons, s.camera) == (False, (NO_CAMERA,), None)


def test_one_good_view_is_enough_and_the_reasons_come_from_the_closest_view():
    bad = view(camera="cam-02", online=False)
    assert seat_coverage("A1", [bad, view()], MIN_PX, occupied=True).camera == "cam-01"
    blurred = view(camera="cam-03", focus_ratio=0.1)
    s = seat_coverage("A1", [bad, blurred], MIN_PX, occupied=True)
    # offline is further from covering than out of focus
    assert not s.covered and s.camera == "cam-03" and s.reasons == (OUT_OF_FOCUS,)


def test_several_reasons_are_ordered_most_fundamental_first():
    s = seat_coverage("A1", [view(online=False, tampered=True, focus_ratio=0.1, detections=(MONITOR,))], MIN_PX,
                     occupied=True)
    assert s.reasons == (CAMERA_OFFLINE, TAMPERED, OUT_OF_FOCUS, PERSON_NOT_VISIBLE)


def test_coverage_percent():
    seats = [seat_coverage("A1", [view()], MIN_PX), seat_coverage("A2", [], MIN_PX),
             seat_coverage("A3", [view(tampered=True)], MIN_PX), seat_coverage("A4", [view()], MIN_PX)]
    assert coverage_percent(seats) == 50.0
    assert coverage_percent([]) == 100.0


def test_geometry():
    assert polygon_area(SCREEN) == 38400
    assert polygon_area([(0, 0), (10, 0), (0, 10)]) == 50
    half = [(200, 100), (320, 100), (320, 260), (200, 260)]
    assert share_inside(SCREEN, [half]) == pytest.approx(0.5, abs=0.02)
    assert share_inside(SCREEN, []) == 0.0
    assert share_inside(SCREEN, [[(0, 0), (1000, 0), (1000, 1000), (0, 1000)]]) == pytest.approx(1.0)


rect = st.tuples(st.integers(0, 900), st.integers(0, 900), st.integers(5, 400), st.integers(5, 400))


@settings(max_examples=100, deadline=None)
@given(st.lists(rect, max_size=4), rect)
def test_share_inside_matches_exact_rectangles(covers, region):
    x, y, w, h = region
    reg = [(x, y), (x + w, y), (x + w, y + h), (x, y + h)]
    boxes = [[(a, b), (a + c, b), (a + c, b + d), (a, b + d)] for a, b, c, d in covers]
    # exact union share by counting unit cells
    grid = np.zeros((1400, 1400), bool)
    for a, b, c, d in covers:
        grid[b:b + d, a:a + c] = True
    exact = grid[y:y + h, x:x + w].mean()
    assert share_inside(reg, boxes, resolution=400) == pytest.approx(exact, abs=0.06)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.fixed_dictionaries({"online": st.booleans(), "tampered": st.booleans(),
                                        "focus_ratio": st.floats(0, 2)}), min_size=1, max_size=4),
       st.booleans())
def test_adding_a_view_never_loses_coverage(views, occupied):
    vs = [view(camera=f"cam-{i}", **v) for i, v in enumerate(views)]
    before = seat_coverage("A1", vs[:-1], MIN_PX, occupied=occupied).covered if len(vs) > 1 else False
    after = seat_coverage("A1", vs, MIN_PX, occupied=occupied)
    assert after.covered >= before
    assert after.covered == any(not v.reasons for v in after.views)


def test_sharpness_drops_when_the_screen_is_blurred():
    rng = np.random.default_rng(1)
    frame = np.full((540, 960), 90, np.uint8)
    frame[100:260, 200:440] = rng.integers(0, 255, (160, 240), dtype=np.uint8)  # text-like detail
    sharp = zone_sharpness(frame, SCREEN)
    blurred = cv2.GaussianBlur(frame, (0, 0), 4)
    assert zone_sharpness(blurred, SCREEN) < 0.1 * sharp
    # the same zone measured on a half-size sub-stream frame
    small = cv2.resize(frame, (480, 270), interpolation=cv2.INTER_AREA)
    assert zone_sharpness(small, SCREEN, scale=0.5) > 0
