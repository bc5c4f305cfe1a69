"""The detector's decoding, letterbox and set-up, on made-up model outputs and files."""
from __future__ import annotations

import json

import numpy as np
import pytest

from camera.detector import (BUILTIN, COCO_CLASS_MAP, COCO_NAMES, DetectorConfig, DetectorError, Letterbox,
                             OnnxDetector, config_for, decode, letterbox)


def output(rows: list[tuple[float, float, float, float, list[float]]], classes: int) -> np.ndarray:
    """A YOLOv8-shaped output (1, 4 + classes, anchors) from (cx, cy, w, h, scores) rows."""
    cols = [np.array([cx, cy, w, h, *scores], np.float32) for cx, cy, w, h, scores in rows]
    assert all(len(c) == 4 + classes for c in cols)
    return np.stack(cols, axis=1)[None]


SIM = DetectorConfig(BUILTIN, ("person", "screen"), 320, {"person": "person", "screen": "screen"}, 0.35, 0.5)


def test_decode_maps_boxes_back_through_the_letterbox_and_to_the_main_stream():
    # A 640x360 frame in a 320 square: scale 0.5, padded 70 px top and bottom.
    fit = Letterbox(0.5, 0.0, 70.0)
    out = output([(100, 120, 40, 60, [0.9, 0.1]),     # person
                  (200, 110, 80, 40, [0.05, 0.8]),    # screen
                  (50, 50, 10, 10, [0.2, 0.3])], 2)   # below the score floor
    boxes = decode(out, SIM, fit, (640, 360), to_scale=2.0)  # main stream 1280 wide
    assert [(b.label, b.x1, b.y1, b.x2, b.y2) for b in boxes] == [
        ("person", 320.0, 80.0, 480.0, 320.0), ("screen", 640.0, 80.0, 960.0, 240.0)]
    assert [b.score for b in boxes] == [0.9, 0.8]


def test_overlapping_boxes_of_one_role_are_suppressed_but_different_roles_are_kept():
    out = output([(100, 100, 50, 50, [0.9, 0.0]), (102, 101, 50, 50, [0.7, 0.0]),  # one person, twice
                  (100, 100, 50, 50, [0.0, 0.6])], 2)  # a screen in the same place
    boxes = decode(out, SIM, Letterbox(1.0, 0, 0), (320, 320))
    assert sorted((b.label, b.score) for b in boxes) == [("person", 0.9), ("screen", 0.6)]


def test_coco_classes_map_to_roles_and_a_tv_and_laptop_on_one_screen_are_one_screen():
    coco = config_for(BUILTIN, names="coco")  # the shipped weights stand in for a COCO export
    assert coco.names == COCO_NAMES and coco.class_map == COCO_CLASS_MAP
    scores = lambda **kw: [kw.get(n, 0.0) for n in COCO_NAMES]  # noqa: E731
    out = output([(100, 100, 60, 40, scores(tv=0.8)), (101, 100, 60, 40, scores(laptop=0.7)),
                  (200, 200, 30, 90, scores(person=0.9)), (250, 250, 20, 20, scores(cup=0.95))], 80)
    boxes = decode(out, coco, Letterbox(1.0, 0, 0), (320, 320))
    assert sorted((b.label, b.score) for b in boxes) == [("person", 0.9), ("screen", 0.8)]


def test_boxes_are_clipped_to_the_frame_and_empty_outputs_give_nothing():
    out = output([(5, 5, 40, 40, [0.9, 0.0])], 2)
    (box,) = decode(out, SIM, Letterbox(1.0, 0, 0), (320, 320))
    assert (box.x1, box.y1, box.x2, box.y2) == (0.0, 0.0, 25.0, 25.0)
    assert decode(np.zeros((1, 6, 0), np.float32), SIM, Letterbox(1.0, 0, 0), (320, 320)) == ()


def test_letterbox_keeps_the_aspect_and_round_trips_points():
    frame = np.zeros((360, 640, 3), np.uint8)
    square, fit = letterbox(frame, 320)
    assert square.shape == (320, 320, 3) and (fit.scale, fit.pad_x, fit.pad_y) == (0.5, 0, 70)
    assert (square[:70] == 114).all() and (square[70:250] == 0).all() and (square[250:] == 114).all()
    assert fit.to_frame(160, 160) == (320.0, 180.0)


def test_config_errors_say_what_is_wrong(tmp_path):
    with pytest.raises(DetectorError, match="not found"):
        config_for(tmp_path / "missing.onnx")
    weights = tmp_path / "m.onnx"
    weights.write_bytes(b"not a model")
    with pytest.raises(DetectorError, match="class names are not known"):
        config_for(weights)
    with pytest.raises(DetectorError, match="does not have: monitor"):
        config_for(weights, names=["person", "tv"], class_map={"monitor": "screen"})
    with pytest.raises(DetectorError, match="class map is empty"):
        config_for(weights, names=["cat", "dog"])
    weights.with_suffix(".json").write_text("{broken")
    with pytest.raises(DetectorError, match="not valid JSON"):
        config_for(weights)
    weights.with_suffix(".json").write_text(json.dumps({"names": ["person", "screen"], "imgsz": 256}))
    cfg = config_for(weights)
    assert cfg.input_size == 256 and cfg.class_map == {"person": "person", "screen": "screen"}
    with pytest.raises(DetectorError, match="cannot load this ONNX model"):
        OnnxDetector(cfg)


def test_the_shipped_model_loads_with_its_metadata():
    cfg = config_for("builtin")
    assert cfg.names == ("person", "screen") and cfg.input_size == 320
    det = OnnxDetector(cfg)
    assert det.detect(np.full((360, 640, 3), 90, np.uint8)) == ()  # a blank wall holds nothing
