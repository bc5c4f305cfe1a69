"""What changed between two annotation results, in the task's own terms: labels added or
removed; entity spans added, removed or changed (start, end, label); image boxes added, removed,
moved or re-classed (paired by IoU); audio segments added, removed or changed (times, speaker,
and the transcript as a character-level diff).

Pure: two results in the export's shape in (``None`` or ``{}`` is an empty result), one plain
data structure out, the same for the same inputs. The reviewer's page renders it as it is::

    {"kind": "boxes", "same": False,
     "counts": {"added": 1, "removed": 0, "changed": 1, "kept": 2},
     "items": [{"op": "changed", "old": {...}, "new": {...}, "fields": ["geometry", "label"], "iou": 0.81},
               {"op": "added", "old": None, "new": {...}, "fields": []}, ...]}

``op`` is one of added, removed, changed, kept; ``fields`` names what a changed item changed
(labels and spans: ``start``, ``end``, ``label``; boxes: ``geometry``, ``label``; segments:
``start``, ``end``, ``text``, ``speaker``). A changed segment whose transcript changed carries
``text_diff``: ``[{"op": "equal" | "delete" | "insert", "text": ...}]``, a delete before the
insert that replaces it. Items come in reading order: labels as the newer result lists them
(removed ones after), spans and segments by position, boxes as the newer result lists them
(removed ones after).

Pairing is greedy and deterministic: identical items first, then the pair that overlaps most
(spans and segments: an overlap, or the same position; boxes: IoU at least ``BOX_MATCH_IOU``)
with ties broken by list order, so the result never depends on dict or set order.
"""
from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Sequence
from typing import Any

KINDS = ("classification", "multi_label", "spans", "boxes", "transcript")
OPS = ("added", "removed", "changed", "kept")
BOX_MATCH_IOU = 0.3     # boxes overlapping less than this are a removal and an addition, not a move
TIME_EPSILON_S = 0.0005  # segment times are kept to the millisecond; closer than this is the same time

Item = dict[str, Any]


def kind_of(result: dict[str, Any] | None) -> str:
    """The kind a result's shape says it is (for a project without a declared kind); ``other``
    when its keys name none of the kinds."""
    keys = set(result or {})
    for key, kind in (("segments", "transcript"), ("boxes", "boxes"), ("spans", "spans"),
                      ("labels", "multi_label"), ("label", "classification")):
        if key in keys:
            return kind
    return "other"


def diff(kind: str, old: dict[str, Any] | None, new: dict[str, Any] | None) -> dict[str, Any]:
    """The difference from ``old`` to ``new`` for a project of ``kind`` (see the module)."""
    old, new = old or {}, new or {}
    if kind not in KINDS:
        kind = kind_of(new) if kind_of(new) != "other" else kind_of(old)
    if kind in ("classification", "multi_label"):
        items = _labels(_label_list(old), _label_list(new))
    elif kind == "spans":
        items = _spans(_list(old, "spans"), _list(new, "spans"))
    elif kind == "boxes":
        items = _boxes(_list(old, "boxes"), _list(new, "boxes"))
    elif kind == "transcript":
        items = _segments(_list(old, "segments"), _list(new, "segments"))
    else:
        kind, items = "other", _fields(old, new)
    counts = {op: sum(1 for i in items if i["op"] == op) for op in OPS}
    return {"kind": kind, "same": counts["kept"] == len(items), "counts": counts, "items": items}


def text_diff(old: str, new: str) -> list[dict[str, str]]:
    """A character-level diff (code points, as item offsets count): equal, delete and insert
    runs in order, a delete before the insert that replaces it; adjacent runs of one op merged."""
    out: list[dict[str, str]] = []

    def put(op: str, text: str) -> None:
        if not text:
            return
        if out and out[-1]["op"] == op:
            out[-1]["text"] += text
        else:
            out.append({"op": op, "text": text})

    for tag, a0, a1, b0, b1 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if tag == "equal":
            put("equal", old[a0:a1])
        else:
            put("delete", old[a0:a1])
            put("insert", new[b0:b1])
    return out


