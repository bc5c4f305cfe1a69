"""A source's known answer (its gold answer, an accepted annotation or a model's proposal),
carried over to an item made from it, exactly where the recipe allows: boxes move with the
image (``boxes``), transcript times stretch with the speed, spans move to where the source's
text landed in a template. None: nothing can be carried (the answer does not survive the recipe
or has the wrong shape)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from annotation.synthesis import boxes as bx
from annotation.synthesis.recipes import (
    AudioNoise,
    AudioReverb,
    AudioSpeed,
    ImageBrightness,
    ImageCrop,
    ImageFlip,
    ImageScale,
    Recipe,
    TextTemplate,
)

Answer = Mapping[str, Any]


def speech_gold(text: str, duration_s: float) -> dict[str, Any]:
    """The transcript of speech read from ``text``: one segment over the whole clip."""
    return {"segments": [{"start": 0.0, "end": duration_s, "text": text, "speaker": None}]}


def image_answer(recipe: Recipe, answer: Answer | None, width: int, height: int) -> dict[str, Any] | None:
    if not isinstance(answer, Mapping) or not isinstance(answer.get("boxes"), list):
        return None
    boxes = answer["boxes"]
    if isinstance(recipe, ImageFlip):
        moved = (bx.flip_horizontal(boxes, width) if recipe.direction == "horizontal"
                 else bx.flip_vertical(boxes, height))
    elif isinstance(recipe, ImageCrop):
        moved = bx.crop(boxes, recipe.left, recipe.top, recipe.width, recipe.height, recipe.min_visible).boxes
    elif isinstance(recipe, ImageScale):
        moved = bx.scale(boxes, width, height, *bx.scaled_size(width, height, recipe.factor))
    elif isinstance(recipe, ImageBrightness):
        moved = [dict(b) for b in boxes]
    else:
        return None
    return {**answer, "boxes": moved}


def audio_answer(recipe: Recipe, answer: Answer | None) -> dict[str, Any] | None:
    if not isinstance(answer, Mapping):
        return None
    if isinstance(recipe, (AudioNoise, AudioReverb)):
        return dict(answer)
    if isinstance(recipe, AudioSpeed) and isinstance(answer.get("segments"), list):
        return {**answer, "segments": [
            {**s, "start": round(s["start"] / recipe.factor, 6), "end": round(s["end"] / recipe.factor, 6)}
            if isinstance(s, Mapping) and isinstance(s.get("start"), (int, float))
            and isinstance(s.get("end"), (int, float)) else s
            for s in answer["segments"]]}
    if isinstance(recipe, AudioSpeed):
        return dict(answer)  # a label of the clip as a whole survives a change of pace
    return None


def text_answer(recipe: TextTemplate, answer: Answer | None, source_at: int) -> dict[str, Any] | None:
    if not isinstance(answer, Mapping):
        return None
    if isinstance(answer.get("spans"), list):
        return {**answer, "spans": [{**s, "start": s["start"] + source_at, "end": s["end"] + source_at}
                                    for s in answer["spans"] if isinstance(s, Mapping)]}
    if recipe.keep_label and ("label" in answer or "labels" in answer):
        return dict(answer)
    return None
