"""Camera tamper detection: black picture, covered lens, lost focus, moved camera.

Pure logic over numpy frames and one small state machine per camera. The caller
(the RTSP ingest) samples a few frames per second, hands them to
`TamperDetector.observe` and forwards the returned events (attaching the frame
itself if it wants). Nothing here touches files or sockets; the clock is injected.

Cost per 640x360 BGR frame, best of 7 runs on the shared 2-core development VM
(Python 3.11, opencv-python 5.0; `pytest -s tests/unit/test_tamper.py -k cost`
prints it): `frame_metrics` ~0.6 ms; `observe` ~1.3-1.8 ms when phase
correlation answers (the normal case: under 1 % of a core per camera at 4 fps),
~5.5-8 ms on frames that also need the ORB second opinion (a turned or partly
hidden view).
"""

from __future__ import annotations

import math
import warnings
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

import cv2
import numpy as np

Kind = Literal["blackout", "covered", "defocus", "moved"]
State = Literal["raised", "cleared"]

# Order matters: a kind earlier in the list masks the later ones (a black
# picture says nothing about focus or aim).
KINDS: tuple[Kind, ...] = ("blackout", "covered", "defocus", "moved")


@dataclass(frozen=True)
class TamperThresholds:
    """Alarm thresholds; the first three are the site file's `cameras[].tamper` keys."""

    blackout_luma: float = 20.0  # mean luma (0-255) below which the picture counts as dark
    defocus_ratio: float = 0.5  # sharpness / the camera's own baseline below which it is blurred
    moved_px: float = 40.0  # displacement from the reference view (full-resolution px)
    hold_s: float = 3.0  # a condition must last this long to raise, and be gone this long to clear

    def __post_init__(self) -> None:
        checks = (
            ("blackout_luma", 0 <= self.blackout_luma <= 255),
            ("defocus_ratio", 0 <= self.defocus_ratio <= 1),
            ("moved_px", self.moved_px >= 0),
            ("hold_s", self.hold_s >= 0),
        )
        for name, ok in checks:
            value = getattr(self, name)
            if not ok or not math.isfinite(value):
                raise ValueError(f"tamper threshold {name}={value!r} is out of range")

    @classmethod
    def from_site(cls, tamper: Any, hold_s: float = 3.0) -> TamperThresholds:
        """Build from a site file's `tamper` block (a mapping or an object with those fields)."""
        get = tamper.get if isinstance(tamper, Mapping) else lambda k, d: getattr(tamper, k, d)
        base = cls()
        return cls(
            blackout_luma=float(get("blackout_luma", base.blackout_luma)),
            defocus_ratio=float(get("defocus_ratio", base.defocus_ratio)),
            moved_px=float(get("moved_px", base.moved_px)),
            hold_s=float(get("hold_s", hold_s)),
        )


@dataclass(frozen=True)
class TamperTuning:
    """Internal constants, kept together so a deployment can adjust them in one place."""

    work_size: int = 320  # analysis image's longer side; 640x360 is analysed at 320x180
    blackout_std: float = 8.0  # luma std under which a dark picture is uniformly black
    flat_std: float = 10.0  # luma std under which a picture is flat (tape, hand, flashlight)
    flat_entropy: float = 3.5  # histogram entropy (bits) under which a picture is flat
    dark_cover_ratio: float = 0.85  # share of dark pixels that counts as a covered lens
    # Phase correlation stays fairly confident under rotation (peak ~0.3 at 6
    # degrees against ~0.8 for an unchanged view), so ORB is consulted as soon
    # as the peak drops below this, or below `response_ratio` of the camera's
    # usual peak for views that never correlate that well.
    min_response: float = 0.45
    response_ratio: float = 0.6
    orb_features: int = 400
    orb_min_inliers: int = 12
    baseline_tau_s: float = 900.0  # time constant of the healthy-view baseline EMA
    max_adapt_step_s: float = 60.0  # one frame after a long gap must not rewrite the baseline
    adapt_reference_px: float = 1.0  # the reference only absorbs frames aligned within this


class FrameMetrics(NamedTuple):
    mean_luma: float
    luma_std: float
    dark_ratio: float  # share of pixels darker than the dark threshold
    sharpness: float  # variance of the Laplacian of the downscaled grey image
    entropy: float  # Shannon entropy of the 256-bin luma histogram, bits

    def as_dict(self) -> dict[str, float]:
        return {k: float(v) for k, v in self._asdict().items()}


