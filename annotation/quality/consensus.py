"""One answer from several annotators' results for the same task.

- Labels: the most given label (plurality). A tie goes to the tied label that comes first in
  ``order`` (the project's label list) when given, else to the smallest by string order; the
  result says it was a tie, so the platform can send the task to review.
- Label sets and spans: the members given by more than half of the annotators (a missing result
  counts as an annotator who gave nothing).
- Boxes: clustered per class across annotators, then averaged. Annotators are taken in the order
  given and their boxes in stored order; each box joins the cluster of its class with the highest
  IoU (≥ the threshold, 0.5) between it and the cluster's current mean box that holds no box of
  the same annotator yet (an equal IoU goes to the cluster made first), else starts a cluster. A
  cluster with boxes from more than half of the annotators is kept; its box is the mean of its
  boxes' x, y, w and h (which is the mean of their corners).
- Transcripts: the version whose total edit distance (speech_metrics tokens, after
  normalisation) to all the others is smallest; a tie goes to the earliest version."""
from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from annotation.quality.image_metrics import IOU_THRESHOLD, boxes_of, iou
from annotation.quality.speech_metrics import edit_distance
from annotation.quality.text_metrics import label_set, span_set


@dataclass(frozen=True)
class Vote:
    label: str | None  # None when nobody gave one
    votes: int
    voters: int  # results given, missing labels included
    tied: bool


def majority_label(labels: Sequence[str | None], order: Sequence[str] | None = None) -> Vote:
    counts = Counter(x for x in labels if x is not None)
    if not counts:
        return Vote(None, 0, len(labels), False)
    top = max(counts.values())
    best = [x for x, c in counts.items() if c == top]
    rank = {x: i for i, x in enumerate(order or ())}
    best.sort(key=lambda x: (rank.get(x, len(rank)), x))
    return Vote(best[0], top, len(labels), len(best) > 1)


def majority_members(sets: Sequence[Sequence[Hashable]]) -> list[Hashable]:
    """Members found in more than half of ``sets`` (each set's duplicates count once), sorted
    by repr for a stable order."""
    counts = Counter(x for s in sets for x in set(s))
    return sorted((x for x, c in counts.items() if 2 * c > len(sets)), key=repr)


def majority_label_set(results: Sequence[Mapping[str, Any] | None]) -> list[str]:
    """The consensus ``labels`` of multi-label results."""
    return sorted(majority_members([label_set(r) for r in results]))


def majority_spans(results: Sequence[Mapping[str, Any] | None]) -> list[dict[str, Any]]:
    """The consensus ``spans`` of span results, in (start, end, label) order."""
    kept = sorted(majority_members([span_set(r) for r in results]))
    return [{"start": s, "end": e, "label": label} for s, e, label in kept]


@dataclass(frozen=True)
class FusedBox:
    label: str
    x: float
    y: float
    w: float
    h: float
    votes: int  # annotators whose box is in the cluster

    def as_box(self) -> dict[str, Any]:
        return {"label": self.label, "x": self.x, "y": self.y, "w": self.w, "h": self.h}


class _Cluster:
    def __init__(self, label: str):
        self.label = label
        self.members: list[tuple[int, Mapping[str, Any]]] = []

    def mean(self) -> dict[str, Any]:
        n = len(self.members)
        return {"label": self.label, **{k: sum(b[k] for _, b in self.members) / n for k in "xywh"}}


def fuse_boxes(results: Sequence[Mapping[str, Any] | None], threshold: float = IOU_THRESHOLD) -> list[FusedBox]:
    """The consensus boxes of the annotators' box results (module docstring), in the order
    their clusters were made."""
    clusters: list[_Cluster] = []
    for who, result in enumerate(results):
        for box in boxes_of(result):
            best, best_iou = None, 0.0
            for c in clusters:
                if c.label != box["label"] or any(w == who for w, _ in c.members):
                    continue
                v = iou(box, c.mean())
                if v >= threshold and v > best_iou:
                    best, best_iou = c, v
            if best is None:
                best = _Cluster(box["label"])
                clusters.append(best)
            best.members.append((who, box))
    out = []
    for c in clusters:
        if 2 * len(c.members) > len(results):
            m = c.mean()
            out.append(FusedBox(c.label, m["x"], m["y"], m["w"], m["h"], len(c.members)))
    return out


@dataclass(frozen=True)
class Medoid:
    index: int  # which version
    text: str
    total_distance: int  # to all the other versions


def transcript_consensus(texts: Sequence[str]) -> Medoid | None:
    """The version closest to the others (module docstring); None for no versions."""
    if not texts:
        return None
    n = len(texts)
    dist = [[0] * n for _ in range(n)]
    for i in range(n):
        for j in range(i + 1, n):
            dist[i][j] = dist[j][i] = edit_distance(texts[i], texts[j])
    totals = [sum(row) for row in dist]
    best = min(range(n), key=lambda i: (totals[i], i))
    return Medoid(best, texts[best], totals[best])
