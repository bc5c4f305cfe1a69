"""Export formats rendered from plain data: exact COCO and YOLO coordinates, NeMo manifest
lines, JSONL per item, and results that do not fit their format refused with the annotation
named."""
from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from annotation.export_formats import (
    ExportAnnotation,
    ExportFormatError,
    ExportItem,
    labels_for,
    render,
    yolo_line,
)

IMG = [ExportItem(1, "a" * 64, "street/cam 1.png", "image/png", 640, 480),
       ExportItem(2, "b" * 64, "yard/cam 1.png", "image/png", 1280, 720),
       ExportItem(3, "c" * 64, "lot.jpg", "image/jpeg", 100, 100)]


def ann(aid, sha, annotator, result, version=1):
    return ExportAnnotation(aid, sha, annotator, version, f"{aid:064x}", result)


BOXES = [ann(10, "a" * 64, "ann1", {"boxes": [{"label": "car", "x": 64, "y": 48, "w": 128, "h": 96},
                                              {"label": "person", "x": 0, "y": 0, "w": 640, "h": 480}]}, 2),
         ann(11, "a" * 64, "ann2", {"boxes": []}),
         ann(12, "b" * 64, "ann1", {"boxes": [{"label": "person", "x": 10.5, "y": 20, "w": 30, "h": 40}]})]


def test_coco_keeps_pixels_and_numbers_categories_from_one():
    doc = json.loads(render("coco", IMG, BOXES, ["car", "person"])["coco.json"])
    assert doc["categories"] == [{"id": 1, "name": "car"}, {"id": 2, "name": "person"}]
    assert [(i["id"], i["file_name"], i["width"], i["height"]) for i in doc["images"]] == [
        (1, "street/cam 1.png", 640, 480), (2, "yard/cam 1.png", 1280, 720), (3, "lot.jpg", 100, 100)]
    assert [(a["id"], a["image_id"], a["category_id"], a["bbox"], a["area"], a["annotator"], a["annotation"],
             a["version"]) for a in doc["annotations"]] == [
        (1, 1, 1, [64, 48, 128, 96], 12288, "ann1", 10, 2),
        (2, 1, 2, [0, 0, 640, 480], 307200, "ann1", 10, 2),
        (3, 2, 2, [10.5, 20, 30, 40], 1200.0, "ann1", 12, 1)]


def test_yolo_normalises_centre_and_size_per_annotator():
    files = render("yolo", IMG, BOXES, ["car", "person"])
    assert files["yolo/classes.txt"] == b"car\nperson\n"
    # (64 + 64) / 640 = 0.2, (48 + 48) / 480 = 0.2, 128 / 640 = 0.2, 96 / 480 = 0.2
    assert files["yolo/ann1/cam_1-1.txt"] == b"0 0.200000 0.200000 0.200000 0.200000\n1 0.500000 0.500000 1.000000 1.000000\n"
    assert files["yolo/ann2/cam_1-1.txt"] == b""  # saw the image, drew nothing: a background image
    # (10.5 + 15) / 1280, (20 + 20) / 720, 30 / 1280, 40 / 720
    assert files["yolo/ann1/cam_1-2.txt"] == b"1 0.019922 0.055556 0.023438 0.055556\n"
    assert set(files) == {"yolo/classes.txt", "yolo/ann1/cam_1-1.txt", "yolo/ann2/cam_1-1.txt",
                          "yolo/ann1/cam_1-2.txt"}


@given(st.integers(1, 5000), st.integers(1, 5000), st.data())
def test_yolo_values_undo_to_the_pixel_box(width, height, data):
    x = data.draw(st.integers(0, width - 1))
    y = data.draw(st.integers(0, height - 1))
    w = data.draw(st.integers(0, width - x))
    h = data.draw(st.integers(0, height - y))
    cls, cx, cy, nw, nh = yolo_line(3, {"x": x, "y": y, "w": w, "h": h}, width, height).split(" ")
    assert cls == "3"
    back = ((float(cx) - float(nw) / 2) * width, (float(cy) - float(nh) / 2) * height,
            float(nw) * width, float(nh) * height)
    # six decimals of an image up to 5000 px wide: within 0.005 px per value
    assert all(abs(a - b) <= 5000 * 1e-6 for a, b in zip(back, (x, y, w, h)))


