"""Which labels people confuse: a confusion matrix from pairs of labels, (gold, submitted) or
(one annotator, another), and the pairs most often confused."""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Confusion:
    labels: tuple[str, ...]  # rows and columns, in this order
    counts: Mapping[tuple[str, str], int]  # (row label, column label) -> pairs
    skipped: int  # pairs with a missing label on either side

    def matrix(self) -> list[list[int]]:
        """Rows: the first label of each pair (gold); columns: the second (submitted)."""
        return [[self.counts.get((r, c), 0) for c in self.labels] for r in self.labels]

    def most_confused(self, n: int = 5, symmetric: bool = False) -> list[tuple[str, str, int]]:
        """The ``n`` off-diagonal pairs with the most counts, most first, ties in label order.
        ``symmetric`` (two annotators, neither of them gold) adds (a, b) and (b, a) together and
        names each pair once, its labels in ``labels`` order."""
        rank = {x: i for i, x in enumerate(self.labels)}
        pairs: Counter = Counter()
        for (a, b), c in self.counts.items():
            if a == b:
                continue
            if symmetric and rank[b] < rank[a]:
                a, b = b, a
            pairs[(a, b)] += c
        ordered = sorted(pairs.items(), key=lambda kv: (-kv[1], rank[kv[0][0]], rank[kv[0][1]]))
        return [(a, b, c) for (a, b), c in ordered[:n]]


def confusion(pairs: Iterable[tuple[str | None, str | None]], labels: Sequence[str] = ()) -> Confusion:
    """``labels`` (the project's list) fixes the order; labels met in the pairs but not in it
    follow, sorted."""
    counts: Counter = Counter()
    skipped = 0
    for a, b in pairs:
        if a is None or b is None:
            skipped += 1
        else:
            counts[(a, b)] += 1
    known = list(dict.fromkeys(labels))
    seen = {x for pair in counts for x in pair}
    order = tuple(known + sorted(seen - set(known)))
    return Confusion(order, dict(counts), skipped)
