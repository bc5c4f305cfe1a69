"""Reading the site file as the simulators do: plain YAML, read on their own (a simulator shares
no code with what it stands in front of), with errors that name the file."""
from __future__ import annotations

from pathlib import Path

import yaml


def read_site(path: str | Path) -> dict:
    """The site file's top-level mapping; ValueError names the file and what is wrong."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"{path}: cannot read site file: {exc}") from exc
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: a site file must be a mapping at the top level")
    return raw


def section(raw: dict, path: str | Path, key: str) -> list:
    """A top-level list (absent or empty: []); ValueError when it is something else."""
    items = raw.get(key) or []
    if not isinstance(items, list):
        raise ValueError(f"{path}: '{key}' must be a list")
    return items
