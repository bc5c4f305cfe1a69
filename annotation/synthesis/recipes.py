"""The recipes synthesis knows: one frozen dataclass each, checked when made from JSON, and
written back as the JSON the item and its ledger leaf keep (``{"kind": ..., <parameters>}``).

``SOURCE_MODALITY`` and ``TARGET_MODALITY`` say what each recipe reads and makes: speech is made
from text, every other recipe makes its source's own modality.
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

MAX_TEMPLATES = 100
MAX_SLOT_VALUES = 1000
MAX_VARIANTS = 50


class RecipeError(ValueError):
    """The recipe cannot be made; ``problems`` names each fault."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _integer(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


@dataclass(frozen=True)
class Recipe:
    kind: ClassVar[str]

    def problems(self) -> list[str]:
        return []

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            out[f.name] = ({k: list(vs) for k, vs in v} if f.name == "slots"
                           else list(v) if isinstance(v, tuple) else v)
        return out


@dataclass(frozen=True)
class SpeechFromText(Recipe):
    """The text read by espeak-ng; ``lang`` ``auto`` picks Mandarin (voice cmn) when the text
    holds a Chinese character, English (voice en) otherwise. ``rate``: words per minute."""

    kind: ClassVar[str] = "speech_from_text"
    lang: str = "auto"
    rate: int = 150

    def problems(self) -> list[str]:
        out = []
        if self.lang not in ("auto", "zh", "en"):
            out.append("lang must be auto, zh or en")
        if not _integer(self.rate) or not 80 <= self.rate <= 450:
            out.append("rate must be a whole number of words per minute from 80 to 450")
        return out


@dataclass(frozen=True)
class AudioSpeed(Recipe):
    """Faster or slower at the same pitch (ffmpeg atempo); segment times divide by ``factor``."""

    kind: ClassVar[str] = "audio_speed"
    factor: float = 1.1

    def problems(self) -> list[str]:
        return [] if _number(self.factor) and 0.5 <= self.factor <= 2.0 else ["factor must be from 0.5 to 2.0"]


@dataclass(frozen=True)
class AudioNoise(Recipe):
    """White noise mixed in at ``snr_db`` (signal power / noise power, in dB), from ``seed``."""

    kind: ClassVar[str] = "audio_noise"
    snr_db: float = 20.0
    seed: int = 0

    def problems(self) -> list[str]:
        out = [] if _number(self.snr_db) and -10 <= self.snr_db <= 60 else ["snr_db must be from -10 to 60"]
        return out + ([] if _integer(self.seed) and self.seed >= 0 else ["seed must be a whole number ≥ 0"])


@dataclass(frozen=True)
class AudioReverb(Recipe):
    """A room: the audio convolved with a generated impulse response that decays by 60 dB in
    ``rt60_s`` seconds, mixed ``wet`` (0: dry only, 1: reverberant only), from ``seed``."""

    kind: ClassVar[str] = "audio_reverb"
    rt60_s: float = 0.4
    wet: float = 0.3
    seed: int = 0

    def problems(self) -> list[str]:
        out = [] if _number(self.rt60_s) and 0.05 <= self.rt60_s <= 3.0 else ["rt60_s must be from 0.05 to 3.0"]
        out += [] if _number(self.wet) and 0 <= self.wet <= 1 else ["wet must be from 0 to 1"]
        return out + ([] if _integer(self.seed) and self.seed >= 0 else ["seed must be a whole number ≥ 0"])


@dataclass(frozen=True)
class ImageFlip(Recipe):
    kind: ClassVar[str] = "image_flip"
    direction: str = "horizontal"

    def problems(self) -> list[str]:
        return [] if self.direction in ("horizontal", "vertical") else ["direction must be horizontal or vertical"]


@dataclass(frozen=True)
class ImageCrop(Recipe):
    """The rectangle ``[left, left + width) x [top, top + height)`` in pixels; a box less than
    ``min_visible`` of whose area stays inside is dropped (annotation/synthesis/boxes.py)."""

    kind: ClassVar[str] = "image_crop"
    left: int = 0
    top: int = 0
    width: int = 1
    height: int = 1
    min_visible: float = 0.5

    def problems(self) -> list[str]:
        out = [f"{k} must be a whole number ≥ 0" for k in ("left", "top")
               if not (_integer(getattr(self, k)) and getattr(self, k) >= 0)]
        out += [f"{k} must be a whole number ≥ 1" for k in ("width", "height")
                if not (_integer(getattr(self, k)) and getattr(self, k) >= 1)]
        if not (_number(self.min_visible) and 0 <= self.min_visible <= 1):
            out.append("min_visible must be from 0 to 1")
        return out

    def fits(self, width: int, height: int) -> bool:
        return self.left + self.width <= width and self.top + self.height <= height


