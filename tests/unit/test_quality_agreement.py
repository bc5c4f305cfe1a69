"""Krippendorff's alpha against Krippendorff's own worked example and the krippendorff package;
Fleiss' kappa against the classic worked example."""
from __future__ import annotations

import krippendorff
import numpy as np
import pytest

from annotation.quality.agreement import fleiss_kappa, krippendorff_alpha, per_label_alpha

N = None
# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C: 4 observers,
# 12 units, values 1–5, missing data. Published: nominal 0.743, interval 0.849.
OBSERVERS = [[1, 2, 3, 3, 2, 1, 4, 1, 2, N, N, N],
             [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, N, 3],
             [N, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, N],
             [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, N]]
UNITS = [list(u) for u in zip(*OBSERVERS)]


def test_published_example_with_missing_ratings():
    assert krippendorff_alpha(UNITS, "nominal") == pytest.approx(0.743, abs=5e-4)
    assert krippendorff_alpha(UNITS, "interval") == pytest.approx(0.849, abs=5e-4)


def _package(units, level):
    data = np.array([[np.nan if v is None else v for v in u] for u in units], dtype=float).T
    return krippendorff.alpha(reliability_data=data, level_of_measurement=level)


@pytest.mark.parametrize("seed", range(40))
def test_random_data_with_missing_ratings_agrees_with_the_krippendorff_package(seed):
    rng = np.random.default_rng(seed)
    raters, units, values = int(rng.integers(2, 7)), int(rng.integers(3, 40)), int(rng.integers(2, 6))
    truth = rng.integers(1, values + 1, size=units)
    ratings = np.where(rng.random((units, raters)) < 0.7, truth[:, None], rng.integers(1, values + 1, (units, raters)))
    missing = rng.random((units, raters)) < 0.3
    data = [[None if missing[u, r] else int(ratings[u, r]) for r in range(raters)] for u in range(units)]
    pairable = [v for u in data if sum(x is not None for x in u) >= 2 for v in u if v is not None]
    if len(set(pairable)) < 2:
        assert krippendorff_alpha(data) is None
        return
    for level in ("nominal", "interval"):
        assert krippendorff_alpha(data, level) == pytest.approx(_package(data, level), abs=1e-9)


def test_labels_that_are_strings_work_for_nominal_alpha():
    as_text = [[None if v is None else f"L{v}" for v in u] for u in UNITS]
    assert krippendorff_alpha(as_text) == pytest.approx(krippendorff_alpha(UNITS))


def test_alpha_is_undefined_for_one_value_or_no_pairable_unit():
    assert krippendorff_alpha([["a", "a"], ["a", N, "a"]]) is None
    assert krippendorff_alpha([["a", N], [N, "b"]]) is None  # single ratings are left out
    assert krippendorff_alpha([["a", "a"], ["b", "b"]]) == 1.0


def test_per_label_alpha_binarises_each_label():
    units = [["a", "a"], ["b", "b"], ["a", "b"], ["c", "c"]]
    got = per_label_alpha(units)
    assert got["c"] == 1.0
    # "is it a": coincidences T-T 2, F-F 4, T-F 2 (both ways), n = 8
    # D_o = 2/8, D_e = 2·3·5/(8·7) → alpha = 1 − (1/4)/(30/56) = 1 − 56/120
    assert got["a"] == pytest.approx(1 - 56 / 120)
    assert set(got) == {"a", "b", "c"}


# Fleiss (1971) as worked on Wikipedia: 10 subjects, 14 raters, 5 categories; P̄ = 0.378,
# P_e = 0.213, kappa = 0.210.
FLEISS_COUNTS = [[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
                 [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]]


def test_fleiss_worked_example():
    units = [[c for c, n in enumerate(row, 1) for _ in range(n)] for row in FLEISS_COUNTS]
    assert fleiss_kappa(units) == pytest.approx(0.210, abs=5e-4)


def test_fleiss_needs_the_same_number_of_ratings_per_unit():
    with pytest.raises(ValueError, match="units \\[1\\]"):
        fleiss_kappa([["a", "b"], ["a", "b", "a"]])
    with pytest.raises(ValueError):
        fleiss_kappa([["a", "b"], ["a", None]])  # a missing rating makes the unit shorter
    assert fleiss_kappa([["a", "a"], ["b", "b"]]) == 1.0
    assert fleiss_kappa([["a", "a"], ["a", "a"]]) is None
    assert fleiss_kappa([]) is None


def test_weights_count_a_unit_as_many_times():
    units = [["a", "a"], ["a", "b"], ["b", "b", None], ["c", "a"]]
    weights = [3, 1, 2, 5]
    repeated = [u for u, w in zip(units, weights) for _ in range(w)]
    assert krippendorff_alpha(units, weights=weights) == pytest.approx(krippendorff_alpha(repeated))
    even = [["a", "a"], ["a", "b"], ["b", "b"]]
    assert fleiss_kappa(even, weights=[2, 1, 4]) == pytest.approx(
        fleiss_kappa([["a", "a"]] * 2 + [["a", "b"]] + [["b", "b"]] * 4))
