"""Acting on gold: whether an answer to a gold item is right, an annotator's standing on gold
(more gold, then a pause), how much of their work is reviewed, and whether a release's samples
prove the project's target. Pure: counts and results in, decisions out.

The rules, with ``wilson`` the 95 % Wilson interval of an annotator's correct gold answers:

- **Standing.** Fewer than ``min_gold`` answers: *unproven* (the project's gold share). A lower
  bound at or over the target: *proven*. Otherwise *watched*: the interval still reaches the
  target, or the annotator has not yet answered ``confirm_gold`` more gold at the raised share;
  they get ``boost_share`` of gold (more gold settles the question sooner). Once the upper bound
  too is under the target after ``min_gold + confirm_gold`` answers, the evidence says they are
  below it: *paused*. So an annotator whose lower bound falls under the target gets more gold
  first, and is paused only when even the interval's top misses the target.
- **Review sampling.** Every annotation is reviewed while the annotator has fewer than
  ``min_gold`` gold answers; then the rate is ``(1 - low) / (1 - target) / 2``, between
  ``review_floor`` and 1: half the work of an annotator whose lower bound sits on the target,
  all of it below ``2·target - 1``, less as the lower bound rises. Whether one annotation is
  sampled is a fixed draw from its hash (the same answer on every read of the queue).
- **Release.** Gold answers and review decisions (accept: right; reject or fix: wrong) are the
  samples. Granted when the Wilson lower bound of all of them meets the target; otherwise the
  refusal names how many more samples, all right, would lift it there (``more_needed``, a
  minimum), overall and for each label whose own bound falls short.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from annotation.quality.image_metrics import score_image
from annotation.quality.intervals import Interval, more_needed, wilson
from annotation.quality.speech_metrics import batch, transcript_text
from annotation.quality.text_metrics import label_set, single_label, span_set

Result = Mapping[str, Any] | None

UNPROVEN, PROVEN, WATCHED, PAUSED = "unproven", "proven", "watched", "paused"
# A transcript answer to gold counts as right when its accuracy (1 - error rate, Chinese by
# character, other text by word) reaches this.
TRANSCRIPT_RIGHT = 0.95


@dataclass(frozen=True)
class GoldRule:
    min_gold: int = 20  # gold answers before an annotator is judged at all
    confirm_gold: int = 10  # further gold answers, at the raised share, before a pause
    boost_share: float = 0.5  # the gold share of a watched annotator (at least the project's)
    review_floor: float = 0.1  # the least share of a proven annotator's work that is reviewed


RULE = GoldRule()


def gold_correct(kind: str | None, gold: Result, submitted: Result) -> bool:
    """Is ``submitted`` the right answer to a gold item labelled ``gold``, for a project whose
    label schema is of ``kind``: the same label; the same label set; every span exactly (start,
    end and label); a transcript at least TRANSCRIPT_RIGHT accurate; every box matched (IoU
    >= 0.5, same class) and none extra. A missing or malformed answer is wrong."""
    if kind == "classification":
        label = single_label(gold)
        return label is not None and label == single_label(submitted)
    if kind == "multi_label":
        return label_set(gold) == label_set(submitted)
    if kind == "spans":
        return span_set(gold) == span_set(submitted)
    if kind == "transcript":
        accuracy = batch([(transcript_text(gold), transcript_text(submitted))]).accuracy
        return accuracy is not None and accuracy >= TRANSCRIPT_RIGHT
    if kind == "boxes":
        counts = score_image(gold, submitted).total
        return counts.fp == 0 and counts.fn == 0
    return False


def label_of(kind: str | None, result: Result) -> str | None:
    """The label a sample is counted under for per-label figures: a single label's; None for
    other kinds (their figures are overall only)."""
    return single_label(result) if kind == "classification" else None


@dataclass(frozen=True)
class Standing:
    state: str  # unproven | proven | watched | paused
    interval: Interval
    gold_share: float  # the share of this annotator's tasks that are gold


def standing(correct: int, total: int, target: float, project_share: float, rule: GoldRule = RULE) -> Standing:
    """The annotator's standing from their gold answers (see the module's rules)."""
    iv = wilson(correct, total)
    raised = min(1.0, max(project_share, rule.boost_share))
    if total < rule.min_gold:
        return Standing(UNPROVEN, iv, project_share)
    if iv.low >= target:
        return Standing(PROVEN, iv, project_share)
    if iv.high < target and total >= rule.min_gold + rule.confirm_gold:
        return Standing(PAUSED, iv, raised)
    return Standing(WATCHED, iv, raised)


def review_rate(correct: int, total: int, target: float, rule: GoldRule = RULE) -> float:
    """The share of an annotator's work drawn for review (see the module's rules)."""
    if total < rule.min_gold or target >= 1:
        return 1.0
    low = wilson(correct, total).low
    return min(1.0, max(rule.review_floor, (1 - low) / (1 - target) / 2))


def draw(hex_digest: str) -> float:
    """A uniform draw in [0, 1) from a hex digest's first 64 bits."""
    return int(hex_digest[:16], 16) / 2 ** 64


def sampled(hex_digest: str, rate: float) -> bool:
    """Is the annotation with this hash drawn for review at ``rate``."""
    return rate >= 1 or draw(hex_digest) < rate


def serve_gold(u: float, share: float) -> bool:
    """With a uniform draw ``u``: is the next task a gold one."""
    return u < share


@dataclass(frozen=True)
class Figures:
    correct: int
    total: int
    interval: Interval
    more_needed: int | None  # further right samples for the lower bound to reach the target

    def as_json(self) -> dict[str, Any]:
        iv = self.interval
        return {"correct": self.correct, "total": self.total, "estimate": iv.estimate, "low": iv.low,
                "high": iv.high, "more_needed": self.more_needed}


def figures(correct: int, total: int, target: float) -> Figures:
    return Figures(correct, total, wilson(correct, total), more_needed(correct, total, target))


@dataclass(frozen=True)
class ReleaseVerdict:
    granted: bool
    overall: Figures
    by_label: dict[str, Figures] = field(default_factory=dict)
    missing: tuple[str, ...] = ()


def _review(n: int | None, of: str = "") -> str:
    if n is None:
        return f"the target cannot be proven by sampling{of}"
    return f"review {n} more item{'s' if n != 1 else ''}{of}"


def release_verdict(samples: Mapping[str | None, tuple[int, int]], target: float) -> ReleaseVerdict:
    """``samples``: per label (None: no label), (right, all) of the gold answers and reviewed
    annotations. Granted when the lower bound over all of them meets ``target``; otherwise
    ``missing`` says what would prove it: the overall count first, then each label short of it
    on its own."""
    k = sum(c for c, _ in samples.values())
    n = sum(t for _, t in samples.values())
    overall = figures(k, n, target)
    by_label = {label: figures(c, t, target) for label, (c, t) in sorted(
        ((lb, v) for lb, v in samples.items() if lb is not None), key=lambda kv: kv[0])}
    if n and overall.interval.low >= target:
        return ReleaseVerdict(True, overall, by_label)
    missing = [_review(overall.more_needed)]
    for label, f in by_label.items():
        if f.interval.low < target:
            missing.append(_review(f.more_needed, f" of label {label}"))
    return ReleaseVerdict(False, overall, by_label, tuple(missing))