@dataclass(frozen=True)
class ImageScale(Recipe):
    """Resized by ``factor`` (each side rounded half up; Lanczos)."""

    kind: ClassVar[str] = "image_scale"
    factor: float = 0.5

    def problems(self) -> list[str]:
        return [] if _number(self.factor) and 0.05 <= self.factor <= 4.0 else ["factor must be from 0.05 to 4.0"]


@dataclass(frozen=True)
class ImageBrightness(Recipe):
    """Pixel values multiplied by ``factor`` (Pillow's ImageEnhance.Brightness); boxes unchanged."""

    kind: ClassVar[str] = "image_brightness"
    factor: float = 1.2

    def problems(self) -> list[str]:
        return [] if _number(self.factor) and 0.1 <= self.factor <= 3.0 else ["factor must be from 0.1 to 3.0"]


@dataclass(frozen=True)
class TextTemplate(Recipe):
    """``variants`` new texts per source, each a template (chosen with ``seed``) whose
    ``{source}`` is the source's text and whose other ``{slot}``s are filled from ``slots``
    (annotation/synthesis/templates.py). ``keep_label``: a classification or multi-label gold
    answer carries over (the template author vouches that it keeps the meaning); spans always
    carry over, moved to where the source's text landed."""

    kind: ClassVar[str] = "text_template"
    templates: tuple[str, ...] = ()
    slots: tuple[tuple[str, tuple[str, ...]], ...] = ()
    variants: int = 1
    seed: int = 0
    keep_label: bool = False

    def problems(self) -> list[str]:
        from annotation.synthesis.templates import template_problems
        out = []
        if not self.templates or len(self.templates) > MAX_TEMPLATES:
            out.append(f"templates must hold 1 to {MAX_TEMPLATES} templates")
        if not _integer(self.variants) or not 1 <= self.variants <= MAX_VARIANTS:
            out.append(f"variants must be from 1 to {MAX_VARIANTS}")
        if not _integer(self.seed) or self.seed < 0:
            out.append("seed must be a whole number ≥ 0")
        if not isinstance(self.keep_label, bool):
            out.append("keep_label must be true or false")
        slots = dict(self.slots)
        for t in self.templates:
            out += template_problems(t, slots)
        for name, values in self.slots:
            if not values or len(values) > MAX_SLOT_VALUES:
                out.append(f"slot {name!r} must hold 1 to {MAX_SLOT_VALUES} values")
        return out

    def slot_map(self) -> dict[str, tuple[str, ...]]:
        return dict(self.slots)


RECIPES: dict[str, type[Recipe]] = {r.kind: r for r in (SpeechFromText, AudioSpeed, AudioNoise, AudioReverb,
                                                         ImageFlip, ImageCrop, ImageScale, ImageBrightness,
                                                         TextTemplate)}
SOURCE_MODALITY = {"speech_from_text": "text", "audio_speed": "audio", "audio_noise": "audio",
                   "audio_reverb": "audio", "image_flip": "image", "image_crop": "image", "image_scale": "image",
                   "image_brightness": "image", "text_template": "text"}
TARGET_MODALITY = {k: ("audio" if k == "speech_from_text" else v) for k, v in SOURCE_MODALITY.items()}


def parse_recipe(data: Mapping[str, Any]) -> Recipe:
    """The recipe ``data`` describes; raises RecipeError naming every fault."""
    if not isinstance(data, Mapping):
        raise RecipeError(["recipe must be an object"])
    kind = data.get("kind")
    if kind not in RECIPES:
        raise RecipeError([f"recipe.kind must be one of {', '.join(RECIPES)}"])
    cls = RECIPES[kind]
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names - {"kind"})
    if unknown:
        raise RecipeError([f"recipe {kind} takes no {k!r}" for k in unknown])
    args = {k: v for k, v in data.items() if k != "kind"}
    if kind == "text_template":
        problems = []
        templates = args.get("templates", [])
        if not isinstance(templates, list) or not all(isinstance(t, str) for t in templates):
            problems.append("templates must be a list of strings")
        slots = args.get("slots", {})
        if not isinstance(slots, Mapping) or not all(
                isinstance(k, str) and isinstance(v, list) and all(isinstance(x, str) for x in v)
                for k, v in slots.items()):
            problems.append("slots must map each slot name to a list of strings")
        if problems:
            raise RecipeError(problems)
        args["templates"] = tuple(templates)
        args["slots"] = tuple(sorted((k, tuple(v)) for k, v in slots.items()))
    recipe = cls(**args)
    problems = recipe.problems()
    if problems:
        raise RecipeError([f"recipe {kind}: {p}" for p in problems])
    return recipe
