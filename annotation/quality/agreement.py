"""Agreement between annotators on tasks that k > 1 people labelled.

Input: ``units``, one per item, each the ratings its raters gave (a label, or a number for the
interval level); ``None`` is a missing rating. Raters are not identified: both measures depend
only on which values each unit received.

Krippendorff's alpha (Krippendorff, *Computing Krippendorff's Alpha-Reliability*, 2011):
alpha = 1 − D_o / D_e from the coincidence matrix, where a unit with m ≥ 2 ratings adds
1 / (m − 1) to o[c][k] for each ordered pair of its ratings (c, k) by different raters; units
with fewer than two ratings are left out. With n_c = Σ_k o[c][k] and n = Σ_c n_c,
D_o = Σ o[c][k]·δ²(c, k) / n and D_e = Σ n_c·n_k·δ²(c, k) / (n·(n − 1)); δ² is 0 for equal and 1
for unequal values (nominal) or (c − k)² (interval). None when D_e = 0 (a single value: alpha
is undefined) or no unit has two ratings.

Fleiss' kappa: every unit must have the same number n ≥ 2 of ratings (missing ones count as
absent, so a unit with a None has fewer); otherwise ``fleiss_kappa`` raises ``ValueError``
naming the units, and the caller uses alpha, which allows missing ratings. With n_ij the raters
who gave unit i value j, over N units: P_i = (Σ_j n_ij² − n) / (n(n − 1)), P̄ = mean P_i,
p_j = Σ_i n_ij / (N·n), P_e = Σ_j p_j², kappa = (P̄ − P_e) / (1 − P_e); None when P_e = 1."""
from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable, Sequence
from typing import Literal

Level = Literal["nominal", "interval"]


def _ones():
    while True:
        yield 1


def _present(unit: Iterable[Hashable | None]) -> list[Hashable]:
    return [v for v in unit if v is not None]


def _delta2(level: Level):
    if level == "nominal":
        return lambda c, k: 0.0 if c == k else 1.0
    if level == "interval":
        return lambda c, k: float(c - k) ** 2
    raise ValueError("level must be nominal or interval")


def krippendorff_alpha(units: Iterable[Sequence[Hashable | None]], level: Level = "nominal",
                       weights: Iterable[int] | None = None) -> float | None:
    """``weights``: how many times each unit counts (1 each by default), so that a caller with
    many units alike passes each pattern once."""
    delta2 = _delta2(level)
    coincidence: Counter = Counter()
    for unit, w in zip(units, weights if weights is not None else _ones()):
        counts = Counter(_present(unit))
        m = sum(counts.values())
        if m < 2:
            continue
        for c, nc in counts.items():
            for k, nk in counts.items():
                pairs = nc * (nk - 1) if c == k else nc * nk
                if pairs:
                    coincidence[(c, k)] += w * pairs / (m - 1)
    if not coincidence:
        return None
    n_c: Counter = Counter()
    for (c, _k), v in coincidence.items():
        n_c[c] += v
    n = sum(n_c.values())
    values = sorted(n_c, key=repr) if level == "nominal" else sorted(n_c)
    d_o = sum(v * delta2(c, k) for (c, k), v in sorted(coincidence.items(), key=repr)) / n
    d_e = sum(n_c[c] * n_c[k] * delta2(c, k) for c in values for k in values) / (n * (n - 1))
    if d_e == 0:
        return None
    return 1.0 - d_o / d_e


def fleiss_kappa(units: Sequence[Sequence[Hashable | None]], weights: Sequence[int] | None = None) -> float | None:
    """``weights`` as for ``krippendorff_alpha``."""
    rated = [_present(u) for u in units]
    if not rated:
        return None
    ws = list(weights) if weights is not None else [1] * len(rated)
    n = len(rated[0])
    uneven = [i for i, r in enumerate(rated) if len(r) != n]
    if uneven or n < 2:
        raise ValueError("Fleiss' kappa needs the same number (at least 2) of ratings on every unit; "
                         f"units {uneven or list(range(len(rated)))} differ from unit 0's {n}")
    big_n = sum(ws)
    totals: Counter = Counter()
    p_bar = 0.0
    for r, w in zip(rated, ws):
        counts = Counter(r)
        for v, c in counts.items():
            totals[v] += w * c
        p_bar += w * (sum(v * v for v in counts.values()) - n) / (n * (n - 1))
    p_bar /= big_n
    p_e = sum((v / (big_n * n)) ** 2 for v in totals.values())
    if p_e == 1:
        return None
    return (p_bar - p_e) / (1 - p_e)


def per_label_alpha(units: Sequence[Sequence[Hashable | None]]) -> dict[Hashable, float | None]:
    """Nominal alpha of each label on its own: each rating becomes "is this label" or not
    (missing stays missing), so a label people use in different ways shows a low alpha."""
    labels = sorted({v for u in units for v in _present(u)}, key=repr)
    return {label: krippendorff_alpha([[None if v is None else v == label for v in u] for u in units])
            for label in labels}
