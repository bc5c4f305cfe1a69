"""Text templates: ``"{person} wrote: {source}"`` with ``{source}`` the source item's text,
each other ``{slot}`` a value picked from that slot's list, ``{{`` and ``}}`` literal braces.
A slot name is a letter or ``_`` then letters, digits or ``_``. Every template holds
``{source}`` exactly once, so the source's text (and any span labelled on it) lands at one
known offset.

Expansion is deterministic: the template and slot values of variant ``n`` of a source are drawn
by a ``random.Random`` seeded with the recipe's seed, the source's key and ``n`` — the same
inputs give the same text on any machine and Python version that keeps ``random``'s string
seeding (version 2, SHA-512 based)."""
from __future__ import annotations

import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

SOURCE = "source"
_TOKEN = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}|[{}]")


@dataclass(frozen=True)
class Part:
    literal: str = ""
    slot: str | None = None


def parse(template: str) -> list[Part]:
    """The template's literal text and slots, in order; raises ValueError on a stray brace."""
    parts: list[Part] = []
    at = 0
    for m in _TOKEN.finditer(template):
        if m.start() > at:
            parts.append(Part(literal=template[at:m.start()]))
        tok = m.group(0)
        if tok in ("{{", "}}"):
            parts.append(Part(literal=tok[0]))
        elif m.group(1):
            parts.append(Part(slot=m.group(1)))
        else:
            raise ValueError(f"a lone {tok!r} at {m.start()} (write {tok * 2} for a brace)")
        at = m.end()
    if at < len(template):
        parts.append(Part(literal=template[at:]))
    return parts


def template_problems(template: str, slots: Mapping[str, Sequence[str]]) -> list[str]:
    try:
        parts = parse(template)
    except ValueError as exc:
        return [f"template {template!r}: {exc}"]
    names = [p.slot for p in parts if p.slot is not None]
    out = []
    if names.count(SOURCE) != 1:
        out.append(f"template {template!r} must hold {{{SOURCE}}} exactly once")
    out += [f"template {template!r}: slot {{{n}}} has no values" for n in dict.fromkeys(names)
            if n != SOURCE and n not in slots]
    return out


@dataclass(frozen=True)
class Expansion:
    text: str
    source_at: int  # where the source's text starts in ``text``, in code points
    template: int  # which template, by position
    values: tuple[tuple[str, str], ...]  # the slot values picked, by slot name


def expand(template: str, source: str, values: Mapping[str, str]) -> tuple[str, int]:
    """The template with ``{source}`` and the slots filled; and where the source landed."""
    out: list[str] = []
    source_at = -1
    for p in parse(template):
        if p.slot is None:
            out.append(p.literal)
        elif p.slot == SOURCE:
            source_at = sum(map(len, out))
            out.append(source)
        else:
            out.append(values[p.slot])
    return "".join(out), source_at


def variants(templates: Sequence[str], slots: Mapping[str, Sequence[str]], source: str, key: str, count: int,
             seed: int) -> list[Expansion]:
    """``count`` expansions of the source (``key`` names it, e.g. its hash), drawn with ``seed``."""
    out = []
    for n in range(count):
        rng = random.Random(f"{seed}:{key}:{n}")
        t = rng.randrange(len(templates))
        names = sorted({p.slot for p in parse(templates[t]) if p.slot not in (None, SOURCE)})
        picked = {name: slots[name][rng.randrange(len(slots[name]))] for name in names}
        text, at = expand(templates[t], source, picked)
        out.append(Expansion(text, at, t, tuple(sorted(picked.items()))))
    return out
