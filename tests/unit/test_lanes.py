"""Counting people in a gate lane: feet inside the lane polygon, and the watcher that counts on
each new frame while a grant's window is open, then stops."""
from __future__ import annotations

import time

import numpy as np

from camera.coverage import Box, persons_in_zone
from edge_agent.lanes import LaneWatcher
from tests.conftest import wait_for

LANE = [(500, 250), (780, 250), (820, 700), (460, 700)]


def test_people_count_by_where_their_feet_are():
    boxes = [Box(560, 300, 700, 480, "person"),   # feet in the lane
             Box(560, 100, 700, 240, "person"),   # above it (beyond the gate)
             Box(100, 300, 200, 480, "person"),   # beside it
             Box(560, 300, 700, 480, "screen")]   # not a person
    assert persons_in_zone(boxes, LANE) == 1
    assert persons_in_zone([Box(400, 300, 1000, 600, "person")], LANE) == 1  # wide, centred inside
    assert persons_in_zone([], LANE) == 0


class Cameras:
    def __init__(self) -> None:
        self.frames = 0

    def camera_state(self, camera: str) -> str:
        return "recording"

    def camera_frame(self, camera: str):
        self.frames += 1
        return np.zeros((2, 2, 3), np.uint8)  # a new frame object every time


def test_the_watcher_reports_counts_while_the_window_is_open_then_stops():
    reports: list[tuple[str, int]] = []
    cams = Cameras()
    two = (Box(560, 300, 700, 480, "person"), Box(580, 420, 720, 640, "person"))
    watcher = LaneWatcher(cams, lambda camera, frame: two, lambda gate, n: reports.append((gate, n)), period_s=0.02)
    watcher.watch("gate-main", "cam-gate", LANE, 0.3)
    watcher.watch("gate-main", "cam-gate", LANE, 0.3)  # a second grant extends, no second thread
    wait_for(lambda: not watcher._deadlines, timeout=5, interval=0.02, what="the window closed")
    seen = len(reports)
    assert seen >= 5 and set(reports) == {("gate-main", 2)}
    time.sleep(0.2)  # a window: a watcher still counting would report in it
    assert len(reports) == seen  # the window closed: no more counting
    watcher.stop()


def test_a_failing_detector_ends_the_watch_without_raising():
    def broken(camera, frame):
        raise RuntimeError("model gone")
    watcher = LaneWatcher(Cameras(), broken, lambda gate, n: None, period_s=0.01)
    watcher.watch("gate-main", "cam-gate", LANE, 5.0)
    wait_for(lambda: watcher._deadlines == {}, timeout=5, interval=0.01, what="the watch ended")
    assert watcher._deadlines == {}  # the watch ended; the next grant starts a new one