# --- reading the shapes ---------------------------------------------------------------------------

def _list(result: dict[str, Any], key: str) -> list[Item]:
    value = result.get(key)
    return [x for x in value if isinstance(x, dict)] if isinstance(value, list) else []


def _label_list(result: dict[str, Any]) -> list[str]:
    """The labels of a classification ({"label": x}) or multi-label ({"labels": [...]}) result,
    each once, in order."""
    if isinstance(result.get("labels"), list):
        raw = result["labels"]
    else:
        raw = [] if result.get("label") in (None, "") else [result.get("label")]
    seen: list[str] = []
    for x in raw:
        if x is not None and str(x) not in seen:
            seen.append(str(x))
    return seen


def _num(x: Any) -> float:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return 0.0
    return v if math.isfinite(v) else 0.0


# --- labels -----------------------------------------------------------------------------------------

def _labels(old: list[str], new: list[str]) -> list[Item]:
    items = [{"op": "kept" if x in old else "added", "old": x if x in old else None, "new": x, "fields": []}
             for x in new]
    items += [{"op": "removed", "old": x, "new": None, "fields": []} for x in old if x not in new]
    return items


# --- pairing ----------------------------------------------------------------------------------------

def _pair(old: Sequence[Item], new: Sequence[Item], same: Callable[[Item, Item], bool],
          score: Callable[[Item, Item], float | None]) -> tuple[list[tuple[int, int]], list[int], list[int]]:
    """Pairs (old index, new index): identical items first (in order), then by highest score
    (None: not a pair), ties by old then new index; and the unpaired indexes of each side."""
    pairs: list[tuple[int, int]] = []
    free_old, free_new = list(range(len(old))), list(range(len(new)))
    for i in list(free_old):
        for j in free_new:
            if same(old[i], new[j]):
                pairs.append((i, j))
                free_old.remove(i)
                free_new.remove(j)
                break
    scored = sorted(((s, i, j) for i in free_old for j in free_new
                     if (s := score(old[i], new[j])) is not None), key=lambda t: (-t[0], t[1], t[2]))
    for _, i, j in scored:
        if i in free_old and j in free_new:
            pairs.append((i, j))
            free_old.remove(i)
            free_new.remove(j)
    return pairs, free_old, free_new


def _changed(old: Item, new: Item, fields: list[str], **extra: Any) -> Item:
    return {"op": "changed" if fields else "kept", "old": old, "new": new, "fields": fields, **extra}


# --- entity spans -------------------------------------------------------------------------------------

def _span(s: Item) -> Item:
    return {"start": int(_num(s.get("start"))), "end": int(_num(s.get("end"))), "label": str(s.get("label", ""))}


def _spans(old_raw: list[Item], new_raw: list[Item]) -> list[Item]:
    old, new = [_span(s) for s in old_raw], [_span(s) for s in new_raw]

    def score(a: Item, b: Item) -> float | None:
        overlap = min(a["end"], b["end"]) - max(a["start"], b["start"])
        if (a["start"], a["end"]) == (b["start"], b["end"]):
            return math.inf
        return overlap if overlap > 0 else None

    pairs, gone, came = _pair(old, new, lambda a, b: a == b, score)
    items = [_changed(old[i], new[j], [f for f in ("start", "end", "label") if old[i][f] != new[j][f]])
             for i, j in pairs]
    items += [{"op": "removed", "old": old[i], "new": None, "fields": []} for i in gone]
    items += [{"op": "added", "old": None, "new": new[j], "fields": []} for j in came]
    return sorted(items, key=_span_order)


def _span_order(item: Item) -> tuple:
    s = item["new"] or item["old"]
    return (s["start"], s["end"], OPS.index(item["op"]), s["label"])


# --- image boxes ----------------------------------------------------------------------------------------

def _box(b: Item) -> Item:
    return {"label": str(b.get("label", "")), "x": _num(b.get("x")), "y": _num(b.get("y")),
            "w": max(0.0, _num(b.get("w"))), "h": max(0.0, _num(b.get("h")))}


