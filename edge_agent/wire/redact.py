"""The site config as people may see it: every credential masked.

Which fields are credentials is said once, in the schema (``Secret`` in a field's annotation);
this walks the config's JSON form along the schema, so a new secret field is masked as soon as
it is marked. Keys the schema does not know (a config stored by an older version) are masked
when their name looks like a credential.
"""
from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel

from edge_agent.wire.site import Secret, SiteConfig, _unwrap_model

__all__ = ["MASK", "SECRET_NAME", "redact", "redact_site_config", "secret_marker"]

MASK = "********"
# Names that hold a credential unless they only say where it is (``*_env``, ``*_file``).
SECRET_NAME = re.compile(r"pass(word|wd|phrase)|secret|token|private|scbk|psk|credential", re.IGNORECASE)
_REFERENCE = re.compile(r"_(env|file)$")


def secret_marker(model: type[BaseModel], name: str) -> Secret | None:
    field = model.model_fields.get(name)
    if field is None:
        return None
    return next((m for m in field.metadata if isinstance(m, Secret)), None)


def _looks_secret(name: str) -> bool:
    return bool(SECRET_NAME.search(name)) and not _REFERENCE.search(name)


def _mask(value: Any, marker: Secret | None) -> Any:
    if value is None:
        return None  # "not given inline" is no secret
    if marker is not None and marker.keep_last and isinstance(value, str) and len(value) > marker.keep_last * 2:
        return MASK + value[-marker.keep_last:]
    return MASK


def redact(model: type[BaseModel] | None, doc: Any, reveal: frozenset[str] = frozenset()) -> Any:
    """A copy of ``doc`` (the JSON form of ``model``) with its secrets masked; ``reveal`` lists
    ``Model.field`` names shown in full (to a role whose job needs them)."""
    if isinstance(doc, list):
        return [redact(model, item, reveal) for item in doc]
    if not isinstance(doc, dict):
        return doc
    out: dict[str, Any] = {}
    for name, value in doc.items():
        field = model.model_fields.get(name) if model is not None else None
        marker = secret_marker(model, name) if model is not None else None
        if marker is not None:
            out[name] = value if f"{model.__name__}.{name}" in reveal else _mask(value, marker)
        elif field is None and _looks_secret(str(name)):
            out[name] = _mask(value, None)
        else:
            out[name] = redact(_unwrap_model(field.annotation) if field else None, value, reveal)
    return out


def redact_site_config(doc: dict[str, Any], show_badge_numbers: bool = False) -> dict[str, Any]:
    """The site config (``SiteConfig``'s JSON form) with passwords and secrets masked, and badge
    numbers cut to their last digits unless ``show_badge_numbers``."""
    return redact(SiteConfig, doc, frozenset({"Badge.number"}) if show_badge_numbers else frozenset())
