"""Counts of hits and misses and the ratios made from them, shared by the text and image
metrics.

A 0/0 ratio: when there is nothing in gold and nothing submitted, precision, recall and F1 are
all 1 (the annotator agreed that there is nothing); otherwise a ratio with nothing under it is 0
(nothing submitted against some gold: precision 0, recall 0)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Accuracy:
    correct: int
    total: int

    @property
    def accuracy(self) -> float | None:
        """correct / total; None when there is nothing to score."""
        return self.correct / self.total if self.total else None


@dataclass(frozen=True)
class PRF:
    tp: int  # submitted and in gold
    fp: int  # submitted, not in gold
    fn: int  # in gold, not submitted

    def __add__(self, other: PRF) -> PRF:
        return PRF(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)

    @property
    def _empty(self) -> bool:
        return self.tp == self.fp == self.fn == 0

    @property
    def precision(self) -> float:
        if self.tp + self.fp == 0:
            return 1.0 if self._empty else 0.0
        return self.tp / (self.tp + self.fp)

    @property
    def recall(self) -> float:
        if self.tp + self.fn == 0:
            return 1.0 if self._empty else 0.0
        return self.tp / (self.tp + self.fn)

    @property
    def f1(self) -> float:
        """2·tp / (2·tp + fp + fn), the harmonic mean of precision and recall."""
        if self._empty:
            return 1.0
        return 2 * self.tp / (2 * self.tp + self.fp + self.fn)


ZERO = PRF(0, 0, 0)
