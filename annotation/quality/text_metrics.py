"""Text label metrics, each over pairs ``(gold result, submitted result)`` in the shapes the
platform stores (annotation/export_formats.py):

- single label ``{"label": "pos"}``: accuracy = share of pairs whose labels are equal;
- multi-label ``{"labels": [...]}``: exact-set accuracy = share of pairs whose label sets are
  equal; micro-F1 over (item, label) pairs summed across items;
- spans ``{"spans": [{"start", "end", "label"}]}``: strict entity-level micro-F1, a span counts
  only when start, end and label are all equal to a gold span's.

A submitted result that is missing or malformed scores as wrong (it matches nothing); duplicates
within one result count once (a result is a set of labels or spans)."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from annotation.quality.counts import PRF, ZERO, Accuracy

Result = Mapping[str, Any] | None
Pair = tuple[Result, Result]


def single_label(result: Result) -> str | None:
    label = result.get("label") if isinstance(result, Mapping) else None
    return label if isinstance(label, str) else None


def label_set(result: Result) -> frozenset[str]:
    labels = result.get("labels") if isinstance(result, Mapping) else None
    if not isinstance(labels, list):
        return frozenset()
    return frozenset(x for x in labels if isinstance(x, str))


def span_set(result: Result) -> frozenset[tuple[int, int, str]]:
    spans = result.get("spans") if isinstance(result, Mapping) else None
    if not isinstance(spans, list):
        return frozenset()
    return frozenset((s["start"], s["end"], s["label"]) for s in spans
                     if isinstance(s, Mapping) and isinstance(s.get("start"), int)
                     and isinstance(s.get("end"), int) and isinstance(s.get("label"), str))


def _prf(gold: frozenset, got: frozenset) -> PRF:
    return PRF(len(gold & got), len(got - gold), len(gold - got))


def label_accuracy(pairs: Iterable[Pair]) -> Accuracy:
    correct = total = 0
    for gold, got in pairs:
        total += 1
        g = single_label(gold)
        correct += g is not None and g == single_label(got)
    return Accuracy(correct, total)


@dataclass(frozen=True)
class MultiLabelScores:
    exact: Accuracy  # items whose whole label set is right
    micro: PRF  # (item, label) pairs


def multi_label_scores(pairs: Iterable[Pair]) -> MultiLabelScores:
    exact = total = 0
    micro = ZERO
    for gold, got in pairs:
        g, s = label_set(gold), label_set(got)
        total += 1
        exact += g == s
        micro += _prf(g, s)
    return MultiLabelScores(Accuracy(exact, total), micro)


def span_scores(pairs: Iterable[Pair]) -> PRF:
    """Strict entity-level micro counts: (item, start, end, label) sets compared exactly."""
    total = ZERO
    for gold, got in pairs:
        total += _prf(span_set(gold), span_set(got))
    return total
