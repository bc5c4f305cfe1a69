"""Synthesis's pure parts: boxes under flip, crop and scale (hand-computed cases and properties:
two flips are the identity, boxes stay inside the image, a crop keeps exactly the visible
share it promises), template expansion (deterministic, the source where it says), noise at an
exact SNR, reverb, the recipes' checks and JSON, and the answers carried over."""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from annotation.synthesis import answers
from annotation.synthesis import audio as mix
from annotation.synthesis import boxes as bx
from annotation.synthesis.recipes import (
    RECIPES,
    AudioSpeed,
    ImageCrop,
    ImageFlip,
    ImageScale,
    RecipeError,
    TextTemplate,
    parse_recipe,
)
from annotation.synthesis.templates import expand, parse, template_problems, variants


def box(x, y, w, h, label="car", **extra):
    return {"label": label, "x": x, "y": y, "w": w, "h": h, **extra}


# --- boxes, by hand ------------------------------------------------------------------------------

def test_flips_by_hand():
    # A 100 x 50 image; the box covers columns 10..39 and rows 5..24.
    b = [box(10, 5, 30, 20, score=0.9)]
    assert bx.flip_horizontal(b, 100) == [box(60, 5, 30, 20, score=0.9)]  # columns 60..89
    assert bx.flip_vertical(b, 50) == [box(10, 25, 30, 20, score=0.9)]  # rows 25..44
    assert bx.flip_horizontal([box(0, 0, 100, 50)], 100) == [box(0, 0, 100, 50)]
    assert bx.flip_horizontal([box(2.5, 0, 1.5, 1)], 10) == [box(6.0, 0, 1.5, 1)]
    assert isinstance(bx.flip_horizontal(b, 100)[0]["x"], int)


def test_crop_by_hand():
    boxes = [box(10, 10, 20, 20, "inside"), box(90, 0, 20, 10, "half"), box(95, 0, 20, 10, "quarter"),
             box(200, 200, 5, 5, "outside"), box(50, 50, 0, 0, "point")]
    got = bx.crop(boxes, left=5, top=0, width=100, height=60)
    # "half": columns 90..109, the crop ends at 105: 15 of 20 visible (0.75), kept clipped.
    # "quarter": 95..114, 10 of 20 visible (0.5): kept at the default 0.5.
    assert got.boxes == [box(5, 10, 20, 20, "inside"), box(85, 0, 15, 10, "half"), box(90, 0, 10, 10, "quarter"),
                         box(45, 50, 0, 0, "point")]
    assert got.dropped == [box(200, 200, 5, 5, "outside")]
    strict = bx.crop(boxes, left=5, top=0, width=100, height=60, min_visible=0.6)
    assert [b["label"] for b in strict.dropped] == ["quarter", "outside"]


def test_scale_by_hand():
    assert bx.scaled_size(640, 480, 0.5) == (320, 240)
    assert bx.scaled_size(5, 3, 0.5) == (3, 2)  # 2.5 -> 3, 1.5 -> 2: half up
    assert bx.scale([box(10, 20, 30, 40)], 640, 480, 320, 240) == [box(5, 10, 15, 20)]
    assert bx.scale([box(1, 1, 1, 1)], 3, 3, 2, 2) == [box(2 / 3, 2 / 3, 2 / 3, 2 / 3)]


# --- boxes, properties ----------------------------------------------------------------------------

sizes = st.integers(min_value=1, max_value=4000)


@st.composite
def image_and_boxes(draw, integer=True):
    w, h = draw(sizes), draw(sizes)
    out = []
    for _ in range(draw(st.integers(0, 6))):
        x = draw(st.integers(0, w))
        y = draw(st.integers(0, h))
        out.append(box(x, y, draw(st.integers(0, w - x)), draw(st.integers(0, h - y))))
    return w, h, out


def inside(b, w, h) -> bool:
    return 0 <= b["x"] and 0 <= b["y"] and b["w"] >= 0 and b["h"] >= 0 and b["x"] + b["w"] <= w and \
        b["y"] + b["h"] <= h


@settings(max_examples=300)
@given(image_and_boxes())
def test_flipping_twice_is_the_identity_and_boxes_stay_inside(case):
    w, h, boxes = case
    once = bx.flip_horizontal(boxes, w)
    assert all(inside(b, w, h) for b in once)
    assert bx.flip_horizontal(once, w) == boxes
    assert bx.flip_vertical(bx.flip_vertical(boxes, h), h) == boxes
    # each pixel column px of a box lands on w - 1 - px
    for b, f in zip(boxes, once):
        assert {w - 1 - px for px in range(b["x"], b["x"] + b["w"])} == set(range(f["x"], f["x"] + f["w"]))