class Displacement(NamedTuple):
    """Where the view went relative to the reference, in full-resolution pixels."""

    dx: float  # shift of the image centre (nan when nothing matched)
    dy: float
    response: float  # phase-correlation peak, 0..1
    magnitude: float  # largest shift of any frame corner; inf when nothing matched
    rotation_deg: float = 0.0
    method: str = "phase"  # "phase", "orb", "none" (no match), "skipped" (image too small)


@dataclass(frozen=True)
class TamperEvent:
    kind: Kind
    state: State
    at: float
    metrics: dict[str, float | str | None]
    message: str


# --- frame preparation -------------------------------------------------------


def _to_grey(frame: Any) -> np.ndarray:
    a = np.asarray(frame)
    if a.size == 0 or a.ndim not in (2, 3):
        raise ValueError(f"not an image: shape {a.shape}")
    if a.dtype != np.uint8:
        if a.dtype == np.bool_:
            a = a.astype(np.uint8) * 255
        elif a.dtype == np.uint16:
            a = (a >> 8).astype(np.uint8)
        elif np.issubdtype(a.dtype, np.number):
            a = np.clip(np.nan_to_num(a.astype(np.float32)), 0, 255).astype(np.uint8)
        else:
            raise ValueError(f"not an image: dtype {a.dtype}")
    if a.ndim == 3:
        channels = a.shape[2]
        if channels == 1:
            a = a[:, :, 0]
        elif channels == 3:
            a = cv2.cvtColor(np.ascontiguousarray(a), cv2.COLOR_BGR2GRAY)
        elif channels == 4:
            a = cv2.cvtColor(np.ascontiguousarray(a), cv2.COLOR_BGRA2GRAY)
        else:
            raise ValueError(f"not an image: {channels} channels")
    return np.ascontiguousarray(a)


def _downscale(grey: np.ndarray, work_size: int) -> np.ndarray:
    h, w = grey.shape
    longer = max(h, w)
    if longer <= work_size:
        return grey
    # INTER_AREA averages, which also takes most of the sensor noise out of the
    # Laplacian so that sharpness tracks the scene, not the noise.
    f = work_size / longer
    size = (max(1, round(w * f)), max(1, round(h * f)))
    return cv2.resize(grey, size, interpolation=cv2.INTER_AREA)


def _metrics(small: np.ndarray, dark_luma: float) -> FrameMetrics:
    mean, std = cv2.meanStdDev(small)
    _, lap_std = cv2.meanStdDev(cv2.Laplacian(small, cv2.CV_32F))
    hist = np.bincount(small.ravel(), minlength=256).astype(np.float64)
    p = hist[hist > 0] / small.size
    return FrameMetrics(
        mean_luma=float(mean[0, 0]),
        luma_std=float(std[0, 0]),
        dark_ratio=float(np.count_nonzero(small < dark_luma)) / small.size,
        sharpness=float(lap_std[0, 0]) ** 2,
        entropy=float(-(p * np.log2(p)).sum()) + 0.0,  # + 0.0 turns -0.0 into 0.0
    )


def frame_metrics(frame_bgr: Any, dark_luma: float = 20.0, work_size: int = 320) -> FrameMetrics:
    """Cheap per-frame statistics on the downscaled grey image (BGR, BGRA or grey input)."""
    return _metrics(_downscale(_to_grey(frame_bgr), work_size), dark_luma)


_TILES = (6, 8)  # rows, columns
_MIN_TILE_VAR = 25.0  # a tile flatter than this says nothing about focus
_MIN_TILES = 4


