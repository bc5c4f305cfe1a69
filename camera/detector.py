"""Persons and screens in a camera frame: a YOLO detector exported to ONNX, run by OpenCV's DNN.

The edge runs the model with OpenCV alone: no torch on the appliance, one CPU core per few
cameras, and the same code for the model shipped here (trained on simulator scenes by
``simulators.camera.training``) and for a COCO-pretrained YOLO exported to ONNX for real
cameras. A class map turns the model's class names into the two roles coverage needs,
``person`` and ``screen``; classes not in the map are ignored.

Decoding is pure (``decode``) so it is tested on made-up tensors; ``OnnxDetector`` only adds
the network and the letterbox.
"""
from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from camera.coverage import Box

MODEL_DIR = Path(__file__).resolve().parent / "models"
BUILTIN = MODEL_DIR / "siteguard-sim.onnx"
ROLES = ("person", "screen")

# The 80 classes of the COCO data set in the order COCO-trained YOLO models emit them.
COCO_NAMES = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
    "traffic light", "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog",
    "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella",
    "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball", "kite",
    "baseball bat", "baseball glove", "skateboard", "surfboard", "tennis racket", "bottle",
    "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple", "sandwich", "orange",
    "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch", "potted plant",
    "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard", "cell phone",
    "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors",
    "teddy bear", "hair drier", "toothbrush")
COCO_CLASS_MAP = {"person": "person", "tv": "screen", "laptop": "screen"}


class DetectorError(Exception):
    """The detector cannot be set up: missing or unreadable weights, a bad class map."""


@dataclass(frozen=True)
class DetectorConfig:
    weights: Path
    names: tuple[str, ...]  # the model's classes, in output order
    input_size: int = 320  # the square the model was exported at
    class_map: Mapping[str, str] = field(default_factory=dict)  # model class -> role
    min_score: float = 0.35
    nms_iou: float = 0.5

    def __post_init__(self) -> None:
        unknown = sorted(set(self.class_map) - set(self.names))
        if unknown:
            raise DetectorError(f"class map names classes the model does not have: {', '.join(unknown)}")
        roles = sorted(set(self.class_map.values()) - set(ROLES))
        if roles:
            raise DetectorError(f"class map roles must be {' or '.join(ROLES)}, not {', '.join(roles)}")
        if not self.class_map:
            raise DetectorError("class map is empty: no model class would count as a person or a screen")


def config_for(weights: str | Path = "builtin", names: Sequence[str] | str | None = None,
               class_map: Mapping[str, str] | None = None, input_size: int | None = None,
               min_score: float = 0.35) -> DetectorConfig:
    """A detector config from what a site file says, filling the rest from the model's metadata
    file (``<weights>.json``: names and input size) or, for ``names: coco``, from COCO."""
    path = BUILTIN if str(weights) == "builtin" else Path(weights)
    if not path.is_file():
        raise DetectorError(f"detector weights not found: {path}")
    meta: dict = {}
    meta_path = path.with_suffix(".json")
    if meta_path.is_file():
        try:
            meta = json.loads(meta_path.read_text())
        except ValueError as exc:
            raise DetectorError(f"{meta_path}: not valid JSON ({exc})") from None
    if names == "coco":
        names = COCO_NAMES
    names = tuple(names or meta.get("names") or ())
    if not names:
        raise DetectorError(f"{path}: the model's class names are not known; give 'names' "
                            f"(a list, or 'coco') or put them in {meta_path.name}")
    if class_map is None:
        class_map = COCO_CLASS_MAP if names == COCO_NAMES else {n: n for n in names if n in ROLES}
    return DetectorConfig(path, names, int(input_size or meta.get("imgsz") or 320), dict(class_map), min_score)


@dataclass(frozen=True)
class Letterbox:
    """How a frame was fitted into the model's square: model px = frame px * scale + pad."""

    scale: float
    pad_x: float
    pad_y: float

    def to_frame(self, x: float, y: float) -> tuple[float, float]:
        return (x - self.pad_x) / self.scale, (y - self.pad_y) / self.scale


