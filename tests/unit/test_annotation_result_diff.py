"""The reviewer's diff of two annotation results, per kind, asserted as exact data: labels,
entity spans, image boxes paired by IoU, audio segments with a character-level transcript diff,
and whatever else a result holds."""
from __future__ import annotations

import random

import pytest

from annotation.result_diff import BOX_MATCH_IOU, diff, iou, kind_of, text_diff


def ops(d: dict) -> list[str]:
    return [i["op"] for i in d["items"]]


# --- labels -------------------------------------------------------------------------------------------

def test_a_changed_class_is_one_label_removed_and_one_added():
    d = diff("classification", {"label": "pos"}, {"label": "neg"})
    assert d == {"kind": "classification", "same": False,
                 "counts": {"added": 1, "removed": 1, "changed": 0, "kept": 0},
                 "items": [{"op": "added", "old": None, "new": "neg", "fields": []},
                           {"op": "removed", "old": "pos", "new": None, "fields": []}]}


def test_the_same_class_is_kept_and_same():
    d = diff("classification", {"label": "pos"}, {"label": "pos"})
    assert d["same"] and d["items"] == [{"op": "kept", "old": "pos", "new": "pos", "fields": []}]


def test_a_class_picked_where_there_was_none():
    assert ops(diff("classification", {"label": None}, {"label": "pos"})) == ["added"]
    assert ops(diff("classification", None, {"label": "pos"})) == ["added"]
    assert ops(diff("classification", {"label": "pos"}, {})) == ["removed"]
    assert diff("classification", None, None) == {"kind": "classification", "same": True,
                                                   "counts": {"added": 0, "removed": 0, "changed": 0, "kept": 0},
                                                   "items": []}


def test_multi_labels_added_and_removed_in_the_newer_order_then_the_removed():
    d = diff("multi_label", {"labels": ["a", "b", "c"]}, {"labels": ["c", "d", "a"]})
    assert [(i["op"], i["old"], i["new"]) for i in d["items"]] == [
        ("kept", "c", "c"), ("added", None, "d"), ("kept", "a", "a"), ("removed", "b", None)]
    assert d["counts"] == {"added": 1, "removed": 1, "changed": 0, "kept": 2}


def test_a_label_listed_twice_counts_once():
    assert ops(diff("multi_label", {"labels": ["a", "a"]}, {"labels": ["a"]})) == ["kept"]


# --- entity spans -------------------------------------------------------------------------------------

def S(start, end, label):
    return {"start": start, "end": end, "label": label}


def test_spans_kept_added_removed_in_text_order():
    old = {"spans": [S(0, 2, "PER"), S(10, 12, "LOC")]}
    new = {"spans": [S(5, 7, "ORG"), S(0, 2, "PER")]}
    d = diff("spans", old, new)
    assert [(i["op"], i["old"], i["new"]) for i in d["items"]] == [
        ("kept", S(0, 2, "PER"), S(0, 2, "PER")),
        ("added", None, S(5, 7, "ORG")),
        ("removed", S(10, 12, "LOC"), None)]


def test_a_relabelled_span_is_changed_in_its_label():
    d = diff("spans", {"spans": [S(3, 5, "PER")]}, {"spans": [S(3, 5, "LOC")]})
    assert d["items"] == [{"op": "changed", "old": S(3, 5, "PER"), "new": S(3, 5, "LOC"), "fields": ["label"]}]


def test_a_widened_span_is_changed_in_its_bounds():
    d = diff("spans", {"spans": [S(3, 5, "PER")]}, {"spans": [S(2, 6, "PER")]})
    assert d["items"] == [{"op": "changed", "old": S(3, 5, "PER"), "new": S(2, 6, "PER"), "fields": ["start", "end"]}]
    d = diff("spans", {"spans": [S(3, 5, "PER")]}, {"spans": [S(3, 6, "LOC")]})
    assert d["items"][0]["fields"] == ["end", "label"]


