"""A lab described in YAML, for the command line:

    prefix: sgl1                     # optional; --prefix overrides it
    site: ../sites/demo.yaml         # either this (relative to this file) ...
    segments:                        # ... or explicit segments and hosts
      - {name: v110, gateway: 10.110.0.1/24, vlan: 110}
    hosts:
      - {name: a1, segment: v110, address: 10.110.0.11/24}
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from . import site
from .model import Host, LabError, Segment


@dataclass
class LabConfig:
    prefix: str | None
    segments: list[Segment]
    hosts: list[Host]


def load(path: str | Path) -> LabConfig:
    path = Path(path)
    try:
        doc = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise LabError(f"lab config {path}: {exc}") from None
    if not isinstance(doc, dict):
        raise LabError(f"lab config {path}: expected a mapping at the top")
    prefix = doc.get("prefix")
    if doc.get("site"):
        lay = site.layout(path.parent / doc["site"], int(doc.get("workstations", 2)))
        return LabConfig(prefix, lay.segments, lay.hosts)
    try:
        segments = [Segment(name=str(s["name"]), gateway=str(s["gateway"]),
                            vlan=int(s["vlan"]) if s.get("vlan") is not None else None)
                    for s in doc.get("segments") or []]
        hosts = [Host(name=str(h["name"]), segment=str(h["segment"]), address=str(h["address"]))
                 for h in doc.get("hosts") or []]
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise LabError(f"lab config {path}: {exc!r}") from None
    return LabConfig(prefix, segments, hosts)