def letterbox(frame: np.ndarray, size: int) -> tuple[np.ndarray, Letterbox]:
    """The frame scaled to fit a size x size square, centred on grey, as YOLO was trained."""
    h, w = frame.shape[:2]
    scale = min(size / w, size / h)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    px, py = (size - nw) // 2, (size - nh) // 2
    canvas = np.full((size, size, 3), 114, np.uint8)
    canvas[py:py + nh, px:px + nw] = cv2.resize(frame, (nw, nh), interpolation=cv2.INTER_AREA)
    return canvas, Letterbox(scale, px, py)


def decode(output: np.ndarray, config: DetectorConfig, fit: Letterbox, frame_size: tuple[int, int],
           to_scale: float = 1.0) -> tuple[Box, ...]:
    """YOLOv8-style output (1, 4 + classes, anchors): centre, size, then one score per class.
    Returns the mapped classes' boxes after non-maximum suppression (per role), in frame pixels
    times ``to_scale`` (the main stream, when the frame is the sub stream)."""
    rows = np.asarray(output, np.float32).reshape(4 + len(config.names), -1).T
    if rows.size == 0:
        return ()
    scores = rows[:, 4:]
    cls = scores.argmax(axis=1)
    best = scores[np.arange(len(rows)), cls]
    wanted = np.array([config.names[c] in config.class_map for c in range(len(config.names))])
    keep = (best >= config.min_score) & wanted[cls]
    if not keep.any():
        return ()
    rows, cls, best = rows[keep], cls[keep], best[keep]
    roles = [config.class_map[config.names[c]] for c in cls]
    role_ids = np.array([ROLES.index(r) for r in roles], np.int32)
    cx, cy, bw, bh = rows[:, 0], rows[:, 1], rows[:, 2], rows[:, 3]
    rects = np.stack([cx - bw / 2, cy - bh / 2, bw, bh], axis=1)
    # Per role, not per model class: a laptop and a tv box on one screen are one screen.
    picked = cv2.dnn.NMSBoxesBatched(rects.tolist(), best.tolist(), role_ids.tolist(),
                                     config.min_score, config.nms_iou)
    fw, fh = frame_size
    out = []
    for i in np.asarray(picked, np.int32).reshape(-1):
        left, top, bw_i, bh_i = (float(v) for v in rects[i])
        x1, y1 = fit.to_frame(left, top)
        x2, y2 = fit.to_frame(left + bw_i, top + bh_i)
        x1, x2 = min(max(x1, 0.0), fw), min(max(x2, 0.0), fw)
        y1, y2 = min(max(y1, 0.0), fh), min(max(y2, 0.0), fh)
        if x2 > x1 and y2 > y1:
            out.append(Box(x1 * to_scale, y1 * to_scale, x2 * to_scale, y2 * to_scale,
                           roles[i], round(float(best[i]), 3)))
    return tuple(sorted(out, key=lambda b: -b.score))


class OnnxDetector:
    """One loaded network; ``detect`` is safe to call from several threads (one at a time)."""

    def __init__(self, config: DetectorConfig) -> None:
        self.config = config
        try:
            self.net = cv2.dnn.readNetFromONNX(str(config.weights))
        except cv2.error as exc:
            raise DetectorError(f"{config.weights}: OpenCV cannot load this ONNX model ({exc})") from None
        self._lock = threading.Lock()

    def detect(self, frame: np.ndarray, to_width: int | None = None) -> tuple[Box, ...]:
        """Boxes in ``frame`` pixels, or scaled to a frame ``to_width`` wide (the main stream the
        site file's polygons are drawn on)."""
        h, w = frame.shape[:2]
        if frame.ndim == 2:
            frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
        square, fit = letterbox(frame, self.config.input_size)
        blob = cv2.dnn.blobFromImage(square, 1 / 255.0, swapRB=True)
        with self._lock:
            self.net.setInput(blob)
            output = self.net.forward()
        return decode(output, self.config, fit, (w, h), (to_width / w) if to_width else 1.0)