def iou(a: Item, b: Item) -> float:
    """Intersection over union of two boxes {x, y, w, h}; 0 for empty ones."""
    ix = max(0.0, min(a["x"] + a["w"], b["x"] + b["w"]) - max(a["x"], b["x"]))
    iy = max(0.0, min(a["y"] + a["h"], b["y"] + b["h"]) - max(a["y"], b["y"]))
    inter = ix * iy
    union = a["w"] * a["h"] + b["w"] * b["h"] - inter
    return inter / union if union > 0 else 0.0


def _boxes(old_raw: list[Item], new_raw: list[Item]) -> list[Item]:
    old, new = [_box(b) for b in old_raw], [_box(b) for b in new_raw]
    geometry = ("x", "y", "w", "h")

    def score(a: Item, b: Item) -> float | None:
        v = iou(a, b)
        return v if v >= BOX_MATCH_IOU else None

    pairs, gone, came = _pair(old, new, lambda a, b: a == b, score)
    by_new: dict[int, Item] = {}
    for i, j in pairs:
        fields = (["geometry"] if any(old[i][k] != new[j][k] for k in geometry) else []) + \
                 (["label"] if old[i]["label"] != new[j]["label"] else [])
        by_new[j] = _changed(old[i], new[j], fields, iou=round(iou(old[i], new[j]), 4))
    for j in came:
        by_new[j] = {"op": "added", "old": None, "new": new[j], "fields": []}
    return [by_new[j] for j in range(len(new))] + [{"op": "removed", "old": old[i], "new": None, "fields": []}
                                                    for i in sorted(gone)]


# --- audio segments -------------------------------------------------------------------------------------

def _segment(s: Item) -> Item:
    return {"start": round(_num(s.get("start")), 3), "end": round(_num(s.get("end")), 3),
            "text": str(s.get("text") or ""), "speaker": str(s.get("speaker") or "")}


def _segments(old_raw: list[Item], new_raw: list[Item]) -> list[Item]:
    old, new = [_segment(s) for s in old_raw], [_segment(s) for s in new_raw]

    def score(a: Item, b: Item) -> float | None:
        overlap = min(a["end"], b["end"]) - max(a["start"], b["start"])
        if abs(a["start"] - b["start"]) <= TIME_EPSILON_S and abs(a["end"] - b["end"]) <= TIME_EPSILON_S:
            return math.inf
        return overlap if overlap > 0 else None

    pairs, gone, came = _pair(old, new, lambda a, b: a == b, score)
    items = []
    for i, j in pairs:
        a, b = old[i], new[j]
        fields = [f for f in ("start", "end") if abs(a[f] - b[f]) > TIME_EPSILON_S]
        fields += [f for f in ("text", "speaker") if a[f] != b[f]]
        extra = {"text_diff": text_diff(a["text"], b["text"])} if "text" in fields else {}
        items.append(_changed(a, b, fields, **extra))
    items += [{"op": "removed", "old": old[i], "new": None, "fields": []} for i in gone]
    items += [{"op": "added", "old": None, "new": new[j], "fields": []} for j in came]
    return sorted(items, key=_segment_order)


def _segment_order(item: Item) -> tuple:
    s = item["new"] or item["old"]
    return (s["start"], s["end"], OPS.index(item["op"]))


# --- anything else: the result's top-level fields -------------------------------------------------------

def _fields(old: dict[str, Any], new: dict[str, Any]) -> list[Item]:
    items = []
    for key in list(new) + [k for k in old if k not in new]:
        if key not in old:
            items.append({"op": "added", "old": None, "new": {"field": key, "value": new[key]}, "fields": []})
        elif key not in new:
            items.append({"op": "removed", "old": {"field": key, "value": old[key]}, "new": None, "fields": []})
        else:
            items.append(_changed({"field": key, "value": old[key]}, {"field": key, "value": new[key]},
                                  ["value"] if old[key] != new[key] else []))
    return items
