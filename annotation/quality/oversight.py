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
- **Release.** What the release holds is each annotator's newest version on each ordinary
  task. Reviewed work counts as the review found it (accepted, or fixed by the reviewer: right;
  rejected: wrong); the unchecked rest counts at the accuracy of the samples, which are the
  gold answers and the review decisions on first submissions (accept: right; reject or fix:
  wrong), pooled. The release's lower bound takes the samples' Wilson 95 % lower bound for the
  unchecked rest; granted when it meets the target. Otherwise the refusal names how many more
  reviews would lift it there (each one turns an unchecked annotation into a right one),
  overall and for each label whose own bound falls short. Review samples are drawn more from
  the less accurate, so the pooled samples lean toward the weaker work: the bound errs low.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from annotation.quality.image_metrics import score_image
from annotation.quality.intervals import Interval, wilson
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
class Stratum:
    """A release's work and samples, overall or of one label.

    ``delivered``: the annotations the release holds (each annotator's newest version on each
    ordinary task). ``checked_right``: of those, reviewed and right as delivered (accepted, or
    a reviewer's fix). ``checked_wrong``: reviewed and left wrong (rejected). ``sample_right`` /
    ``sample_total``: the samples that estimate the rest (gold answers and review decisions)."""

    delivered: int
    checked_right: int
    checked_wrong: int
    sample_right: int
    sample_total: int

    def __add__(self, o: Stratum) -> Stratum:
        return Stratum(self.delivered + o.delivered, self.checked_right + o.checked_right,
                       self.checked_wrong + o.checked_wrong, self.sample_right + o.sample_right,
                       self.sample_total + o.sample_total)

    @property
    def unchecked(self) -> int:
        return max(0, self.delivered - self.checked_right - self.checked_wrong)


NOTHING = Stratum(0, 0, 0, 0, 0)


@dataclass(frozen=True)
class Figures:
    stratum: Stratum
    sample: Interval  # the samples' Wilson interval: the accuracy of unchecked work
    estimate: float | None  # the release's accuracy: checked right, plus unchecked at the sample estimate
    low: float  # its lower bound: unchecked work at the sample's lower bound
    to_review: int | None  # further reviews that lift ``low`` to the target; None: review cannot

    def as_json(self) -> dict[str, Any]:
        st, iv = self.stratum, self.sample
        return {"delivered": st.delivered, "checked_right": st.checked_right, "checked_wrong": st.checked_wrong,
                "sample_correct": st.sample_right, "sample_total": st.sample_total, "sample_estimate": iv.estimate,
                "sample_low": iv.low, "sample_high": iv.high, "estimate": self.estimate, "low": self.low,
                "more_needed": self.to_review}


def to_review(st: Stratum, low: float, target: float) -> int | None:
    """The fewest further reviews (each turning one unchecked annotation into a right one, as
    an accept or a fix does) after which ``(checked_right + m + (unchecked - m)·low) /
    delivered`` reaches ``target``, the sample's lower bound held where it is; None when even
    reviewing everything would not (rejected work stays wrong)."""
    n, u = st.delivered, st.unchecked
    if n == 0:
        return None

    def reaches(m: int) -> bool:
        return st.checked_right + m + (u - m) * low >= target * n - 1e-9

    if reaches(0):
        return 0
    if not reaches(u):
        return None
    m = max(0, min(u, math.ceil((target * n - st.checked_right - u * low) / (1 - low)) - 1))
    while not reaches(m):
        m += 1
    return m


def figures(st: Stratum, target: float) -> Figures:
    iv = wilson(st.sample_right, st.sample_total)
    if st.delivered == 0:
        return Figures(st, iv, None, 0.0, None)
    n, u = st.delivered, st.unchecked
    low = (st.checked_right + u * iv.low) / n
    estimate = None if iv.estimate is None and u else (st.checked_right + u * (iv.estimate or 0.0)) / n
    return Figures(st, iv, estimate, low, to_review(st, iv.low, target))


@dataclass(frozen=True)
class ReleaseVerdict:
    granted: bool
    overall: Figures
    by_label: dict[str, Figures] = field(default_factory=dict)
    missing: tuple[str, ...] = ()


def _review(n: int | None, of: str = "") -> str:
    if n is None:
        return f"the target cannot be reached by review{of}: rejected work must be redone"
    return f"review {n} more item{'s' if n != 1 else ''}{of}"


def release_verdict(strata: Mapping[str | None, Stratum], target: float) -> ReleaseVerdict:
    """``strata``: per label (None: no label) the release's work and samples. The release's
    accuracy counts reviewed work as it was found (accepted or fixed: right; rejected: wrong)
    and the unchecked rest at the samples' accuracy; its lower bound takes the samples' Wilson
    lower bound. Granted when that bound over everything meets ``target``; otherwise
    ``missing`` says how many more reviews would lift it there, overall first, then for each
    label short of the target on its own."""
    total = NOTHING
    for st in strata.values():
        total = total + st
    overall = figures(total, target)
    by_label = {label: figures(st, target) for label, st in sorted(
        ((lb, v) for lb, v in strata.items() if lb is not None), key=lambda kv: kv[0])}
    if total.delivered and overall.low >= target:
        return ReleaseVerdict(True, overall, by_label)
    if not total.delivered:
        return ReleaseVerdict(False, overall, by_label, ("nothing annotated to release",))
    missing = [_review(overall.to_review)]
    for label, f in by_label.items():
        if f.stratum.delivered and f.low < target:
            missing.append(_review(f.to_review, f" of label {label}"))
    return ReleaseVerdict(False, overall, by_label, tuple(missing))