def _tile_focus(small: np.ndarray) -> np.ndarray:
    """Per-tile sharpness over contrast (Laplacian variance / luma variance); NaN where flat.

    Over contrast: a light switched off halves both the Laplacian's and the picture's amplitude,
    which must not look like blur. Per tile, then the median of the ratios to the baseline: a
    person sitting down or leaving changes a few tiles, blur changes all of them.
    """
    img = small.astype(np.float32)
    lap = cv2.Laplacian(img, cv2.CV_32F)
    rows, cols = _TILES
    h, w = img.shape
    out = np.full(_TILES, np.nan, dtype=np.float64)
    for r in range(rows):
        for c in range(cols):
            ys, xs = slice(r * h // rows, (r + 1) * h // rows), slice(c * w // cols, (c + 1) * w // cols)
            var = float(img[ys, xs].var())
            if var >= _MIN_TILE_VAR:
                out[r, c] = float(lap[ys, xs].var()) / var
    return out


def _focus_ratio(tiles: np.ndarray, baseline: np.ndarray) -> float | None:
    use = np.isfinite(tiles) & np.isfinite(baseline) & (baseline > 0)
    if int(use.sum()) < _MIN_TILES:
        # Too little texture left to judge: count the tiles that went flat as blurred.
        known = np.isfinite(baseline) & (baseline > 0)
        if int(known.sum()) < _MIN_TILES:
            return None
        return float(np.median(np.where(np.isfinite(tiles[known]), tiles[known] / baseline[known], 0.0)))
    return float(np.median(tiles[use] / baseline[use]))


# --- displacement ------------------------------------------------------------

_MIN_SIDE = 16  # below this a window or ORB patch leaves nothing to compare


class _Reference:
    """The learnt view of one camera at working resolution, with what matching needs."""

    def __init__(self, image: np.ndarray, tuning: TamperTuning) -> None:
        self.image = image.astype(np.float32)
        self.tuning = tuning
        h, w = self.image.shape
        self.usable = min(h, w) >= _MIN_SIDE
        self._window = cv2.createHanningWindow((w, h), cv2.CV_32F) if self.usable else None
        self._centred: np.ndarray | None = None
        self._orb = cv2.ORB_create(
            nfeatures=tuning.orb_features, nlevels=4, edgeThreshold=15, patchSize=15, fastThreshold=10
        )
        self._matcher = cv2.BFMatcher(cv2.NORM_HAMMING)
        self._features: tuple[Any, Any] | None = None

    def blend(self, small: np.ndarray, alpha: float) -> None:
        cv2.accumulateWeighted(small.astype(np.float32), self.image, alpha)
        self._centred = None
        self._features = None

    def compare(self, small: np.ndarray, scale: tuple[float, float], weak_below: float) -> Displacement:
        if not self.usable:
            return Displacement(0.0, 0.0, 0.0, 0.0, 0.0, "skipped")
        if self._centred is None:
            self._centred = (self.image - float(self.image.mean())) * self._window
        cur = small.astype(np.float32)
        cur -= float(cur.mean())
        # The window is applied here rather than passed to phaseCorrelate: with
        # opencv-python 5.0 the windowed call returns a slightly different peak
        # on every call for the same input, which breaks determinism.
        (sx, sy), response = cv2.phaseCorrelate(self._centred, cur * self._window)
        response = float(response) if math.isfinite(response) else 0.0
        if response >= weak_below:
            dx, dy = sx * scale[0], sy * scale[1]
            return Displacement(dx, dy, response, math.hypot(dx, dy), 0.0, "phase")
        # A weak peak: the view rotated, changed a lot, or is partly hidden.
        # Feature matching with a RANSAC similarity copes with rotation and with
        # people in front of part of the scene.
        matrix = self._orb_similarity(small)
        if matrix is None:
            return Displacement(math.nan, math.nan, response, math.inf, math.nan, "none")
        h, w = small.shape
        pts = np.array([[0, 0], [w - 1, 0], [0, h - 1], [w - 1, h - 1], [(w - 1) / 2, (h - 1) / 2]])
        moved = pts @ matrix[:, :2].T + matrix[:, 2] - pts
        moved *= np.array(scale)
        rotation = math.degrees(math.atan2(matrix[1, 0], matrix[0, 0]))
        return Displacement(
            float(moved[4, 0]),
            float(moved[4, 1]),
            response,
            float(np.hypot(moved[:, 0], moved[:, 1]).max()),
            rotation,
            "orb",
        )

    def _orb_similarity(self, small: np.ndarray) -> np.ndarray | None:
        tu = self.tuning
        if self._features is None:
            ref_u8 = np.clip(self.image, 0, 255).astype(np.uint8)
            self._features = self._orb.detectAndCompute(ref_u8, None)
        ref_kp, ref_desc = self._features
        cur_kp, cur_desc = self._orb.detectAndCompute(small, None)
        if ref_desc is None or cur_desc is None or len(ref_desc) < 2 or len(cur_desc) < 2:
            return None
        # Lowe's ratio test: keep a match only when it is clearly better than
        # the runner-up, so the repeated keys and text lines do not pair up wrongly.
        pairs = self._matcher.knnMatch(ref_desc, cur_desc, k=2)
        matches = [p[0] for p in pairs if len(p) == 2 and p[0].distance < 0.8 * p[1].distance]
        if len(matches) < tu.orb_min_inliers:
            return None
        src = np.float32([ref_kp[m.queryIdx].pt for m in matches])
        dst = np.float32([cur_kp[m.trainIdx].pt for m in matches])
        matrix, inliers = cv2.estimateAffinePartial2D(
            src, dst, method=cv2.RANSAC, ransacReprojThreshold=3.0, maxIters=2000, confidence=0.995
        )
        if matrix is None or inliers is None or int(inliers.sum()) < tu.orb_min_inliers:
            return None
        return matrix.astype(np.float64)


def displacement(reference_grey: Any, grey: Any, tuning: TamperTuning | None = None) -> Displacement:
    """How far `grey` is shifted/rotated against `reference_grey`, in the reference's pixels.

    Phase correlation (Hanning-windowed, on downscaled images) answers first; when
    its peak is weak ORB + estimateAffinePartial2D (RANSAC) gives a second
    opinion that also sees rotation. `magnitude` is the largest displacement of a
    frame corner, so an 8 degree turn about the centre counts as ~50 px on 640x360.
    """
    tu = tuning or TamperTuning()
    ref = _to_grey(reference_grey)
    cur = _to_grey(grey)
    if cur.shape != ref.shape:
        cur = cv2.resize(cur, (ref.shape[1], ref.shape[0]), interpolation=cv2.INTER_AREA)
    ref_s = _downscale(ref, tu.work_size)
    cur_s = _downscale(cur, tu.work_size)
    scale = (ref.shape[1] / ref_s.shape[1], ref.shape[0] / ref_s.shape[0])
    return _Reference(ref_s, tu).compare(cur_s, scale, tu.min_response)


# --- the per-camera state machine --------------------------------------------


@dataclass
class _Alarm:
    raised: bool = False
    since: float | None = None  # start of the pending change: onset while clear, absence while raised

    def step(self, condition: bool | None, now: float, hold_s: float) -> State | None:
        if condition is None:
            # Masked (e.g. no focus verdict on a black picture): nothing speaks
            # for the change, nothing against it. Onsets wait; a pending clear
            # restarts, so an alarm is only cleared after a full healthy hold.
            if self.raised:
                self.since = None
            return None
        if condition == self.raised:
            self.since = None
            return None
        if self.since is None:
            self.since = now
        if now - self.since < hold_s:
            return None
        self.raised = condition
        self.since = None
        return "raised" if condition else "cleared"


def _plain(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


class TamperDetector:
    """Tamper alarms for one camera, fed with sampled frames.

    The first `learn_frames` frames that are neither black nor covered set the
    sharpness baseline and the reference view; after that both follow the
    healthy view slowly (EMA, time constant `tuning.baseline_tau_s`) so that day
    and night lighting does not alarm, while an aimed or blurred camera does.
    """

    def __init__(
        self,
        camera_id: str,
        thresholds: TamperThresholds | None = None,
        clock: Callable[[], float] = time.monotonic,
        *,
        learn_frames: int = 5,
        tuning: TamperTuning | None = None,
    ) -> None:
        if learn_frames < 1:
            raise ValueError("learn_frames must be at least 1")
        self.camera_id = camera_id
        self.thresholds = thresholds or TamperThresholds()
        self.tuning = tuning or TamperTuning()
        self._clock = clock
        self._learn_frames = learn_frames
        self._alarms = {kind: _Alarm() for kind in KINDS}
        self._learning: list[tuple[np.ndarray, np.ndarray]] = []
        self._shape: tuple[int, int] | None = None  # working shape of the reference
        self._baseline: np.ndarray | None = None  # per-tile focus of the healthy view
        self._baseline_response = 1.0  # the camera's usual phase-correlation peak
        self._reference: _Reference | None = None
        self._last_at: float | None = None
        self._blind = False

    # -- read-only views --

    @property
    def baseline_ready(self) -> bool:
        return self._reference is not None

    @property
    def baseline_focus(self) -> float | None:
        """Median per-tile sharpness over contrast of the healthy view (`defocus_ratio` is
        relative to the tiles of this baseline)."""
        if self._baseline is None or not np.isfinite(self._baseline).any():
            return None
        return float(np.nanmedian(self._baseline))

    @property
    def active(self) -> frozenset[Kind]:
        return frozenset(k for k, a in self._alarms.items() if a.raised)

    @property
    def blind(self) -> bool:
        """Whether the last frame observed was black or covered: it shows nothing of the scene,
        whatever the alarms' hold makes of it later."""
        return self._blind

    # -- inputs --

    def observe(self, frame_bgr: Any) -> list[TamperEvent]:
        now = float(self._clock())
        grey = _to_grey(frame_bgr)
        small = self._working(grey)
        scale = (grey.shape[1] / small.shape[1], grey.shape[0] / small.shape[0])
        m = _metrics(small, self.thresholds.blackout_luma)
        conditions, detail = self._classify(m, small, scale)
        self._blind = bool(conditions["blackout"] or conditions["covered"])

        events: list[TamperEvent] = []
        for kind in KINDS:
            change = self._alarms[kind].step(conditions[kind], now, self.thresholds.hold_s)
            if change is not None:
                events.append(self._event(kind, change, now, m, detail))

        self._learn_or_adapt(conditions, m, small, detail, now)
        self._last_at = now
        return events

    def set_reference(self, frame_bgr: Any) -> list[TamperEvent]:
        """Re-baseline on `frame_bgr` after a deliberate camera move or refocus.

        Clears a raised "moved" or "defocus" alarm at once, since both were
        measured against the old baseline. Refuses a black or covered frame.
        """
        now = float(self._clock())
        grey = _to_grey(frame_bgr)
        small = _downscale(grey, self.tuning.work_size)
        m = _metrics(small, self.thresholds.blackout_luma)
        if self._is_blackout(m) or self._is_covered(m):
            raise ValueError(f"{self.camera_id}: cannot take a black or covered picture as reference")
        self._shape = small.shape
        self._learning = []
        self._baseline = _tile_focus(small)
        self._reference = _Reference(small, self.tuning)
        self._baseline_response = 1.0  # relearnt by the EMA from the frames that follow
        events = []
        for kind in ("defocus", "moved"):
            alarm = self._alarms[kind]
            alarm.since = None
            if alarm.raised:
                alarm.raised = False
                events.append(
                    TamperEvent(kind, "cleared", now, m.as_dict(), f"{self.camera_id}: {kind} cleared by re-baselining")
                )
        return events

    # -- internals --

    def _working(self, grey: np.ndarray) -> np.ndarray:
        small = _downscale(grey, self.tuning.work_size)
        if self._shape is None:
            self._shape = small.shape
        elif small.shape != self._shape:
            # A stream whose resolution changed is still compared with the view
            # it was learnt on; re-learning here would let a reconfigured and
            # re-aimed camera pass unnoticed.
            small = cv2.resize(small, (self._shape[1], self._shape[0]), interpolation=cv2.INTER_AREA)
        return small

    def _is_blackout(self, m: FrameMetrics) -> bool:
        return m.mean_luma < self.thresholds.blackout_luma and m.luma_std < self.tuning.blackout_std

    def _is_covered(self, m: FrameMetrics) -> bool:
        tu = self.tuning
        return (
            m.mean_luma < self.thresholds.blackout_luma  # dark, with some structure (hand, light leak)
            or m.dark_ratio >= tu.dark_cover_ratio
            or m.luma_std < tu.flat_std  # flat: tape, cloth, a flashlight into the lens
            or m.entropy < tu.flat_entropy
        )

    def _classify(
        self, m: FrameMetrics, small: np.ndarray, scale: tuple[float, float]
    ) -> tuple[dict[Kind, bool | None], dict[str, float | str | None]]:
        conditions: dict[Kind, bool | None] = dict.fromkeys(KINDS)
        detail: dict[str, float | str | None] = {}
        blackout = self._is_blackout(m)
        conditions["blackout"] = blackout
        if blackout:
            return conditions, detail
        covered = self._is_covered(m)
        conditions["covered"] = covered
        if covered or self._reference is None or self._baseline is None:
            return conditions, detail

        ratio = _focus_ratio(_tile_focus(small), self._baseline)
        if ratio is not None:
            detail["sharpness_ratio"] = ratio
            detail["baseline_focus"] = self.baseline_focus
            defocus = ratio < self.thresholds.defocus_ratio
            conditions["defocus"] = defocus
            if defocus:
                return conditions, detail
        else:
            conditions["defocus"] = False  # a view with no texture cannot be judged for focus

        weak_below = min(self.tuning.min_response, self.tuning.response_ratio * self._baseline_response)
        d = self._reference.compare(small, scale, weak_below)
        detail.update(
            displacement_px=_plain(d.magnitude),
            dx=_plain(d.dx),
            dy=_plain(d.dy),
            rotation_deg=_plain(d.rotation_deg),
            response=d.response,
            method=d.method,
        )
        if d.method != "skipped":
            conditions["moved"] = d.magnitude > self.thresholds.moved_px
        return conditions, detail

    def _learn_or_adapt(
        self,
        conditions: dict[Kind, bool | None],
        m: FrameMetrics,
        small: np.ndarray,
        detail: dict[str, float | str | None],
        now: float,
    ) -> None:
        if self._reference is None:
            if conditions["blackout"] or conditions["covered"]:
                return
            # a copy: small frames arrive undownscaled, and capture loops reuse their buffers
            self._learning.append((_tile_focus(small), small.copy()))
            if len(self._learning) >= self._learn_frames:
                # Median focus and mean image: one odd frame (someone passing)
                # does not set the baseline.
                with np.errstate(all="ignore"), warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN tiles: flat, unknown
                    stack = np.stack([f for f, _ in self._learning])
                    # Median per tile; a tile flat in most learning frames stays unknown (NaN).
                    self._baseline = np.where(np.isfinite(stack).sum(axis=0) * 2 > len(stack),
                                              np.nanmedian(np.where(np.isfinite(stack), stack, np.nan), axis=0),
                                              np.nan)
                mean = np.mean([s.astype(np.float32) for _, s in self._learning], axis=0)
                self._reference = _Reference(mean, self.tuning)
                peaks = [self._reference.compare(s, (1.0, 1.0), 0.0).response for _, s in self._learning]
                self._baseline_response = float(np.median(peaks))
                self._learning = []
            return
        if not all(conditions[k] is False for k in KINDS) or self._baseline is None:
            return
        tu = self.tuning
        dt = 0.0 if self._last_at is None else min(max(now - self._last_at, 0.0), tu.max_adapt_step_s)
        alpha = 1.0 - math.exp(-dt / tu.baseline_tau_s)
        tiles = _tile_focus(small)
        both = np.isfinite(tiles) & np.isfinite(self._baseline)
        self._baseline[both] += alpha * (tiles[both] - self._baseline[both])
        response = detail.get("response")
        if isinstance(response, float):
            self._baseline_response += alpha * (response - self._baseline_response)
        # Only frames that line up with the reference may update it; otherwise a
        # camera turned a fraction of a pixel per frame would drag it along.
        shift = detail.get("displacement_px")
        if isinstance(shift, float) and shift <= tu.adapt_reference_px:
            self._reference.blend(small, alpha)

    def _event(
        self,
        kind: Kind,
        state: State,
        now: float,
        m: FrameMetrics,
        detail: dict[str, float | str | None],
    ) -> TamperEvent:
        th = self.thresholds
        metrics: dict[str, float | str | None] = {**m.as_dict(), **detail}
        cam = self.camera_id
        if state == "cleared":
            message = f"{cam}: {kind} cleared (not seen for {th.hold_s:g} s)"
        elif kind == "blackout":
            message = f"{cam}: picture is black (mean luma {m.mean_luma:.1f} < {th.blackout_luma:g})"
        elif kind == "covered":
            message = (
                f"{cam}: lens covered or view flat (mean luma {m.mean_luma:.1f}, "
                f"std {m.luma_std:.1f}, entropy {m.entropy:.2f} bits)"
            )
        elif kind == "defocus":
            ratio = detail.get("sharpness_ratio")
            message = f"{cam}: out of focus (sharpness {ratio:.0%} of baseline, limit {th.defocus_ratio:.0%})"
        else:
            px = detail.get("displacement_px")
            if px is None:
                message = f"{cam}: camera moved: the view no longer matches its reference"
            else:
                message = (
                    f"{cam}: camera moved {px:.0f} px (rotation {detail.get('rotation_deg') or 0.0:.1f} deg) "
                    f"from its reference, limit {th.moved_px:g} px"
                )
        return TamperEvent(kind, state, now, metrics, message)


__all__ = [
    "KINDS",
    "Displacement",
    "FrameMetrics",
    "TamperDetector",
    "TamperEvent",
    "TamperThresholds",
    "TamperTuning",
    "displacement",
    "frame_metrics",
]
