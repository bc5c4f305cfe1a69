"""The demo says plainly when its disk cannot hold a week of its recordings (its first alarm is
then a true 'recording disk nearly full'), and says nothing when it can."""
from __future__ import annotations

from siteguard_cli import demo_disk_note

CAMERAS = {f"cam-0{i}": (1280, 720) for i in range(1, 10)}


def test_a_small_disk_is_named_with_its_figures():
    note = demo_disk_note(70 * 10**9, 100 * 10**9, 5, CAMERAS)
    assert note is not None
    assert "9 cameras record about 89.6 GB a day" in note and "70.0 GB free" in note
    assert "reserve in 0.7 days" in note and "Recording disk nearly full" in note


def test_a_disk_with_a_week_of_room_needs_no_note():
    assert demo_disk_note(2 * 10**12, 2 * 10**12, 5, CAMERAS) is None