@settings(max_examples=300)
@given(image_and_boxes(), st.data(), st.floats(0, 1))
def test_a_crop_keeps_exactly_what_it_promises(case, data, share):
    w, h, boxes = case
    left, top = data.draw(st.integers(0, w - 1)), data.draw(st.integers(0, h - 1))
    cw, ch = data.draw(st.integers(1, w - left)), data.draw(st.integers(1, h - top))
    got = bx.crop(boxes, left, top, cw, ch, share)
    assert len(got.boxes) + len(got.dropped) == len(boxes)
    assert all(inside(b, cw, ch) for b in got.boxes)
    kept = iter(got.boxes)
    for b in boxes:
        if b in got.dropped:
            continue
        k = next(kept)
        area = b["w"] * b["h"]
        if area:
            assert Fraction(k["w"] * k["h"], area) >= Fraction(share)
        # the kept box is the intersection, moved
        assert k["x"] + left == max(b["x"], left) and k["y"] + top == max(b["y"], top)
    # cropping the whole image changes nothing
    assert bx.crop(boxes, 0, 0, w, h, share).boxes == boxes


@settings(max_examples=200)
@given(image_and_boxes(), st.floats(0.05, 4.0))
def test_scaled_boxes_stay_inside_and_scale_back(case, factor):
    w, h, boxes = case
    nw, nh = bx.scaled_size(w, h, factor)
    there = bx.scale(boxes, w, h, nw, nh)
    assert all(inside(b, nw + 1e-9, nh + 1e-9) for b in there)
    back = bx.scale(there, nw, nh, w, h)
    for a, b in zip(boxes, back):
        for k in "xywh":
            assert b[k] == pytest.approx(a[k], abs=1e-9)


# --- templates ------------------------------------------------------------------------------------

def test_templates_parse_expand_and_are_deterministic():
    assert template_problems("{who} wrote: {source}", {"who": ["Li"]}) == []
    assert template_problems("no source here", {}) == ["template 'no source here' must hold {source} exactly once"]
    assert template_problems("{source} {source}", {}) != []
    assert "has no values" in template_problems("{x} {source}", {})[0]
    assert "lone '{'" in template_problems("{source} {", {})[0]
    assert expand("{{literal}} {a}: {source}!", "你好", {"a": "A"}) == ("{literal} A: 你好!", 13)
    assert [p.slot for p in parse("{a}{source}")] == ["a", "source"]
    one = variants(["{a} {source}", "{source} {b}"], {"a": ["1", "2"], "b": ["3"]}, "x", "key", 5, seed=7)
    assert one == variants(["{a} {source}", "{source} {b}"], {"a": ["1", "2"], "b": ["3"]}, "x", "key", 5, seed=7)
    assert one != variants(["{a} {source}", "{source} {b}"], {"a": ["1", "2"], "b": ["3"]}, "x", "key", 5, seed=8)
    for e in one:
        assert e.text[e.source_at:e.source_at + 1] == "x"


@given(st.text(min_size=0, max_size=30), st.lists(st.text(max_size=8).filter(lambda s: "{" not in s and "}" not in s),
                                                  min_size=1, max_size=4), st.integers(0, 10**6))
def test_the_source_lands_at_the_offset_reported(source, values, seed):
    for e in variants(["<{a}>{source}[{a}]", "{source}"], {"a": values}, source, "k", 3, seed):
        assert e.text[e.source_at:e.source_at + len(source)] == source


# --- audio ----------------------------------------------------------------------------------------

def test_noise_is_mixed_at_exactly_the_snr_asked():
    t = np.arange(16000) / 16000
    signal = 0.3 * np.sin(2 * np.pi * 440 * t)
    for snr in (-5.0, 0.0, 10.0, 30.0):
        noisy = mix.add_noise(signal, snr, seed=3)
        assert mix.snr_db(signal, noisy - signal) == pytest.approx(snr, abs=1e-9)
    assert np.array_equal(mix.add_noise(signal, 10, 1), mix.add_noise(signal, 10, 1))
    with pytest.raises(ValueError, match="silent"):
        mix.add_noise(np.zeros(100), 10, 0)


