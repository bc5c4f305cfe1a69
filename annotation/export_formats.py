"""Export formats: an export's label files rendered from plain data, byte for byte the same for
the same input, so a verifier can render them again from the verified versions and compare.

Result shapes, one per label kind (the labelling pages and the work API save these; a result is
a JSON object, the ``result`` of annotation/versions.py's ``Version``):

- ``classification``: ``{"label": "pos"}``
- ``multi_label``: ``{"labels": ["spam", "ad"]}``
- ``spans``: ``{"spans": [{"start": 0, "end": 5, "label": "PER"}]}`` — offsets in Unicode code
  points of the item's text, ``end`` exclusive (``text[start:end]``)
- ``boxes``: ``{"boxes": [{"label": "car", "x": 10, "y": 20, "w": 30, "h": 40}]}`` — pixels of
  the stored image, (x, y) the top-left corner, w and h not negative
- ``transcript``: ``{"segments": [{"start": 0.0, "end": 1.5, "text": "你好", "speaker": "A"}]}`` —
  seconds from the start of the audio; ``speaker`` may be null

Formats (what each renders; ``items`` are the exported items, ``annotations`` the exported
version of each annotator per task, ``labels`` the project's label list, which fixes class ids):

- ``jsonl`` (any kind; made for text): ``labels.jsonl``, one line per item
  ``{"item", "name", "sha256", "annotations": [{"annotation", "annotator", "version", "hash",
  "result"}]}``.
- ``coco`` (boxes): ``coco.json`` with ``images`` (id = item id, file_name, width, height,
  sha256), ``categories`` (id = position in ``labels`` + 1) and ``annotations`` (bbox [x, y, w, h]
  in pixels, area, iscrowd 0, and the annotator, annotation id and version it came from).
- ``yolo`` (boxes): ``yolo/classes.txt`` (one label a line, class id = line number from 0) and
  one label set per annotator, ``yolo/<annotator>/<image stem>.txt``, a line per box
  ``class cx cy w h`` normalised to the image size, six decimals; an image the annotator saw
  with no box gets an empty file (a background image).
- ``nemo`` (transcript): ``manifest.json``, NeMo's JSON-lines manifest, one line per item and
  annotator: ``{"audio_filepath", "duration", "text", "offset"?, "segments": [{"start", "end",
  "transcript", "speaker"}], "annotator", "annotation", "version", "hash"}``; ``text`` is the
  segments' texts joined by a space, ``offset`` only when the item is a cut of a longer file.

Synthesised items (made from another item by a recipe, annotation/synthesis/) are marked in
every format with ``"synthetic": {"source": {"item", "sha256"}, "recipe": {"kind", ...}}``: on
the item's line in ``labels.jsonl``, on its image entry in ``coco.json``, on each of its lines
in the NeMo manifest, and for YOLO in ``yolo/synthetic.jsonl``, one line per synthesised image
``{"image": <label file stem>, "item", "synthetic"}``. An item that is not synthesised carries
no such field (and YOLO has no such file when no image is), so an export without synthesis is
what it was before.
"""
from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

FORMATS = ("jsonl", "coco", "yolo", "nemo")
LABEL_KINDS = ("classification", "multi_label", "spans", "boxes", "transcript")
# Which label kinds each format can carry.
FORMAT_KINDS = {"jsonl": frozenset(LABEL_KINDS), "coco": frozenset({"boxes"}), "yolo": frozenset({"boxes"}),
                "nemo": frozenset({"transcript"})}


class ExportFormatError(ValueError):
    """A result does not have the shape its format needs; the message names the annotation."""


@dataclass(frozen=True)
class ExportItem:
    id: int
    sha256: str
    name: str  # the file name it was imported as
    media_type: str
    width: int | None = None  # images
    height: int | None = None
    duration: float | None = None  # audio, seconds
    offset: float | None = None  # audio cut from a longer file, seconds into it
    # Synthesised: {"source": {"item", "sha256"}, "recipe": {...}}; None for an imported item.
    synthetic: Mapping[str, Any] | None = None

    def as_json(self) -> dict[str, Any]:
        out = {"id": self.id, "sha256": self.sha256, "name": self.name, "media_type": self.media_type,
               "width": self.width, "height": self.height, "duration": self.duration, "offset": self.offset}
        if self.synthetic is not None:
            out["synthetic"] = dict(self.synthetic)
        return out

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> ExportItem:
        return cls(**{k: d[k] for k in ("id", "sha256", "name", "media_type", "width", "height", "duration",
                                         "offset")}, synthetic=d.get("synthetic"))


