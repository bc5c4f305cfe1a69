"""Wilson intervals and "how many more correct samples", against values worked by hand."""
from __future__ import annotations

import math

import pytest

from annotation.quality.intervals import Z95, more_needed, wilson


def test_five_of_ten_is_the_textbook_interval():
    # centre (0.5 + z²/20) / (1 + z²/10) = 0.5; half = z/(1 + z²/10)·sqrt(0.025 + z²/400)
    iv = wilson(5, 10)
    assert iv.estimate == 0.5
    assert iv.low == pytest.approx(0.2366, abs=1e-4)
    assert iv.high == pytest.approx(0.7634, abs=1e-4)


def test_all_right_and_all_wrong_end_at_exactly_one_and_zero():
    z2 = Z95 ** 2
    right, wrong = wilson(10, 10), wilson(0, 10)
    assert right.high == 1.0 and right.low == pytest.approx(10 / (10 + z2))  # 0.7225
    assert wrong.low == 0.0 and wrong.high == pytest.approx(z2 / (10 + z2))  # 0.2775
    assert right.low == pytest.approx(0.72247, abs=1e-5)


def test_no_samples_is_no_evidence():
    iv = wilson(0, 0)
    assert (iv.estimate, iv.low, iv.high) == (None, 0.0, 1.0)


@pytest.mark.parametrize("k,n", [(-1, 3), (4, 3), (0, -1)])
def test_impossible_counts_are_refused(k, n):
    with pytest.raises(ValueError):
        wilson(k, n)


def test_the_interval_holds_the_estimate_and_narrows_with_more_samples():
    widths = []
    for n in (10, 100, 1000, 10000):
        iv = wilson(9 * n // 10, n)
        assert iv.low < iv.estimate < iv.high
        widths.append(iv.high - iv.low)
    assert widths == sorted(widths, reverse=True)


def test_from_nothing_73_right_answers_reach_95_percent():
    # With k = n the lower bound is n / (n + z²) >= 0.95 when n >= 19·z² = 72.99.
    assert math.ceil(19 * Z95 ** 2) == 73
    assert more_needed(0, 0, 0.95) == 73
    assert wilson(73, 73).low >= 0.95 > wilson(72, 72).low


def test_more_needed_is_the_first_count_that_reaches_the_target():
    for k, n, target in [(95, 100, 0.95), (90, 100, 0.9), (40, 50, 0.85), (3, 10, 0.5), (0, 5, 0.2)]:
        m = more_needed(k, n, target)
        linear = next(x for x in range(100_000) if wilson(k + x, n + x).low >= target)
        assert m == linear


def test_already_there_needs_none_and_a_target_of_one_is_never_reached():
    assert more_needed(1000, 1000, 0.95) == 0
    assert more_needed(5, 5, 1.0) is None
    with pytest.raises(ValueError):
        more_needed(1, 2, 1.5)
