"""The simulator's ground truth, which labels the detector's training set and judges the bench:
every box is tight around what the scene painted, and hidden or absent things have no box."""
from __future__ import annotations

import random

import numpy as np
import pytest

from simulators.camera.scene import Scene
from simulators.camera.site_view import SeatView, camera_entries, load_site, seat_views
from simulators.camera.training import NAMES, random_sample, random_view
from tests.conftest import DEMO_SITE


def scene(seed: int = 5) -> Scene:
    site = load_site(DEMO_SITE)
    cam = camera_entries(site)[0]
    return Scene(cam, seat_views(site, cam["id"]), seed=seed)


def changed(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.abs(a.astype(np.int16) - b.astype(np.int16)).max(axis=2) > 12


def bounds(mask: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(mask)
    return xs.min(), ys.min(), xs.max() + 1, ys.max() + 1


@pytest.mark.parametrize("t", [20.0, 61.3, 137.9])
def test_a_persons_box_is_tight_around_the_pixels_the_person_changed(t):
    with_person, without = scene(), scene()
    for s in with_person.seat_ids:
        with_person.set_seat_override(s, "occupied")
        without.set_seat_override(s, "empty")
    diff = changed(with_person.render_raw(t)[0], without.render_raw(t)[0])
    screens = [b for lb, b in with_person.truth(t) if lb == "screen"]
    for x1, y1, x2, y2 in screens:  # a locked screen differs from a working one: not the person
        diff[int(y1):int(np.ceil(y2)), int(x1):int(np.ceil(x2))] = False
    people = [b for lb, b in with_person.truth(t) if lb == "person"]
    assert len(people) == 2 and not [b for lb, b in without.truth(t) if lb == "person"]
    for x1, y1, x2, y2 in people:
        region = np.zeros_like(diff)
        region[int(y1):int(np.ceil(y2)), int(x1):int(np.ceil(x2))] = True
        px = bounds(diff & region)
        assert all(abs(a - b) <= 6 for a, b in zip(px, (x1, y1, x2, y2))), (px, (x1, y1, x2, y2))
    inside = np.zeros_like(diff)
    for x1, y1, x2, y2 in people:
        inside[int(y1):int(np.ceil(y2)), int(x1):int(np.ceil(x2))] = True
    assert not (diff & ~inside).any()  # nothing a person painted lies outside every person box


def test_a_screen_behind_someone_and_a_covered_camera_have_no_box():
    s = scene()
    first = s.seat_ids[0]
    s.set_seat_override(first, "occupied")
    s.set_occluder(first, True)
    labels = s.truth(30.0)
    assert sum(lb == "screen" for lb, _ in labels) == len(s.seat_ids) - 1  # the hidden one is gone
    assert sum(lb == "person" for lb, _ in labels) >= 1
    s.set_fault("lens_covered")
    assert s.truth(30.0) == []


def test_the_screen_box_holds_the_screen_polygon():
    s = scene()
    for view, (_, (x1, y1, x2, y2)) in zip(seat_views(load_site(DEMO_SITE), "cam-01"),
                                          [x for x in s.truth(10.0) if x[0] == "screen"]):
        xs, ys = view.screen[:, 0], view.screen[:, 1]
        assert x1 <= xs.min() and y1 <= ys.min() and x2 >= xs.max() and y2 >= ys.max()
        assert (x2 - x1) <= 1.1 * (xs.max() - xs.min()) + 4  # the bezel, not more


def test_random_training_samples_are_valid():
    rng = random.Random(11)
    for _ in range(20):
        camera, seats = random_view(rng)
        w, h = camera["resolution"]
        for seat in seats:
            assert isinstance(seat, SeatView)
            assert (seat.screen >= 0).all() and (seat.screen[:, 0] <= w).all() and (seat.screen[:, 1] <= h).all()
        frame, labels = random_sample(rng)
        fh, fw = frame.shape[:2]
        assert fw in (320, 400, 480, 640)
        for label, (x1, y1, x2, y2) in labels:
            assert label in NAMES and 0 <= x1 < x2 <= fw and 0 <= y1 < y2 <= fh