def synthetic_mark(source_item: int | None, source_sha256: str | None, recipe: Mapping[str, Any]) -> dict[str, Any]:
    """What an export says of a synthesised item."""
    return {"source": {"item": source_item, "sha256": source_sha256}, "recipe": dict(recipe)}


def _mark(out: dict[str, Any], item: ExportItem) -> dict[str, Any]:
    if item.synthetic is not None:
        out["synthetic"] = dict(item.synthetic)
    return out


@dataclass(frozen=True)
class ExportAnnotation:
    """One annotator's exported version of one item's task."""

    annotation: int  # the version's annotation id
    item_sha256: str
    annotator: str
    version: int
    hash: str
    result: Mapping[str, Any]


def _json(value: Any, indent: int | None = None) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, allow_nan=False, indent=indent,
                      separators=(",", ":") if indent is None else (",", ": "))


def _num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _boxes(a: ExportAnnotation) -> list[Mapping[str, Any]]:
    boxes = a.result.get("boxes")
    if not isinstance(boxes, list):
        raise ExportFormatError(f"annotation {a.annotation}: result has no boxes list")
    for n, b in enumerate(boxes):
        if (not isinstance(b, Mapping) or not isinstance(b.get("label"), str)
                or not all(_num(b.get(k)) for k in ("x", "y", "w", "h")) or b["w"] < 0 or b["h"] < 0):
            raise ExportFormatError(f"annotation {a.annotation}: box {n} is not {{label, x, y, w, h}} "
                                    "with w, h not negative")
    return boxes


def _segments(a: ExportAnnotation) -> list[Mapping[str, Any]]:
    segs = a.result.get("segments")
    if not isinstance(segs, list):
        raise ExportFormatError(f"annotation {a.annotation}: result has no segments list")
    for n, s in enumerate(segs):
        if (not isinstance(s, Mapping) or not _num(s.get("start")) or not _num(s.get("end"))
                or not isinstance(s.get("text"), str) or not (s.get("speaker") is None
                                                              or isinstance(s.get("speaker"), str))):
            raise ExportFormatError(f"annotation {a.annotation}: segment {n} is not {{start, end, text, speaker}}")
    return segs


def _by_item(items: Sequence[ExportItem], annotations: Sequence[ExportAnnotation]):
    """Items by id, each with its annotations by annotator then annotation id."""
    known = {i.sha256 for i in items}
    for a in annotations:
        if a.item_sha256 not in known:
            raise ExportFormatError(f"annotation {a.annotation}: its item {a.item_sha256[:12]} is not exported")
    for item in sorted(items, key=lambda i: i.id):
        yield item, sorted((a for a in annotations if a.item_sha256 == item.sha256),
                           key=lambda a: (a.annotator, a.annotation))


def _class_ids(labels: Sequence[str]) -> dict[str, int]:
    return {name: n for n, name in enumerate(labels)}


def _class_of(a: ExportAnnotation, label: str, classes: Mapping[str, int]) -> int:
    if label not in classes:
        raise ExportFormatError(f"annotation {a.annotation}: label {label!r} is not in the project's labels")
    return classes[label]


def render_jsonl(items, annotations, labels) -> dict[str, bytes]:
    lines = []
    for item, anns in _by_item(items, annotations):
        lines.append(_json(_mark({"item": item.id, "name": item.name, "sha256": item.sha256, "annotations": [
            {"annotation": a.annotation, "annotator": a.annotator, "version": a.version, "hash": a.hash,
             "result": dict(a.result)} for a in anns]}, item)))
    return {"labels.jsonl": "".join(line + "\n" for line in lines).encode()}


def render_coco(items, annotations, labels) -> dict[str, bytes]:
    classes = _class_ids(labels)
    images, anns_out = [], []
    for item, anns in _by_item(items, annotations):
        images.append(_mark({"id": item.id, "file_name": item.name, "width": item.width, "height": item.height,
                             "sha256": item.sha256}, item))
        for a in anns:
            for b in _boxes(a):
                anns_out.append({"id": len(anns_out) + 1, "image_id": item.id,
                                 "category_id": _class_of(a, b["label"], classes) + 1,
                                 "bbox": [b["x"], b["y"], b["w"], b["h"]], "area": b["w"] * b["h"], "iscrowd": 0,
                                 "annotator": a.annotator, "annotation": a.annotation, "version": a.version})
    doc = {"images": images, "annotations": anns_out,
           "categories": [{"id": n + 1, "name": name} for n, name in enumerate(labels)]}
    return {"coco.json": (_json(doc, indent=1) + "\n").encode()}


