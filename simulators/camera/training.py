"""Render a detector training set from the camera simulator, train a small YOLO model on it and
export it to ONNX for the edge.

    python -m simulators.camera.training render --out var/detector-data --images 1000
    python -m simulators.camera.training train --data var/detector-data --epochs 50
    python -m simulators.camera.training all --out var/detector-data   # both, then export

Each image is a random office view: one to three workstations at random sizes and skews, a
random camera resolution scaled to that camera's sub stream (what the edge analyses), people
arriving, working, leaving or absent, someone standing in front of a screen, a blurred or dead
camera, and JPEG compression like a video frame's; or, one in four, a gate camera over one or
two lanes with up to three people walking through, close behind each other. The labels come
from the scene's own geometry (``Scene.truth``), so they are exact. Training needs the ``train``
extra (ultralytics and torch); the edge needs neither: it runs the ONNX file with OpenCV's DNN
module.
"""
from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import yaml

from simulators.camera.media import sub_size
from simulators.camera.scene import Scene
from simulators.camera.site_view import SeatView

NAMES = ("person", "screen")
RESOLUTIONS = ((1280, 720), (1920, 1080), (960, 540), (800, 600), (640, 480), (1280, 960))
MODEL_DIR = Path(__file__).resolve().parents[2] / "camera" / "models"
MODEL_NAME = "siteguard-sim"


def random_view(rng: random.Random) -> tuple[dict, list[SeatView]]:
    """A camera and the workstations it sees, laid out side by side with random screens."""
    w, h = rng.choice(RESOLUTIONS)
    n = rng.choice((1, 2, 2, 3))
    seats, col = [], w / n
    for i in range(n):
        x0 = i * col + rng.uniform(0.02, 0.06) * col
        x1 = (i + 1) * col - rng.uniform(0.02, 0.06) * col
        y0 = rng.uniform(0.18, 0.3) * h
        y1 = rng.uniform(0.93, 1.0) * h
        sw = rng.uniform(0.12, 0.6) * (x1 - x0)
        sh = sw * rng.uniform(0.5, 0.75)
        bottom = rng.uniform(0.4, 0.62) * h
        top = max(4.0, bottom - sh)
        cx = (x0 + x1) / 2 + rng.uniform(-0.1, 0.1) * (x1 - x0)
        skew = lambda: rng.uniform(-0.04, 0.04) * sw  # noqa: E731 - a camera looks a little aslant
        screen = np.array([[cx - sw / 2 + skew(), top + skew()], [cx + sw / 2 + skew(), top + skew()],
                           [cx + sw / 2 + skew(), bottom + skew()], [cx - sw / 2 + skew(), bottom + skew()]])
        seat = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
        seats.append(SeatView(f"S{i + 1}", rng.choice(("acme", "borealis", "cirrus")),
                              seat.astype(np.int32), screen.astype(np.int32)))
    return {"id": f"cam-{rng.randrange(100):02d}", "resolution": [w, h]}, seats


def random_lanes(rng: random.Random, w: int, h: int) -> list[np.ndarray]:
    """One or two gate lanes seen from a camera above and behind them."""
    lanes = []
    n = rng.choice((1, 1, 2))
    for i in range(n):
        col = w / n
        lw = rng.uniform(0.2, 0.45) * col
        cx = i * col + col / 2 + rng.uniform(-0.15, 0.15) * col
        top, bottom = rng.uniform(0.15, 0.4) * h, rng.uniform(0.85, 1.0) * h
        near = lw * rng.uniform(1.0, 1.3)  # the near end looks wider
        lanes.append(np.array([[cx - lw / 2, top], [cx + lw / 2, top], [cx + near / 2, bottom],
                               [cx - near / 2, bottom]]).astype(np.int32))
    return lanes


