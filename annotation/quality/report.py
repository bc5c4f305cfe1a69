"""A project's quality report from its work: each metric of its kind with its interval and
target, agreement, consensus on gold, per-annotator figures and the confusion matrix. Pure: the
platform reads the rows (controller/services/quality.py) and hands them in.

What is scored: each annotator's own newest submission of each task (a reviewer's fix is not
the annotator's work and is left out by the caller). Gold: the tasks whose item has a gold
answer; every annotator's submission on a gold task is one (gold, submitted) pair.

The metrics of each label kind (``METRICS``; ``*`` marks a share of trials, given with its Wilson
95 % interval):

- classification: label accuracy*;
- multi_label: exact-set accuracy*, micro-F1 over (item, label) pairs;
- spans: strict entity micro-F1, exact-set accuracy* (items whose every span is right);
- transcript: 1 − the batch error rate after normalisation (Chinese by character, English by
  word: speech_metrics' ``mixed`` unit), clipped at 0;
- boxes: precision* and recall* of boxes matched per class at IoU ≥ 0.5 (trials: submitted
  boxes, gold boxes).

A metric meets its target when the low end of its interval reaches it, or, without an interval,
when its value does. Targets: the project's ``accuracy_target`` for its accuracy metrics;
Krippendorff's customary 0.8 for alpha (``ALPHA_TARGET``); the cross-modal target the project
declares (0.90 by default).

Per annotator, accuracy on gold is the share of their gold items answered right (the item's
label, label set or span set equal to gold's; every box matched and none extra), with its
Wilson interval; for transcripts it is the share of reference tokens right, ``max(0, tokens −
errors)`` per utterance over the tokens (tokens are not independent trials, so that interval is
narrower than it should be). Done: the tasks they submitted. Speed: the median of the seconds
between their consecutive first submits, gaps over ``BREAK_S`` (a break, not work) left out.

Agreement, on tasks that two or more annotators submitted: Krippendorff's alpha (nominal) on
each task's values (the label; the label set; the span set; for boxes the set of classes
boxed; transcripts have none), alpha per label (each rating becomes whether it holds that
label), and Fleiss' kappa when every such task has the same number of ratings.

Consensus on gold: the consensus result (annotation/quality/consensus.py) of each gold task that
two or more annotators submitted, scored against gold by the kind's first metric."""
from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from annotation.quality import agreement, confusion, consensus, image_metrics, speech_metrics, text_metrics
from annotation.quality.counts import PRF
from annotation.quality.crossmodal import Consistency
from annotation.quality.intervals import wilson

Result = Mapping[str, Any] | None
KINDS = ("classification", "multi_label", "spans", "transcript", "boxes")
METRICS = {"classification": ("label_accuracy",), "multi_label": ("exact_set_accuracy", "micro_f1"),
           "spans": ("span_f1", "exact_set_accuracy"), "transcript": ("transcript_accuracy",),
           "boxes": ("box_precision", "box_recall")}
PLAN_TARGETS = {"text": 0.95, "audio": 0.95, "crossmodal": 0.90}  # the platform's promises by modality
ALPHA_TARGET = 0.8
CROSSMODAL_TARGET = 0.90
BREAK_S = 1800.0
MOST_CONFUSED = 5


class Submission(NamedTuple):  # a tuple: a project has a hundred thousand of them
    task: int
    annotator: int
    result: Result
    at: float  # first submit, seconds since the epoch


@dataclass(frozen=True)
class ProjectFacts:
    kind: str
    modality: str
    labels: Sequence[str]
    accuracy_target: float
    submissions: Sequence[Submission]
    gold: Mapping[int, Result]  # task -> gold answer
    names: Mapping[int, str] = field(default_factory=dict)  # annotator -> username
    paused: frozenset[int] = frozenset()  # annotators with an open pause
    crossmodal: Consistency | None = None  # None: the project links no items
    crossmodal_target: float = CROSSMODAL_TARGET
    crossmodal_groups: int = 0  # linked groups, judged or not


def metric(key: str, value: float | None, target: float | None, k: int | None = None,
           n: int | None = None) -> dict[str, Any]:
    """One figure: its value, its Wilson interval when it is a share of ``n`` trials, its target
    and whether it meets it (module docstring)."""
    low = high = None
    if n is not None and n > 0:
        iv = wilson(k, n)
        low, high = iv.low, iv.high
    if value is None or target is None:
        meets = None
    else:
        meets = (low if low is not None else value) >= target
    return {"key": key, "value": value, "low": low, "high": high, "k": k, "n": n, "target": target, "meets": meets}


def _share(key: str, k: int, n: int, target: float | None) -> dict[str, Any]:
    return metric(key, k / n if n else None, target, k, n)


# --- one (gold, submitted) pair ---------------------------------------------------------------