def test_spans_that_do_not_overlap_are_not_paired():
    d = diff("spans", {"spans": [S(0, 3, "PER")]}, {"spans": [S(3, 6, "PER")]})
    assert ops(d) == ["removed", "added"]


def test_the_same_position_wins_over_a_larger_overlap():
    old = {"spans": [S(0, 10, "A")]}
    new = {"spans": [S(0, 9, "A"), S(0, 10, "B")]}
    d = diff("spans", old, new)
    assert [(i["op"], i["new"]) for i in d["items"]] == [("added", S(0, 9, "A")), ("changed", S(0, 10, "B"))]


def test_overlapping_spans_pair_by_the_largest_overlap():
    old = {"spans": [S(0, 4, "A"), S(6, 10, "B")]}
    new = {"spans": [S(3, 8, "A")]}  # overlaps A by 1, B by 2
    d = diff("spans", old, new)
    assert [(i["op"], i["old"]) for i in d["items"]] == [("removed", S(0, 4, "A")), ("changed", S(6, 10, "B"))]
    assert d["items"][1]["fields"] == ["start", "end", "label"]


def test_spans_read_loosely_typed_values():
    d = diff("spans", {"spans": [{"start": "1", "end": 2.0, "label": "X"}, "junk"]}, {"spans": [S(1, 2, "X")]})
    assert d["same"] and d["items"][0]["old"] == S(1, 2, "X")


# --- image boxes --------------------------------------------------------------------------------------

def B(label, x, y, w, h):
    return {"label": label, "x": x, "y": y, "w": w, "h": h}


def Bf(label, x, y, w, h):
    return {"label": label, "x": float(x), "y": float(y), "w": float(w), "h": float(h)}


def test_iou():
    a = Bf("", 0, 0, 10, 10)
    assert iou(a, a) == 1.0
    assert iou(a, Bf("", 5, 0, 10, 10)) == pytest.approx(50 / 150)
    assert iou(a, Bf("", 10, 0, 10, 10)) == 0.0
    assert iou(Bf("", 0, 0, 0, 0), Bf("", 0, 0, 0, 0)) == 0.0


def test_a_moved_box_a_reclassed_box_and_both():
    old = {"boxes": [B("car", 0, 0, 100, 100), B("person", 200, 0, 50, 100), B("car", 400, 0, 100, 100)]}
    new = {"boxes": [B("car", 10, 0, 100, 100), B("car", 200, 0, 50, 100), B("person", 405, 5, 100, 100)]}
    d = diff("boxes", old, new)
    assert [(i["op"], i["fields"]) for i in d["items"]] == [
        ("changed", ["geometry"]), ("changed", ["label"]), ("changed", ["geometry", "label"])]
    assert d["items"][0]["iou"] == round(90 * 100 / (2 * 10000 - 9000), 4)
    assert d["items"][1]["iou"] == 1.0
    assert d["items"][0]["old"] == Bf("car", 0, 0, 100, 100) and d["items"][0]["new"] == Bf("car", 10, 0, 100, 100)


def test_a_box_moved_too_far_is_removed_and_added():
    old = {"boxes": [B("car", 0, 0, 100, 100)]}
    new = {"boxes": [B("car", 80, 0, 100, 100)]}  # IoU 20/180 < BOX_MATCH_IOU
    assert iou(Bf("", 0, 0, 100, 100), Bf("", 80, 0, 100, 100)) < BOX_MATCH_IOU
    d = diff("boxes", old, new)
    assert [(i["op"], i["old"], i["new"]) for i in d["items"]] == [
        ("added", None, Bf("car", 80, 0, 100, 100)), ("removed", Bf("car", 0, 0, 100, 100), None)]


def test_boxes_in_the_newer_order_then_the_removed_identical_ones_kept():
    old = {"boxes": [B("a", 0, 0, 10, 10), B("b", 100, 100, 10, 10), B("c", 300, 300, 10, 10)]}
    new = {"boxes": [B("d", 500, 500, 10, 10), B("c", 300, 300, 10, 10), B("a", 0, 0, 10, 10)]}
    d = diff("boxes", old, new)
    assert [(i["op"], (i["new"] or i["old"])["label"]) for i in d["items"]] == [
        ("added", "d"), ("kept", "c"), ("kept", "a"), ("removed", "b")]
    assert d["counts"] == {"added": 1, "removed": 1, "changed": 0, "kept": 2}


