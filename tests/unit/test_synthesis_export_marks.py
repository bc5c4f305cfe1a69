"""Every export format marks a synthesised item with its source and recipe, and leaves an
imported one exactly as it was; the offline verifier renders the marks again from items.jsonl."""
from __future__ import annotations

import json

from annotation.export_formats import ExportAnnotation, ExportItem, render, synthetic_mark

MARK = synthetic_mark(7, "a" * 64, {"kind": "image_flip", "direction": "horizontal"})
PLAIN = ExportItem(1, "1" * 64, "cam/one.png", "image/png", width=100, height=50, duration=2.0)
SYNTH = ExportItem(2, "2" * 64, "cam/one-7-image_flip.png", "image/png", width=100, height=50, duration=2.0,
                   synthetic=MARK)


def ann(n: int, item: ExportItem, result: dict) -> ExportAnnotation:
    return ExportAnnotation(annotation=n, item_sha256=item.sha256, annotator="ann1", version=1, hash=f"{n:064x}",
                            result=result)


BOXES = [ann(1, PLAIN, {"boxes": [{"label": "car", "x": 10, "y": 5, "w": 30, "h": 20}]}),
         ann(2, SYNTH, {"boxes": [{"label": "car", "x": 60, "y": 5, "w": 30, "h": 20}]})]
SEGS = {"segments": [{"start": 0.0, "end": 1.0, "text": "你好", "speaker": None}]}


def test_the_mark_is_on_the_synthesised_item_only_in_every_format():
    assert MARK == {"source": {"item": 7, "sha256": "a" * 64},
                    "recipe": {"kind": "image_flip", "direction": "horizontal"}}
    lines = [json.loads(x) for x in render("jsonl", [PLAIN, SYNTH], BOXES, ["car"])["labels.jsonl"].splitlines()]
    assert "synthetic" not in lines[0] and lines[1]["synthetic"] == MARK
    coco = json.loads(render("coco", [PLAIN, SYNTH], BOXES, ["car"])["coco.json"])
    assert "synthetic" not in coco["images"][0] and coco["images"][1]["synthetic"] == MARK
    yolo = render("yolo", [PLAIN, SYNTH], BOXES, ["car"])
    assert [json.loads(x) for x in yolo["yolo/synthetic.jsonl"].splitlines()] == [
        {"image": "one-7-image_flip", "item": 2, "synthetic": MARK}]
    assert "yolo/synthetic.jsonl" not in render("yolo", [PLAIN], BOXES[:1], ["car"])
    nemo = render("nemo", [PLAIN, SYNTH], [ann(3, PLAIN, SEGS), ann(4, SYNTH, SEGS)], [])
    rows = [json.loads(x) for x in nemo["manifest.json"].splitlines()]
    assert "synthetic" not in rows[0] and rows[1]["synthetic"] == MARK


def test_items_json_round_trips_the_mark_and_an_imported_item_is_unchanged():
    assert ExportItem.from_json(SYNTH.as_json()) == SYNTH
    assert "synthetic" not in PLAIN.as_json() and ExportItem.from_json(PLAIN.as_json()) == PLAIN