def test_reverb_keeps_the_dry_clip_and_adds_a_decaying_tail():
    h = mix.impulse_response(16000, 0.5, seed=1)
    assert h.shape == (8000,) and np.sum(h ** 2) == pytest.approx(1.0)
    # 60 dB down over rt60: the last tenth holds far less energy than the first
    assert np.sum(h[-800:] ** 2) < 1e-3 * np.sum(h[:800] ** 2)
    click = np.zeros(1000)
    click[0] = 1.0
    out = mix.reverb(click, 16000, 0.5, wet=0.3, seed=1)
    assert out.shape == (1000 + 8000 - 1,)
    assert out[5:8000] == pytest.approx(0.3 * h[5:8000], abs=1e-9)
    assert mix.reverb(click, 16000, 0.5, wet=0.0, seed=1)[:1000] == pytest.approx(click)
    assert np.max(np.abs(mix.fit(np.array([2.0, -1.0])))) < 1.0
    assert np.array_equal(mix.fit(np.array([0.5])), np.array([0.5]))


# --- recipes and answers ----------------------------------------------------------------------------

def test_recipes_check_their_parameters_and_round_trip_as_json():
    for kind, cls in RECIPES.items():
        if kind == "text_template":
            continue
        r = parse_recipe({"kind": kind})
        assert r == cls() and parse_recipe(r.to_json()) == r
    t = parse_recipe({"kind": "text_template", "templates": ["{w}: {source}"], "slots": {"w": ["a", "b"]},
                      "variants": 3, "seed": 2})
    assert t.to_json() == {"kind": "text_template", "templates": ["{w}: {source}"], "slots": {"w": ["a", "b"]},
                           "variants": 3, "seed": 2, "keep_label": False}
    assert parse_recipe(t.to_json()) == t
    bad = [({"kind": "nope"}, "recipe.kind must be one of"), ({"kind": "audio_speed", "factor": 3}, "0.5 to 2.0"),
           ({"kind": "audio_speed", "speed": 1}, "takes no 'speed'"), ({"kind": "image_flip", "direction": "up"},
                                                                      "horizontal or vertical"),
           ({"kind": "image_crop", "width": 0}, "width must be"), ({"kind": "audio_noise", "snr_db": float("nan")},
                                                                  "snr_db"),
           ({"kind": "audio_noise", "seed": True}, "seed"), ({"kind": "speech_from_text", "lang": "fr"}, "lang"),
           ({"kind": "text_template", "templates": ["no slot"]}, "exactly once"),
           ({"kind": "text_template", "templates": "x"}, "list of strings"), ("x", "must be an object")]
    for data, words in bad:
        with pytest.raises(RecipeError) as exc:
            parse_recipe(data)
        assert words in str(exc.value), (data, str(exc.value))
    assert ImageCrop(left=10, top=0, width=90, height=50).fits(100, 50)
    assert not ImageCrop(left=11, top=0, width=90, height=50).fits(100, 50)


def test_answers_carried_over():
    gold = {"boxes": [box(10, 5, 30, 20)]}
    assert answers.image_answer(ImageFlip(), gold, 100, 50) == {"boxes": [box(60, 5, 30, 20)]}
    assert answers.image_answer(ImageFlip("vertical"), gold, 100, 50) == {"boxes": [box(10, 25, 30, 20)]}
    assert answers.image_answer(ImageScale(0.5), gold, 100, 50) == {"boxes": [box(5, 2.5, 15, 10)]}
    assert answers.image_answer(ImageCrop(left=20, top=0, width=80, height=50), gold, 100, 50) == {
        "boxes": [box(0, 5, 20, 20)]}  # 20 of 30 columns visible
    assert answers.image_answer(ImageFlip(), {"label": "x"}, 100, 50) is None
    segs = {"segments": [{"start": 0.0, "end": 3.0, "text": "你好", "speaker": None}]}
    assert answers.audio_answer(AudioSpeed(1.5), segs) == {
        "segments": [{"start": 0.0, "end": 2.0, "text": "你好", "speaker": None}]}
    t = TextTemplate(templates=("Q: {source}",))
    assert answers.text_answer(t, {"spans": [{"start": 0, "end": 2, "label": "PER"}]}, 3) == {
        "spans": [{"start": 3, "end": 5, "label": "PER"}]}
    assert answers.text_answer(t, {"label": "pos"}, 3) is None
    assert answers.text_answer(TextTemplate(templates=("Q: {source}",), keep_label=True), {"label": "pos"}, 3) == {
        "label": "pos"}
    assert answers.speech_gold("你好", 1.25) == {"segments": [{"start": 0.0, "end": 1.25, "text": "你好",
                                                               "speaker": None}]}
