"""A synthetic office seen by one camera: desks, monitors with live content, people, faults.

Everything is a pure function of (seed, t) plus the overrides and fault set by the caller, so a
test can ask for the frame at t=12.5 and get the same pixels every time. The static parts are
painted once; each frame copies them and draws only what moves.
"""
from __future__ import annotations

import bisect
import random
import threading
import time
import zlib
from dataclasses import dataclass

import cv2
import numpy as np

from simulators.camera.site_view import SeatView

FAULTS = ("blackout", "lens_covered", "defocus", "turned", "stall")
SEAT_MODES = ("auto", "occupied", "empty")
STATES = ("arriving", "seated", "leaving", "empty")

SCREEN_HZ = 5.0
# A knocked camera mostly pans and tilts; the roll stays small. Beyond about 3 degrees of roll
# phase correlation on this scene loses its peak, and that is the measure tamper checks use.
TURN_DEGREES = 2.0
TURN_SHIFT = (0.16, 0.04)   # fractions of width and height
ARRIVE_S = 4.0
LEAVE_S = 4.0

_WORDS = ("label", "span", "entity", "intent", "audio", "segment", "bbox", "class", "review",
          "speaker", "noise", "token", "query", "answer", "image", "frame", "merge", "accept",
          "reject", "street", "vehicle", "lane", "sign", "utterance", "pinyin", "tone", "skip")
_LABELS = ("car", "person", "sign", "bike", "bus", "dog", "lamp", "truck")


def _stable_seed(*parts) -> int:
    """Python's hash() is salted per process; crc32 keeps frames identical across runs."""
    return zlib.crc32("|".join(str(p) for p in parts).encode())


def _smooth(x: float) -> float:
    x = min(1.0, max(0.0, x))
    return x * x * (3 - 2 * x)


class Occupancy:
    """When a seat is empty, being arrived at, occupied or left: a seeded timeline.

    The timeline is generated lazily and only ever extended, so state_at(t) does not depend on
    which times were asked before.
    """

    def __init__(self, seed: int):
        self._lock = threading.Lock()   # the render thread and status queries both extend it
        self._rng = random.Random(seed)
        # Most seats are busy when the shift is running; start somewhere inside a segment.
        if self._rng.random() < 0.8:
            first, length = "seated", self._rng.uniform(30.0, 240.0)
        else:
            first, length = "empty", self._rng.uniform(5.0, 40.0)
        start = -self._rng.uniform(0.0, length * 0.9)
        self._starts: list[float] = [start]
        self._ends: list[float] = [start + length]
        self._states: list[str] = [first]

    def _next_length(self, state: str) -> float:
        if state == "arriving":
            return ARRIVE_S
        if state == "leaving":
            return LEAVE_S
        if state == "seated":
            return self._rng.uniform(40.0, 400.0)
        return self._rng.uniform(8.0, 90.0)

    def _extend_to(self, t: float) -> None:
        order = {"seated": "leaving", "leaving": "empty", "empty": "arriving", "arriving": "seated"}
        while self._ends[-1] <= t:
            state = order[self._states[-1]]
            start = self._ends[-1]
            self._starts.append(start)
            self._ends.append(start + self._next_length(state))
            self._states.append(state)

    def state_at(self, t: float) -> tuple[str, float]:
        """(state, progress 0..1 through that state) at t seconds."""
        t = max(0.0, float(t))
        with self._lock:
            self._extend_to(t)
            i = bisect.bisect_right(self._starts, t) - 1
            start, end, state = self._starts[i], self._ends[i], self._states[i]
        return state, (t - start) / (end - start)


def _order_quad(points: np.ndarray) -> np.ndarray:
    """Corners as top-left, top-right, bottom-right, bottom-left (float32)."""
    pts = np.asarray(points, dtype=np.float32)
    if len(pts) != 4:
        pts = cv2.boxPoints(cv2.minAreaRect(pts)).astype(np.float32)
    s = pts.sum(axis=1)
    d = pts[:, 1] - pts[:, 0]
    return np.array([pts[np.argmin(s)], pts[np.argmin(d)], pts[np.argmax(s)], pts[np.argmax(d)]],
                    dtype=np.float32)


def _pt(x: float, y: float) -> tuple[int, int]:
    return int(round(x)), int(round(y))


@dataclass
class _Layout:
    """Where a seat's furniture and person go, derived from its two polygons."""

    quad: np.ndarray          # screen corners TL, TR, BR, BL
    seat_box: tuple[int, int, int, int]
    cx: float                 # centre line of the workstation
    top: float                # bottom edge of the screen
    u: float                  # the unit: space between the screen and the seat's bottom
    sw: float                 # screen width

    @classmethod
    def of(cls, view: SeatView, frame_h: int) -> "_Layout":
        quad = _order_quad(view.screen)
        x0, y0, w, h = cv2.boundingRect(view.seat.astype(np.int32))
        top = float(max(quad[2, 1], quad[3, 1]))
        bottom = min(float(y0 + h), float(frame_h))
        u = max(40.0, bottom - top)
        sw = float(np.linalg.norm(quad[1] - quad[0]))
        return cls(quad, (x0, y0, x0 + w, y0 + h), float(quad[:, 0].mean()), top, u, sw)