def random_sample(rng: random.Random) -> tuple[np.ndarray, list[tuple[str, tuple[float, ...]]]]:
    """One sub-stream frame and its labels (boxes in that frame's pixels): an office view, or
    (one in four) a gate camera with people walking through its lanes, often close together."""
    camera, seats = random_view(rng)
    t = rng.uniform(0.0, 900.0)
    if rng.random() < 0.25:
        w, h = camera["resolution"]
        lanes = random_lanes(rng, w, h)
        scene = Scene(camera, [], seed=rng.randrange(1 << 30), lanes=lanes)
        for i in range(len(lanes)):
            count = rng.choice((0, 1, 2, 2, 3))
            if count:  # started a moment ago, so the walkers are anywhere along the lane
                scene.start_walkers(count, t - rng.uniform(0.0, 3.0 + count * 0.9), lane=i)
    else:
        scene = Scene(camera, seats, seed=rng.randrange(1 << 30))
        for view in seats:
            scene.set_seat_override(view.seat_id, rng.choices(("auto", "occupied", "empty"), (5, 3, 2))[0])
            scene.set_occluder(view.seat_id, rng.random() < 0.15)
    scene.set_fault(rng.choices((None, "defocus", "blackout", "lens_covered"), (88, 6, 3, 3))[0])
    w, h = scene.width, scene.height
    size = sub_size(w, h)
    frame = scene.render(t, size=size)
    gain = rng.uniform(0.8, 1.2)  # rooms differ in light
    frame = cv2.convertScaleAbs(frame, alpha=gain, beta=rng.uniform(-10, 10))
    ok, jpg = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, rng.randint(45, 90)])
    frame = cv2.imdecode(jpg, cv2.IMREAD_COLOR)
    sx, sy = size[0] / w, size[1] / h
    labels = [(label, (x1 * sx, y1 * sy, x2 * sx, y2 * sy)) for label, (x1, y1, x2, y2) in scene.truth(t)]
    return frame, labels


def _yolo_line(label: str, box: tuple[float, ...], w: int, h: int) -> str:
    x1, y1, x2, y2 = box
    return (f"{NAMES.index(label)} {(x1 + x2) / 2 / w:.6f} {(y1 + y2) / 2 / h:.6f} "
            f"{(x2 - x1) / w:.6f} {(y2 - y1) / h:.6f}")


def render_dataset(out: Path, images: int, seed: int = 7, val_share: float = 0.15,
                   progress=print) -> Path:
    """Write a YOLO dataset (images/, labels/, data.yaml) and return the data.yaml path."""
    rng = random.Random(seed)
    out = Path(out)
    for split in ("train", "val"):
        (out / "images" / split).mkdir(parents=True, exist_ok=True)
        (out / "labels" / split).mkdir(parents=True, exist_ok=True)
    n_val = max(1, int(images * val_share))
    started = time.monotonic()
    for i in range(images):
        split = "val" if i < n_val else "train"
        frame, labels = random_sample(rng)
        h, w = frame.shape[:2]
        cv2.imwrite(str(out / "images" / split / f"{i:05d}.jpg"), frame)
        (out / "labels" / split / f"{i:05d}.txt").write_text(
            "".join(_yolo_line(lb, box, w, h) + "\n" for lb, box in labels))
        if progress and ((i + 1) % 50 == 0 or i + 1 == images):
            progress(f"rendered {i + 1}/{images} images ({time.monotonic() - started:.0f} s)")
    data = out / "data.yaml"
    data.write_text(f"path: {out.resolve()}\ntrain: images/train\nval: images/val\n"
                    f"names:\n" + "".join(f"  {i}: {n}\n" for i, n in enumerate(NAMES)))
    return data


