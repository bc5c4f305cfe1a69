"""Text metrics on stored results, against counts worked by hand."""
from __future__ import annotations

import pytest

from annotation.quality.counts import PRF
from annotation.quality.text_metrics import label_accuracy, multi_label_scores, span_scores


def test_single_label_accuracy_counts_missing_or_malformed_results_as_wrong():
    pairs = [({"label": "pos"}, {"label": "pos"}), ({"label": "pos"}, {"label": "neg"}),
             ({"label": "neg"}, None), ({"label": "neg"}, {"labels": ["neg"]})]
    acc = label_accuracy(pairs)
    assert (acc.correct, acc.total, acc.accuracy) == (1, 4, 0.25)
    assert label_accuracy([]).accuracy is None


def test_multi_label_exact_set_and_micro_f1():
    pairs = [({"labels": ["a", "b"]}, {"labels": ["b", "a"]}),  # exact; tp 2
             ({"labels": ["a"]}, {"labels": ["a", "c"]}),  # tp 1, fp 1
             ({"labels": ["a", "b", "c"]}, {"labels": ["b", "b"]}),  # tp 1, fn 2 (duplicate b once)
             ({"labels": []}, {"labels": []})]  # exact
    s = multi_label_scores(pairs)
    assert (s.exact.correct, s.exact.total) == (2, 4)
    assert s.micro == PRF(4, 1, 2)
    assert s.micro.precision == pytest.approx(4 / 5)
    assert s.micro.recall == pytest.approx(4 / 6)
    assert s.micro.f1 == pytest.approx(8 / 11)


def span(start, end, label):
    return {"start": start, "end": end, "label": label}


def test_strict_span_f1_needs_boundary_and_type_both_right():
    pairs = [({"spans": [span(0, 5, "PER"), span(10, 15, "LOC")]},
              {"spans": [span(0, 5, "PER"), span(10, 14, "LOC"), span(20, 25, "ORG"), span(0, 5, "PER")]}),
             ({"spans": [span(0, 2, "PER")]}, {"spans": [span(0, 2, "ORG")]})]
    s = span_scores(pairs)
    # item 1: tp 1 (PER), fp 2 (LOC one short, ORG), fn 1; item 2: fp 1, fn 1 (wrong type)
    assert s == PRF(1, 3, 2)
    assert (s.precision, s.recall) == (0.25, pytest.approx(1 / 3))
    assert s.f1 == pytest.approx(2 / 7)


def test_spans_without_offsets_match_nothing():
    s = span_scores([({"spans": [span(0, 2, "PER")]}, {"spans": [{"label": "PER"}]})])
    assert s == PRF(0, 0, 1)


def test_empty_against_empty_is_perfect_and_nothing_against_something_is_zero():
    assert (PRF(0, 0, 0).precision, PRF(0, 0, 0).recall, PRF(0, 0, 0).f1) == (1.0, 1.0, 1.0)
    assert (PRF(0, 0, 3).precision, PRF(0, 0, 3).recall, PRF(0, 0, 3).f1) == (0.0, 0.0, 0.0)
    assert (PRF(0, 2, 0).precision, PRF(0, 2, 0).recall) == (0.0, 0.0)
