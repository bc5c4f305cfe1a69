"""Floor footprints and blind areas, against hand-computed values and the camera simulator's own
placement (a pinhole model it poses itself, sharing no code with the product)."""
from __future__ import annotations

import math
import random
from pathlib import Path

import pytest
import shapely
from shapely.geometry import Polygon

from camera import floor_coverage as fc
from edge_agent.wire.site import load_site_file
from simulators.camera import placement
from simulators.site_file import read_site

DEMO = Path(__file__).resolve().parents[2] / "simulators" / "sites" / "demo.yaml"

# A 1000 x 1000 px frame that looks straight down on a 10 m x 10 m room: pixel (u, v) shows
# floor point (u / 100, 10 - v / 100).
TOP_DOWN = [((0, 0), (0, 10)), ((1000, 0), (10, 10)), ((1000, 1000), (10, 0)), ((0, 1000), (0, 0))]
ROOM = [(0, 0), (10, 0), (10, 10), (0, 10)]


def test_calibration_maps_its_pairs_back():
    cal = fc.calibrate(TOP_DOWN + [((500, 500), (5, 5))])
    assert cal.rms_m < 1e-9
    assert fc.image_to_floor(cal.matrix, [(250, 750)])[0].tolist() == pytest.approx([2.5, 2.5])
    assert fc.floor_to_image(cal.matrix, [(2.5, 2.5)])[0].tolist() == pytest.approx([250, 750])


@pytest.mark.parametrize("pairs, says", [
    (TOP_DOWN[:3], "at least 4"),
    ([((0, 0), (0, 0)), ((100, 100), (1, 1)), ((200, 200), (2, 2)), ((300, 300), (3, 3))], "one line"),
    ([((0, 0), (0, 0)), ((100, 0), (1, 0)), ((0, 100), (0, 1)), ((100, 100), (2, 0.5))], None),
])
def test_unusable_calibrations_are_refused_with_a_reason(pairs, says):
    if says is None:  # a fold in the floor: still a homography, but a poor fit
        assert fc.calibrate(pairs).pairs == 4
        return
    with pytest.raises(fc.CalibrationError, match=says):
        fc.calibrate(pairs)


def test_the_whole_room_seen_from_above_has_no_blind_area():
    floor = fc.Floor.of(ROOM)
    fp = fc.footprint(floor, fc.calibrate(TOP_DOWN).matrix, (1000, 1000), (5, 0))
    assert fp.area == pytest.approx(100)
    cov = fc.coverage(floor, {"c": fp}, ["c"])
    assert cov.blind_m2 == pytest.approx(0) and cov.blind_patches == ()


def test_an_occluder_hides_what_is_behind_it():
    # A 2 m box at (4..6, 4..6) seen from (5, 0): its silhouette runs from (4, 4) and (6, 4), so
    # behind it the rays reach x = 5 -/+ 2.5 at y = 10. Hidden floor: a trapezoid 2 m wide at
    # y = 4 and 5 m wide at y = 10, 6 m deep (21 m2), of which the box itself (4 m2) is no floor
    # to watch. Blind: 17 m2 of the 96 m2 work area.
    floor = fc.Floor.of(ROOM, occluders=[[(4, 4), (6, 4), (6, 6), (4, 6)]])
    fp = fc.footprint(floor, fc.calibrate(TOP_DOWN).matrix, (1000, 1000), (5, 0))
    assert fp.area == pytest.approx(79)
    cov = fc.coverage(floor, {"c": fp}, ["c"])
    assert cov.work_area_m2 == pytest.approx(96)
    assert cov.blind_m2 == pytest.approx(17)
    assert cov.blind_share == pytest.approx(17 / 96)
    [patch] = cov.blind_patches
    # the shadow less the box: along the box's sides too, since the rays graze its front corners
    expected = Polygon([(2.5, 10), (4, 4), (4, 6), (6, 6), (6, 4), (7.5, 10)])
    assert patch.symmetric_difference(expected).area < 1e-6
    assert not patch.contains(shapely.Point(5, 3))  # in front of the box: seen
    assert fc.is_blind_alarm(cov, 0.5)


def test_a_wall_hides_the_floor_behind_it():
    # A 6 m wall across the room at y = 5 seen from (5, 0): behind it the shadow widens by
    # 1.2 m per metre and fills the room's width from y = 25/3. Hidden: 43 1/3 m2.
    floor = fc.Floor.of(ROOM, walls=[[(2, 5), (8, 5)]])
    fp = fc.footprint(floor, fc.calibrate(TOP_DOWN).matrix, (1000, 1000), (5, 0))
    assert fp.area == pytest.approx(100 - 130 / 3)


def test_a_second_camera_across_the_room_leaves_only_the_slivers_beside_the_occluder():
    # Seen from (5, 0) and from (5, 10), the floor beside the box between its corners and the
    # point where both cameras' grazing rays cross (x = 3.75 and 6.25 at y = 5) stays hidden:
    # two triangles of 2 m x 0.25 m / 2 = 0.25 m2, each below the 0.5 m2 alarm threshold.
    floor = fc.Floor.of(ROOM, occluders=[[(4, 4), (6, 4), (6, 6), (4, 6)]])
    m = fc.calibrate(TOP_DOWN).matrix
    fps = {"south": fc.footprint(floor, m, (1000, 1000), (5, 0)),
           "north": fc.footprint(floor, m, (1000, 1000), (5, 10))}
    cov = fc.coverage(floor, fps, ["south", "north"])
    assert [p.area for p in cov.blind_patches] == pytest.approx([0.25, 0.25])
    assert not fc.is_blind_alarm(cov, 0.5) and fc.is_blind_alarm(cov, 0.2)


