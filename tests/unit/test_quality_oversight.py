"""The rules that act on gold: right or wrong per label kind, an annotator's standing (more
gold first, a pause only when the whole interval misses the target), review rates that fall as
the lower bound rises, and a release granted only when the pooled lower bound meets the target,
refused with how many more samples would prove it."""
from __future__ import annotations

import hashlib
import math

import pytest

from annotation.quality.intervals import wilson
from annotation.quality.oversight import (
    PAUSED,
    PROVEN,
    RULE,
    UNPROVEN,
    WATCHED,
    GoldRule,
    Stratum,
    draw,
    figures,
    gold_correct,
    label_of,
    release_verdict,
    review_rate,
    sampled,
    serve_gold,
    standing,
)


@pytest.mark.parametrize("kind,gold,got,right", [
    ("classification", {"label": "pos"}, {"label": "pos"}, True),
    ("classification", {"label": "pos"}, {"label": "neg"}, False),
    ("classification", {"label": "pos"}, None, False),
    ("classification", {}, {"label": "pos"}, False),  # a gold without a label proves nothing
    ("multi_label", {"labels": ["a", "b"]}, {"labels": ["b", "a", "a"]}, True),
    ("multi_label", {"labels": ["a", "b"]}, {"labels": ["a"]}, False),
    ("spans", {"spans": [{"start": 0, "end": 3, "label": "PER"}]},
     {"spans": [{"start": 0, "end": 3, "label": "PER"}]}, True),
    ("spans", {"spans": [{"start": 0, "end": 3, "label": "PER"}]},
     {"spans": [{"start": 0, "end": 4, "label": "PER"}]}, False),  # a boundary off by one
    # 20 characters, one wrong: accuracy 0.95, right; two wrong: 0.90, wrong.
    ("transcript", {"segments": [{"text": "今天天气很好我们一起去公园散步吧好不好呀"}]},
     {"segments": [{"text": "今天天气很好我们一起去公园散步吧好不好啊"}]}, True),
    ("transcript", {"segments": [{"text": "今天天气很好我们一起去公园散步吧好不好呀"}]},
     {"segments": [{"text": "今天天气很好我们一起去公园散步吗好不好啊"}]}, False),
    ("boxes", {"boxes": [{"label": "car", "x": 0, "y": 0, "w": 10, "h": 10}]},
     {"boxes": [{"label": "car", "x": 1, "y": 1, "w": 10, "h": 10}]}, True),  # IoU 0.68
    ("boxes", {"boxes": [{"label": "car", "x": 0, "y": 0, "w": 10, "h": 10}]},
     {"boxes": [{"label": "car", "x": 1, "y": 1, "w": 10, "h": 10},
                {"label": "car", "x": 50, "y": 50, "w": 5, "h": 5}]}, False),  # one box extra
    ("unknown", {"label": "pos"}, {"label": "pos"}, False),
])
def test_gold_correct_per_kind(kind, gold, got, right):
    assert gold_correct(kind, gold, got) is right


def test_label_of_is_the_single_label_only():
    assert label_of("classification", {"label": "neg"}) == "neg"
    assert label_of("classification", {"labels": ["neg"]}) is None
    assert label_of("multi_label", {"labels": ["neg"]}) is None


def test_standing_more_gold_first_then_a_pause_only_when_the_whole_interval_misses():
    target, share = 0.9, 0.1
    # Too few answers to judge: the project's share, whatever they are.
    s = standing(0, RULE.min_gold - 1, target, share)
    assert (s.state, s.gold_share) == (UNPROVEN, share)
    # Proven: the lower bound meets the target.
    assert wilson(100, 100).low >= target
    assert standing(100, 100, target, share) == standing(100, 100, target, share)
    assert standing(100, 100, target, share).state == PROVEN
    # An annotator at 0.95 with 40 answers: the lower bound is under 0.9 but the interval reaches
    # it; watched, with more gold.
    s = standing(38, 40, target, share)
    assert s.interval.low < target <= s.interval.high
    assert (s.state, s.gold_share) == (WATCHED, RULE.boost_share)
    # 16 of 20 right: the whole interval is under 0.9, yet no pause before the confirming answers.
    assert wilson(16, 20).high < 0.95
    assert standing(16, 20, 0.95, share).state == WATCHED
    # 32 of 40: the upper bound under the target after min_gold + confirm_gold answers: paused.
    assert wilson(32, 40).high < target
    assert standing(32, 40, target, share).state == PAUSED
    # Each boundary exactly.
    rule = GoldRule(min_gold=10, confirm_gold=5, boost_share=0.3)
    assert standing(0, 14, 0.9, 0.1, rule).state == WATCHED
    assert standing(0, 15, 0.9, 0.1, rule).state == PAUSED
    assert standing(0, 15, 0.9, 0.6, rule).gold_share == 0.6  # never less than the project's own