def test_nemo_manifest_has_one_line_per_item_and_annotator():
    audio = [ExportItem(5, "d" * 64, "calls/0001.wav", "audio/wav", duration=3.5),
             ExportItem(6, "e" * 64, "calls/0002.wav", "audio/wav", duration=2.0, offset=12.25)]
    anns = [ann(20, "d" * 64, "ann1", {"segments": [{"start": 0.0, "end": 1.5, "text": "你好", "speaker": "A"},
                                                    {"start": 1.5, "end": 3.5, "text": "hello", "speaker": None}]}),
            ann(21, "e" * 64, "ann2", {"segments": []})]
    lines = render("nemo", audio, anns, [])["manifest.json"].decode().splitlines()
    assert [json.loads(x) for x in lines] == [
        {"audio_filepath": "calls/0001.wav", "duration": 3.5, "text": "你好 hello",
         "segments": [{"start": 0.0, "end": 1.5, "transcript": "你好", "speaker": "A"},
                      {"start": 1.5, "end": 3.5, "transcript": "hello", "speaker": None}],
         "annotator": "ann1", "annotation": 20, "version": 1, "hash": f"{20:064x}"},
        {"audio_filepath": "calls/0002.wav", "duration": 2.0, "text": "", "offset": 12.25, "segments": [],
         "annotator": "ann2", "annotation": 21, "version": 1, "hash": f"{21:064x}"}]
    assert "你好" in lines[0]  # UTF-8, not escaped


def test_jsonl_has_one_line_per_item_with_each_annotators_result():
    text = [ExportItem(8, "f" * 64, "docs/a.txt", "text/plain"), ExportItem(9, "0" * 64, "docs/b.txt", "text/plain")]
    anns = [ann(31, "f" * 64, "zoe", {"spans": [{"start": 0, "end": 5, "label": "PER"}]}),
            ann(30, "f" * 64, "amy", {"label": "pos"}), ann(32, "0" * 64, "amy", {"labels": ["spam", "ad"]})]
    out = render("jsonl", text, anns, ["pos", "neg"])["labels.jsonl"].decode()
    assert out.endswith("\n")
    assert [json.loads(x) for x in out.splitlines()] == [
        {"item": 8, "name": "docs/a.txt", "sha256": "f" * 64, "annotations": [
            {"annotation": 30, "annotator": "amy", "version": 1, "hash": f"{30:064x}", "result": {"label": "pos"}},
            {"annotation": 31, "annotator": "zoe", "version": 1, "hash": f"{31:064x}",
             "result": {"spans": [{"start": 0, "end": 5, "label": "PER"}]}}]},
        {"item": 9, "name": "docs/b.txt", "sha256": "0" * 64, "annotations": [
            {"annotation": 32, "annotator": "amy", "version": 1, "hash": f"{32:064x}",
             "result": {"labels": ["spam", "ad"]}}]}]


@pytest.mark.parametrize(("fmt", "result", "words"), [
    ("coco", {"label": "car"}, "annotation 40: result has no boxes"),
    ("yolo", {"boxes": [{"label": "car", "x": 0, "y": 0, "w": -1, "h": 2}]}, "annotation 40: box 0"),
    ("coco", {"boxes": [{"label": "truck", "x": 0, "y": 0, "w": 1, "h": 2}]}, "label 'truck' is not in"),
    ("nemo", {"segments": [{"start": 0, "end": 1}]}, "annotation 40: segment 0"),
])
def test_a_result_that_does_not_fit_is_refused_by_annotation(fmt, result, words):
    with pytest.raises(ExportFormatError, match=words):
        render(fmt, IMG, [ann(40, "a" * 64, "ann1", result)], ["car"])


def test_yolo_needs_the_image_size():
    with pytest.raises(ExportFormatError, match="item 4: image size unknown"):
        render("yolo", [ExportItem(4, "a" * 64, "x.png", "image/png")], BOXES[:1], ["car", "person"])


def test_class_list_keeps_schema_order_then_adds_used_labels():
    anns = [ann(1, "a" * 64, "x", {"boxes": [{"label": "van", "x": 0, "y": 0, "w": 1, "h": 1}]}),
            ann(2, "a" * 64, "y", {"labels": ["bus", "car"]}), ann(3, "a" * 64, "z", {"label": "ant"})]
    assert labels_for(["car", "person"], anns) == ["car", "person", "ant", "bus", "van"]