def test_an_identical_box_is_kept_even_where_another_overlaps_it_more():
    old = {"boxes": [B("car", 0, 0, 100, 100), B("car", 5, 0, 100, 100)]}
    new = {"boxes": [B("car", 5, 0, 100, 100)]}
    d = diff("boxes", old, new)
    assert [(i["op"], i["old"]) for i in d["items"]] == [("kept", Bf("car", 5, 0, 100, 100)),
                                                         ("removed", Bf("car", 0, 0, 100, 100))]


def test_two_moved_boxes_pair_by_best_overlap_not_by_list_order():
    old = {"boxes": [B("x", 0, 0, 100, 100), B("x", 60, 0, 100, 100)]}
    new = {"boxes": [B("x", 62, 0, 100, 100), B("x", 2, 0, 100, 100)]}
    d = diff("boxes", old, new)
    assert [(i["old"]["x"], i["new"]["x"]) for i in d["items"]] == [(60.0, 62.0), (0.0, 2.0)]


def test_box_pairing_does_not_depend_on_the_order_of_the_lists():
    rng = random.Random(7)
    old = [B(rng.choice("ab"), rng.randrange(0, 300), rng.randrange(0, 300), rng.randrange(5, 80),
             rng.randrange(5, 80)) for _ in range(12)]
    new = [dict(b, x=b["x"] + rng.randrange(-8, 8), label=rng.choice("ab")) for b in old[:9]] + \
          [B("a", 500, 500, 20, 20)]

    def pairs(o, n):
        d = diff("boxes", {"boxes": o}, {"boxes": n})
        return sorted((i["op"], tuple(sorted((i["old"] or {}).items())), tuple(sorted((i["new"] or {}).items())))
                      for i in d["items"])

    want = pairs(old, new)
    for _ in range(5):
        o, n = old[:], new[:]
        rng.shuffle(o)
        rng.shuffle(n)
        if len({tuple(sorted(b.items())) for b in o}) == len(o):
            assert pairs(o, n) == want


# --- audio segments -----------------------------------------------------------------------------------

def G(start, end, text="", speaker=""):
    return {"start": start, "end": end, "text": text, "speaker": speaker}


def test_text_diff_is_by_character_with_deletes_before_inserts():
    assert text_diff("你好，hello", "你好，hullo!") == [
        {"op": "equal", "text": "你好，h"}, {"op": "delete", "text": "e"}, {"op": "insert", "text": "u"},
        {"op": "equal", "text": "llo"}, {"op": "insert", "text": "!"}]
    assert text_diff("", "abc") == [{"op": "insert", "text": "abc"}]
    assert text_diff("abc", "") == [{"op": "delete", "text": "abc"}]
    assert text_diff("same", "same") == [{"op": "equal", "text": "same"}]
    assert text_diff("", "") == []


def test_text_diff_counts_code_points_not_utf16_units():
    d = text_diff("😀a", "😀b")
    assert d == [{"op": "equal", "text": "😀"}, {"op": "delete", "text": "a"}, {"op": "insert", "text": "b"}]


def test_text_diff_rebuilds_both_sides():
    rng = random.Random(3)
    alphabet = "ab 你好😀"
    for _ in range(200):
        a = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 12)))
        b = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 12)))
        d = text_diff(a, b)
        assert "".join(x["text"] for x in d if x["op"] != "insert") == a
        assert "".join(x["text"] for x in d if x["op"] != "delete") == b
        assert all(x["text"] for x in d) and all(x["op"] != y["op"] for x, y in zip(d, d[1:]))


