"""Confusion matrix and the most-confused pairs."""
from __future__ import annotations

from annotation.quality.confusion import confusion

PAIRS = ([("cat", "cat")] * 3 + [("cat", "dog")] * 2 + [("dog", "cat")] + [("dog", "dog")] * 2
         + [("bird", "dog")] + [(None, "cat"), ("dog", None)])


def test_matrix_rows_are_the_first_label_in_the_projects_order():
    c = confusion(PAIRS, labels=["cat", "dog", "bird", "fish"])
    assert c.labels == ("cat", "dog", "bird", "fish")
    assert c.matrix() == [[3, 2, 0, 0], [1, 2, 0, 0], [0, 1, 0, 0], [0, 0, 0, 0]]
    assert c.skipped == 2


def test_unlisted_labels_follow_sorted():
    assert confusion([("b", "z"), ("y", "a")], labels=["b"]).labels == ("b", "a", "y", "z")


def test_most_confused_pairs_most_first_ties_in_label_order():
    c = confusion(PAIRS, labels=["cat", "dog", "bird"])
    assert c.most_confused() == [("cat", "dog", 2), ("dog", "cat", 1), ("bird", "dog", 1)]
    assert c.most_confused(1) == [("cat", "dog", 2)]
    # Annotator against annotator: cat/dog either way is one confusion.
    assert c.most_confused(symmetric=True) == [("cat", "dog", 3), ("dog", "bird", 1)]
    assert confusion([("a", "a")]).most_confused() == []
