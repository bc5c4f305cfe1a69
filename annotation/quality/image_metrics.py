"""Box metrics: submitted boxes matched to gold boxes of the same class at IoU ≥ 0.5, then
precision = matched / submitted and recall = matched / gold (annotation/quality/counts.py for
the 0/0 cases).

Boxes are the stored ``{"label", "x", "y", "w", "h"}`` (pixels, top-left corner). IoU = area of
the intersection / area of the union; a box without area (w or h 0) has IoU 0 with every box, so
it never matches.

Matching, per class: every (gold, submitted) pair with IoU ≥ the threshold is a candidate; the
candidates are taken in order of IoU, highest first, and a pair is kept when neither box is
taken yet. Equal IoUs are broken by the gold box's position in its result, then the submitted
box's (earlier first), so the same input always gives the same matches."""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from annotation.quality.counts import PRF, ZERO

IOU_THRESHOLD = 0.5
Box = Mapping[str, Any]


def boxes_of(result: Mapping[str, Any] | None) -> list[Box]:
    """A boxes result's well-formed boxes, in stored order (others are dropped)."""
    boxes = result.get("boxes") if isinstance(result, Mapping) else None
    if not isinstance(boxes, list):
        return []
    return [b for b in boxes if isinstance(b, Mapping) and isinstance(b.get("label"), str)
            and all(isinstance(b.get(k), (int, float)) and not isinstance(b.get(k), bool) for k in "xywh")
            and b["w"] >= 0 and b["h"] >= 0]


def iou(a: Box, b: Box) -> float:
    iw = min(a["x"] + a["w"], b["x"] + b["w"]) - max(a["x"], b["x"])
    ih = min(a["y"] + a["h"], b["y"] + b["h"]) - max(a["y"], b["y"])
    inter = max(0, iw) * max(0, ih)
    union = a["w"] * a["h"] + b["w"] * b["h"] - inter
    return inter / union if union > 0 and inter > 0 else 0.0


@dataclass(frozen=True)
class Match:
    gold: int  # index in the gold result's boxes
    submitted: int  # index in the submitted result's boxes
    iou: float


@dataclass(frozen=True)
class BoxScore:
    total: PRF
    per_class: Mapping[str, PRF] = field(default_factory=dict)
    matches: tuple[Match, ...] = ()  # only for one image; empty for a batch

    def __add__(self, other: BoxScore) -> BoxScore:
        classes = sorted(set(self.per_class) | set(other.per_class))
        return BoxScore(self.total + other.total,
                        {c: self.per_class.get(c, ZERO) + other.per_class.get(c, ZERO) for c in classes})


def match_boxes(gold: Sequence[Box], submitted: Sequence[Box], threshold: float = IOU_THRESHOLD) -> list[Match]:
    """The matches, in the order they were made (module docstring)."""
    candidates = []
    for gi, g in enumerate(gold):
        for si, s in enumerate(submitted):
            if g["label"] == s["label"]:
                v = iou(g, s)
                if v >= threshold and v > 0:
                    candidates.append((-v, gi, si))
    candidates.sort()
    used_g, used_s, out = set(), set(), []
    for neg, gi, si in candidates:
        if gi not in used_g and si not in used_s:
            used_g.add(gi)
            used_s.add(si)
            out.append(Match(gi, si, -neg))
    return out


def score_image(gold: Mapping[str, Any] | None, submitted: Mapping[str, Any] | None,
                threshold: float = IOU_THRESHOLD) -> BoxScore:
    g, s = boxes_of(gold), boxes_of(submitted)
    matches = match_boxes(g, s, threshold)
    per: dict[str, PRF] = {}
    for label in sorted({b["label"] for b in g} | {b["label"] for b in s}):
        tp = sum(1 for m in matches if g[m.gold]["label"] == label)
        per[label] = PRF(tp, sum(1 for b in s if b["label"] == label) - tp,
                         sum(1 for b in g if b["label"] == label) - tp)
    total = ZERO
    for c in per.values():
        total += c
    return BoxScore(total, per, tuple(matches))


def score_images(pairs: Iterable[tuple[Mapping[str, Any] | None, Mapping[str, Any] | None]],
                 threshold: float = IOU_THRESHOLD) -> BoxScore:
    """(gold result, submitted result) per image, counts summed over the images."""
    total = BoxScore(ZERO)
    for gold, submitted in pairs:
        total += score_image(gold, submitted, threshold)
    return total