def test_a_segment_with_a_changed_transcript_carries_its_character_diff():
    d = diff("transcript", {"segments": [G(0.5, 1.8, "hello world", "A")]},
             {"segments": [G(0.5, 1.8, "hello word", "A")]})
    (item,) = d["items"]
    assert item["op"] == "changed" and item["fields"] == ["text"]
    assert item["text_diff"] == [{"op": "equal", "text": "hello wor"}, {"op": "delete", "text": "l"},
                                 {"op": "equal", "text": "d"}]


def test_segment_times_and_speaker_changes_without_a_text_diff():
    d = diff("transcript", {"segments": [G(0.5, 1.8, "hi", "A")]}, {"segments": [G(0.6, 1.8, "hi", "B")]})
    assert d["items"] == [{"op": "changed", "old": G(0.5, 1.8, "hi", "A"), "new": G(0.6, 1.8, "hi", "B"),
                           "fields": ["start", "speaker"]}]


def test_segment_times_within_a_millisecond_are_the_same():
    d = diff("transcript", {"segments": [G(0.5, 1.8, "hi")]}, {"segments": [G(0.50004, 1.80001, "hi")]})
    assert d["same"] and ops(d) == ["kept"]


def test_segments_added_removed_and_kept_in_time_order():
    old = {"segments": [G(0, 1, "a"), G(5, 6, "gone")]}
    new = {"segments": [G(3, 4, "new"), G(0, 1, "a")]}
    d = diff("transcript", old, new)
    assert [(i["op"], (i["new"] or i["old"])["text"]) for i in d["items"]] == [
        ("kept", "a"), ("added", "new"), ("removed", "gone")]


def test_a_split_segment_pairs_with_its_larger_part():
    d = diff("transcript", {"segments": [G(0, 4, "one two")]},
             {"segments": [G(0, 1, "one"), G(1, 4, "two")]})
    assert [(i["op"], (i["new"] or i["old"])["text"]) for i in d["items"]] == [("added", "one"), ("changed", "two")]
    assert d["items"][1]["fields"] == ["start", "text"]


def test_segments_missing_text_or_speaker_read_as_empty():
    d = diff("transcript", {"segments": [{"start": 1, "end": 2}]}, {"segments": [G(1, 2, "", "")]})
    assert d["same"]


# --- kinds --------------------------------------------------------------------------------------------

def test_kind_from_the_shape_where_the_project_names_none():
    assert kind_of({"segments": []}) == "transcript"
    assert kind_of({"boxes": []}) == "boxes"
    assert kind_of({"spans": []}) == "spans"
    assert kind_of({"labels": []}) == "multi_label"
    assert kind_of({"label": "x"}) == "classification"
    assert kind_of({"score": 3}) == "other" and kind_of(None) == "other"
    assert diff("", {}, {"boxes": [B("a", 0, 0, 1, 1)]})["kind"] == "boxes"
    assert diff("unknown", {"label": "x"}, {})["kind"] == "classification"


def test_any_other_result_is_diffed_field_by_field():
    d = diff("", {"score": 3, "note": "x", "old": 1}, {"score": 4, "note": "x", "new": True})
    assert d["kind"] == "other"
    assert [(i["op"], (i["new"] or i["old"])["field"], i["fields"]) for i in d["items"]] == [
        ("changed", "score", ["value"]), ("kept", "note", []), ("added", "new", []), ("removed", "old", [])]


def test_the_diff_is_the_same_for_the_same_inputs_and_leaves_them_alone():
    old = {"boxes": [B("a", 0, 0, 10, 10)]}
    new = {"boxes": [B("b", 1, 0, 10, 10)]}
    before = repr((old, new))
    assert diff("boxes", old, new) == diff("boxes", old, new)
    assert repr((old, new)) == before


def test_swapping_the_sides_swaps_added_and_removed():
    old = {"spans": [S(0, 2, "A"), S(4, 6, "B")]}
    new = {"spans": [S(0, 2, "A"), S(8, 9, "C")]}
    fwd, back = diff("spans", old, new), diff("spans", new, old)
    assert fwd["counts"]["added"] == back["counts"]["removed"] == 1
    assert fwd["counts"]["removed"] == back["counts"]["added"] == 1
