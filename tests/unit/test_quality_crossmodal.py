"""Cross-modal constraints per linked group and the consistent share."""
from __future__ import annotations

import pytest

from annotation.quality.crossmodal import Constraint, Failure, Group, check, consistency


def box(label):
    return {"label": label, "x": 0, "y": 0, "w": 5, "h": 5}


def span(label, start=0):
    return {"start": start, "end": start + 2, "label": label}


NAMED = Constraint("boxes_named", "image", "caption")


def test_every_boxed_class_is_named_and_every_named_object_boxed():
    image = {"boxes": [box("car"), box("person"), box("car")]}
    ok = Group("g1", {"image": image, "caption": {"spans": [span("car"), span("person", 4)]}})
    assert check(NAMED, ok) is None
    short = Group("g2", {"image": image, "caption": {"labels": ["car", "dog"]}})
    assert check(NAMED, short) == Failure("boxes_named(image, caption)",
                                          "boxed but not named: person; named but not boxed: dog")


def test_only_declared_classes_are_objects():
    c = Constraint("boxes_named", "image", "caption", classes=frozenset({"car"}), name="cars named")
    g = Group("g", {"image": {"boxes": [box("car")]}, "caption": {"label": "car", "labels": ["positive"]}})
    assert check(c, g) is None
    g2 = Group("g", {"image": {"boxes": []}, "caption": {"labels": ["car"]}})
    assert check(c, g2) == Failure("cars named", "named but not boxed: car")


def test_intents_must_be_equal():
    c = Constraint("same_intent", "clip", "text")
    assert check(c, Group("g", {"clip": {"label": "book"}, "text": {"label": "book"}})) is None
    assert check(c, Group("g", {"clip": {"label": "book"}, "text": {"label": "cancel"}})).reason == \
        "clip says book, text says cancel"
    assert check(c, Group("g", {"clip": {"segments": []}, "text": {"label": "book"}})).reason == "no intent on clip"


def seg(start, end):
    return {"start": start, "end": end, "text": "", "speaker": None}


def test_segment_times_agree_within_200_ms_inclusive():
    c = Constraint("times_agree", "clip", "text")
    a = {"segments": [seg(2.0, 3.0), seg(0.0, 1.0)]}  # stored out of order: compared by start
    assert check(c, Group("g", {"clip": a, "text": {"segments": [seg(0.2, 1.2), seg(2.2, 3.0)]}})) is None
    assert 2.2 - 2.0 > 0.2  # binary rounding, still within the tolerance
    late = check(c, Group("g", {"clip": a, "text": {"segments": [seg(0.0, 1.0), seg(2.25, 3.0)]}}))
    assert late.reason == "segment 1 differs by 0.250 s (more than 0.2 s)"
    fewer = check(c, Group("g", {"clip": a, "text": {"segments": [seg(0.0, 3.0)]}}))
    assert fewer.reason == "2 segments against 1"
    loose = Constraint("times_agree", "clip", "text", tolerance_s=0.3)
    assert check(loose, Group("g", {"clip": a, "text": {"segments": [seg(0.0, 1.0), seg(2.25, 3.0)]}})) is None


def test_a_missing_member_fails_the_constraints_that_name_it():
    assert check(NAMED, Group("g", {"image": {"boxes": []}})) == Failure("boxes_named(image, caption)",
                                                                        "caption has no result")
    assert check(NAMED, Group("g", {"image": None, "caption": {}})).reason == "image has no result"


def test_consistency_is_the_share_of_groups_where_every_constraint_holds():
    constraints = [NAMED, Constraint("same_intent", "caption", "clip", name="intent")]
    groups = [Group("a", {"image": {"boxes": [box("car")]}, "caption": {"label": "car"}, "clip": {"label": "car"}}),
              Group("b", {"image": {"boxes": [box("car")]}, "caption": {"label": "car"}, "clip": {"label": "bus"}}),
              Group("c", {"image": {"boxes": []}, "caption": {"labels": []}, "clip": {"label": "x"}})]
    got = consistency(groups, constraints)
    assert [c.holds for c in got.checks] == [True, False, False]
    assert got.checks[1].failures == (Failure("intent", "caption says car, clip says bus"),)
    assert [f.constraint for f in got.checks[2].failures] == ["intent"]  # no intent on caption
    assert (got.consistent, got.share) == (1, pytest.approx(1 / 3))
    assert consistency([], constraints).share is None
    with pytest.raises(ValueError):
        check(Constraint("colour", "a", "b"), groups[0])  # type: ignore[arg-type]