def train(data: Path, epochs: int, imgsz: int, model_dir: Path = MODEL_DIR, batch: int = 16,
          width: float = 0.125, workdir: Path = Path("var/detector-runs")) -> Path:
    """Train a narrow YOLOv8 from scratch (no pretrained weights: nothing is downloaded), export
    ONNX and write it with its metadata into model_dir. Returns the ONNX path."""
    import os
    os.environ.setdefault("YOLO_OFFLINE", "1")
    os.environ.setdefault("YOLO_CONFIG_DIR", str(Path(workdir).resolve()))
    from ultralytics import YOLO
    from ultralytics.nn.tasks import yaml_model_load

    # The standard YOLOv8 layout at a narrower width: two classes on rendered scenes need far
    # fewer channels than eighty on photographs, and the edge runs it on a CPU core.
    cfg = yaml_model_load("yolov8n.yaml")
    cfg = {k: v for k, v in cfg.items() if k not in ("scale", "yaml_file")}
    cfg["scales"] = {"n": [0.33, width, 1024]}
    cfg["nc"] = len(NAMES)
    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    arch = workdir / f"{MODEL_NAME}.yaml"
    arch.write_text(yaml.safe_dump(cfg, sort_keys=False))
    model = YOLO(str(arch))
    model.train(data=str(data), epochs=epochs, imgsz=imgsz, batch=batch, device="cpu", workers=2,
                project=str(workdir), name="train", exist_ok=True, plots=False, pretrained=False,
                amp=False, verbose=False, fliplr=0.5, mosaic=1.0, close_mosaic=max(1, epochs // 5))
    best = workdir / "train" / "weights" / "best.pt"
    trained = YOLO(str(best))
    metrics = trained.val(data=str(data), imgsz=imgsz, device="cpu", plots=False, verbose=False)
    onnx = Path(trained.export(format="onnx", imgsz=imgsz, opset=12, simplify=False, dynamic=False))
    model_dir.mkdir(parents=True, exist_ok=True)
    target = model_dir / f"{MODEL_NAME}.onnx"
    shutil.copyfile(onnx, target)
    meta = {"names": list(NAMES), "imgsz": imgsz, "format": "yolov8",
            "trained": {"images": _count(data), "epochs": epochs, "width": width,
                        "map50": round(float(metrics.box.map50), 3),
                        "map50_95": round(float(metrics.box.map), 3)}}
    (model_dir / f"{MODEL_NAME}.json").write_text(json.dumps(meta, indent=2) + "\n")
    return target


def _count(data: Path) -> int:
    return sum(1 for _ in (Path(data).parent / "images" / "train").glob("*.jpg"))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m simulators.camera.training", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("render", help="render a labelled data set from the simulator")
    r.add_argument("--out", type=Path, required=True)
    r.add_argument("--images", type=int, default=1000)
    r.add_argument("--seed", type=int, default=7)
    t = sub.add_parser("train", help="train on a rendered set and export ONNX into camera/models")
    t.add_argument("--data", type=Path, required=True, help="the data set folder (with data.yaml)")
    for p in (t, a := sub.add_parser("all", help="render, then train")):
        p.add_argument("--epochs", type=int, default=50)
        p.add_argument("--imgsz", type=int, default=320)
        p.add_argument("--model-dir", type=Path, default=MODEL_DIR)
        p.add_argument("--workdir", type=Path, default=Path("var/detector-runs"),
                       help="where training runs and checkpoints go")
    a.add_argument("--out", type=Path, required=True)
    a.add_argument("--images", type=int, default=1000)
    a.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)
    if args.cmd in ("render", "all"):
        data = render_dataset(args.out, args.images, args.seed)
        print(f"data set: {data}")
    else:
        data = args.data / "data.yaml"
        if not data.exists():
            print(f"error: {data} not found; render a data set first", file=sys.stderr)
            return 2
    if args.cmd in ("train", "all"):
        try:
            onnx = train(data, args.epochs, args.imgsz, args.model_dir, workdir=args.workdir)
        except ImportError as exc:
            print(f"error: training needs the 'train' extra (pip install -e '.[train]'): {exc}",
                  file=sys.stderr)
            return 2
        print(f"model: {onnx}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
