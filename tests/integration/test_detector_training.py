"""The training script end to end on a tiny set: render from the simulator, train one epoch,
export ONNX with its metadata, and load and run the result the way the edge does. (The shipped
model is trained the same way with more images and epochs; see the README.)"""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from camera.detector import OnnxDetector, config_for

pytestmark = pytest.mark.slow


def test_render_train_export_and_load(tmp_path):
    models = tmp_path / "models"
    proc = subprocess.run(
        [sys.executable, "-m", "simulators.camera.training", "all", "--out", str(tmp_path / "data"),
         "--images", "24", "--epochs", "1", "--imgsz", "160", "--model-dir", str(models),
         "--workdir", str(tmp_path / "runs")],
        capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "rendered 24/24 images" in proc.stdout
    labels = list((tmp_path / "data" / "labels" / "train").glob("*.txt"))
    assert len(labels) == 24 - 3  # 15 % held out for validation
    meta = json.loads((models / "siteguard-sim.json").read_text())
    assert meta["names"] == ["person", "screen"] and meta["imgsz"] == 160
    assert meta["trained"]["epochs"] == 1 and meta["trained"]["images"] == 21
    detector = OnnxDetector(config_for(models / "siteguard-sim.onnx"))
    assert detector.config.input_size == 160
    boxes = detector.detect(np.full((360, 640, 3), 128, np.uint8))
    assert isinstance(boxes, tuple)  # one epoch learns little; the model runs and decodes


def test_training_without_a_data_set_says_so(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "simulators.camera.training", "train", "--data", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "render a data set first" in proc.stderr
