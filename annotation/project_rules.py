"""What a project may be: its modality and whether its label schema fits it."""
from __future__ import annotations

import re
from typing import Any

MODALITIES = ("text", "audio", "image")
SCHEMA_KINDS = {"classification": MODALITIES, "multi_label": MODALITIES, "spans": ("text",),
                "transcript": ("audio",), "boxes": ("image",)}
NEEDS_LABELS = frozenset({"classification", "multi_label", "spans", "boxes"})
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
MAX_LABELS = 500


def schema_problems(modality: str, schema: dict[str, Any]) -> list[str]:
    """Why ``schema`` does not fit a project of ``modality``; empty when it does. A schema is
    ``{"kind": ..., "labels": [distinct non-empty strings]}``; labels are required except for a
    transcript."""
    problems: list[str] = []
    if modality not in MODALITIES:
        return [f"modality must be one of {', '.join(MODALITIES)}"]
    kind = schema.get("kind")
    if kind not in SCHEMA_KINDS:
        return [f"label_schema.kind must be one of {', '.join(SCHEMA_KINDS)}"]
    if modality not in SCHEMA_KINDS[kind]:
        problems.append(f"a {kind} schema does not fit a {modality} project")
    labels = schema.get("labels", [])
    if not isinstance(labels, list) or not all(isinstance(x, str) and x.strip() for x in labels):
        problems.append("label_schema.labels must be a list of non-empty strings")
    elif len(set(labels)) != len(labels):
        problems.append("label_schema.labels must be distinct")
    elif len(labels) > MAX_LABELS:
        problems.append(f"label_schema.labels holds at most {MAX_LABELS} labels")
    elif kind in NEEDS_LABELS and not labels:
        problems.append(f"a {kind} schema needs at least one label")
    return problems
