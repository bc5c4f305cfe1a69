"""Wilson score intervals for a share of correct answers, and how many more correct answers a
lower bound needs to reach a target ("review N more items")."""
from __future__ import annotations

import math
from dataclasses import dataclass

Z95 = 1.959963984540054  # the standard normal quantile for a two-sided 95 % interval


@dataclass(frozen=True)
class Interval:
    k: int
    n: int
    estimate: float | None  # k / n; None when n == 0
    low: float
    high: float


def wilson(k: int, n: int, z: float = Z95) -> Interval:
    """The Wilson score interval for ``k`` correct of ``n``. With ``n == 0`` there is no
    evidence: the interval is [0, 1] and the estimate None. ``k == 0`` gives a low of exactly 0
    and ``k == n`` a high of exactly 1."""
    if n < 0 or k < 0 or k > n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    if n == 0:
        return Interval(0, 0, None, 0.0, 1.0)
    p = k / n
    z2 = z * z
    denom = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    low = 0.0 if k == 0 else max(0.0, centre - half)
    high = 1.0 if k == n else min(1.0, centre + half)
    return Interval(k, n, p, low, high)


def more_needed(k: int, n: int, target: float, z: float = Z95, limit: int = 10_000_000) -> int | None:
    """The fewest further samples, all correct, after which the Wilson lower bound of
    ``(k + m) / (n + m)`` reaches ``target`` (0 when it already does). None when it cannot
    within ``limit`` samples (a target of 1 never can: the lower bound stays under 1). The lower
    bound grows with each correct sample, so the answer is found by doubling then bisecting."""
    if not 0 <= target <= 1:
        raise ValueError(f"target must be within [0, 1], got {target}")

    def reaches(m: int) -> bool:
        return wilson(k + m, n + m, z).low >= target

    if reaches(0):
        return 0
    if not reaches(limit):
        return None
    lo, hi = 0, 1  # reaches(lo) is false
    while not reaches(hi):
        lo, hi = hi, min(hi * 2, limit)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if reaches(mid):
            hi = mid
        else:
            lo = mid
    return hi