def item_score(kind: str, gold: Result, got: Result) -> tuple[int, int]:
    """(right, trials) of one gold item for an annotator's accuracy (module docstring)."""
    if kind == "classification":
        g = text_metrics.single_label(gold)
        return int(g is not None and g == text_metrics.single_label(got)), 1
    if kind == "multi_label":
        return int(text_metrics.label_set(gold) == text_metrics.label_set(got)), 1
    if kind == "spans":
        return int(text_metrics.span_set(gold) == text_metrics.span_set(got)), 1
    if kind == "boxes":
        t = image_metrics.score_image(gold, got).total
        return int(t.fp == 0 and t.fn == 0), 1
    if kind == "transcript":
        e = speech_metrics.edits(speech_metrics.transcript_text(gold), speech_metrics.transcript_text(got))
        return max(0, e.reference_length - e.errors), e.reference_length
    raise ValueError(f"kind must be one of {', '.join(KINDS)}")


def kind_metrics(kind: str, pairs: Sequence[tuple[Result, Result]], target: float) -> list[dict[str, Any]]:
    """The kind's metrics (``METRICS``) over (gold, submitted) pairs."""
    if kind == "classification":
        a = text_metrics.label_accuracy(pairs)
        return [_share("label_accuracy", a.correct, a.total, target)]
    if kind == "multi_label":
        s = text_metrics.multi_label_scores(pairs)
        return [_share("exact_set_accuracy", s.exact.correct, s.exact.total, target),
                metric("micro_f1", s.micro.f1 if pairs else None, target)]
    if kind == "spans":
        prf = text_metrics.span_scores(pairs)
        right = sum(item_score(kind, g, s)[0] for g, s in pairs)
        return [metric("span_f1", prf.f1 if pairs else None, target),
                _share("exact_set_accuracy", right, len(pairs), target)]
    if kind == "transcript":
        b = speech_metrics.transcript_batch(pairs)
        return [metric("transcript_accuracy", b.accuracy, target)]
    if kind == "boxes":
        t: PRF = image_metrics.score_images(pairs).total
        return [metric("box_precision", t.precision if pairs else None, target, t.tp, t.tp + t.fp),
                metric("box_recall", t.recall if pairs else None, target, t.tp, t.tp + t.fn)]
    raise ValueError(f"kind must be one of {', '.join(KINDS)}")


# --- agreement and consensus ------------------------------------------------------------------

def rating(kind: str, result: Result) -> Hashable | None:
    """What agreement compares of one result (module docstring); None: no rating."""
    if kind == "classification":
        label = result.get("label") if result.__class__ is dict else text_metrics.single_label(result)
        return label if isinstance(label, str) else None
    if kind == "multi_label":
        return text_metrics.label_set(result) if isinstance(result, Mapping) else None
    if kind == "spans":
        return text_metrics.span_set(result) if isinstance(result, Mapping) else None
    if kind == "boxes":
        return frozenset(b["label"] for b in image_metrics.boxes_of(result)) if isinstance(result, Mapping) else None
    return None


def _holds(kind: str, value: Hashable, label: str) -> bool:
    if kind == "classification":
        return value == label
    if kind == "spans":
        return any(s[2] == label for s in value)
    return label in value


def agreement_figures(kind: str, units: list[list[Hashable | None]], labels: Sequence[str]) -> dict[str, Any] | None:
    """Alpha, alpha per label and Fleiss' kappa over the tasks with two or more ratings. Both
    measures depend only on which values each unit holds, so units alike are counted once with
    their number as a weight (a project of 50,000 two-rating tasks has a handful of patterns)."""
    patterns: Counter = Counter()
    for u in units:
        present = [v for v in u if v is not None]
        if len(present) >= 2:
            patterns[tuple(sorted(present, key=repr))] += 1
    if kind == "transcript" or not patterns:
        return None
    units = [list(p) for p in patterns]
    weights = list(patterns.values())
    seen = set(labels)
    for u in units:
        for v in u:
            if v is None:
                continue
            if kind == "classification":
                seen.add(v)
            elif kind == "spans":
                seen.update(s[2] for s in v)
            else:
                seen.update(v)
    order = list(dict.fromkeys(labels)) + sorted(seen - set(labels))
    per_label = {label: agreement.krippendorff_alpha(
        [[_holds(kind, v, label) for v in u] for u in units], weights=weights) for label in order}
    try:
        kappa = agreement.fleiss_kappa(units, weights=weights)
    except ValueError:  # raters differ between tasks: alpha only
        kappa = None
    ratings = [len(u) for u in units]
    return {"tasks": sum(weights), "ratings": sum(r * w for r, w in zip(ratings, weights)),
            "alpha": metric("alpha", agreement.krippendorff_alpha(units, weights=weights), ALPHA_TARGET),
            "fleiss_kappa": kappa, "equal_raters": len(set(ratings)) == 1,
            "per_label": [{"label": label, "alpha": a} for label, a in per_label.items()]}


