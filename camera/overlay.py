"""Seat polygons and detections drawn on a camera frame: the picture an alarm carries."""
from __future__ import annotations

from collections.abc import Iterable, Sequence

import cv2
import numpy as np

from camera.coverage import Box

SEAT_COLOUR = (0, 200, 255)  # BGR: amber
SCREEN_COLOUR = (255, 200, 0)  # cyan-blue
BOX_COLOURS = {"person": (60, 220, 60), "screen": (220, 60, 220)}


def draw_seat_overlay(frame: np.ndarray, main_width: int,
                      seats: Iterable[tuple[str, Sequence[Sequence[float]], Sequence[Sequence[float]]]],
                      boxes: Iterable[Box]) -> np.ndarray:
    """A copy of ``frame`` with each (seat id, seat zone, screen zone) and each box drawn on it.
    Zones and boxes are in main-stream pixels; ``main_width`` scales them onto the frame."""
    out = frame.copy() if frame.ndim == 3 else cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
    scale = out.shape[1] / main_width
    thick = max(1, round(out.shape[1] / 400))
    for seat_id, seat_zone, screen_zone in seats:
        for zone, colour in ((seat_zone, SEAT_COLOUR), (screen_zone, SCREEN_COLOUR)):
            pts = np.round(np.array(zone, np.float32) * scale).astype(np.int32)
            cv2.polylines(out, [pts], True, colour, thick, cv2.LINE_AA)
        x, y = np.round(np.array(seat_zone[0], np.float32) * scale).astype(int)
        cv2.putText(out, seat_id, (int(x) + 4, int(y) + 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, SEAT_COLOUR, thick,
                    cv2.LINE_AA)
    for b in boxes:
        colour = BOX_COLOURS.get(b.label, (200, 200, 200))
        p1 = (round(b.x1 * scale), round(b.y1 * scale))
        p2 = (round(b.x2 * scale), round(b.y2 * scale))
        cv2.rectangle(out, p1, p2, colour, thick)
        cv2.putText(out, f"{b.label} {b.score:.2f}", (p1[0] + 2, max(12, p1[1] - 4)), cv2.FONT_HERSHEY_SIMPLEX,
                    0.4, colour, 1, cv2.LINE_AA)
    return out
