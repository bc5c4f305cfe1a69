"""Box matching at IoU >= 0.5 per class, its tie-break, precision and recall."""
from __future__ import annotations

import pytest

from annotation.quality.counts import PRF
from annotation.quality.image_metrics import Match, iou, match_boxes, score_image, score_images


def box(label, x, y, w, h):
    return {"label": label, "x": x, "y": y, "w": w, "h": h}


def test_iou_by_hand():
    a = box("car", 0, 0, 10, 10)
    assert iou(a, box("car", 5, 0, 10, 10)) == pytest.approx(50 / 150)
    assert iou(a, box("car", 0, 0, 10, 5)) == 0.5
    assert iou(a, a) == 1.0
    assert iou(a, box("car", 10, 0, 10, 10)) == 0.0  # touching edges
    assert iou(box("car", 3, 3, 0, 0), box("car", 3, 3, 0, 0)) == 0.0  # no area


def test_exactly_half_matches_and_just_under_does_not():
    g = [box("car", 0, 0, 10, 10)]
    assert match_boxes(g, [box("car", 0, 0, 10, 5)]) == [Match(0, 0, 0.5)]
    assert match_boxes(g, [box("car", 0, 0, 10, 4.99)]) == []


def test_highest_iou_first_then_earlier_gold_then_earlier_submitted():
    g0, g1 = box("car", 0, 0, 10, 10), box("car", 2, 0, 10, 10)
    s0 = box("car", 1, 0, 10, 10)  # 90/110 with both gold boxes
    # Alone, s0 ties between g0 and g1: the earlier gold box takes it.
    assert match_boxes([g0, g1], [s0]) == [Match(0, 0, pytest.approx(90 / 110))]
    # Two equal submitted boxes tie for one gold box: the earlier submitted box takes it.
    assert match_boxes([g0], [s0, dict(s0)]) == [Match(0, 0, pytest.approx(90 / 110))]
    # A perfect pair is taken first, even though its gold box comes second.
    s1 = box("car", 2, 0, 10, 10)
    assert match_boxes([g0, g1], [s0, s1]) == [Match(1, 1, 1.0), Match(0, 0, pytest.approx(90 / 110))]


def test_greedy_is_deterministic_not_optimal():
    # g0 overlaps s0 best; taking that pair leaves g1 with nothing, although g0–s1 and g1–s0
    # would have matched both. Greedy by IoU is the documented rule.
    g0, g1 = box("car", 0, 0, 10, 10), box("car", 3, 0, 10, 10)
    s0, s1 = box("car", 1, 0, 10, 10), box("car", -2, 0, 10, 10)
    assert iou(g0, s0) > iou(g1, s0) >= 0.5 and iou(g0, s1) >= 0.5 and iou(g1, s1) < 0.5
    assert match_boxes([g0, g1], [s0, s1]) == [Match(0, 0, pytest.approx(90 / 110))]


def test_classes_never_match_each_other_and_counts_are_per_class():
    gold = {"boxes": [box("car", 0, 0, 10, 10), box("person", 20, 20, 5, 10), box("car", 50, 50, 10, 10)]}
    got = {"boxes": [box("truck", 0, 0, 10, 10), box("person", 20, 21, 5, 10), box("car", 51, 50, 10, 10),
                     {"label": "car", "x": 0}]}  # malformed: dropped
    s = score_image(gold, got)
    assert s.per_class == {"car": PRF(1, 0, 1), "person": PRF(1, 0, 0), "truck": PRF(0, 1, 0)}
    assert s.total == PRF(2, 1, 1)
    assert (s.total.precision, s.total.recall) == (2 / 3, 2 / 3)


def test_a_batch_adds_the_images_up():
    one = ({"boxes": [box("car", 0, 0, 10, 10)]}, {"boxes": [box("car", 0, 0, 10, 10)]})
    two = ({"boxes": [box("car", 0, 0, 10, 10)]}, {"boxes": []})
    empty = ({"boxes": []}, None)
    s = score_images([one, two, empty])
    assert s.total == PRF(1, 0, 1) and s.per_class == {"car": PRF(1, 0, 1)}
    assert (s.total.precision, s.total.recall) == (1.0, 0.5)