def test_the_part_of_the_frame_above_the_horizon_is_left_out():
    pose = placement.Pose("c", 0, 0, 3.0, 90.0, 10.0, 90.0, 1280, 720)  # the top rows see the sky
    pairs = placement.calibration_pairs(pose, [(x, y) for x in range(-6, 7) for y in range(3, 30)])
    fp = fc.frame_on_floor(fc.calibrate(pairs).matrix, (1280, 720))
    assert 0 < fp.area < math.inf and fp.bounds[3] < 3.0 * fc.HORIZON_RANGE_RATIO * 2


def test_the_rows_above_usable_from_row_count_for_nothing():
    m = fc.calibrate(TOP_DOWN).matrix
    assert fc.frame_on_floor(m, (1000, 1000), usable_from_row=500).area == pytest.approx(50)


def _calibrated_footprint(pose: placement.Pose, rng: random.Random, jitter_px: float) -> float:
    floor_pts = [(x, y) for x in range(-20, 21) for y in range(-20, 21)]
    pairs = placement.calibration_pairs(pose, floor_pts, margin_px=30)
    picked = rng.sample(pairs, min(8, len(pairs)))
    clicks = [((u + rng.uniform(-jitter_px, jitter_px), v + rng.uniform(-jitter_px, jitter_px)), f) for (u, v), f in picked]
    return fc.frame_on_floor(fc.calibrate(clicks).matrix, (pose.width, pose.height_px)).area


@pytest.mark.parametrize("seed", range(6))
def test_a_calibrated_footprint_is_within_5_percent_of_the_true_one(seed):
    rng = random.Random(seed)
    pose = placement.Pose("c", rng.uniform(0, 5), rng.uniform(0, 5), rng.uniform(2.6, 3.5), rng.uniform(0, 360),
                          rng.uniform(50, 70), rng.uniform(70, 100), 1280, 720)
    true_area = pose.footprint_area()
    # clicks land within 2 px of the point, as a careful officer's do
    assert _calibrated_footprint(pose, rng, 2.0) == pytest.approx(true_area, rel=0.05)


def test_the_demo_sites_calibrations_match_the_simulators_placement():
    site = load_site_file(DEMO)
    poses = placement.poses(read_site(DEMO))
    [plan] = [a.floor_plan for a in site.areas if a.floor_plan is not None]
    cams = {c.id: c for c in site.cameras}
    for pc in plan.cameras:
        pose = poses[pc.camera]
        cal = fc.calibrate([(p.image, p.floor) for p in pc.calibration])
        got = fc.frame_on_floor(cal.matrix, cams[pc.camera].resolution)
        truth = Polygon(pose.footprint())
        assert got.area == pytest.approx(truth.area, rel=0.05), pc.camera
        assert got.symmetric_difference(truth).area < 0.05 * truth.area, pc.camera


def _demo_floor():
    site = load_site_file(DEMO)
    [plan] = [a.floor_plan for a in site.areas if a.floor_plan is not None]
    cams = {c.id: c for c in site.cameras}
    floor = fc.Floor.of(plan.outline, plan.walls, plan.occluders)
    fps = {}
    for pc in plan.cameras:
        cam = cams[pc.camera]
        cal = fc.calibrate([(p.image, p.floor) for p in pc.calibration])
        fps[pc.camera] = fc.footprint(floor, cal.matrix, cam.resolution, (cam.location.x, cam.location.y))
    return floor, fps


def test_an_offline_camera_opens_exactly_its_exclusive_patch():
    floor, fps = _demo_floor()
    everyone = list(fps)
    before = fc.coverage(floor, fps, everyone)
    assert not fc.is_blind_alarm(before)  # the demo floor is fully watched
    exclusive = fc.exclusive_patches(fps, everyone)
    opened_any = False
    for cam in everyone:
        after = fc.coverage(floor, fps, [c for c in everyone if c != cam])
        newly_blind = shapely.union_all(list(after.blind_patches)).difference(
            shapely.union_all(list(before.blind_patches)))
        mine = exclusive[cam].intersection(floor.work_area)
        assert newly_blind.symmetric_difference(mine).area < 0.01, cam
        assert after.blind_m2 == pytest.approx(before.blind_m2 + mine.area, abs=0.02), cam
        opened_any |= fc.is_blind_alarm(after)
    assert opened_any  # some camera of the demo is alone on a patch larger than the threshold


def test_the_alarm_threshold_is_per_patch():
    small = Polygon([(0, 0), (0.6, 0), (0.6, 0.6), (0, 0.6)])  # 0.36 m2
    cov = fc.Coverage(100.0, 0.72, (small, shapely.affinity.translate(small, 5, 5)))
    assert not fc.is_blind_alarm(cov, 0.5)
    assert fc.alarm_patches(cov, 0.3) == list(cov.blind_patches)