class _ScreenPainter:
    """What a monitor shows: an annotation tool with scrolling text, or a lock screen."""

    def __init__(self, view: SeatView, quad: np.ndarray, seed: int):
        top_w = np.linalg.norm(quad[1] - quad[0])
        bot_w = np.linalg.norm(quad[2] - quad[3])
        left_h = np.linalg.norm(quad[3] - quad[0])
        right_h = np.linalg.norm(quad[2] - quad[1])
        self.w = int(max(32, max(top_w, bot_w)))
        self.h = int(max(24, max(left_h, right_h)))
        self.customer = view.customer or "customer"
        self.seat_id = view.seat_id
        self.rng = random.Random(seed)
        self.phase = self.rng.uniform(0, 15)
        self.line_h = max(8, self.h // 14)
        self.bar_h = self.line_h + 2
        self.font_scale = max(0.3, self.line_h / 22.0)
        self.doc_w = int(self.w * 0.56)
        self.doc = self._document(120)
        # Warp target: the screen polygon's bounding box, and the polygon itself as the mask,
        # so the content fills exactly the screen the site file declares.
        x, y, rw, rh = cv2.boundingRect(view.screen.astype(np.int32))
        self.roi = (x, y, rw, rh)
        src = np.float32([[0, 0], [self.w - 1, 0], [self.w - 1, self.h - 1], [0, self.h - 1]])
        self.matrix = cv2.getPerspectiveTransform(src, quad - np.float32([x, y]))
        mask = np.zeros((rh, rw), np.uint8)
        cv2.fillPoly(mask, [view.screen.astype(np.int32) - [x, y]], 255)
        self.mask = mask

    def _document(self, lines: int) -> np.ndarray:
        doc = np.full((lines * self.line_h, self.doc_w, 3), (246, 244, 240), np.uint8)
        for i in range(lines):
            words, x = [], 0
            while True:
                word = self.rng.choice(_WORDS)
                if x + len(word) + 1 > 40:
                    break
                words.append(word)
                x += len(word) + 1
            indent = 4 + (self.line_h if i % 5 else 0)
            color = (40, 40, 40) if i % 7 else (150, 60, 20)
            cv2.putText(doc, " ".join(words), (indent, (i + 1) * self.line_h - 2),
                        cv2.FONT_HERSHEY_PLAIN, self.font_scale, color, 1, cv2.LINE_AA)
        return np.vstack([doc, doc])  # doubled so any scroll offset is one contiguous slice

    def paint(self, t: float, working: bool) -> np.ndarray:
        return self._work(t) if working else self._locked(t)

    def _work(self, t: float) -> np.ndarray:
        img = np.empty((self.h, self.w, 3), np.uint8)
        img[:] = (226, 222, 218)
        img[:self.bar_h] = (120, 70, 30)
        cv2.putText(img, f"{self.customer} | label tool | {self.seat_id}", (3, self.bar_h - 3),
                    cv2.FONT_HERSHEY_PLAIN, self.font_scale, (255, 255, 255), 1, cv2.LINE_AA)
        text_h = self.h - 2 * self.bar_h
        half = self.doc.shape[0] // 2
        offset = int(t * 1.6 * self.line_h) % half  # about one new line every 0.6 s
        img[self.bar_h:self.bar_h + text_h, :self.doc_w] = self.doc[offset:offset + text_h]
        # Blinking cursor that walks along the line being typed.
        if int(t * 2) % 2 == 0:
            cx = 6 + int((t * 40) % max(8, self.doc_w - 16))
            cy = self.bar_h + text_h - self.line_h
            cv2.rectangle(img, (cx, cy), (cx + 3, cy + self.line_h - 2), (20, 20, 20), -1)
        self._image_task(img, t)
        item = 1000 + int(t / 3)
        cv2.rectangle(img, (0, self.h - self.bar_h), (self.w, self.h), (60, 60, 60), -1)
        cv2.putText(img, f"item {item}/5000  {int(t) % 60:02d}s", (3, self.h - 3),
                    cv2.FONT_HERSHEY_PLAIN, self.font_scale, (230, 230, 230), 1, cv2.LINE_AA)
        return img

    def _image_task(self, img: np.ndarray, t: float) -> None:
        """A labelled image box shown for part of every 15 s, different each time."""
        cycle, within = divmod(t + self.phase, 15.0)
        x0, y0 = self.doc_w + 4, self.bar_h + 4
        x1, y1 = self.w - 4, self.h - self.bar_h - 4
        if within > 9.0 or x1 - x0 < 16 or y1 - y0 < 16:
            cv2.rectangle(img, (x0, y0), (x1, y1), (200, 196, 192), -1)
            return
        rng = random.Random(_stable_seed(self.seat_id, int(cycle)))
        split = y0 + int((y1 - y0) * rng.uniform(0.4, 0.6))
        cv2.rectangle(img, (x0, y0), (x1, split), (210, 170, 120), -1)
        cv2.rectangle(img, (x0, split), (x1, y1), (80, 120, 90), -1)
        ox = x0 + int((x1 - x0) * rng.uniform(0.2, 0.6))
        oy = y0 + int((y1 - y0) * rng.uniform(0.3, 0.6))
        ow, oh = max(6, (x1 - x0) // 3), max(6, (y1 - y0) // 4)
        color = tuple(rng.randrange(30, 220) for _ in range(3))
        cv2.rectangle(img, (ox, oy), (ox + ow, oy + oh), color, -1)
        cv2.circle(img, (ox + ow // 4, oy + oh), max(2, oh // 4), (20, 20, 20), -1)
        cv2.circle(img, (ox + 3 * ow // 4, oy + oh), max(2, oh // 4), (20, 20, 20), -1)
        if within > 3.0:  # the annotator has drawn the box
            cv2.rectangle(img, (ox - 2, oy - 2), (ox + ow + 2, oy + oh + 4), (0, 220, 255), 1)
            cv2.putText(img, rng.choice(_LABELS), (ox, max(y0 + 8, oy - 4)),
                        cv2.FONT_HERSHEY_PLAIN, self.font_scale, (0, 220, 255), 1, cv2.LINE_AA)

    def _locked(self, t: float) -> np.ndarray:
        img = np.empty((self.h, self.w, 3), np.uint8)
        img[:] = (90, 40, 20)
        # A moving logo and a ticking clock: a locked screen still changes, like a real one.
        span_x, span_y = max(1, self.w - 30), max(1, self.h - 30)
        px = int(abs((t * 23 + self.phase * 10) % (2 * span_x) - span_x))
        py = int(abs((t * 17 + self.phase * 7) % (2 * span_y) - span_y))
        cv2.rectangle(img, (px, py), (px + 26, py + 26), (200, 160, 60), -1)
        cv2.putText(img, "locked", (4, self.h // 2), cv2.FONT_HERSHEY_PLAIN,
                    self.font_scale * 1.5, (230, 230, 230), 1, cv2.LINE_AA)
        cv2.putText(img, time.strftime("%H:%M:%S", time.gmtime(t)),
                    (4, self.h // 2 + 2 * self.line_h),
                    cv2.FONT_HERSHEY_PLAIN, self.font_scale, (230, 230, 230), 1, cv2.LINE_AA)
        return img

    def warp(self, content: np.ndarray) -> np.ndarray:
        """Content mapped onto the screen polygon's bounding box."""
        _, _, rw, rh = self.roi
        return cv2.warpPerspective(content, self.matrix, (rw, rh), flags=cv2.INTER_LINEAR)

    def blit(self, frame: np.ndarray, warped: np.ndarray) -> None:
        x, y, rw, rh = self.roi
        fh, fw = frame.shape[:2]
        if x < 0 or y < 0 or x + rw > fw or y + rh > fh:
            return  # a screen outside the image cannot be drawn; the site file is wrong
        region = frame[y:y + rh, x:x + rw]
        region[:] = cv2.copyTo(warped, self.mask, np.ascontiguousarray(region))


class _SeatPainter:
    """Desk, monitor, chair (static) and the person and occluder (per frame) of one seat."""

    def __init__(self, view: SeatView, frame_h: int, seed: int, index: int):
        self.view = view
        self.lay = _Layout.of(view, frame_h)
        rng = random.Random(seed)
        self.occupancy = Occupancy(rng.randrange(1 << 30))
        self.screen = _ScreenPainter(view, self.lay.quad, rng.randrange(1 << 30))
        self.shirt = (rng.randrange(40, 200), rng.randrange(40, 200), rng.randrange(40, 200))
        self.hair = rng.choice([(20, 20, 25), (30, 45, 70), (15, 15, 15), (60, 80, 110)])
        self.skin = rng.choice([(140, 170, 215), (110, 145, 190), (90, 120, 160)])
        self.side = -1 if index % 2 == 0 else 1   # which way the person walks in from
        self.phase = rng.uniform(0, 6.28)
        self._screen_key: tuple[int, bool] | None = None
        self._screen_img: np.ndarray | None = None

    # -- static ---------------------------------------------------------------------------
    def paint_static(self, img: np.ndarray) -> None:
        lay, u = self.lay, self.lay.u
        x0, _, x1, y1 = lay.seat_box
        inset = 0.04 * (x1 - x0)
        back, front = lay.top + 0.02 * u, lay.top + 0.34 * u
        desk = np.array([_pt(x0 + inset, back), _pt(x1 - inset, back),
                         _pt(x1, front), _pt(x0, front)], np.int32)
        cv2.fillPoly(img, [desk], (70, 105, 140))
        for k in range(1, 8):  # wood grain gives the desk texture to measure sharpness on
            yy = back + (front - back) * k / 8
            cv2.line(img, _pt(x0 + inset * (1 - k / 8), yy), _pt(x1 - inset * (1 - k / 8), yy),
                     (55, 88, 120), 1)
        cv2.polylines(img, [desk], True, (40, 60, 80), 2)
        # Chair: backrest and seat, drawn before the person so the person sits in front.
        cx = lay.cx
        cv2.rectangle(img, _pt(cx - 0.3 * u, lay.top + 0.42 * u), _pt(cx + 0.3 * u, y1 - 0.06 * u),
                      (45, 45, 50), -1)
        cv2.rectangle(img, _pt(cx - 0.3 * u, lay.top + 0.42 * u), _pt(cx + 0.3 * u, y1 - 0.06 * u),
                      (80, 80, 85), 2)
        cv2.ellipse(img, _pt(cx, lay.top + 0.4 * u), _pt(0.32 * u, 0.07 * u), 0, 0, 360,
                    (60, 60, 66), -1)
        # Keyboard and mouse on the desk, below the screen.
        kx, ky = cx, lay.top + 0.17 * u
        kw, kh = 0.55 * lay.sw / 2, 0.045 * u
        cv2.rectangle(img, _pt(kx - kw, ky - kh), _pt(kx + kw, ky + kh), (35, 35, 35), -1)
        for k in range(1, 12):
            xx = kx - kw + 2 * kw * k / 12
            cv2.line(img, _pt(xx, ky - kh), _pt(xx, ky + kh), (70, 70, 70), 1)
        cv2.ellipse(img, _pt(kx + kw + 0.08 * u, ky), _pt(0.025 * u, 0.035 * u), 0, 0, 360,
                    (40, 40, 40), -1)
        # Monitor: stand, then a bezel slightly larger than the screen polygon.
        q = lay.quad
        bottom_mid = (q[2] + q[3]) / 2
        cv2.rectangle(img, _pt(bottom_mid[0] - 0.04 * lay.sw, bottom_mid[1]),
                      _pt(bottom_mid[0] + 0.04 * lay.sw, lay.top + 0.09 * u), (30, 30, 30), -1)
        cv2.ellipse(img, _pt(bottom_mid[0], lay.top + 0.09 * u), _pt(0.16 * lay.sw, 0.025 * u),
                    0, 0, 360, (30, 30, 30), -1)
        centre = q.mean(axis=0)
        bezel = (centre + (q - centre) * 1.07).astype(np.int32)
        cv2.fillPoly(img, [bezel], (25, 25, 28))
        cv2.fillPoly(img, [self.view.screen.astype(np.int32)], (10, 10, 10))

    # -- per frame ------------------------------------------------------------------------
    def state(self, t: float, mode: str) -> tuple[str, float]:
        if mode == "occupied":
            return "seated", 0.5
        if mode == "empty":
            return "empty", 0.5
        return self.occupancy.state_at(t)

    def paint_screen(self, frame: np.ndarray, t: float, state: str, progress: float) -> None:
        working = (state == "seated" or (state == "arriving" and progress > 0.8)
                   or (state == "leaving" and progress < 0.3))
        # Screen content is redrawn 5 times a second (typing speed); frames in between reuse
        # the warped image, which halves the cost at 10 fps.
        step = int(t * SCREEN_HZ)
        if self._screen_key != (step, working):
            self._screen_key = (step, working)
            self._screen_img = self.screen.warp(self.screen.paint(step / SCREEN_HZ, working))
        self.screen.blit(frame, self._screen_img)

    def _person_pose(self, t: float, state: str, progress: float, frame_h: int) -> dict | None:
        """Where the person's parts are at t (None when the seat is empty): one geometry for
        both painting and the ground-truth box."""
        if state == "empty":
            return None
        lay, u = self.lay, self.lay.u
        x0, _, x1, _ = lay.seat_box
        if state == "seated":
            walk, stand = 0.0, 0.0
        else:
            p = progress if state == "arriving" else 1.0 - progress
            walk = 1.0 - _smooth(p / 0.7)          # 1 at the seat's edge, 0 at the chair
            stand = 1.0 - _smooth((p - 0.7) / 0.3)  # standing until the last part, then sits
        edge = (x0 + 0.12 * (x1 - x0)) if self.side < 0 else (x1 - 0.12 * (x1 - x0))
        cx = lay.cx + (edge - lay.cx) * walk
        bob = 0.015 * u * np.sin(t * 1.3 + self.phase) + (0.02 * u * abs(np.sin(t * 6)) * walk)
        lift = 0.22 * u * stand
        head_y = lay.top + 0.3 * u - lift + bob
        head_r = 0.09 * u
        sh_y = head_y + head_r + 0.08 * u
        sh_w = 0.22 * u
        hip_y = min(frame_h - 1.0, lay.top + 0.95 * u - lift)
        torso = np.array([_pt(cx - sh_w, sh_y), _pt(cx + sh_w, sh_y),
                          _pt(cx + 0.17 * u, hip_y), _pt(cx - 0.17 * u, hip_y)], np.int32)
        # Arms: hands on the keyboard when seated (moving while typing), hanging when standing.
        arms = []
        for side in (-1, 1):
            shoulder = np.array([cx + side * (sh_w - 0.02 * u), sh_y + 0.03 * u])
            ph = self.phase + (0 if side < 0 else 1.7)
            type_hand = np.array([lay.cx + side * 0.2 * u + 0.012 * u * np.sin(t * 19 + ph),
                                  lay.top + 0.16 * u + 0.012 * u * abs(np.sin(t * 13 + ph))])
            hang_hand = shoulder + [side * 0.06 * u, 0.45 * u]
            hand = type_hand + (hang_hand - type_hand) * max(stand, walk)
            elbow = (shoulder + hand) / 2 + [side * 0.12 * u, 0.16 * u * (1 - max(stand, walk))]
            arms.append((shoulder, elbow, hand))
        return {"cx": cx, "head_y": head_y, "head_r": head_r, "sh_y": sh_y, "torso": torso,
                "arms": arms, "thick": max(3, int(0.07 * u))}

    def paint_person(self, frame: np.ndarray, t: float, state: str, progress: float) -> None:
        pose = self._person_pose(t, state, progress, frame.shape[0])
        if pose is None:
            return
        u = self.lay.u
        cx, head_y, head_r, sh_y, thick = (pose[k] for k in ("cx", "head_y", "head_r", "sh_y", "thick"))
        for shoulder, elbow, hand in pose["arms"]:
            cv2.line(frame, _pt(*shoulder), _pt(*elbow), self.shirt, thick, cv2.LINE_AA)
            cv2.line(frame, _pt(*elbow), _pt(*hand), self.shirt, thick, cv2.LINE_AA)
            cv2.circle(frame, _pt(*hand), max(2, thick // 2 + 1), self.skin, -1, cv2.LINE_AA)
        torso = pose["torso"]
        cv2.fillPoly(frame, [torso], self.shirt, cv2.LINE_AA)
        cv2.polylines(frame, [torso], True, tuple(max(0, c - 40) for c in self.shirt), 2)
        cv2.rectangle(frame, _pt(cx - 0.04 * u, head_y + head_r * 0.7),
                      _pt(cx + 0.04 * u, sh_y + 2), self.skin, -1)
        cv2.circle(frame, _pt(cx, head_y), int(head_r), self.skin, -1, cv2.LINE_AA)
        # Seen from behind: mostly hair, ears at the sides.
        cv2.ellipse(frame, _pt(cx, head_y + 0.1 * head_r), _pt(head_r, head_r * 0.95), 0, 0, 360,
                    self.hair, -1, cv2.LINE_AA)
        for side in (-1, 1):
            cv2.circle(frame, _pt(cx + side * head_r, head_y + 0.1 * head_r),
                       max(2, int(head_r * 0.22)), self.skin, -1)

    def person_box(self, t: float, state: str, progress: float, frame_h: int) -> tuple[float, ...] | None:
        """The person's bounding box (x1, y1, x2, y2) as painted, or None when nobody is there."""
        pose = self._person_pose(t, state, progress, frame_h)
        if pose is None:
            return None
        half = pose["thick"] / 2 + 1
        pts = [tuple(p) for p in pose["torso"]]
        for arm in pose["arms"]:
            for x, y in arm:
                pts += [(x - half, y - half), (x + half, y + half)]
        r = pose["head_r"] * 1.25  # the ears stick out past the head
        pts += [(pose["cx"] - r, pose["head_y"] - pose["head_r"]), (pose["cx"] + r, pose["head_y"] + r)]
        xs, ys = [float(p[0]) for p in pts], [float(p[1]) for p in pts]
        # the torso's outline is drawn 2 px wide around its corners
        return min(xs) - 1.5, min(ys) - 1.5, max(xs) + 1.5, max(ys) + 1.5

    def _occluder_shape(self, t: float, frame_h: int) -> tuple[np.ndarray, tuple[int, int], int]:
        """Body polygon, head centre and head radius of someone standing in front of the screen."""
        x, y, w, h = cv2.boundingRect(self.view.screen.astype(np.int32))
        pad_x, pad_y = int(0.15 * w) + 4, int(0.15 * h) + 4
        left, right = x - pad_x, x + w + pad_x
        top, bottom = y - pad_y, min(frame_h - 1, y + h + int(0.8 * self.lay.u))
        sway = int(4 * np.sin(t * 0.9))
        body = np.array([(left + sway, top + pad_y), (left + pad_x + sway, top),
                         (right - pad_x + sway, top), (right + sway, top + pad_y),
                         (right + pad_x // 2 + sway, bottom), (left - pad_x // 2 + sway, bottom)],
                        np.int32)
        head_r = max(10, w // 4)
        return body, ((left + right) // 2 + sway, max(head_r, top - head_r // 2)), head_r

    def paint_occluder(self, frame: np.ndarray, t: float) -> None:
        """Someone standing right in front of the camera's view of this screen."""
        body, head, head_r = self._occluder_shape(t, frame.shape[0])
        cv2.fillPoly(frame, [body], (55, 48, 40), cv2.LINE_AA)
        top, bottom = int(body[:, 1].min()), int(body[:, 1].max())
        cv2.line(frame, (head[0], top + 4), (head[0], bottom), (35, 30, 25), 3)
        cv2.circle(frame, head, head_r, (30, 30, 35), -1, cv2.LINE_AA)

    def occluder_box(self, t: float, frame_h: int) -> tuple[float, ...]:
        body, (hx, hy), r = self._occluder_shape(t, frame_h)
        return (float(min(body[:, 0].min(), hx - r)), float(min(body[:, 1].min(), hy - r)),
                float(max(body[:, 0].max(), hx + r)), float(max(body[:, 1].max(), hy + r)))

    def screen_box(self) -> tuple[float, ...]:
        """The monitor as painted: the bezel around the screen polygon."""
        q = self.lay.quad
        centre = q.mean(axis=0)
        bezel = centre + (q - centre) * 1.07
        return (float(bezel[:, 0].min()), float(bezel[:, 1].min()),
                float(bezel[:, 0].max()), float(bezel[:, 1].max()))


WALK_S = 3.0  # to cross a gate lane
WALK_GAP_S = 0.9  # between two people walking through one after the other


class _Lane:
    """A gate lane seen from above and behind: posts and a barrier, and people walking through it
    away from the camera, smaller as they go. Each walker is painted like a seat's person,
    standing, on a layout that moves along the lane."""

    def __init__(self, polygon: np.ndarray, frame_h: int, seed: int) -> None:
        self.poly = polygon
        self.frame_h = frame_h
        self.box = cv2.boundingRect(polygon)
        self.seed = seed
        self.walkers: list[tuple[float, _SeatPainter]] = []
        self._lock = threading.Lock()  # the control thread adds, the render thread reads

    def paint_static(self, img: np.ndarray) -> None:
        x, y, w, h = self.box
        cv2.polylines(img, [self.poly], True, (40, 160, 220), 3)
        mid = y + h // 2
        for px in (x - 6, x + w - 6):  # the turnstile's two posts and its arm
            cv2.rectangle(img, (px, mid - h // 6), (px + 12, mid + h // 10), (90, 90, 95), -1)
        cv2.line(img, (x + 6, mid - h // 12), (x + w - 6, mid - h // 12), (60, 60, 200), 4)

    def add(self, count: int, t: float) -> None:
        x, y, w, h = self.box
        with self._lock:
            self.walkers = [(t0, p) for t0, p in self.walkers if t - t0 <= WALK_S]
            for i in range(count):
                n = len(self.walkers) + i
                view = SeatView(f"walker-{n}", "", np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]], np.int32),
                                np.array([[x, y], [x + 8, y], [x + 8, y + 6], [x, y + 6]], np.int32))
                self.walkers.append((t + i * WALK_GAP_S, _SeatPainter(view, self.frame_h, self.seed + n, n)))

    def _placed(self, t: float) -> list[_SeatPainter]:
        """Walkers on the lane at t, placed, farthest first (painted first)."""
        x, y, w, h = self.box
        out = []
        with self._lock:
            walkers = list(self.walkers)
        for t0, painter in walkers:
            p = (t - t0) / WALK_S
            if not 0.0 <= p <= 1.0:
                continue
            feet = y + h - p * h * 0.9
            u = w * 0.6 * (0.7 + 0.3 * (feet - y) / max(1, h))  # nearer is larger
            top = feet - 1.05 * u
            cx = x + w / 2
            painter.lay = _Layout(np.zeros((4, 2), np.float32), (int(cx - u / 2), int(top), int(cx + u / 2),
                                  int(top + u)), cx, top, u, u)
            out.append((feet, painter))
        return [painter for _, painter in sorted(out, key=lambda fp: fp[0])]

    def paint(self, frame: np.ndarray, t: float) -> None:
        for painter in self._placed(t):
            painter.paint_person(frame, t, *WALKING)

    def boxes(self, t: float) -> list[tuple[float, ...]]:
        return [b for painter in self._placed(t) if (b := painter.person_box(t, *WALKING, self.frame_h))]


WALKING = ("arriving", 0.69)  # a seat's person standing up, arms down: a walker's pose


def _visible_share(hidden: np.ndarray, box: tuple[float, ...]) -> float:
    """Share of a box not covered by the mask of what stands in front of it."""
    h, w = hidden.shape
    x1, y1 = max(0, int(box[0])), max(0, int(box[1]))
    x2, y2 = min(w, int(np.ceil(box[2]))), min(h, int(np.ceil(box[3])))
    if x2 <= x1 or y2 <= y1:
        return 0.0
    return 1.0 - float(hidden[y1:y2, x1:x2].mean())


def _moved_box(m: np.ndarray, box: tuple[float, ...]) -> tuple[float, float, float, float]:
    """The box around a box's corners after the affine map m."""
    x1, y1, x2, y2 = box
    pts = np.array([[x1, y1, 1], [x2, y1, 1], [x2, y2, 1], [x1, y2, 1]], np.float64) @ m.T
    return (float(pts[:, 0].min()), float(pts[:, 1].min()), float(pts[:, 0].max()), float(pts[:, 1].max()))


def _background(w: int, h: int, seed: int) -> np.ndarray:
    """Wall, poster, cable tray and tiled floor, with fine texture for focus measurements."""
    rng = np.random.default_rng(seed)
    img = np.empty((h, w, 3), np.uint8)
    wall_h = int(h * 0.22)
    img[:wall_h] = (196, 208, 214)
    for x in range(0, w, max(8, w // 16)):
        cv2.line(img, (x, 0), (x, wall_h), (176, 188, 194), 2)
    tile = max(8, w // 20)
    floor = img[wall_h:]
    for ty in range(0, h - wall_h, tile):
        for tx in range(0, w, tile):
            shade = int(rng.integers(-14, 15))
            floor[ty:ty + tile, tx:tx + tile] = (150 + shade, 156 + shade, 160 + shade)
    for ty in range(0, h - wall_h, tile):
        cv2.line(floor, (0, ty), (w, ty), (110, 114, 118), 2)
    for tx in range(0, w, tile):
        cv2.line(floor, (tx, 0), (tx, h), (110, 114, 118), 2)
    # Poster on the wall: stripes, a checker block and text.
    px0, px1, py0, py1 = int(w * 0.4), int(w * 0.6), int(h * 0.02), int(h * 0.17)
    cv2.rectangle(img, (px0, py0), (px1, py1), (240, 240, 240), -1)
    cv2.rectangle(img, (px0, py0), (px1, py0 + (py1 - py0) // 4), (40, 40, 200), -1)
    scale = max(0.3, h / 1400)
    cv2.putText(img, "DATA SECURITY ZONE", (px0 + 6, py0 + (py1 - py0) // 4 - 4),
                cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1, cv2.LINE_AA)
    cv2.putText(img, "NO PHONES  NO USB", (px0 + 6, py1 - 8), cv2.FONT_HERSHEY_SIMPLEX, scale,
                (30, 30, 30), 1, cv2.LINE_AA)
    cell = max(3, (py1 - py0) // 10)
    for i in range(6):
        for j in range(3):
            if (i + j) % 2 == 0:
                cx, cy = px1 - 8 - (i + 1) * cell, py0 + (py1 - py0) // 3 + j * cell
                cv2.rectangle(img, (cx, cy), (cx + cell, cy + cell), (20, 20, 20), -1)
    # Cable tray along the wall: a hatched band.
    ty0, ty1 = wall_h - max(6, h // 40), wall_h
    cv2.rectangle(img, (0, ty0), (w, ty1), (120, 120, 120), -1)
    for x in range(0, w, 7):
        cv2.line(img, (x, ty0), (x + (ty1 - ty0), ty1), (80, 80, 80), 1)
    noise = rng.normal(0, 4, (h, w, 1))
    return np.clip(img.astype(np.int16) + noise.astype(np.int16), 0, 255).astype(np.uint8)


class Scene:
    """Renders one camera's view at time t (seconds since start) as a BGR uint8 frame."""

    def __init__(self, camera: dict, seats: list[SeatView], seed: int = 0,
                 lanes: list[np.ndarray] | tuple = ()):
        self.camera_id = str(camera.get("id", "camera"))
        w, h = camera.get("resolution", [1280, 720])
        self.width, self.height = int(w), int(h)
        self.seed = seed
        self.clock_origin = time.time()  # wall clock shown at t = 0
        self._seats = [
            _SeatPainter(v, self.height, _stable_seed(self.camera_id, v.seat_id, seed), i)
            for i, v in enumerate(seats)]
        self._base = _background(self.width, self.height, _stable_seed(self.camera_id, seed))
        for seat in self._seats:
            seat.paint_static(self._base)
        self._lanes = [_Lane(np.asarray(lane, np.int32), self.height, _stable_seed(self.camera_id, "lane", i, seed))
                       for i, lane in enumerate(lanes)]
        for lane in self._lanes:
            lane.paint_static(self._base)
        self._modes: dict[str, str] = {}
        self._occluded: set[str] = set()
        self._fault: str | None = None
        self._noise: list[np.ndarray] = []
        self._last: tuple[float, np.ndarray] | None = None

    # -- controls -------------------------------------------------------------------------
    @property
    def seat_ids(self) -> list[str]:
        return [s.view.seat_id for s in self._seats]

    def _check_seat(self, seat_id: str) -> None:
        if seat_id not in self.seat_ids:
            raise KeyError(f"camera {self.camera_id} sees no seat {seat_id!r}")

    def set_seat_override(self, seat_id: str, state: str) -> None:
        self._check_seat(seat_id)
        if state not in SEAT_MODES:
            raise ValueError(f"seat override must be one of {SEAT_MODES}, not {state!r}")
        self._modes[seat_id] = state

    def set_occluder(self, seat_id: str, on: bool) -> None:
        self._check_seat(seat_id)
        if on:
            self._occluded.add(seat_id)
        else:
            self._occluded.discard(seat_id)

    @property
    def fault(self) -> str | None:
        return self._fault

    def set_fault(self, name: str | None) -> None:
        if name is not None and name not in FAULTS:
            raise ValueError(f"frame fault must be one of {FAULTS} or None, not {name!r}")
        self._fault = name

    def start_walkers(self, count: int, t: float, lane: int = 0) -> None:
        """``count`` people walk through gate lane ``lane``, one close behind the other, from t."""
        if not self._lanes:
            raise ValueError(f"camera {self.camera_id} sees no gate lane")
        if not 0 <= lane < len(self._lanes):
            raise ValueError(f"camera {self.camera_id} sees lanes 0..{len(self._lanes) - 1}, not {lane}")
        self._lanes[lane].add(count, t)

    def seat_state(self, seat_id: str, t: float) -> str:
        """The occupancy state drawn for a seat at t, after any override."""
        self._check_seat(seat_id)
        seat = next(s for s in self._seats if s.view.seat_id == seat_id)
        return seat.state(t, self._modes.get(seat_id, "auto"))[0]

    # -- ground truth -------------------------------------------------------------------
    def truth(self, t: float) -> list[tuple[str, tuple[float, float, float, float]]]:
        """What a detector should find in the frame at t: ("person" | "screen", box) in camera
        pixels. A screen behind someone standing in front of it is not visible, nor is a person
        mostly hidden; a covered or dead camera shows nothing; a turned one moves every box."""
        if self._fault in ("blackout", "lens_covered"):
            return []
        occluders = [s._occluder_shape(t, self.height) for s in self._seats if s.view.seat_id in self._occluded]
        hidden = np.zeros((self.height, self.width), np.uint8)
        for body, head, r in occluders:
            cv2.fillPoly(hidden, [body], 1)
            cv2.circle(hidden, head, r, 1, -1)
        out: list[tuple[str, tuple[float, float, float, float]]] = []
        for seat in self._seats:
            state, progress = seat.state(t, self._modes.get(seat.view.seat_id, "auto"))
            person = seat.person_box(t, state, progress, self.height)
            out += [("screen", seat.screen_box())] + ([("person", person)] if person else [])
        out += [("person", box) for lane in self._lanes for box in lane.boxes(t)]
        out = [(label, box) for label, box in out if _visible_share(hidden, box) >= 0.4]
        out += [("person", s.occluder_box(t, self.height)) for s in self._seats
                if s.view.seat_id in self._occluded]
        if self._fault == "turned":
            m = self._turn_matrix()
            out = [(label, _moved_box(m, box)) for label, box in out]
        clipped = []
        for label, (x1, y1, x2, y2) in out:
            x1, x2 = max(0.0, x1), min(float(self.width), x2)
            y1, y2 = max(0.0, y1), min(float(self.height), y2)
            if x2 - x1 >= 4 and y2 - y1 >= 4:
                clipped.append((label, (x1, y1, x2, y2)))
        return clipped

    def _turn_matrix(self) -> np.ndarray:
        w, h = self.width, self.height
        m = cv2.getRotationMatrix2D((w / 2, h / 2), TURN_DEGREES, 1.0)
        m[0, 2] += TURN_SHIFT[0] * w
        m[1, 2] += TURN_SHIFT[1] * h
        return m

    # -- rendering ------------------------------------------------------------------------
    def render(self, t: float, size: tuple[int, int] | None = None) -> np.ndarray:
        """The frame at t with faults and the on-screen timestamp, at size (w, h) if given."""
        raw, shown_t = self.render_raw(t)
        if size is not None and (size[0], size[1]) != (self.width, self.height):
            raw = cv2.resize(raw, (int(size[0]), int(size[1])), interpolation=cv2.INTER_AREA)
        else:
            raw = raw.copy()
        self.stamp(raw, shown_t)
        return raw

    def render_raw(self, t: float) -> tuple[np.ndarray, float]:
        """(frame at camera resolution without the timestamp, the t it shows).

        Under the "stall" fault this is the last frame rendered, unchanged; the caller must not
        write into the returned array.
        """
        if self._fault == "stall" and self._last is not None:
            return self._last[1], self._last[0]
        frame = self._base.copy()
        for seat in self._seats:
            state, progress = seat.state(t, self._modes.get(seat.view.seat_id, "auto"))
            seat.paint_screen(frame, t, state, progress)
            seat.paint_person(frame, t, state, progress)
        for lane in self._lanes:
            lane.paint(frame, t)
        for seat in self._seats:
            if seat.view.seat_id in self._occluded:
                seat.paint_occluder(frame, t)
        frame = self._apply_fault(frame, t)
        self._last = (t, frame)
        return frame, t

    def stamp(self, frame: np.ndarray, t: float) -> None:
        """Camera OSD: id and wall clock, top left, scaled to the frame (in place)."""
        fh, fw = frame.shape[:2]
        scale = max(0.35, fh / 720 * 0.7)
        thick = 1 if fh < 500 else 2
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.clock_origin + t))
        text = f"{self.camera_id}  {when}"
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
        x, y = int(10 * fh / 720) + 4, int(30 * fh / 720) + 6
        # Darken a box behind the text so it reads on any background, as camera OSDs do.
        box = frame[max(0, y - th - 4):min(fh, y + base + 2), max(0, x - 4):min(fw, x + tw + 4)]
        box >>= 2
        cv2.putText(frame, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), thick,
                    cv2.LINE_AA)

    def _apply_fault(self, frame: np.ndarray, t: float) -> np.ndarray:
        w, h = self.width, self.height
        if self._fault == "blackout":
            if not self._noise:
                rng = np.random.default_rng(self.seed)
                self._noise = [rng.integers(0, 12, (h, w, 3), dtype=np.uint8) for _ in range(3)]
            return self._noise[int(t * 10) % 3].copy()
        if self._fault == "lens_covered":
            small = cv2.resize(frame, (max(1, w // 32), max(1, h // 32)),
                               interpolation=cv2.INTER_AREA)
            # A hand or cloth over the lens: room light bleeds through warm and featureless,
            # dim but not the black of a dead sensor.
            small = small.astype(np.float32) * 0.05 + np.float32([14, 30, 62])  # B, G, R: warm
            return cv2.resize(small.astype(np.uint8), (w, h), interpolation=cv2.INTER_LINEAR)
        if self._fault == "defocus":
            small = cv2.resize(frame, (max(1, w // 6), max(1, h // 6)),
                               interpolation=cv2.INTER_AREA)
            small = cv2.GaussianBlur(small, (0, 0), 2.0)
            return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
        if self._fault == "turned":
            return cv2.warpAffine(frame, self._turn_matrix(), (w, h), flags=cv2.INTER_LINEAR,
                                  borderMode=cv2.BORDER_REFLECT)
        return frame