YOLO_SYNTHETIC = "yolo/synthetic.jsonl"
_SAFE = re.compile(r"[^A-Za-z0-9._-]")


def safe_name(text: str) -> str:
    """A path component made of letters, digits, '.', '_' and '-' only, never '.' or '..'."""
    name = _SAFE.sub("_", text).strip(".") or "_"
    return name


def yolo_stems(items: Sequence[ExportItem]) -> dict[int, str]:
    """Each image's label file stem: its file name's, with the item id added where two clash."""
    stems = {i.id: safe_name(PurePosixPath(i.name).stem) for i in items}
    counts: dict[str, int] = {}
    for s in stems.values():
        counts[s] = counts.get(s, 0) + 1
    return {i: (s if counts[s] == 1 else f"{s}-{i}") for i, s in stems.items()}


def _yolo_value(v: float) -> str:
    return f"{v:.6f}"


def yolo_line(cls: int, box: Mapping[str, Any], width: int, height: int) -> str:
    x, y, w, h = box["x"], box["y"], box["w"], box["h"]
    return " ".join([str(cls), _yolo_value((x + w / 2) / width), _yolo_value((y + h / 2) / height),
                     _yolo_value(w / width), _yolo_value(h / height)])


def render_yolo(items, annotations, labels) -> dict[str, bytes]:
    classes = _class_ids(labels)
    stems = yolo_stems(items)
    out = {"yolo/classes.txt": "".join(f"{name}\n" for name in labels).encode()}
    synthetic = []
    for item, anns in _by_item(items, annotations):
        if item.synthetic is not None:
            synthetic.append(_json({"image": stems[item.id], "item": item.id, "synthetic": dict(item.synthetic)}))
        if anns and not (_num(item.width) and _num(item.height) and item.width > 0 and item.height > 0):
            raise ExportFormatError(f"item {item.id}: image size unknown, boxes cannot be normalised")
        for a in anns:
            lines = [yolo_line(_class_of(a, b["label"], classes), b, item.width, item.height) for b in _boxes(a)]
            out[f"yolo/{safe_name(a.annotator)}/{stems[item.id]}.txt"] = "".join(x + "\n" for x in lines).encode()
    if synthetic:
        out[YOLO_SYNTHETIC] = "".join(x + "\n" for x in synthetic).encode()
    return out


def render_nemo(items, annotations, labels) -> dict[str, bytes]:
    lines = []
    for item, anns in _by_item(items, annotations):
        for a in anns:
            segs = _segments(a)
            line = {"audio_filepath": item.name, "duration": item.duration,
                    "text": " ".join(s["text"] for s in segs if s["text"]),
                    "segments": [{"start": s["start"], "end": s["end"], "transcript": s["text"],
                                  "speaker": s["speaker"]} for s in segs],
                    "annotator": a.annotator, "annotation": a.annotation, "version": a.version, "hash": a.hash}
            if item.offset is not None:
                line["offset"] = item.offset
            lines.append(_json(_mark(line, item)))
    return {"manifest.json": "".join(x + "\n" for x in lines).encode()}


RENDERERS = {"jsonl": render_jsonl, "coco": render_coco, "yolo": render_yolo, "nemo": render_nemo}


def render(fmt: str, items: Sequence[ExportItem], annotations: Sequence[ExportAnnotation],
           labels: Sequence[str]) -> dict[str, bytes]:
    """The format's files, path -> bytes; raise ExportFormatError for a result that does not fit."""
    if fmt not in RENDERERS:
        raise ExportFormatError(f"unknown format {fmt!r} (one of {', '.join(FORMATS)})")
    return RENDERERS[fmt](items, annotations, list(labels))


def labels_for(schema_labels: Sequence[str], annotations: Sequence[ExportAnnotation]) -> list[str]:
    """The class list: the project's labels in their order, then any other label the results
    use, sorted (a label removed from the schema after it was used keeps a class)."""
    out = [x for x in dict.fromkeys(schema_labels) if isinstance(x, str)]
    used = set()
    for a in annotations:
        r = a.result
        if isinstance(r.get("label"), str):
            used.add(r["label"])
        if isinstance(r.get("labels"), list):
            used.update(x for x in r["labels"] if isinstance(x, str))
        for key in ("spans", "boxes"):
            if isinstance(r.get(key), list):
                used.update(x["label"] for x in r[key] if isinstance(x, Mapping) and isinstance(x.get("label"), str))
    return out + sorted(used - set(out))