def test_review_rate_is_everything_until_judged_then_falls_with_the_lower_bound():
    target = 0.9
    assert review_rate(0, 0, target) == review_rate(19, 19, target) == 1.0
    rates = [review_rate(k, 200, target) for k in (150, 170, 180, 190, 196, 200)]
    assert rates == sorted(rates, reverse=True) and rates[0] == 1.0 and rates[-1] == RULE.review_floor
    low = wilson(190, 200).low
    assert review_rate(190, 200, target) == pytest.approx((1 - low) / (1 - target) / 2)
    assert review_rate(200, 200, 1.0) == 1.0  # a target of 1 can only be checked by reviewing it all


def test_sampling_is_a_fixed_draw_from_the_hash():
    assert draw("0" * 64) == 0.0 and draw("8" + "0" * 63) == 0.5
    assert sampled("f" * 64, 1.0) and not sampled("f" * 64, 0.99)
    assert sampled("4" + "0" * 63, 0.3) and not sampled("5" + "0" * 63, 0.3)
    hashes = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(10_000)]
    share = sum(sampled(h, 0.25) for h in hashes) / len(hashes)
    assert share == pytest.approx(0.25, abs=0.02)
    assert serve_gold(0.09, 0.1) and not serve_gold(0.1, 0.1)


def test_release_counts_checked_work_as_found_and_the_rest_at_the_samples_lower_bound():
    target = 0.9
    # 200 delivered, none checked; samples 130 of 140 right: the release's bound is the samples'.
    st = Stratum(delivered=200, checked_right=0, checked_wrong=0, sample_right=130, sample_total=140)
    f = figures(st, target)
    low = wilson(130, 140).low
    assert f.low == pytest.approx(low) and f.estimate == pytest.approx(130 / 140) and low < target
    # m reviews turn m unchecked into right ones: the fewest that lift the bound to the target.
    m = f.to_review
    assert m == math.ceil((target * 200 - 200 * low) / (1 - low))
    assert figures(Stratum(200, m, 0, 130, 140), target).low >= target
    assert figures(Stratum(200, m - 1, 0, 130, 140), target).low < target
    # Rejected work stays wrong: past a point review alone cannot reach the target.
    assert figures(Stratum(200, 150, 30, 100, 200), target).to_review is None
    # Everything checked: the bound is exact, samples or not.
    assert figures(Stratum(10, 9, 1, 0, 0), target).low == 0.9
    assert figures(Stratum(10, 8, 2, 0, 0), target).to_review is None


def test_release_is_granted_only_when_the_bound_over_everything_meets_the_target():
    target = 0.9
    strata = {"pos": Stratum(120, 0, 0, 90, 95), "neg": Stratum(80, 0, 0, 40, 45)}
    refused = release_verdict(strata, target)
    assert not refused.granted
    whole = figures(Stratum(200, 0, 0, 130, 140), target)
    assert refused.overall == whole
    assert refused.missing == (f"review {whole.to_review} more items",
                               f"review {figures(strata['neg'], target).to_review} more items of label neg",
                               f"review {figures(strata['pos'], target).to_review} more items of label pos")
    # With that many reviews done (accepted), it is granted and nothing is missing.
    done = {"pos": Stratum(120, whole.to_review, 0, 90 + whole.to_review, 95 + whole.to_review),
            "neg": Stratum(80, 0, 0, 40, 45)}
    granted = release_verdict(done, target)
    assert granted.granted and granted.missing == () and granted.overall.low >= target
    # Nothing annotated: nothing to release.
    assert release_verdict({}, target).missing == ("nothing annotated to release",)
    assert release_verdict({None: Stratum(10, 8, 2, 0, 0)}, target).missing == (
        "the target cannot be reached by review: rejected work must be redone",)
    one = release_verdict({None: Stratum(10, 8, 0, 0, 0)}, target)
    assert one.missing == ("review 1 more item",)
