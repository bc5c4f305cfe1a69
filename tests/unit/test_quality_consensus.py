"""Consensus: majority votes with their tie rule, box fusion by IoU, the closest transcript."""
from __future__ import annotations

import pytest

from annotation.quality.consensus import (
    FusedBox,
    Vote,
    fuse_boxes,
    majority_label,
    majority_label_set,
    majority_spans,
    transcript_consensus,
)


def test_majority_label_and_its_tie_rule():
    assert majority_label(["a", "b", "a"]) == Vote("a", 2, 3, False)
    assert majority_label(["b", "a", None]) == Vote("a", 1, 3, True)  # tie: string order
    assert majority_label(["b", "a"], order=["b", "a"]) == Vote("b", 1, 2, True)  # tie: project order
    assert majority_label(["z", "x"], order=["a"]) == Vote("x", 1, 2, True)  # neither listed
    assert majority_label([None, None]) == Vote(None, 0, 2, False)


def test_label_sets_and_spans_keep_what_more_than_half_gave():
    assert majority_label_set([{"labels": ["a", "b"]}, {"labels": ["a"]}, {"labels": ["a", "c", "c"]}]) == ["a"]
    # 2 of 4 is not more than half; a missing result is an annotator who gave nothing
    assert majority_label_set([{"labels": ["a"]}, {"labels": ["a"]}, {"labels": []}, None]) == []
    per, loc = {"start": 0, "end": 2, "label": "PER"}, {"start": 5, "end": 9, "label": "LOC"}
    assert majority_spans([{"spans": [per, loc]}, {"spans": [per]}, {"spans": [loc, per]}]) == [per, loc]


def box(label, x, y, w, h):
    return {"label": label, "x": x, "y": y, "w": w, "h": h}


def test_boxes_of_a_class_cluster_across_annotators_and_average():
    results = [{"boxes": [box("car", 0, 0, 10, 10)]},
               {"boxes": [box("car", 1, 1, 10, 10)]},  # IoU 81/119 with the first
               {"boxes": [box("car", 0, 0, 10, 10), box("person", 50, 50, 5, 5)]}]
    fused = fuse_boxes(results)
    assert fused == [FusedBox("car", pytest.approx(1 / 3), pytest.approx(1 / 3), 10, 10, 3)]
    assert fused[0].as_box() == {"label": "car", "x": pytest.approx(1 / 3), "y": pytest.approx(1 / 3),
                                 "w": 10, "h": 10}


def test_fusion_keeps_majority_clusters_only_and_never_two_boxes_of_one_annotator():
    a = box("car", 0, 0, 10, 10)
    # Annotator 0 drew two overlapping cars: they stay two clusters. Annotator 1 joins the first.
    results = [{"boxes": [a, box("car", 1, 0, 10, 10)]}, {"boxes": [a]}, {"boxes": []}]
    assert fuse_boxes(results) == [FusedBox("car", 0, 0, 10, 10, 2)]
    # Different classes never fuse; far apart boxes make their own clusters.
    two = [{"boxes": [box("car", 0, 0, 10, 10)]}, {"boxes": [box("truck", 0, 0, 10, 10)]}]
    assert fuse_boxes(two) == []
    assert fuse_boxes([{"boxes": [box("car", 0, 0, 10, 10)]}, {"boxes": [box("car", 30, 0, 10, 10)]}]) == []


def test_a_box_joins_the_cluster_it_overlaps_most():
    results = [{"boxes": [box("car", 0, 0, 10, 10), box("car", 6, 0, 10, 10)]},
               {"boxes": [box("car", 5, 0, 10, 10)]}]  # IoU 5/15 with the first, 9/11 with the second
    assert fuse_boxes(results) == [FusedBox("car", 5.5, 0, 10, 10, 2)]


def test_transcript_consensus_is_the_version_closest_to_the_others():
    texts = ["今天天气很好", "今天天气很好啊", "今天天气不好"]
    # distances: 0–1 = 1, 0–2 = 1, 1–2 = 2 → totals 2, 3, 3
    m = transcript_consensus(texts)
    assert (m.index, m.text, m.total_distance) == (0, "今天天气很好", 2)
    # Normalisation first: these two are the same, the third is one character off both.
    assert transcript_consensus(["三個人", "3个人", "3个"]).index == 0
    assert transcript_consensus(["甲", "乙"]).index == 0  # tie: the earliest
    assert transcript_consensus([]) is None