def consensus_result(kind: str, results: Sequence[Result], labels: Sequence[str] = ()) -> Result:
    """The consensus of several annotators' results, in the stored shape."""
    if kind == "classification":
        return {"label": consensus.majority_label([text_metrics.single_label(r) for r in results], labels).label}
    if kind == "multi_label":
        return {"labels": consensus.majority_label_set(results)}
    if kind == "spans":
        return {"spans": consensus.majority_spans(results)}
    if kind == "boxes":
        return {"boxes": [b.as_box() for b in consensus.fuse_boxes(results)]}
    if kind == "transcript":
        m = consensus.transcript_consensus([speech_metrics.transcript_text(r) for r in results])
        return None if m is None else results[m.index]
    raise ValueError(f"kind must be one of {', '.join(KINDS)}")


# --- per annotator ------------------------------------------------------------------------------

def median_gap(times: Iterable[float], break_s: float = BREAK_S) -> float | None:
    ordered = sorted(times)
    gaps = [b - a for a, b in zip(ordered, ordered[1:]) if b - a <= break_s]
    return statistics.median(gaps) if gaps else None


# --- the report ---------------------------------------------------------------------------------

def report(facts: ProjectFacts) -> dict[str, Any]:
    kind, target = facts.kind, facts.accuracy_target
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}")
    gold_pairs: list[tuple[Result, Result]] = []
    by_task: dict[int, list[Result]] = defaultdict(list)
    done: dict[int, int] = defaultdict(int)
    right: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    times: dict[int, list[float]] = defaultdict(list)
    conf_pairs: list[tuple[str | None, str | None]] = []
    gold = facts.gold
    for s in facts.submissions:
        done[s.annotator] += 1
        times[s.annotator].append(s.at)
        by_task[s.task].append(s.result)
        if s.task in gold:
            g = gold[s.task]
            gold_pairs.append((g, s.result))
            k, n = item_score(kind, g, s.result)
            acc = right[s.annotator]
            acc[0] += k
            acc[1] += n
            if kind == "classification":
                conf_pairs.append((text_metrics.single_label(g), text_metrics.single_label(s.result)))

    metrics = kind_metrics(kind, gold_pairs, target)

    agree = agreement_figures(kind, [[rating(kind, r) for r in rs] for rs in by_task.values() if len(rs) >= 2],
                              facts.labels)

    cons_pairs = [(gold[t], consensus_result(kind, rs, facts.labels)) for t, rs in by_task.items()
                  if t in gold and len(rs) >= 2]
    cons = kind_metrics(kind, cons_pairs, target)[0] if cons_pairs else None
    if cons is not None:
        cons["tasks"] = len(cons_pairs)

    cross = None
    if facts.crossmodal is not None:
        c = facts.crossmodal
        judged = len(c.checks)
        cross = _share("crossmodal_consistency", c.consistent, judged, facts.crossmodal_target)
        failing: dict[str, int] = defaultdict(int)
        for chk in c.checks:
            for f in chk.failures:
                failing[f.constraint] += 1
        cross.update(groups=facts.crossmodal_groups, judged=judged,
                     failures=[{"constraint": k, "groups": v} for k, v in sorted(failing.items(), key=lambda kv: -kv[1])])

    annotators = []
    for who in sorted(done, key=lambda w: (facts.names.get(w, ""), w)):
        k, n = right.get(who, (0, 0))
        annotators.append({"id": who, "username": facts.names.get(who, str(who)), "done": done[who],
                           "gold": _share("gold_accuracy", k, n, target),
                           "speed_s": median_gap(times[who]), "paused": who in facts.paused})

    matrix = None
    if kind == "classification":
        cm = confusion.confusion(conf_pairs, facts.labels)
        matrix = {"labels": list(cm.labels), "matrix": cm.matrix(), "skipped": cm.skipped,
                  "most_confused": [{"gold": a, "submitted": b, "count": c}
                                    for a, b, c in cm.most_confused(MOST_CONFUSED)]}

    return {"kind": kind, "modality": facts.modality, "accuracy_target": target,
            "plan_target": PLAN_TARGETS.get(facts.modality), "submissions": len(facts.submissions),
            "tasks": len(by_task), "gold_tasks": len(gold), "gold_submissions": len(gold_pairs),
            "metrics": metrics, "agreement": agree, "consensus": cons, "crossmodal": cross,
            "annotators": annotators, "confusion": matrix}


def headline(rep: Mapping[str, Any]) -> dict[str, Any]:
    """The figures a snapshot keeps for the line over time: each metric's value and low end,
    alpha, consensus and cross-modal consistency."""
    out: dict[str, Any] = {}
    for m in rep["metrics"]:
        out[m["key"]] = {"value": m["value"], "low": m["low"]}
    if rep.get("agreement"):
        out["alpha"] = {"value": rep["agreement"]["alpha"]["value"], "low": None}
    if rep.get("consensus"):
        out["consensus"] = {"value": rep["consensus"]["value"], "low": rep["consensus"]["low"]}
    if rep.get("crossmodal"):
        out["crossmodal_consistency"] = {"value": rep["crossmodal"]["value"], "low": rep["crossmodal"]["low"]}
    out["submissions"] = rep["submissions"]
    return out
